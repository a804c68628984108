//! The play role called over HTTP, from the processes where it does not run.

use std::sync::Arc;

use async_trait::async_trait;
use cloudhp_core::{CustomerId, Play, PlayHandle, PlayReply, ServiceError};

use super::{PLAY_SERVICE, routes};
use crate::config::Config;
use crate::rpc::{Remote, RemoteRole};

pub struct RemotePlay(pub RemoteRole);

/// The play role as its callers use it: the local service when it runs here (`local`), else
/// a client of `roles.play_url`.
pub fn handle(local: Option<&PlayHandle>, remote: &Remote, config: &Config) -> PlayHandle {
    remote.handle(local, PLAY_SERVICE, &config.roles.play_url, |c| {
        Arc::new(RemotePlay(c))
    })
}

#[async_trait]
impl Play for RemotePlay {
    async fn play(&self, id: CustomerId) -> Result<PlayReply, ServiceError> {
        let response = self.0.send(|c, u| c.post(u), &routes::player(id)).await?;
        self.0.json(response).await
    }

    async fn availability(&self) -> Result<(), ServiceError> {
        let response = self.0.send(|c, u| c.get(u), routes::AVAILABILITY).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.0.error_of(response).await)
        }
    }
}
