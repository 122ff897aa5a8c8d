//! What every handler shares.

use crate::client_ip::TrustedProxies;
use crate::ratelimit::FailureLimiter;
use grantd_core::Grantd;
use std::sync::Arc;
use std::time::Duration;

/// The edge layer's settings (the binary reads them from its configuration).
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Failed authentications allowed per identity, client address and
    /// minute on the authentication endpoints (0 = no limit).
    pub auth_failure_limit: u32,
    /// Peers whose forwarding headers name the client's address.
    pub trusted_proxies: TrustedProxies,
    /// How long a request body may take to arrive, once its headers have.
    pub body_read_timeout: Duration,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            auth_failure_limit: 30,
            trusted_proxies: TrustedProxies::default(),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub grantd: Arc<Grantd>,
    pub failures: Arc<FailureLimiter>,
    pub proxies: Arc<TrustedProxies>,
    pub body_read_timeout: Duration,
}

impl AppState {
    pub fn new(grantd: Arc<Grantd>, edge: EdgeSettings) -> Self {
        Self {
            grantd,
            failures: Arc::new(FailureLimiter::new(
                edge.auth_failure_limit,
                Duration::from_secs(60),
            )),
            proxies: Arc::new(edge.trusted_proxies),
            body_read_timeout: edge.body_read_timeout,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.grantd.config.issuer
    }
}
