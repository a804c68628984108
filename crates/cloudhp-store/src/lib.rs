//! Database access of CloudHP: the lottery database (plays, outbox, campaign mailing) and the
//! shop's customer table. Each is chosen by URL (`sqlite://…` embedded, `mysql://…` for
//! MariaDB/MySQL); the SQL is the same for both except where a dialect needs its own, and the
//! migrations are embedded, one folder per dialect.

mod customers;
mod demo;
mod in_place;
mod lottery;
mod mailing;
mod report;

use std::str::FromStr;
use std::time::Duration;

use cloudhp_core::retry::{Policy, Retryable};
use cloudhp_core::secret::redact_url;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

pub use customers::{
    CustomerDb, CustomerProfile, CustomerRecord, CustomerSelection, MailingCustomer, NewCustomer,
    Seeding, TablePrefix, prestashop_customer_ddl,
};
pub use demo::demo_customer;
pub use lottery::{
    Claim, ClaimToken, Completion, HeldClaim, LotteryDb, Notification, OutboxCounts, Outcome,
    PlayCounts, PlayRecord, PrizeStock, RecordState, StockSpec, TakeOver,
};
pub use mailing::{MailingProgress, MailingRecord, MailingState};

/// Runs `op` until it succeeds, fails for another reason than an unreachable database, or has
/// been retried `retries` times a second apart: a database started beside this process (a
/// container of the same stack) may not answer yet. `what` names the database in the log.
pub async fn retry_while_unavailable<T, F, Fut>(
    what: &str,
    retries: u32,
    op: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    op.retry(Policy::constant(Duration::from_secs(1), retries as usize))
        .when(StoreError::is_unavailable)
        .notify(|e, _| {
            attempt += 1;
            let error = std::error::Error::source(e)
                .map_or_else(|| e.to_string(), |cause| format!("{e}: {cause}"));
            tracing::warn!(attempt, %error, "{what} not reachable yet; retrying");
        })
        .await
}

/// Dispatches one body over the pool's backend: the body is compiled once per backend, so the
/// same query text runs on SQLite and on MySQL.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::MySql($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// How a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or mysql://USER:PASSWORD@HOST/DB")]
    Scheme(String),
    #[error("invalid database URL")]
    Url(#[source] sqlx::Error),
    #[error("the database does not answer")]
    Unavailable(#[source] sqlx::Error),
    #[error("the database refused a query")]
    Query(#[source] sqlx::Error),
    #[error("cannot migrate the database schema")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("the database holds an unexpected value: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Sorts a driver error: failures to reach the server are `Unavailable`, the rest `Query`.
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            other => Self::Query(other),
        }
    }

    /// True when the server could not be reached at all (as opposed to refusing a query).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// True when a query named a table that does not exist (yet).
    pub fn is_missing_table(&self) -> bool {
        match self {
            Self::Query(sqlx::Error::Database(e)) => {
                let message = e.message();
                // SQLite says "no such table", MySQL/MariaDB "Table '…' doesn't exist" (1146).
                message.contains("no such table") || e.code().as_deref() == Some("42S02")
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::from_sqlx(err)
    }
}

/// Connection settings shared by both databases.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a query waits for a connection (and, with MySQL, for the server to answer the
    /// connect) before the call fails as unavailable.
    pub acquire_timeout: Duration,
    /// Open the database read-only (the shop's customer database).
    pub read_only: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            read_only: false,
        }
    }
}

/// A connection pool to one of the supported backends.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

impl Pool {
    /// Opens a lazy pool for `url`: nothing is dialled until the first query, so a database
    /// that is down at start-up only makes the role unready, it does not stop the process.
    pub fn connect_lazy(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = sqlite_path(rest);
            if path.is_empty() {
                return Err(StoreError::Scheme(url.to_owned()));
            }
            if path == ":memory:" {
                // A private, empty database (each connection its own): nothing touches disk.
                let options = SqliteConnectOptions::new().in_memory(true);
                return Ok(Self::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_lazy_with(options),
                ));
            }
            if !settings.read_only
                && let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Invalid(format!("cannot create the folder of {path}: {e}"))
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(!settings.read_only)
                .read_only(settings.read_only)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // No ping before each query (sqlx's default): a connection to a local file cannot
            // go stale, and the ping doubled the round trips to the connection's thread.
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .test_before_acquire(false)
                .connect_lazy_with(options);
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let options = MySqlConnectOptions::from_str(&url).map_err(StoreError::Url)?;
            let mut pool = MySqlPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout);
            if settings.read_only {
                // Belt and braces beside a read-only account: the session itself refuses
                // writes.
                pool = pool.after_connect(|conn, _meta| {
                    Box::pin(async move {
                        sqlx::Executor::execute(&mut *conn, "SET SESSION TRANSACTION READ ONLY")
                            .await
                            .map(|_| ())
                    })
                });
            }
            let pool = pool.connect_lazy_with(options);
            Ok(Self::MySql(pool))
        } else {
            Err(StoreError::Scheme(redact_url(url)))
        }
    }

    /// The file of an SQLite `url` (none for another backend, or a database in memory).
    pub(crate) fn sqlite_file(url: &str) -> Option<&str> {
        let path = sqlite_path(url.strip_prefix("sqlite:")?);
        (!path.is_empty() && path != ":memory:").then_some(path)
    }

    /// One round trip to the server.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |p| {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await)
    }
}

/// The path of an SQLite URL after its scheme: `sqlite://relative/path` and
/// `sqlite:///absolute/path` both work; options after `?` are not part of it.
fn sqlite_path(rest: &str) -> &str {
    let path = rest.strip_prefix("//").unwrap_or(rest);
    path.split('?').next().unwrap_or(path)
}

/// Unix milliseconds, the time unit stored in the lottery database.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(crate) fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_secrets_redacted() {
        assert!(matches!(
            Pool::connect_lazy("postgres://x", &PoolSettings::default()),
            Err(StoreError::Scheme(_))
        ));
        assert!(matches!(
            Pool::connect_lazy("sqlite://", &PoolSettings::default()),
            Err(StoreError::Scheme(_))
        ));
        // An unknown scheme is named without the URL's credentials.
        let err = Pool::connect_lazy("postgres://u:pw@h/db", &PoolSettings::default()).unwrap_err();
        assert!(!err.to_string().contains("pw"));
    }

    #[tokio::test]
    async fn only_an_unreachable_database_is_retried() {
        let mut calls = 0;
        let result: Result<(), _> = retry_while_unavailable("test database", 1, || {
            calls += 1;
            async { Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)) }
        })
        .await;
        assert!(result.unwrap_err().is_unavailable());
        assert_eq!(calls, 2, "the first attempt and one retry");

        let mut calls = 0;
        let result: Result<(), _> = retry_while_unavailable("test database", 5, || {
            calls += 1;
            async { Err(StoreError::Invalid("refused".into())) }
        })
        .await;
        assert!(matches!(result, Err(StoreError::Invalid(_))));
        assert_eq!(calls, 1, "a refusal is not retried");
    }

    #[test]
    fn millis_round_trip() {
        let t = time::macros::datetime!(2026-11-25 12:34:56.789 UTC);
        assert_eq!(from_millis(millis(t)).unwrap(), t);
    }
}
