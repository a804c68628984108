//! The behaviour of the play role, the same over both transports: one suite, run against the
//! local service and against the remote client calling the role's real API (local service →
//! its API on a port-0 listener → remote client).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{CampaignWindow, CustomerId, PlayHandle, PlayOutcome, PlayState, ServiceError};
use cloudhp_objects::{StoreOptions, store_from_url};
use cloudhp_store::Pool;
use time::OffsetDateTime;
use time::macros::datetime;

use super::client::RemotePlay;
use super::{PLAY_SERVICE, PlayService, PlaySettings, api};
use crate::roles::identity::IDENTITY_SERVICE;
use crate::roles::identity::contract::{customers, local as identity, refuses_non_players};
use crate::roles::status::LOTTERY_DB;
use crate::roles::status::contract::lottery;
use crate::roles::worker::LocalWorker;
use crate::rpc::testing::{Transport, assert_down, transport_tests};

fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

/// The play role over embedded backends in `dir` (the customers of the identity suite, our
/// W drawing at once, a folder of pictures), open during `campaign`; and the pools of the
/// lottery and the customer databases (closed to take them down).
async fn play(dir: &Path, campaign: CampaignWindow) -> (PlayService, [Pool; 2]) {
    let (customer_db, customer_pool) = customers(dir).await;
    let (db, pool) = lottery(dir).await;
    let images = format!("file://{}", dir.join("images").display());
    let service = PlayService::new(
        db,
        identity(customer_db),
        Arc::new(LocalWorker::new(
            cloudhp_worker::Catalog::demo(),
            Duration::ZERO,
            4,
        )),
        store_from_url(&images, &StoreOptions::default()).unwrap(),
        PlaySettings {
            lease: Duration::from_secs(60),
            worker_timeout: Duration::from_secs(10),
            store_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(1),
            max_attempts: 3,
            max_draws: 8,
            max_pending: 1000,
            campaign,
            instance: "contract".into(),
            prizes: None,
        },
        Vec::new(),
    );
    (service, [pool, customer_pool])
}

/// Waits for the draws started so far.
async fn finish(local: &PlayService) {
    let draws = local.draws();
    draws.close();
    draws.wait().await;
    draws.reopen();
}

/// What every play role does, wherever it runs. `local`: the service behind `play` (its draws
/// are waited for); `pools`: the lottery and customer databases', closed at the end to take
/// them down.
async fn suite(play: PlayHandle, local: &PlayService, [pool, customer_pool]: [Pool; 2]) {
    assert_eq!(play.availability().await, Ok(()));

    let started = play.play(id(1)).await.unwrap();
    assert_eq!(started.outcome, PlayOutcome::Started);
    assert_eq!(started.status.customer_id, id(1));
    assert_eq!(started.status.state, PlayState::Drawing);
    finish(local).await;
    let again = play.play(id(1)).await.unwrap();
    assert_eq!(again.outcome, PlayOutcome::AlreadyPlayed, "one draw only");
    assert_eq!(again.status.state, PlayState::Won);
    assert!(again.status.prize.is_some());

    refuses_non_players(|id| play.play(id)).await;

    pool.close().await;
    assert_down(play.availability().await, LOTTERY_DB);
    assert_down(play.play(id(1)).await.map(|r| r.outcome), LOTTERY_DB);

    // Whatever fails behind the identity role, the customer hears it is the identity service.
    customer_pool.close().await;
    assert_eq!(
        play.play(id(1)).await.map(|r| r.outcome),
        Err(ServiceError::unavailable(IDENTITY_SERVICE)),
        "the customer database is down"
    );
}

/// A campaign over since 2020.
fn over() -> CampaignWindow {
    CampaignWindow {
        starts_at: None,
        ends_at: Some(datetime!(2020-01-01 00:00 UTC)),
    }
}

/// Outside the campaign every play role refuses, saying why, and starts nothing.
async fn closed_suite(play: PlayHandle) {
    let closed = over().check(OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(closed, ServiceError::Closed { .. }));
    assert_eq!(play.play(id(1)).await, Err(closed));
}

/// The play role over `transport` on `local`.
async fn play_role(transport: Transport, local: PlayService) -> PlayHandle {
    transport
        .over(
            PLAY_SERVICE,
            Arc::new(local) as PlayHandle,
            api::router,
            RemotePlay::handle_of,
        )
        .await
}

/// Both suites over `transport`.
async fn honours_the_contract(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let (local, pools) = play(dir.path(), CampaignWindow::default()).await;
    suite(play_role(transport, local.clone()).await, &local, pools).await;

    let dir = tempfile::tempdir().unwrap();
    let (local, _) = play(dir.path(), over()).await;
    closed_suite(play_role(transport, local).await).await;
}

transport_tests! {
    honours_the_contract:
        the_local_play_role_honours_the_contract,
        the_remote_play_role_honours_the_contract;
}
