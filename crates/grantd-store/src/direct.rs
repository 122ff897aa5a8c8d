//! Direct reads for SQLite: the point lookups of requests (a token, a
//! session, a user, an app by its key) run on the calling task, on a
//! read-only rusqlite connection taken from a small pool.
//!
//! Why: through sqlx a read is a round trip to a connection thread (two
//! thread wake-ups), which cost more CPU than the lookup itself; a refresh
//! makes four. An indexed lookup in WAL mode takes microseconds and never
//! waits for a writer, so running it in place blocks the task no longer
//! than hashing a token does. Anything that scans (lists, the logs) stays
//! on sqlx's reader pool.

use grantd_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Connections kept for reuse (more may be open while many tasks read).
const KEEP: usize = 8;

#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(path: &Path, busy_timeout: Duration) -> Self {
        Self {
            path: path.to_path_buf(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", self.path.display())))?;
        conn.busy_timeout(self.busy_timeout)
            .and_then(|()| conn.execute_batch("PRAGMA query_only = ON;"))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// The row `sql` finds with `params`, decoded by `decode`; `what` names
    /// it in errors.
    pub fn one<T>(
        &self,
        what: &str,
        sql: &str,
        params: impl rusqlite::Params,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let taken = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let found = conn
            .prepare_cached(sql)
            .and_then(|mut query| query.query_row(params, |row| Ok(decode(row))).optional())
            .map_err(|e| StoreError::Unavailable(format!("reading {what}: {e}")));
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEEP {
                idle.push(conn);
            }
        }
        found?.transpose()
    }
}
