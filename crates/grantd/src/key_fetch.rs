//! The HTTPS client that fetches apps' key sets (`jwks_uri`) for core's
//! cache: a deadline, a size cap, and redirects only to https.

use grantd_core::key_sets::{
    FetchError, Fetched, KeySetFetcher, FETCH_TIMEOUT_SECS, MAX_KEY_SET_BYTES,
};
use grantd_protocol::jwks_uri::fetchable;
use grantd_protocol::redirect_uri::is_loopback;
use std::time::Duration;

/// Most redirects followed from a jwks_uri.
const MAX_REDIRECTS: usize = 3;

pub struct HttpKeySetFetcher {
    client: reqwest::Client,
}

/// A redirect the policy refused, found again in the request's error.
#[derive(Debug)]
struct RedirectRefused {
    to: String,
    why: &'static str,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to {} refused: {}", self.to, self.why)
    }
}

impl std::error::Error for RedirectRefused {}

impl HttpKeySetFetcher {
    pub fn new() -> anyhow::Result<Self> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let to = attempt.url().clone();
            let why = if attempt.previous().len() > MAX_REDIRECTS {
                Some("more than 3 redirects")
            } else if !fetchable(&to) {
                Some("grantd follows redirects only to https URLs")
            } else if to.scheme() == "http" && !attempt.previous().iter().all(is_loopback) {
                Some("an https jwks_uri may not redirect to plain http")
            } else {
                None
            };
            match why {
                None => attempt.follow(),
                Some(why) => attempt.error(RedirectRefused {
                    to: to.to_string(),
                    why,
                }),
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(FETCH_TIMEOUT_SECS))
            .redirect(policy)
            .user_agent(concat!("grantd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }
}

#[async_trait::async_trait]
impl KeySetFetcher for HttpKeySetFetcher {
    async fn fetch(&self, uri: &str) -> Result<Fetched, FetchError> {
        let mut res = self
            .client
            .get(uri)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(failure)?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        if res
            .content_length()
            .is_some_and(|n| n > MAX_KEY_SET_BYTES as u64)
        {
            return Err(FetchError::TooBig);
        }
        let cache_control = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(failure)? {
            if body.len() + chunk.len() > MAX_KEY_SET_BYTES {
                return Err(FetchError::TooBig);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            cache_control,
        })
    }
}

/// What went wrong, in words that hold no URL (a query may be private).
fn failure(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<RedirectRefused>() {
            return FetchError::Redirect {
                to: r.to.clone(),
                why: r.why.to_string(),
            };
        }
        source = s.source();
    }
    let e = e.without_url();
    let mut words = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_words = s.to_string();
        if !words.iter().any(|w| w.contains(&s_words)) {
            words.push(s_words);
        }
        source = s.source();
    }
    FetchError::Unreachable(words.join(": "))
}
