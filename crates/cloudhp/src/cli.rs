//! The command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints a line to standard output; a closed pipe (`cloudhp link … | head`) is not an error
/// worth a panic, so write errors are ignored.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

use anyhow::Context;
use clap::{Parser, Subcommand};
use cloudhp_core::{CustomerId, Role, RoleSet};

use crate::config::{Config, LinkMode, Overrides};
use crate::link_keys::{self, KEY_FILE};
use crate::roles::web::Links;

#[derive(Debug, Parser)]
#[command(
    name = "cloudhp",
    version,
    about = "A cloud-native promotional lottery, in one binary"
)]
struct Cli {
    /// TOML configuration file (see cloudhp.example.toml); CLOUDHP_<SECTION>__<KEY> variables
    /// override it.
    #[arg(long, global = true, env = "CLOUDHP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Where the embedded backends keep their files [default: ./cloudhp-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every role in one process on embedded backends: no server, no setup.
    ///
    /// Once its listeners are bound, it prints one line for the programs that start it:
    /// `listening public=http://ADDR ops=http://ADDR` (the public and operations listeners).
    Up {
        #[command(flatten)]
        common: Common,
        /// Seconds the prize worker takes per draw [default: 5].
        #[arg(long, value_name = "SECONDS")]
        tempo: Option<f64>,
        /// Demo customers seeded into an empty customer table [default: 1000].
        #[arg(long, value_name = "N")]
        demo_customers: Option<u32>,
    },
    /// Run some roles; the others are reached over HTTP at the URLs of [roles].
    ///
    /// Once its listeners are bound, it prints one line for the programs that start it:
    /// `listening public=http://ADDR ops=http://ADDR` (the public and operations listeners).
    Serve {
        /// A role or alias (repeatable, or comma-separated): web, identity, status, play,
        /// worker, picture, notifier, all, backend.
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List the roles, what each does and what it needs.
    Roles,
    /// Print the personal links of customers, for the campaign mailing.
    Link {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Customer ids.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// The keys signing personal links: a fresh key, or a rotation of the data dir's keys
    /// (link.key). Web processes read their keys when they start: restart them after a change.
    LinkKey {
        #[command(subcommand)]
        command: LinkKeyCommand,
    },
    /// The campaign mailing: every customer's personal link, once per campaign.
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// Manage the embedded customer table.
    Customers {
        #[command(subcommand)]
        command: CustomersCommand,
    },
    /// The prize catalog of our W.
    Prizes {
        #[command(subcommand)]
        command: PrizesCommand,
    },
    /// Ask this node's server whether it is alive (GET /healthz on the port of server.listen):
    /// exit 0 when it answers 200. The container image's health check; it needs no shell.
    Healthcheck {
        /// The URL to ask [default: http://127.0.0.1:<port of server.listen>/healthz].
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
        timeout: f64,
    },
    /// Check the configuration and print it as loaded (secrets masked).
    Config {
        /// Check for these roles [default: all].
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum LinkKeyCommand {
    /// Print a fresh random key (43 URL-safe characters), for web.link_keys.
    Generate,
    /// Put a fresh key first in the data dir's link.key: it signs the new links, and the older
    /// keys still open the links mailed before.
    Rotate {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Keep only the first (signing) key of the data dir's link.key: links signed with the
    /// older keys no longer open.
    Retire {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum CampaignCommand {
    /// Mail every selected customer of the shop database (identity.database) their personal
    /// link, through the mail transport (mail.url), from the mail template naming the shop
    /// (campaign.shop_name; the templates: mailing.templates_dir, docs/campaign.md).
    ///
    /// Each customer gets one mail per campaign (campaign.name), even when the command is
    /// stopped or killed and run again: the progress is recorded in the lottery database and
    /// a re-run resumes where the last one stopped. Deleted customers, customers without a
    /// valid e-mail address, inactive customers (unless identity.inactive = "include") and
    /// guests (when identity.guests = "exclude") are skipped and counted. A mail the relay
    /// refuses for now (4xx, unreachable) is retried by the next run; one it refuses for good
    /// (5xx) never is. With SMTP, a mail handed to the relay by a run killed before it could
    /// record the answer is counted "uncertain" and not sent again (no customer gets it twice)
    /// unless --resend-uncertain; with the spool it is simply written again.
    ///
    /// Exit status: 0 every selected customer who can be mailed has been; 3 some mails failed,
    /// were refused, or are uncertain (see the summary; run again to retry the failed ones);
    /// 1 a fatal error (configuration, database, template); 2 a usage error.
    Send {
        /// Where the embedded backends keep their files [default: ./cloudhp-data].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Only these customer ids: ids and ranges, comma-separated or repeated (7,10-20).
        #[arg(long = "id", value_name = "IDS")]
        ids: Vec<String>,
        /// Only customers subscribed to the newsletter (newsletter = 1).
        #[arg(long)]
        newsletter: bool,
        /// Only customers who opted in to partners' offers (optin = 1).
        #[arg(long)]
        optin: bool,
        /// Only customers created (date_add) on or after this day.
        #[arg(long, value_name = "YYYY-MM-DD")]
        created_since: Option<String>,
        /// Only active customers, even when identity.inactive = "include".
        #[arg(long)]
        active_only: bool,
        /// Messages per second at most [default: mailing.rate].
        #[arg(long, value_name = "PER_SECOND")]
        rate: Option<f64>,
        /// Say what would be sent (the first mail, the counts); send and record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send again the mails an interrupted SMTP run left uncertain (they may have gone
        /// out already: check the relay's log first).
        #[arg(long)]
        resend_uncertain: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PrizesCommand {
    /// Paint the demo prize catalog (one JPEG per prize) into DIR, unless DIR holds pictures
    /// already; then edit it, or ship it read-only (the container image does) and point
    /// worker.catalog_dir at it.
    Init {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CustomersCommand {
    /// Load a PrestaShop customer export (`;`-separated CSV with PrestaShop's header) into the
    /// embedded customer table. Rows that cannot be imported are listed with their line and
    /// reason; the others go in together, or none at all on a fatal error.
    Import {
        /// The CSV file.
        file: PathBuf,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Check the file and report, import nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create PrestaShop 1.6's customer table in identity.database when it is missing, and fill
    /// an empty one with demo customers: the embedded table, or a demo shop database on
    /// MariaDB/MySQL (give identity.database an account that may create and insert). A table
    /// that holds customers already is left as it is.
    Seed {
        /// How many demo customers (ids 1..N) [default: identity.demo_customers].
        #[arg(long, value_name = "N")]
        count: Option<u32>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<Exit>() {
            Some(exit) => {
                eprintln!("{}", exit.message);
                ExitCode::from(exit.code)
            }
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// A command's outcome that is not a fatal error but is not a full success either: its exit
/// status and what to say.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Exit {
    code: u8,
    message: String,
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::Up {
            common,
            tempo,
            demo_customers,
        } => {
            let overrides = Overrides {
                data_dir: common.data_dir,
                listen: common.listen,
                tempo,
                demo_customers,
            };
            start(Config::load(config_file, &overrides)?, RoleSet::all(), true).await
        }
        Command::Serve { roles, common } => {
            let roles = RoleSet::parse(&roles)?;
            let overrides = Overrides {
                data_dir: common.data_dir,
                listen: common.listen,
                ..Overrides::default()
            };
            start(Config::load(config_file, &overrides)?, roles, false).await
        }
        Command::Roles => {
            print_roles();
            Ok(())
        }
        Command::Link { data_dir, ids } => {
            let config = load_for_data_dir(config_file, data_dir)?;
            let links = links_of(&config)?;
            for raw in ids {
                let id = CustomerId::parse(&raw).with_context(|| format!("`{raw}`"))?;
                out!("{}", links.page_url(id));
            }
            Ok(())
        }
        Command::LinkKey { command } => link_key(config_file, command),
        Command::Campaign {
            command:
                CampaignCommand::Send {
                    data_dir,
                    ids,
                    newsletter,
                    optin,
                    created_since,
                    active_only,
                    rate,
                    dry_run,
                    resend_uncertain,
                },
        } => {
            let config = load_for_data_dir(config_file, data_dir)?;
            crate::telemetry::init_logs(&config.log);
            let selection = cloudhp_store::CustomerSelection {
                ids: crate::campaign::parse_ids(&ids).map_err(anyhow::Error::msg)?,
                newsletter,
                optin,
                created_since: created_since
                    .as_deref()
                    .map(crate::campaign::parse_day)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--created-since: {e}"))?,
            };
            let options = crate::campaign::SendOptions {
                selection,
                active_only,
                rate: rate.unwrap_or(config.mailing.rate),
                dry_run,
                resend_uncertain,
            };
            campaign_send(&config, &options).await
        }
        Command::Customers {
            command:
                CustomersCommand::Import {
                    file,
                    data_dir,
                    dry_run,
                },
        } => import_customers(&load_for_data_dir(config_file, data_dir)?, &file, dry_run).await,
        Command::Customers {
            command: CustomersCommand::Seed { count, data_dir },
        } => {
            let overrides = Overrides {
                data_dir,
                demo_customers: count,
                ..Overrides::default()
            };
            let config = Config::load(config_file, &overrides)?;
            // Its waits for a database still starting are logged.
            crate::telemetry::init_logs(&config.log);
            seed_customers(&config).await
        }
        Command::Prizes {
            command: PrizesCommand::Init { dir },
        } => {
            let shown = dir.display().to_string();
            let catalog =
                tokio::task::spawn_blocking(move || cloudhp_worker::Catalog::open_or_create(&dir))
                    .await?
                    .with_context(|| format!("cannot prepare the prize catalog in {shown}"))?;
            out!("{shown}: {} prizes", catalog.len());
            Ok(())
        }
        Command::Healthcheck { url, timeout } => {
            let config = Config::load(config_file, &Overrides::default())?;
            healthcheck(&config, url, timeout).await
        }
        Command::Config { roles, data_dir } => {
            let roles = RoleSet::parse(&roles)?;
            let config = load_for_data_dir(config_file, data_dir)?;
            config.validate(&roles)?;
            let _ = write!(std::io::stdout().lock(), "{}", toml::to_string(&config)?);
            eprintln!("configuration valid for roles: {roles}");
            Ok(())
        }
    }
}

/// `cloudhp link-key …`.
fn link_key(config_file: Option<&std::path::Path>, command: LinkKeyCommand) -> anyhow::Result<()> {
    match command {
        LinkKeyCommand::Generate => out!("{}", link_keys::generate()),
        LinkKeyCommand::Rotate { data_dir } => {
            let path = key_file(config_file, data_dir)?;
            let count = link_keys::rotate(&path)?;
            out!(
                "{}: a new key signs; {} older key(s) still open links. Restart the web \
                 processes to use it.",
                path.display(),
                count - 1
            );
        }
        LinkKeyCommand::Retire { data_dir } => {
            let path = key_file(config_file, data_dir)?;
            let removed = link_keys::retire(&path)?;
            out!(
                "{}: {removed} older key(s) retired; only the signing key is left. Restart the \
                 web processes to refuse the links of the retired keys.",
                path.display()
            );
        }
    }
    Ok(())
}

/// The configuration, with `--data-dir` (when given) over the file's and the environment's.
fn load_for_data_dir(
    config_file: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<Config> {
    let overrides = Overrides {
        data_dir,
        ..Overrides::default()
    };
    Ok(Config::load(config_file, &overrides)?)
}

/// The data dir's key file; a note when the configuration sets keys (the file is then unused).
fn key_file(
    config_file: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let config = load_for_data_dir(config_file, data_dir)?;
    if !config.web.configured_link_keys().is_empty() {
        eprintln!(
            "note: web.link_key or web.link_keys is configured: the web role uses those keys, \
             not the data dir's {KEY_FILE}"
        );
    }
    Ok(config.server.data_dir.join(KEY_FILE))
}

/// `cloudhp campaign send`: the mailing, its summary, its exit status.
async fn campaign_send(
    config: &Config,
    options: &crate::campaign::SendOptions,
) -> anyhow::Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signal = shutdown_signal()?;
    let on_signal = stop.clone();
    let watcher = tokio::spawn(async move {
        signal.await;
        eprintln!("stopping after the mails in flight… (once more to stop at once)");
        on_signal.store(true, std::sync::atomic::Ordering::SeqCst);
        // A second signal stops now: the mails in flight are then resumed by the next run
        // (sent again to the spool, `uncertain` with SMTP).
        if let Ok(again) = shutdown_signal() {
            again.await;
            std::process::exit(130);
        }
    });
    let summary = crate::campaign::send(config, options, stop).await;
    watcher.abort();
    let summary = summary?;
    for line in summary.lines(&config.campaign.name, options.dry_run) {
        out!("{line}");
    }
    if options.dry_run || summary.all_sent() {
        Ok(())
    } else {
        Err(Exit {
            code: crate::campaign::EXIT_NOT_ALL_SENT,
            message: "not every selected customer was mailed: see the summary above".into(),
        }
        .into())
    }
}

/// `cloudhp customers import`: checks, imports, and prints a summary.
async fn import_customers(
    config: &Config,
    file: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    use cloudhp_store::{CustomerDb, Pool, PoolSettings, TablePrefix};
    if !config.embedded_customers() {
        anyhow::bail!(
            "identity.database is a shop database: the lottery never writes to it; import \
             customers only into the embedded table (leave identity.database empty)"
        );
    }
    let url = config.identity_url();
    let exists = url
        .strip_prefix("sqlite://")
        .is_some_and(|path| std::path::Path::new(path).exists());
    // A dry run writes nothing: it reads an existing database read-only, or none at all.
    let url = if dry_run && !exists {
        "sqlite::memory:".to_owned()
    } else {
        url
    };
    let settings = PoolSettings {
        read_only: dry_run && exists,
        ..PoolSettings::default()
    };
    let pool = Pool::connect_lazy(&url, &settings)?;
    let db = CustomerDb::new(
        pool.clone(),
        TablePrefix::parse(&config.identity.table_prefix)?,
    );
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let bar = indicatif::ProgressBar::new(size).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("checking rows");
    let summary = crate::import::import(&db, file, dry_run, |at| bar.set_position(at)).await;
    bar.finish_and_clear();
    pool.close().await;
    let summary = summary?;
    let verb = if dry_run { "would import" } else { "imported" };
    out!(
        "{verb} {} customers into {}; {} rows rejected",
        summary.imported,
        db.table(),
        summary.rejected.len()
    );
    for r in &summary.rejected {
        out!("  line {}: {}", r.line, r.reason);
    }
    Ok(())
}

/// `cloudhp customers seed`: the customer table of identity.database, created and filled with
/// demo customers when empty. Waits a while for a database that is still starting (a container
/// started beside it).
async fn seed_customers(config: &Config) -> anyhow::Result<()> {
    use cloudhp_store::{CustomerDb, Pool, PoolSettings, TablePrefix};
    let url = config.identity_url();
    if config.embedded_customers() {
        std::fs::create_dir_all(&config.server.data_dir).with_context(|| {
            format!(
                "cannot create the data dir {}",
                config.server.data_dir.display()
            )
        })?;
    }
    let pool =
        Pool::connect_lazy(&url, &PoolSettings::default()).context("invalid identity.database")?;
    let db = CustomerDb::new(
        pool.clone(),
        TablePrefix::parse(&config.identity.table_prefix)?,
    );
    let result = async {
        cloudhp_store::retry_while_unavailable("customer database", 60, || db.create_table())
            .await
            .context("cannot create the customer table")?;
        db.seed_demo(config.identity.demo_customers)
            .await
            .context("cannot seed the demo customers")
    }
    .await;
    pool.close().await;
    let seeded = result?;
    if seeded > 0 {
        out!("seeded {seeded} demo customers into {}", db.table());
    } else {
        out!("{} holds customers already; nothing seeded", db.table());
    }
    Ok(())
}

/// `cloudhp healthcheck`: 0 when the local server answers 200 on /healthz in time.
async fn healthcheck(config: &Config, url: Option<String>, timeout: f64) -> anyhow::Result<()> {
    let url = match url {
        Some(url) => url,
        None => {
            // The loopback address of the family the server listens on.
            let addr = config.listen_addr()?;
            let host = if addr.is_ipv6() { "[::1]" } else { "127.0.0.1" };
            format!("http://{host}:{}/healthz", addr.port())
        }
    };
    let timeout = std::time::Duration::try_from_secs_f64(timeout)
        .context("--timeout must be a positive number of seconds")?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    Ok(())
}

/// The links of the configured campaign (the key of the configuration, or of the data dir).
pub(crate) fn links_of(config: &Config) -> anyhow::Result<Links> {
    let base = if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.clone()
    };
    Ok(match config.web.links {
        LinkMode::Open => Links::open(&base),
        LinkMode::Signed => {
            let (keys, _) = link_keys::resolve(&config.web, &config.server.data_dir)?;
            Links::signed(&keys, &base)?
        }
    })
}

fn print_roles() {
    out!("{:<10} {:<3} {:<70} NEEDS", "ROLE", "", "WHAT IT DOES");
    for role in Role::ALL {
        let letter = role.letter().map(String::from).unwrap_or_default();
        out!(
            "{:<10} {:<3} {:<70} {}",
            role.name(),
            letter,
            role.describe(),
            role.needs()
        );
    }
    out!();
    out!("Aliases:");
    for (alias, roles) in RoleSet::ALIASES {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        out!("  {alias:<8} {}", names.join(", "));
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called, not
/// when the future is first polled: a stop sent right after start-up is not lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

async fn start(config: Config, roles: RoleSet, up: bool) -> anyhow::Result<()> {
    crate::telemetry::init_logs(&config.log);
    let stop = shutdown_signal()?;
    let app = crate::app::build(config, roles).await?;
    let s = app.summary().clone();
    if up {
        out!("CloudHP is up: every role in one process.");
        out!();
        out!("  Listening on   {}", s.public_url);
        for (i, link) in s.sample_links.iter().enumerate() {
            let label = if i == 0 { "Try" } else { "" };
            out!("  {label:<14} {link}");
        }
        out!(
            "  Data           {} (SQLite database, prize catalog, pictures)",
            s.data_dir.display()
        );
        if let Some(spool) = &s.mail_spool {
            out!(
                "  Mail spool     {} (one .eml file per winner)",
                spool.display()
            );
        }
        out!(
            "  Operations     http://{0}/readyz   metrics: http://{0}/metrics (server.ops_listen)",
            s.ops_addr
        );
        out!("  Links          cloudhp link ID... prints any customer's personal link");
        out!();
        out!("Press Ctrl-C to stop.");
    } else {
        out!("cloudhp serving roles {} on http://{}", s.roles, s.addr);
    }
    // For programs starting cloudhp (tests, scripts): one line, stable, easy to parse.
    out!(
        "listening public=http://{} ops=http://{}",
        s.addr,
        s.ops_addr
    );
    app.run_until_stopped(stop).await
}
