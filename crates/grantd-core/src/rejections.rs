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
    #[serde(default)]
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

    /// The rejection as `grantd explain <request-id>` prints it.
    pub fn explain(&self, issuer: &str) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Request {} to {} for app {}, {}",
            self.request_id,
            self.endpoint,
            self.client_id,
            crate::crypto::rfc3339(self.at)
        );
        if let Some(g) = &self.grant {
            let _ = writeln!(o, "Grant: {g}");
        }
        let _ = writeln!(o, "Rejected: {} — {}", self.code, self.message());
        let _ = writeln!(o, "\nCause:\n  {}", self.description);
        let _ = writeln!(o, "\nHow to fix it:\n  {}", self.fix());
        let _ = writeln!(
            o,
            "\nFrom: {}, user agent {}",
            self.client_ip.as_deref().unwrap_or("(unknown address)"),
            self.user_agent.as_deref().unwrap_or("(none)")
        );
        let _ = writeln!(o, "\nDecision trace (each check, in order):");
        for (i, s) in self.trace.steps.iter().enumerate() {
            let mark = if s.passed { "passed" } else { "FAILED" };
            let code = s
                .code
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            let _ = writeln!(o, "  {}. {} {}{}", i + 1, s.check, mark, code);
            for (k, v) in &s.values {
                let _ = writeln!(o, "       {k}: {v}");
            }
        }
        let _ = writeln!(o, "\nReference: {issuer}/docs/errors/{}", self.code);
        o
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

impl crate::Grantd {
    /// An app's rejections, newest first.
    pub async fn app_rejections(
        &self,
        client_id: &str,
        filter: &RejectionFilter,
    ) -> Result<Vec<Rejection>, grantd_protocol::OAuthError> {
        if self.store.get_app(client_id).await?.is_none() {
            return Err(grantd_protocol::OAuthError::app_not_found(client_id));
        }
        Ok(self.store.list_rejections(client_id, filter).await?)
    }

    /// The rejection of the request `request_id`, with its trace.
    pub async fn rejection(
        &self,
        request_id: &str,
    ) -> Result<Rejection, grantd_protocol::OAuthError> {
        self.store
            .get_rejection(request_id)
            .await?
            .ok_or_else(|| grantd_protocol::OAuthError::rejection_not_found(request_id))
    }
}

/// Reads a rejection list's filter from query pairs (`code`, `endpoint`,
/// `limit`; anything else is refused).
pub fn read_filter<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<RejectionFilter, grantd_protocol::OAuthError> {
    use grantd_protocol::OAuthError;
    let mut f = RejectionFilter {
        limit: 100,
        ..RejectionFilter::default()
    };
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        match k {
            "code" => match grantd_protocol::Code::find(v) {
                Some(c) => f.code = Some(c.entry().code.to_string()),
                None => {
                    return Err(OAuthError::invalid_rejection_filter(
                        "code",
                        "is not a catalog code",
                    ))
                }
            },
            "endpoint" => {
                if !v.starts_with('/') || v.len() > 100 {
                    return Err(OAuthError::invalid_rejection_filter(
                        "endpoint",
                        "is not an endpoint path",
                    ));
                }
                f.endpoint = Some(v.to_string());
            }
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=KEEP_PER_APP).contains(&n) => f.limit = n,
                _ => {
                    return Err(OAuthError::invalid_rejection_filter(
                        "limit",
                        "is not a number from 1 to 1000",
                    ))
                }
            },
            other => {
                return Err(OAuthError::invalid_rejection_filter(
                    other,
                    "is not a filter of the rejection list",
                ))
            }
        }
    }
    Ok(f)
}
