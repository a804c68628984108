//! The identity role: the customer database (the shop's, or the embedded demo table).

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{IdentityHandle, Role};
use cloudhp_store::Seeding;

use super::{IdentityService, Policy, api};
use crate::backends::customer_db;
use crate::config::Config;
use crate::wiring::Wiring;

/// The identity role of this process.
pub struct Identity {
    pub service: IdentityHandle,
    /// Ids of a few seeded demo customers, whose links a started process prints.
    pub sample_ids: Vec<u32>,
    /// What the embedded customer table holds (seeded, imported, empty), for the banner.
    pub customers: Option<String>,
}

/// Opens the customer database (creating and seeding the embedded table) when the identity
/// role runs here, and serves its API.
pub async fn service(w: &mut Wiring, config: &Config) -> anyhow::Result<Option<Identity>> {
    if !w.runs(Role::Identity) {
        return Ok(None);
    }
    let mut sample_ids = Vec::new();
    let mut customers = None;
    let db = customer_db::open(w, config)?;
    if config.embedded_customers() {
        db.create_embedded_table()
            .await
            .context("cannot create the embedded customer table")?;
        let seeding = db
            .seed_demo(config.identity.demo_customers)
            .await
            .context("cannot seed the demo customers")?;
        let table = db.table();
        customers = Some(match seeding {
            Seeding::Seeded(n) => {
                tracing::info!(customers = n, table, "demo customers seeded");
                sample_ids = (1..=n.min(3)).collect();
                format!("{n} demo customers seeded into the empty table {table}")
            }
            Seeding::Populated(n) => {
                if db.imports().await.unwrap_or(0) == 0 {
                    sample_ids = (1..=config.identity.demo_customers.min(3)).collect();
                }
                format!("{n} customers in {table}")
            }
            Seeding::Imported => {
                tracing::warn!(
                    table,
                    "the customer table is empty and an import ran against it: no demo \
                     customers seeded; import the shop's customers again"
                );
                format!(
                    "{table} is EMPTY: an import ran against it and imported nobody (no demo \
                     customers are seeded into an imported table); run `cloudhp customers \
                     import` again"
                )
            }
            Seeding::Off => format!("{table}: demo customers off (identity.demo_customers = 0)"),
        });
    }
    let policy = Policy {
        inactive: config.identity.inactive,
        guests: config.identity.guests,
    };
    let service: IdentityHandle = Arc::new(IdentityService::new(
        db,
        policy,
        config.identity.query_timeout,
    ));
    w.api(api::router(service.clone()));
    Ok(Some(Identity {
        service,
        sample_ids,
        customers,
    }))
}
