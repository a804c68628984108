//! The behaviour of the identity role, the same over both transports: one suite, run against
//! the local service and against the remote client calling the role's real API (local service
//! → its API on a port-0 listener → remote client). A transport that mapped an error to another
//! status, or an answer to another shape, fails it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{Customer, CustomerId, IdentityHandle, ServiceError};
use cloudhp_store::{CustomerDb, Pool, PoolSettings, TablePrefix};

use super::client::RemoteIdentity;
use super::{CUSTOMER_DB, IDENTITY_SERVICE, IdentityService, Policy, api};
use crate::config::Admission;
use crate::rpc::testing::{Transport, assert_down, transport_tests};

fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

/// An embedded customer table in `dir`: customers 1 to 3, 2 inactive, 3 deleted. Returns the
/// table and its pool (closed to take the database down).
pub(crate) async fn customers(dir: &Path) -> (CustomerDb, Pool) {
    let url = format!("sqlite://{}", dir.join("customers.db").display());
    let pool = Pool::connect_lazy(&url, &PoolSettings::default()).unwrap();
    let db = CustomerDb::new(pool.clone(), TablePrefix::parse("ps_").unwrap());
    db.create_embedded_table().await.unwrap();
    db.seed_demo(3).await.unwrap();
    db.set_flags(id(2), false, false, false).await.unwrap();
    db.set_flags(id(3), true, false, true).await.unwrap();
    (db, pool)
}

/// Asserts that `call` answers `NotFound` for each customer of [`customers`] who may not play
/// (2 inactive, 3 deleted) and for one who does not exist.
pub(crate) async fn refuses_non_players<T, F, Fut>(call: F)
where
    T: std::fmt::Debug + PartialEq,
    F: Fn(CustomerId) -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    for (n, why) in [(2, "inactive"), (3, "deleted"), (999, "unknown")] {
        assert_eq!(
            call(id(n)).await,
            Err(ServiceError::NotFound),
            "an {why} customer"
        );
    }
}

/// The local identity role over `db`, inactive customers excluded.
pub(crate) fn local(db: CustomerDb) -> IdentityHandle {
    let policy = Policy {
        inactive: Admission::Exclude,
        guests: Admission::Include,
    };
    Arc::new(IdentityService::new(db, policy, Duration::from_secs(5)))
}

/// What every identity role does, wherever it runs. `pool`: the customer database's, closed
/// at the end to take it down.
async fn suite(identity: IdentityHandle, expected: Customer, pool: Pool) {
    assert_eq!(identity.customer(id(1)).await, Ok(expected));
    refuses_non_players(|id| identity.customer(id)).await;
    assert_eq!(
        identity.customer_count().await,
        Ok(1),
        "the inactive and the deleted customers are not counted"
    );
    pool.close().await;
    assert_down(identity.customer_count().await, CUSTOMER_DB);
    assert_down(identity.customer(id(1)).await, CUSTOMER_DB);
}

/// The suite over `transport`, on the customers of [`customers`].
async fn honours_the_contract(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = customers(dir.path()).await;
    let expected = db.find(id(1)).await.unwrap().unwrap().customer;
    let identity = transport
        .over(
            IDENTITY_SERVICE,
            local(db),
            api::router,
            RemoteIdentity::handle_of,
        )
        .await;
    suite(identity, expected, pool).await;
}

transport_tests! {
    honours_the_contract:
        the_local_identity_role_honours_the_contract,
        the_remote_identity_role_honours_the_contract;
}
