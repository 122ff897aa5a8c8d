//! What every handler shares.

use crate::client_ip::TrustedProxies;
use crate::counters::Counters;
use crate::quota::Quotas;
use crate::ratelimit::FailureLimiter;
use grantd_core::rate_limits::RateLimits;
use grantd_core::rejections::RejectionLog;
use grantd_core::Grantd;
use std::sync::Arc;
use std::time::Duration;

/// The edge layer's settings (the binary reads them from its configuration).
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Failed authentications allowed per identity, client address and
    /// minute on the authentication endpoints (0 = no limit).
    pub auth_failure_limit: u32,
    /// The server-wide request quota of each rate-limit group (all off by default).
    pub rate_limits: RateLimits,
    /// Peers whose forwarding headers name the client's address.
    pub trusted_proxies: TrustedProxies,
    /// How long a request body may take to arrive, once its headers have.
    pub body_read_timeout: Duration,
    /// Origins whose pages may call grantd from a browser, for every app (CORS).
    pub cors_allowed_origins: Vec<String>,
    /// The WebSocket gateway's URI (`ws.uri`), given with each wstoken.
    pub ws_uri: Option<String>,
    /// Send `Strict-Transport-Security` (grantd serves TLS itself).
    pub hsts: bool,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            auth_failure_limit: 30,
            rate_limits: RateLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            body_read_timeout: Duration::from_secs(10),
            cors_allowed_origins: Vec::new(),
            ws_uri: None,
            hsts: false,
        }
    }
}

/// Seconds in which failed authentications are counted.
pub const FAILURE_WINDOW: u32 = 60;

#[derive(Clone)]
pub struct AppState {
    pub grantd: Arc<Grantd>,
    pub failures: Arc<FailureLimiter>,
    pub quotas: Arc<Quotas>,
    pub counters: Arc<Counters>,
    pub proxies: Arc<TrustedProxies>,
    pub body_read_timeout: Duration,
    /// The server-wide CORS origins (`cors.allowed_origins`).
    pub cors_origins: Arc<std::collections::HashSet<String>>,
    /// The WebSocket gateway's URI (`ws.uri`).
    pub ws_uri: Option<Arc<str>>,
    /// Whether responses carry `Strict-Transport-Security`.
    pub hsts: bool,
    /// Rejections at the OAuth endpoints, on their way to the store.
    pub rejections: Arc<RejectionLog>,
    /// Tokens issued per app and day, on their way to the store.
    pub usage: Arc<grantd_core::usage::UsageCounter>,
}

impl AppState {
    pub fn new(grantd: Arc<Grantd>, edge: EdgeSettings) -> Self {
        let counters = Arc::new(Counters::new(
            grantd.clock.clone(),
            grantd.keyed_hash("rate limits"),
        ));
        Self {
            failures: Arc::new(FailureLimiter::new(
                edge.auth_failure_limit,
                FAILURE_WINDOW,
                counters.clone(),
            )),
            quotas: Arc::new(Quotas::new(edge.rate_limits, counters.clone())),
            counters,
            grantd,
            proxies: Arc::new(edge.trusted_proxies),
            body_read_timeout: edge.body_read_timeout,
            cors_origins: Arc::new(edge.cors_allowed_origins.into_iter().collect()),
            ws_uri: edge.ws_uri.map(Arc::from),
            hsts: edge.hsts,
            rejections: Arc::new(RejectionLog::new()),
            usage: Arc::new(grantd_core::usage::UsageCounter::new()),
        }
    }

    /// Starts writing the rejection log (call once, on the runtime that
    /// serves; until then rejections are dropped once the queue is full).
    pub fn record_rejections(&self) -> bool {
        self.rejections.spawn_writer(self.grantd.store.clone())
    }

    /// Starts flushing the token usage counts (call once, on the runtime
    /// that serves).
    pub fn record_usage(&self) {
        self.usage.spawn_flusher(self.grantd.store.clone());
    }

    /// Starts sharing the request counters with the other nodes, when the
    /// store is shared by several (call once, on the runtime that serves);
    /// returns whether it did.
    pub fn share_counters(&self) -> bool {
        crate::counters::spawn_sync(self.counters.clone(), self.grantd.store.clone())
    }

    pub fn issuer(&self) -> &str {
        &self.grantd.config.issuer
    }
}
