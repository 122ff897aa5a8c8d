//! What every handler shares.

use crate::ratelimit::FailureLimiter;
use grantd_core::Grantd;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub grantd: Arc<Grantd>,
    pub failures: Arc<FailureLimiter>,
}

impl AppState {
    /// `auth_failure_limit`: failed authentications allowed per address and
    /// minute on the authentication endpoints (0 = no limit).
    pub fn new(grantd: Arc<Grantd>, auth_failure_limit: u32) -> Self {
        Self {
            grantd,
            failures: Arc::new(FailureLimiter::new(
                auth_failure_limit,
                Duration::from_secs(60),
            )),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.grantd.config.issuer
    }
}
