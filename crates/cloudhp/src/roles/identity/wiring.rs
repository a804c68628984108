//! The identity role: the customer database (the shop's, or the embedded demo table).

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{IdentityHandle, Role, RoleSet};

use super::{IdentityService, Policy, api};
use crate::backends::customer_db;
use crate::config::Config;
use crate::wiring::Wiring;

/// The identity role of this process.
pub struct Identity {
    pub service: IdentityHandle,
    /// Ids of a few seeded demo customers, whose links a started process prints.
    pub sample_ids: Vec<u32>,
}

/// Opens the customer database (creating and seeding the embedded table) when the identity
/// role runs here, and serves its API.
pub async fn service(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
) -> anyhow::Result<Option<Identity>> {
    if !roles.contains(Role::Identity) {
        return Ok(None);
    }
    let mut sample_ids = Vec::new();
    let db = customer_db::open(w, config)?;
    if config.embedded_customers() {
        db.create_embedded_table()
            .await
            .context("cannot create the embedded customer table")?;
        let seeded = db
            .seed_demo(config.identity.demo_customers)
            .await
            .context("cannot seed the demo customers")?;
        if seeded > 0 {
            tracing::info!(
                customers = seeded,
                table = db.table(),
                "demo customers seeded"
            );
        }
        sample_ids = (1..=config.identity.demo_customers.min(3)).collect();
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
    }))
}
