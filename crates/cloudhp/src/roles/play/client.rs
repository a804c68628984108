//! The play role called over HTTP, from the processes where it does not run.

use async_trait::async_trait;
use cloudhp_core::{CustomerId, Play, PlayHandle, PlayReply, ServiceError};

use super::{PLAY_SERVICE, routes};

crate::rpc::remote_client!(RemotePlay: PlayHandle, PLAY_SERVICE, play_url);

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
