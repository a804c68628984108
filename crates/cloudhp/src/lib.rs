//! CloudHP: a promotional lottery in one binary. Every role can run in one process on embedded
//! backends (`cloudhp up`), or each in its own process against real infrastructure
//! (`cloudhp serve --role …`).

pub mod app;
mod backends;
pub mod campaign;
pub mod cli;
pub mod config;
pub mod events;
pub mod files;
pub mod http;
pub mod import;
pub mod link_keys;
pub mod roles;
pub mod rpc;
pub mod server;
mod supervisor;
pub mod telemetry;
mod wiring;

pub use app::{App, Summary, build};
pub use config::{Config, Overrides};
