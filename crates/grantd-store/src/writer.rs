//! The SQLite writer thread: the hot units of work (open a session, rotate a
//! refresh token, store a token, use a code, revoke) run on one thread that
//! owns a write connection, with group commit.
//!
//! Why a thread: through sqlx each SQL statement is a round trip between the
//! async task and sqlx's connection thread (two thread wake-ups), so a
//! rotation's seven statements cost fourteen wake-ups and the single writer
//! spent its time waking, not writing. Here a unit of work is one closure
//! run where the connection lives: its statements (prepared once, cached)
//! cost microseconds, and the caller wakes once, for the answer.
//!
//! Group commit: the thread takes every job waiting (up to [`MAX_BATCH`]),
//! runs them in one `BEGIN IMMEDIATE` transaction, each inside its own
//! savepoint (a job that fails is rolled back alone, the others stay), and
//! answers them all after `COMMIT`. So nothing is acknowledged before it is
//! committed, and under load one commit carries many operations.
//!
//! Checkpoints: this connection never checkpoints (`wal_autocheckpoint =
//! 0`); `SqliteStore` runs a passive checkpoint every second on its other
//! write connection, so copying the WAL into the database file (and its
//! fsyncs) never stalls a batch.
//!
//! Durability: WAL with `synchronous = NORMAL`. A commit is in the WAL file
//! (the operating system's cache) before anyone is answered: an acknowledged
//! token survives the process being killed (`tests/durability.rs` kills it
//! under load); a power loss may lose the last commits before a checkpoint.

use crate::codec::unique_key_of;
use grantd_core::store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Most jobs one transaction carries.
const MAX_BATCH: usize = 128;
/// Jobs that may wait for the thread before senders wait too.
const QUEUE: usize = 1024;

/// A unit of work: runs on the writer thread, inside its own savepoint.
pub(crate) type Work<R> = Box<dyn FnOnce(&Connection) -> StoreResult<R> + Send>;

/// A job with its result type erased, so one queue carries every kind.
trait Job: Send {
    /// Runs the work; the answer is sent after the commit.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer>;
    /// Answers without running (the transaction could not start).
    fn fail(self: Box<Self>, error: StoreError);
}

trait Answer: Send {
    /// Whether the work succeeded (its savepoint is kept).
    fn succeeded(&self) -> bool;
    /// Sends the work's result, or the commit's failure.
    fn send(self: Box<Self>, committed: StoreResult<()>);
}

struct Task<R> {
    work: Work<R>,
    reply: oneshot::Sender<StoreResult<R>>,
}

struct Done<R> {
    result: StoreResult<R>,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<R: Send + 'static> Job for Task<R> {
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Answer> {
        let result = (self.work)(conn);
        Box::new(Done {
            result,
            reply: self.reply,
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

impl<R: Send + 'static> Answer for Done<R> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn send(self: Box<Self>, committed: StoreResult<()>) {
        let _ = self.reply.send(committed.and(self.result));
    }
}

/// The handle the store holds; the thread ends when it is dropped.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Opens the write connection to the (existing, migrated) database at
    /// `path` and starts the thread.
    pub fn open(path: &Path, busy_timeout: Duration) -> StoreResult<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", path.display())))?;
        conn.busy_timeout(busy_timeout).map_err(unavailable)?;
        // No checkpoint on this connection's commits: the store's
        // checkpointer runs them on another connection, off the request path.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("grantd-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Unavailable(format!("starting the writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `work` as one unit of work and answers once it is committed.
    pub async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the SQLite writer stopped".into());
        let job: Box<dyn Job> = Box::new(Task {
            work: Box::new(work),
            reply,
        });
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn run(conn: Connection, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("grantd_store_batch_size").record(batch.len() as f64);
        let started = Instant::now();
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            for job in batch {
                job.fail(db_error(&e, "starting a write"));
            }
            continue;
        }
        let mut answers = Vec::with_capacity(batch.len());
        let mut broken: Option<String> = None;
        for job in batch {
            if let Some(e) = &broken {
                job.fail(StoreError::Unavailable(e.clone()));
                continue;
            }
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                broken = Some(e.to_string());
                job.fail(db_error(&e, "a write"));
                continue;
            }
            let answer = job.run(&conn);
            let end = if answer.succeeded() {
                conn.execute_batch("RELEASE job")
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")
            };
            if let Err(e) = end {
                broken = Some(e.to_string());
            }
            answers.push(answer);
        }
        let committed: Result<(), String> = match broken {
            Some(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
            None => conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                format!("committing: {e}")
            }),
        };
        metrics::histogram!("grantd_store_duration_seconds", "operation" => "write_batch")
            .record(started.elapsed().as_secs_f64());
        for answer in answers {
            answer.send(committed.clone().map_err(StoreError::Unavailable));
        }
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Maps a rusqlite error as `codec::db_error` maps sqlx's: unique violations
/// become [`StoreError::Conflict`] naming the key, the rest
/// [`StoreError::Unavailable`] (`what` says which write).
pub(crate) fn db_error(e: &rusqlite::Error, what: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, message)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Conflict(unique_key_of("", message.as_deref().unwrap_or_default()))
        }
        _ => StoreError::Unavailable(format!("{what}: {e}")),
    }
}
