//! The web role: the customers' pages, calling the other roles locally when they run here and
//! over HTTP otherwise.

use anyhow::Context;
use axum::Router;
use cloudhp_core::{Role, RoleSet};

use super::remote::Remote;
use super::{LocalRoles, Wiring};
use crate::config::{Config, LinkMode};
use crate::web::{Guard, Links, Web, WebTimeouts};

/// The web role of this process.
pub struct WebRole {
    pub router: Router,
    /// Personal links of the given sample customers.
    pub sample_links: Vec<String>,
}

/// Builds the web role when it runs here.
pub fn router(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
    local: &LocalRoles,
    remote: &Remote,
    public_url: &str,
    sample_ids: &[u32],
) -> anyhow::Result<Option<WebRole>> {
    if !roles.contains(Role::Web) {
        return Ok(None);
    }
    let r = &config.roles;
    let identity = remote.identity(local.identity.as_ref(), &r.identity_url);
    let status = remote.status(local.status.as_ref(), &r.status_url);
    let play = remote.play(local.play.as_ref(), &r.play_url);
    let pictures = remote.pictures(local.pictures.as_ref(), &r.picture_url);
    let links = match config.web.links {
        LinkMode::Open => {
            tracing::warn!(
                "web.links = \"open\": anyone can open any customer's page by changing the id"
            );
            Links::open(public_url)
        }
        LinkMode::Signed => {
            let (keys, source) = crate::link_keys::resolve(&config.web, &config.server.data_dir)
                .context("cannot use the link keys (web.link_keys)")?;
            if let crate::link_keys::KeySource::File(path) = &source
                && !roles.is_all()
            {
                tracing::warn!(path = %path.display(), "no web.link_keys configured: using the keys of the data dir; every web replica must share them");
            }
            Links::signed(&keys, public_url)?
        }
    };
    let sample_links = sample_ids
        .iter()
        .filter_map(|n| cloudhp_core::CustomerId::new(*n))
        .map(|id| links.page_url(id))
        .collect();
    let guard = Guard::new(public_url, config.server.proxies()?, &config.limits);
    let upkeep = guard.clone();
    let stop = w.cancel.clone();
    w.task("rate limit upkeep", async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(std::time::Duration::from_secs(10)) => upkeep.upkeep(),
            }
        }
    });
    let w = &config.web;
    let web = Web {
        identity,
        status,
        play,
        pictures,
        links,
        timeouts: WebTimeouts {
            identity: w.identity_timeout,
            status: w.status_timeout,
            picture: w.picture_timeout,
            play: w.play_timeout,
            start: w.start_timeout,
        },
        refresh: w.refresh,
        guard,
        campaign: config.campaign.window()?,
        clock: cloudhp_core::system_clock(),
    };
    Ok(Some(WebRole {
        router: crate::web::router(web),
        sample_links,
    }))
}
