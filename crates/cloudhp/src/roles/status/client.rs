//! The status role called over HTTP, from the processes where it does not run.

use std::sync::Arc;

use async_trait::async_trait;
use cloudhp_core::{
    CampaignReport, CustomerId, PlayStatus, Report, ReportHandle, ServiceError, Status,
    StatusHandle, Winner, WinnerSearch, WinnersPage,
};

use super::{STATUS_SERVICE, routes};
use crate::config::Config;
use crate::rpc::Remote;

crate::rpc::remote_client!(RemoteStatus: StatusHandle, STATUS_SERVICE, status_url);

/// The report of the status role as the admin area uses it: the local service when the status
/// role runs here, else a client of `roles.status_url`.
pub fn report(local: Option<&ReportHandle>, remote: &Remote, config: &Config) -> ReportHandle {
    remote.handle(local, STATUS_SERVICE, &config.roles.status_url, |c| {
        Arc::new(RemoteStatus(c))
    })
}

#[async_trait]
impl Status for RemoteStatus {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
        self.0.get_json(&routes::player(id)).await
    }
}

impl RemoteStatus {
    /// `GET path?query`, the pairs encoded as a form.
    async fn get_query<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        pairs: &[(&str, String)],
    ) -> Result<T, ServiceError> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.0.get_json(&format!("{path}?{query}")).await
    }
}

#[async_trait]
impl Report for RemoteStatus {
    async fn campaign(&self) -> Result<CampaignReport, ServiceError> {
        self.0.get_json(routes::CAMPAIGN).await
    }

    async fn winners(&self, search: &WinnerSearch) -> Result<WinnersPage, ServiceError> {
        let pairs = [
            ("search", search.search.clone()),
            ("page", search.page.to_string()),
            ("per_page", search.per_page.to_string()),
        ];
        self.get_query(routes::WINNERS, &pairs).await
    }

    async fn winners_after(
        &self,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Winner>, ServiceError> {
        let mut pairs = vec![("limit", limit.to_string())];
        if let Some(after) = after {
            pairs.push(("after", after.to_string()));
        }
        self.get_query(routes::WINNERS_AFTER, &pairs).await
    }
}
