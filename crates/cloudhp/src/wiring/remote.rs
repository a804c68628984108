//! How this process reaches the roles that run elsewhere: one pooled HTTP client and the role
//! token, shared by every role of the process that calls another (the web role calls them all,
//! the play role calls identity).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cloudhp_core::{IdentityHandle, PicturesHandle, PlayHandle, StatusHandle};

use crate::config::Config;
use crate::rpc::{
    IDENTITY_SERVICE, PICTURE_SERVICE, PLAY_SERVICE, RemoteIdentity, RemotePictures, RemotePlay,
    RemoteRole, RemoteStatus, STATUS_SERVICE,
};

/// Builds the handle of a role: the local service when it runs here, else its remote client.
pub struct Remote {
    http: reqwest::Client,
    token: Option<String>,
    timeout: Duration,
    retries: u32,
}

impl Remote {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the HTTP client")?;
        let token =
            (!config.roles.token.is_empty()).then(|| config.roles.token.expose().to_owned());
        Ok(Self {
            http,
            token,
            timeout: config.roles.timeout,
            retries: config.roles.connect_retries,
        })
    }

    fn role(&self, name: &'static str, url: &str) -> RemoteRole {
        RemoteRole::new(
            name,
            url,
            self.http.clone(),
            self.token.clone(),
            self.timeout,
            self.retries,
        )
    }

    pub fn identity(&self, local: Option<&IdentityHandle>, url: &str) -> IdentityHandle {
        match local {
            Some(local) => local.clone(),
            None => Arc::new(RemoteIdentity(self.role(IDENTITY_SERVICE, url))),
        }
    }

    pub fn status(&self, local: Option<&StatusHandle>, url: &str) -> StatusHandle {
        match local {
            Some(local) => local.clone(),
            None => Arc::new(RemoteStatus(self.role(STATUS_SERVICE, url))),
        }
    }

    pub fn play(&self, local: Option<&PlayHandle>, url: &str) -> PlayHandle {
        match local {
            Some(local) => local.clone(),
            None => Arc::new(RemotePlay(self.role(PLAY_SERVICE, url))),
        }
    }

    pub fn pictures(&self, local: Option<&PicturesHandle>, url: &str) -> PicturesHandle {
        match local {
            Some(local) => local.clone(),
            None => Arc::new(RemotePictures(self.role(PICTURE_SERVICE, url))),
        }
    }
}
