//! What every handler shares.

use grantd_core::Grantd;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub grantd: Arc<Grantd>,
}

impl AppState {
    pub fn new(grantd: Arc<Grantd>) -> Self {
        Self { grantd }
    }

    pub fn issuer(&self) -> &str {
        &self.grantd.config.issuer
    }
}
