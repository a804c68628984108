//! The web role: the customers' pages, calling the other roles locally when they run here and
//! over HTTP otherwise.

use anyhow::Context;
use cloudhp_core::Role;

use super::{Guard, Links, Web, WebTimeouts};
use crate::config::{Config, LinkMode};
use crate::roles::{identity, picture, play, status};
use crate::rpc::Remote;
use crate::wiring::{LocalRoles, Wiring};

/// Builds the web role when it runs here, and serves its pages. Returns the personal links
/// of the given sample customers.
pub fn router(
    w: &mut Wiring,
    config: &Config,
    local: &LocalRoles,
    remote: &Remote,
    public_url: &str,
    sample_ids: &[u32],
) -> anyhow::Result<Vec<String>> {
    if !w.runs(Role::Web) {
        return Ok(Vec::new());
    }
    let identity = identity::client::cached_handle(w, local.identity.as_ref(), remote, config);
    let status = status::client::handle(local.status.as_ref(), remote, config);
    let play = play::client::handle(local.play.as_ref(), remote, config);
    let pictures = picture::client::handle(local.pictures.as_ref(), remote, config);
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
                && !w.roles().is_all()
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
    let language = config.web.default_language()?;
    let guard = Guard::speaking(
        public_url,
        config.server.proxies()?,
        &config.limits,
        language,
    );
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
    let c = &config.web;
    let web = Web {
        identity,
        status,
        play,
        pictures,
        links,
        timeouts: WebTimeouts {
            identity: c.identity_timeout,
            status: c.status_timeout,
            picture: c.picture_timeout,
            play: c.play_timeout,
            start: c.start_timeout,
        },
        refresh: c.refresh,
        language,
        guard,
        campaign: config.campaign.window()?,
        clock: cloudhp_core::system_clock(),
        cache: super::PageCache::new(c.finished_cache),
    };
    let admin = admin(w, config, local, remote, &web)?;
    w.route(super::router(web, admin));
    Ok(sample_links)
}

/// The admin area, when `admin.password_hash` is set.
fn admin(
    w: &Wiring,
    config: &Config,
    local: &LocalRoles,
    remote: &Remote,
    web: &Web,
) -> anyhow::Result<Option<super::admin::Admin>> {
    let c = &config.admin;
    if !c.enabled() {
        return Ok(None);
    }
    let key_material = if c.session_key.is_empty() {
        let (keys, _) = crate::link_keys::resolve(&config.web, &config.server.data_dir).context(
            "cannot read the link keys to derive the admin session key (set admin.session_key)",
        )?;
        keys.into_iter()
            .next()
            .context("no link key to derive the admin session key from (set admin.session_key)")?
    } else {
        c.session_key.expose().as_bytes().to_vec()
    };
    let settings = super::admin::Settings {
        password_hash: c.password_hash.expose().trim(),
        key_material: &key_material,
        session_ttl: c.session_ttl,
        max_failures: c.max_failures,
        lockout: c.lockout,
        https: config.server.public_url.starts_with("https://"),
    };
    let roles = super::admin::Roles {
        identity: web.identity.clone(),
        status: web.status.clone(),
        report: status::client::report(local.report.as_ref(), remote, config),
        play: web.play.clone(),
        pictures: web.pictures.clone(),
    };
    // The checks of this process's roles, all wired by now (the web role is wired last).
    let readiness = w.readiness.clone();
    Ok(Some(super::admin::Admin::new(
        &settings,
        roles,
        readiness,
        web.guard.clone(),
        config.roles.timeout,
    )))
}
