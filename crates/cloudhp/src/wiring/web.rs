//! The web role: the customers' pages, calling the other roles locally when they run here and
//! over HTTP otherwise.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use cloudhp_core::{IdentityHandle, PicturesHandle, PlayHandle, Role, RoleSet, StatusHandle};

use super::LocalRoles;
use crate::config::{Config, LinkMode};
use crate::rpc::{
    IDENTITY_SERVICE, PICTURE_SERVICE, PLAY_SERVICE, RemoteIdentity, RemotePictures, RemotePlay,
    RemoteRole, RemoteStatus, STATUS_SERVICE,
};
use crate::web::{Links, Web, WebTimeouts};

/// The web role of this process.
pub struct WebRole {
    pub router: Router,
    /// Personal links of the given sample customers.
    pub sample_links: Vec<String>,
}

/// Builds the web role when it runs here.
pub fn router(
    config: &Config,
    roles: &RoleSet,
    local: &LocalRoles,
    public_url: &str,
    data_dir: &Path,
    sample_ids: &[u32],
) -> anyhow::Result<Option<WebRole>> {
    if !roles.contains(Role::Web) {
        return Ok(None);
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .context("cannot build the HTTP client")?;
    let token = (!config.roles.token.is_empty()).then(|| config.roles.token.expose().to_owned());
    let remote = |name: &'static str, url: &str| {
        RemoteRole::new(
            name,
            url,
            http.clone(),
            token.clone(),
            config.roles.timeout,
            config.roles.connect_retries,
        )
    };
    let identity: IdentityHandle = match &local.identity {
        Some(local) => local.clone(),
        None => Arc::new(RemoteIdentity(remote(
            IDENTITY_SERVICE,
            &config.roles.identity_url,
        ))),
    };
    let status: StatusHandle = match &local.status {
        Some(local) => local.clone(),
        None => Arc::new(RemoteStatus(remote(
            STATUS_SERVICE,
            &config.roles.status_url,
        ))),
    };
    let play: PlayHandle = match &local.play {
        Some(local) => local.clone(),
        None => Arc::new(RemotePlay(remote(PLAY_SERVICE, &config.roles.play_url))),
    };
    let pictures: PicturesHandle = match &local.pictures {
        Some(local) => local.clone(),
        None => Arc::new(RemotePictures(remote(
            PICTURE_SERVICE,
            &config.roles.picture_url,
        ))),
    };
    let links = match config.web.links {
        LinkMode::Open => {
            tracing::warn!(
                "web.links = \"open\": anyone can open any customer's page by changing the id"
            );
            Links::open(public_url)
        }
        LinkMode::Signed => {
            let (keys, source) = crate::link_keys::resolve(&config.web, data_dir)
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
    };
    Ok(Some(WebRole {
        router: crate::web::router(web),
        sample_links,
    }))
}
