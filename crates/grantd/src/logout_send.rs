//! The HTTP client that delivers back-channel logout tokens for core's
//! delivery task: a form POST, a 5-second deadline, no redirects followed.

use grantd_core::logout::LogoutSender;
use std::time::Duration;

/// How long one delivery may take (Back-Channel Logout 1.0 §2.7 leaves it to the OP).
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct HttpLogoutSender {
    client: reqwest::Client,
}

impl HttpLogoutSender {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("grantd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }
}

#[async_trait::async_trait]
impl LogoutSender for HttpLogoutSender {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let res = self
            .client
            .post(uri)
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "no answer within 5 seconds".to_string()
                } else if e.is_connect() {
                    "could not connect".to_string()
                } else {
                    "the request failed".to_string()
                }
            })?;
        let status = res.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!(
                "answered {} (a redirect, which grantd does not follow)",
                status.as_u16()
            ))
        } else {
            Err(format!("answered HTTP {}", status.as_u16()))
        }
    }
}
