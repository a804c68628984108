//! The status read of a page on an SQLite lottery database, called in place.
//!
//! sqlx's SQLite driver runs each connection on a thread of its own: every query is a hop to
//! that thread and back, and every release of a connection one more (sqlx pings a connection
//! as it returns to the pool). A primary-key lookup in SQLite takes a few microseconds; the
//! hops took most of a page's time (the flame graphs of `docs/performance.md`). So the one
//! read every page makes — a customer's play record — is run by SQLite in the calling thread,
//! on read-only connections kept here.
//!
//! It stays short, so that it does not hold up the async runtime:
//! - no waiting on a lock: the connections have no busy timeout; in WAL mode a reader is not
//!   blocked by the writer, and in the rare cases SQLite answers "busy" (or anything else goes
//!   wrong, such as a database file not created yet) the caller falls back to the pooled,
//!   asynchronous read, which reports errors the usual way;
//! - one statement, prepared once per connection.
//!
//! Nothing is cached: each read sees the last committed write, like any other connection.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

/// Read-only connections to one SQLite file, opened on first use and kept for the next read.
pub(crate) struct InPlaceReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InPlaceReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InPlaceReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why a read in place did not answer (the caller then reads through the pool).
#[derive(Debug, thiserror::Error)]
#[error("SQLite read in place of {}: {source}", path.display())]
pub(crate) struct InPlaceError {
    path: PathBuf,
    source: rusqlite::Error,
}

impl InPlaceReads {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on one of the connections (a new one when all are in use). At most one
    /// connection per thread calling at the same time is ever open, since `read` does not
    /// yield.
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, InPlaceError> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match taken {
            Some(conn) => conn,
            None => self.open().map_err(|source| self.error(source))?,
        };
        let answer = read(&conn).map_err(|source| self.error(source));
        // A connection that failed is dropped: the next read opens a fresh one.
        if answer.is_ok()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(conn);
        }
        answer
    }

    /// How many connections wait for the next read.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // Read-only, and never created here: the pools own the file and its schema.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Answer "busy" at once rather than wait on the runtime's thread.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        Ok(conn)
    }

    fn error(&self, source: rusqlite::Error) -> InPlaceError {
        InPlaceError {
            path: self.path.clone(),
            source,
        }
    }
}
