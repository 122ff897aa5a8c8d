//! The rejection log: every refused request to an OAuth endpoint that names a
//! registered app, kept per app (the newest [`KEEP_PER_APP`]) with its cause
//! and decision trace, for the console's troubleshooter and `grantd explain`.
//!
//! Recording is off the request path: the edge hands a record to a bounded
//! channel ([`RejectionLog::record`] never waits; a full channel drops the
//! record and counts it) and one task writes batches, each one unit of work
//! that also trims the app's log to its bound.

use crate::clock::UnixTime;
use crate::store::Store;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Rejections kept per app; the oldest goes when one more is recorded.
pub const KEEP_PER_APP: u32 = 1_000;
/// Records waiting to be written at most; more are dropped (a flood of bad
/// requests must cost neither memory nor the requests' time).
pub const QUEUE: usize = 4_096;
/// Records written per unit of work at most.
pub const BATCH: usize = 256;
/// Most characters of the user agent kept.
const MAX_USER_AGENT: usize = 200;

/// One refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub client_id: String,
    /// Order within the app's log, given by the store (higher is newer).
    pub seq: i64,
    pub request_id: String,
    pub at: UnixTime,
    /// The endpoint's path (`/oauth/token`).
    pub endpoint: String,
    /// The `grant_type` or `response_type` the request asked for.
    pub grant: Option<String>,
    /// The catalog code.
    pub code: String,
    /// The cause in this request's words: the error's description, which is
    /// secret-free by construction.
    pub description: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub trace: Trace,
}

impl Rejection {
    /// The catalog's fix for this rejection's code.
    pub fn fix(&self) -> &'static str {
        grantd_protocol::Code::find(&self.code)
            .map(|c| c.entry().fix)
            .unwrap_or("")
    }

    /// The catalog's short message for this rejection's code.
    pub fn message(&self) -> &'static str {
        grantd_protocol::Code::find(&self.code)
            .map(|c| c.entry().message)
            .unwrap_or("")
    }

    pub fn clip_user_agent(ua: &str) -> String {
        ua.chars().take(MAX_USER_AGENT).collect()
    }
}

/// Which rejections to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionFilter {
    pub code: Option<String>,
    pub endpoint: Option<String>,
    /// Most to answer (the store caps it at [`KEEP_PER_APP`]).
    pub limit: u32,
}

/// Rejections of one day (UTC), for the console's usage table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub count: u64,
}

/// The channel to the writer.
pub struct RejectionLog {
    tx: mpsc::Sender<Rejection>,
    rx: Mutex<Option<mpsc::Receiver<Rejection>>>,
    dropped: AtomicU64,
}

impl Default for RejectionLog {
    fn default() -> Self {
        Self::new()
    }
}

impl RejectionLog {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a record; never waits.
    pub fn record(&self, r: Rejection) {
        if self.tx.try_send(r).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "rejection log queue full; records dropped");
            }
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Starts the writer (call once, on the serving runtime); answers
    /// whether it started.
    pub fn spawn_writer(&self, store: Arc<dyn Store>) -> bool {
        let Some(mut rx) = self.rx.lock().ok().and_then(|mut g| g.take()) else {
            return false;
        };
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                if let Err(e) = store.record_rejections(&batch, KEEP_PER_APP).await {
                    tracing::warn!(error = %e, records = batch.len(), "rejections not recorded");
                }
                batch.clear();
            }
        });
        true
    }
}
