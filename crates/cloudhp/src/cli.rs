//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cloudhp_core::{CustomerId, Role, RoleSet};

use crate::config::{Config, LinkMode, Overrides};
use crate::web::{Links, load_or_create_key};

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
    /// Check the configuration and print it as loaded (secrets masked).
    Config {
        /// Check for these roles [default: all].
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
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
            start(Config::load(file, &overrides)?, RoleSet::all(), true).await
        }
        Command::Serve { roles, common } => {
            let roles = RoleSet::parse(&roles)?;
            let overrides = Overrides {
                data_dir: common.data_dir,
                listen: common.listen,
                ..Overrides::default()
            };
            start(Config::load(file, &overrides)?, roles, false).await
        }
        Command::Roles => {
            print_roles();
            Ok(())
        }
        Command::Link { data_dir, ids } => {
            let config = Config::load(
                file,
                &Overrides {
                    data_dir,
                    ..Overrides::default()
                },
            )?;
            let links = links_of(&config)?;
            for raw in ids {
                let id = CustomerId::parse(&raw).with_context(|| format!("`{raw}`"))?;
                println!("{}", links.page_url(id));
            }
            Ok(())
        }
        Command::Config { roles, data_dir } => {
            let roles = RoleSet::parse(&roles)?;
            let config = Config::load(
                file,
                &Overrides {
                    data_dir,
                    ..Overrides::default()
                },
            )?;
            config.validate(&roles)?;
            print!("{}", toml::to_string(&config)?);
            eprintln!("configuration valid for roles: {roles}");
            Ok(())
        }
    }
}

/// The links of the configured campaign (the key of the configuration, or of the data dir).
fn links_of(config: &Config) -> anyhow::Result<Links> {
    let base = if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.clone()
    };
    Ok(match config.web.links {
        LinkMode::Open => Links::open(&base),
        LinkMode::Signed if !config.web.link_key.is_empty() => {
            Links::signed(config.web.link_key.expose().as_bytes(), &base)
        }
        LinkMode::Signed => {
            let path = config.server.data_dir.join("link.key");
            let key = load_or_create_key(&path)
                .with_context(|| format!("cannot read or create {}", path.display()))?;
            Links::signed(&key, &base)
        }
    })
}

fn print_roles() {
    println!("{:<10} {:<3} {:<70} NEEDS", "ROLE", "", "WHAT IT DOES");
    for role in Role::ALL {
        let letter = role.letter().map(String::from).unwrap_or_default();
        println!(
            "{:<10} {:<3} {:<70} {}",
            role.name(),
            letter,
            role.describe(),
            role.needs()
        );
    }
    println!();
    println!("Aliases:");
    for (alias, roles) in RoleSet::ALIASES {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        println!("  {alias:<8} {}", names.join(", "));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn start(config: Config, roles: RoleSet, up: bool) -> anyhow::Result<()> {
    crate::telemetry::init_logs(&config.log);
    let app = crate::app::build(config, roles).await?;
    let s = app.summary().clone();
    if up {
        println!("CloudHP is up: every role in one process.");
        println!();
        println!("  Listening on   {}", s.public_url);
        for (i, link) in s.sample_links.iter().enumerate() {
            let label = if i == 0 { "Try" } else { "" };
            println!("  {label:<14} {link}");
        }
        println!(
            "  Data           {} (SQLite database, prize catalog, pictures)",
            s.data_dir.display()
        );
        if let Some(spool) = &s.mail_spool {
            println!(
                "  Mail spool     {} (one .eml file per winner)",
                spool.display()
            );
        }
        println!(
            "  Health         {0}/readyz   metrics: {0}/metrics",
            s.public_url
        );
        println!("  Links          cloudhp link ID... prints any customer's personal link");
        println!();
        println!("Press Ctrl-C to stop.");
    } else {
        println!("cloudhp serving roles {} on http://{}", s.roles, s.addr);
    }
    app.run_until_stopped(shutdown_signal()).await
}
