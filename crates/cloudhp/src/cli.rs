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
    /// Print the personal links of customers, for the campaign mailing. The links start with
    /// server.public_url; when it is unset, with the listen address (a note says so).
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
    /// The admin area (/admin).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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
enum AdminCommand {
    /// Print the Argon2 hash of the admin password, for admin.password_hash. The password is
    /// asked twice on the terminal (not shown), or read as one line from standard input when
    /// it is not a terminal (`printf '%s\n' "$PASSWORD" | cloudhp admin hash-password`).
    HashPassword,
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

/// Writes the demo catalog with its odds into `dir` unless it holds a catalog already; the
/// catalog of `dir` and whether it was written.
fn init_prizes(dir: &std::path::Path) -> Result<(cloudhp_worker::Catalog, bool), anyhow::Error> {
    use cloudhp_worker::Catalog;
    if dir.is_dir() {
        let found = Catalog::load_dir(dir)?;
        if !found.is_empty() || found.table().is_some() {
            return Ok((found, false));
        }
    }
    Ok((Catalog::write_demo_dir(dir)?, true))
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
    /// Write the demo prize catalog into DIR: one JPEG per prize, a "no prize" picture, and
    /// its catalog file catalog.toml (realistic odds, a few limited prizes); unless DIR holds
    /// pictures or a catalog file already. Then edit it, or ship it read-only (the container
    /// image does) and point worker.catalog_dir at it.
    Init {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CustomersCommand {
    /// Load a PrestaShop customer export or import template (`;`-separated CSV with
    /// PrestaShop's header) into the embedded customer table. Rows without an ID get the ids
    /// PrestaShop would give them (after the highest id of the table and the file, in file
    /// order). Rows that cannot be imported are reported with their line and every reason; the
    /// others go in together, or none at all on a fatal error (a truncated or non-UTF-8 file,
    /// a wrong header, a database failure).
    #[command(
        after_help = "Exit status: 0 every row was imported; 3 some rows were rejected \
        (the others were imported, or would be with --dry-run); 1 a fatal error, nothing \
        imported; 2 a usage error."
    )]
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

/// Threads for blocking work (file writes of pictures and mails, ticket renders), instead of
/// tokio's 512: a burst of thousands of draws queues its file writes on these rather than
/// starting hundreds of threads, each with its stack and allocator cache, that the process
/// would carry for a while after the burst. Each of these calls takes a millisecond or so.
const BLOCKING_THREADS: usize = 32;

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
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
            if config.server.public_url.is_empty() {
                eprintln!(
                    "note: server.public_url is not set: these links use the listen address \
                     http://{}, which only this machine may reach; set server.public_url \
                     (CLOUDHP_SERVER__PUBLIC_URL) to the address customers open",
                    config.server.listen
                );
            }
            let links = links_of(&config)?;
            for raw in ids {
                let id = CustomerId::parse(&raw).with_context(|| format!("`{raw}`"))?;
                out!("{}", links.page_url(id));
            }
            Ok(())
        }
        Command::LinkKey { command } => link_key(config_file, command),
        Command::Admin {
            command: AdminCommand::HashPassword,
        } => {
            let password = read_admin_password()?;
            let hash =
                crate::roles::web::admin::hash_password(&password).map_err(anyhow::Error::msg)?;
            out!("{hash}");
            Ok(())
        }
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
            let (catalog, written) = tokio::task::spawn_blocking(move || init_prizes(&dir))
                .await?
                .with_context(|| format!("cannot prepare the prize catalog in {shown}"))?;
            let limited = catalog
                .table()
                .map_or(0, |t| t.prizes.iter().filter(|p| p.stock.is_some()).count());
            let file = if catalog.table().is_some() {
                format!(", {} ({limited} limited)", cloudhp_worker::CATALOG_FILE)
            } else {
                format!(", no {}: all equally likely", cloudhp_worker::CATALOG_FILE)
            };
            let what = if written { "written" } else { "kept as it was" };
            out!("{shown}: {} pictures{file}; {what}", catalog.len());
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
    if let Some(crate::import::Assigned { first, last, count }) = summary.assigned {
        let given = if dry_run { "would be given" } else { "given" };
        out!("ids {first}-{last} {given} to the {count} rows without an ID, in file order");
    }
    if summary.rejected.is_empty() {
        return Ok(());
    }
    // Readable on a large file: the first rows, then how many rows had each problem.
    let shown = summary.rejected.len().min(REJECTED_SHOWN);
    out!(
        "rejected rows{}:",
        if shown < summary.rejected.len() {
            format!(" (the first {shown})")
        } else {
            String::new()
        }
    );
    for r in &summary.rejected[..shown] {
        out!("  line {}: {}", r.line, r.reason());
    }
    if shown < summary.rejected.len() {
        out!("  ... and {} more rows", summary.rejected.len() - shown);
    }
    out!("problems, by column or kind:");
    for (kind, count) in summary.problems_by_kind() {
        out!("  {kind:<12} {count} rows");
    }
    Err(Exit {
        code: EXIT_ROWS_REJECTED,
        message: format!(
            "{} rows were not imported (see above); exit status {EXIT_ROWS_REJECTED}",
            summary.rejected.len()
        ),
    }
    .into())
}

/// Rejected rows listed one by one by `cloudhp customers import`; the others are counted.
const REJECTED_SHOWN: usize = 20;

/// The exit status of `cloudhp customers import` when rows were rejected (the others were
/// imported).
pub const EXIT_ROWS_REJECTED: u8 = 3;

/// `cloudhp customers seed`: the customer table of identity.database, created and filled with
/// demo customers when empty. Waits a while for a database that is still starting (a container
/// started beside it).
async fn seed_customers(config: &Config) -> anyhow::Result<()> {
    use cloudhp_store::{CustomerDb, Pool, PoolSettings, Seeding, TablePrefix};
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
    match result? {
        Seeding::Seeded(n) => out!("seeded {n} demo customers into {}", db.table()),
        Seeding::Populated(n) => out!(
            "{} holds customers already ({n}); nothing seeded",
            db.table()
        ),
        Seeding::Imported => out!(
            "{} is empty but an import ran against it: nothing seeded (import again, or \
             delete the data dir's database to start over)",
            db.table()
        ),
        Seeding::Off => out!("identity.demo_customers = 0: nothing seeded"),
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
        if let Some(customers) = &s.customers {
            out!("  Customers      {customers}");
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

/// Shortest admin password accepted.
const MIN_ADMIN_PASSWORD: usize = 10;

/// The admin password: asked twice on the terminal without echo, or one line of standard
/// input when it is not a terminal.
fn read_admin_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Admin password: ")
            .context("cannot read the password from the terminal")?;
        let again = rpassword::prompt_password("Same password again: ")
            .context("cannot read the password from the terminal")?;
        anyhow::ensure!(
            first == again,
            "the two passwords differ; nothing was printed"
        );
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(
        password.chars().count() >= MIN_ADMIN_PASSWORD,
        "the password must be at least {MIN_ADMIN_PASSWORD} characters long"
    );
    Ok(password)
}
