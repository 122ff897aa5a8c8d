//! The key sets apps publish at their `jwks_uri`: fetched through a
//! [`KeySetFetcher`] (the binary's HTTP client), checked like an inline set,
//! and cached per URI.
//!
//! A set is kept for its `Cache-Control: max-age` (bounded); a kid it lacks
//! makes grantd fetch it again, at most once per [`REFETCH_INTERVAL`] (key
//! rotation); a failure is remembered for [`FAILURE_TTL`], so a dead URI is
//! not asked for every request. Concurrent requests for one URI wait for one
//! fetch (a lock per URI); other URIs are not held up.

use crate::client_assertion::check_jwks;
use crate::clock::{Clock, UnixTime};
use crate::model::JwkSet;
use crate::trace;
use grantd_protocol::error::sanitize;
use grantd_protocol::jwks_uri::shown;
use grantd_protocol::OAuthError;
use jsonwebtoken::jwk::Jwk;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The most of a key set document grantd reads.
pub const MAX_KEY_SET_BYTES: usize = 64 * 1024;
/// How long a fetch may take, in seconds, answer included.
pub const FETCH_TIMEOUT_SECS: u64 = 5;
/// How long a set is kept without a `max-age`, and the bounds on `max-age`.
pub const DEFAULT_TTL: i64 = 300;
pub const MIN_TTL: i64 = 60;
pub const MAX_TTL: i64 = 86_400;
/// The least time between two fetches of one URI for an unknown kid.
pub const REFETCH_INTERVAL: i64 = 30;
/// How long a failed fetch is remembered (and answered from memory).
pub const FAILURE_TTL: i64 = 15;
/// URIs kept before the ones no longer holding anything are dropped.
const MAX_SLOTS: usize = 1024;

/// What a fetch brought back: a 200 answer's body (at most
/// [`MAX_KEY_SET_BYTES`]) and its `Cache-Control` header.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

/// Why a fetch brought nothing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No connection, or the TLS handshake failed; the cause in words.
    Unreachable(String),
    /// No whole answer within [`FETCH_TIMEOUT_SECS`].
    Timeout,
    /// An answer other than 200 (redirects aside).
    Status(u16),
    /// A redirect grantd does not follow: where to (without its query), and why not.
    Redirect { to: String, why: String },
    /// A body over [`MAX_KEY_SET_BYTES`].
    TooBig,
}

/// Fetches a key set document. The binary's implementation speaks HTTPS;
/// it must give up after [`FETCH_TIMEOUT_SECS`], read at most
/// [`MAX_KEY_SET_BYTES`], and follow redirects only where
/// [`grantd_protocol::jwks_uri::fetchable`] allows.
#[async_trait::async_trait]
pub trait KeySetFetcher: Send + Sync + 'static {
    async fn fetch(&self, uri: &str) -> Result<Fetched, FetchError>;
}

/// The fetcher of a grantd that serves no requests (the CLI): every fetch
/// fails.
#[derive(Debug, Default)]
pub struct NoFetcher;

#[async_trait::async_trait]
impl KeySetFetcher for NoFetcher {
    async fn fetch(&self, _uri: &str) -> Result<Fetched, FetchError> {
        Err(FetchError::Unreachable(
            "this grantd process has no HTTP client for key sets".into(),
        ))
    }
}

/// Why a URI gave no usable set.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Fetch(FetchError),
    NotJwks(String),
    Invalid(String),
}

impl Failure {
    /// The catalog error, saying when grantd asks again if `retry_in` is given.
    fn error(&self, uri: &str, retry_in: Option<i64>) -> OAuthError {
        let uri = &shown(uri);
        match self {
            Failure::Fetch(FetchError::Unreachable(why)) => {
                OAuthError::key_set_unreachable(uri, why, retry_in)
            }
            Failure::Fetch(FetchError::Timeout) => {
                OAuthError::key_set_timeout(uri, FETCH_TIMEOUT_SECS, retry_in)
            }
            Failure::Fetch(FetchError::Status(s)) => OAuthError::key_set_status(uri, *s, retry_in),
            Failure::Fetch(FetchError::Redirect { to, why }) => {
                OAuthError::key_set_redirect(uri, &shown(to), why, retry_in)
            }
            Failure::Fetch(FetchError::TooBig) => {
                OAuthError::key_set_too_big(uri, MAX_KEY_SET_BYTES, retry_in)
            }
            Failure::NotJwks(why) => OAuthError::key_set_not_jwks(uri, why, retry_in),
            Failure::Invalid(why) => OAuthError::key_set_invalid(uri, why, retry_in),
        }
    }
}

/// A usable set and how long it is good for.
struct Good {
    keys: Arc<JwkSet>,
    fetched_at: UnixTime,
    expires_at: UnixTime,
}

/// What grantd knows of one URI.
#[derive(Default)]
struct Slot {
    set: Option<Good>,
    failure: Option<(Failure, UnixTime)>,
    last_attempt: Option<UnixTime>,
}

/// The cache of fetched key sets, one slot per URI.
pub struct KeySets {
    fetcher: Arc<dyn KeySetFetcher>,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl KeySets {
    pub fn new(fetcher: Arc<dyn KeySetFetcher>, clock: Arc<dyn Clock>) -> Self {
        Self {
            fetcher,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The key of the set at `uri` that `kid` names (without a kid: the
    /// set's only key), fetching the set when it is not cached, has
    /// expired, or lacks `kid` and was not fetched in the last
    /// [`REFETCH_INTERVAL`].
    pub async fn key(&self, uri: &str, kid: Option<&str>) -> Result<Jwk, OAuthError> {
        let slot = self.slot(uri);
        // Held across the fetch: concurrent requests for this URI wait for
        // it and then find the set it brought.
        let mut slot = slot.lock().await;
        let now = self.clock.now();
        let since_attempt = slot.last_attempt.map_or(i64::MAX, |t| now - t);
        if let Some(good) = slot.set.as_ref().filter(|g| now < g.expires_at) {
            if let Some(key) = pick(&good.keys, kid) {
                return Ok(key.clone());
            }
            if since_attempt < REFETCH_INTERVAL {
                return Err(unknown_key(
                    uri,
                    kid,
                    good,
                    now,
                    REFETCH_INTERVAL - since_attempt,
                ));
            }
        } else if let Some((failure, at)) = &slot.failure {
            if now - at < FAILURE_TTL {
                trace::step(
                    "key set (remembered failure)",
                    false,
                    None,
                    &[("jwks_uri", &shown(uri))],
                );
                return Err(failure.error(uri, Some(at + FAILURE_TTL - now)));
            }
        }
        slot.last_attempt = Some(now);
        let fetched = self.fetcher.fetch(uri).await;
        let now = self.clock.now();
        match read(fetched, now) {
            Ok(good) => {
                trace::step("key set fetched", true, None, &[("jwks_uri", &shown(uri))]);
                tracing::debug!(jwks_uri = %shown(uri), keys = good.keys.keys.len(), ttl = good.expires_at - now, "key set fetched");
                let result = pick(&good.keys, kid)
                    .cloned()
                    .ok_or_else(|| unknown_key(uri, kid, &good, now, 0));
                slot.set = Some(good);
                slot.failure = None;
                result
            }
            Err(failure) => {
                let e = failure.error(uri, Some(FAILURE_TTL));
                trace::step(
                    "key set fetched",
                    false,
                    Some(e.code.as_str()),
                    &[("jwks_uri", &shown(uri))],
                );
                tracing::info!(jwks_uri = %shown(uri), code = %e.code, "fetching an app's key set failed");
                slot.failure = Some((failure, now));
                Err(e)
            }
        }
    }

    /// The slot of `uri`, made if new. Past [`MAX_SLOTS`], slots holding
    /// nothing current are dropped first.
    fn slot(&self, uri: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(uri) {
            return s.clone();
        }
        if slots.len() >= MAX_SLOTS {
            let now = self.clock.now();
            slots.retain(|_, s| match s.try_lock() {
                Ok(s) => s.set.as_ref().is_some_and(|g| now < g.expires_at),
                Err(_) => true, // in use
            });
        }
        slots.entry(uri.to_string()).or_default().clone()
    }
}

/// The key `kid` names, or the only key when there is no kid.
fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

fn unknown_key(
    uri: &str,
    kid: Option<&str>,
    good: &Good,
    now: UnixTime,
    refetch_in: i64,
) -> OAuthError {
    let kids: Vec<String> = good
        .keys
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    OAuthError::key_set_unknown_key(&shown(uri), kid, &kids, now - good.fetched_at, refetch_in)
}

/// A fetch's answer as a usable set, kept for its `max-age` within bounds.
fn read(fetched: Result<Fetched, FetchError>, now: UnixTime) -> Result<Good, Failure> {
    let fetched = fetched.map_err(Failure::Fetch)?;
    if fetched.body.len() > MAX_KEY_SET_BYTES {
        return Err(Failure::Fetch(FetchError::TooBig));
    }
    let value: serde_json::Value = serde_json::from_slice(&fetched.body).map_err(|e| {
        Failure::NotJwks(if fetched.body.is_empty() {
            "the body is empty".to_string()
        } else {
            format!("the body is not JSON ({})", sanitize(&e.to_string(), 120))
        })
    })?;
    match value.get("keys") {
        Some(serde_json::Value::Array(keys)) if keys.is_empty() => {
            return Err(Failure::Invalid(
                "its keys array is empty; publish at least one public key".into(),
            ))
        }
        Some(serde_json::Value::Array(_)) => {}
        _ => {
            return Err(Failure::NotJwks(if value.get("kty").is_some() {
                "it is a single JWK, not a set; put it in a keys array".to_string()
            } else {
                "it is JSON but has no keys array".to_string()
            }))
        }
    }
    let set: JwkSet = serde_json::from_value(value).map_err(|e| {
        Failure::NotJwks(format!(
            "a key in it is not a JWK grantd can read ({})",
            sanitize(&e.to_string(), 160)
        ))
    })?;
    check_jwks(&set).map_err(Failure::Invalid)?;
    let ttl = fetched
        .cache_control
        .as_deref()
        .and_then(max_age)
        .unwrap_or(DEFAULT_TTL)
        .clamp(MIN_TTL, MAX_TTL);
    Ok(Good {
        keys: Arc::new(set),
        fetched_at: now,
        expires_at: now + ttl,
    })
}

/// The seconds a `Cache-Control` header lets a response be kept:
/// `max-age`, or 0 for `no-store` / `no-cache` (then kept [`MIN_TTL`]).
pub fn max_age(cache_control: &str) -> Option<i64> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "no-store" | "no-cache" => return Some(0),
            "max-age" => {
                age = value
                    .trim()
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(|a| a.min(i64::MAX as u64) as i64)
            }
            _ => {}
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use grantd_protocol::Code;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A P-256 public key as a JWK with `kid`.
    fn jwk(kid: &str) -> serde_json::Value {
        use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        use base64::Engine;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let p = pair.public_key().as_ref();
        let b = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b(&p[1..33]), "y": b(&p[33..65])})
    }

    /// Answers what it was last given, counting fetches; optionally waits
    /// for a permit first.
    #[derive(Default)]
    struct Fake {
        answer: Mutex<Option<Result<Fetched, FetchError>>>,
        fetches: AtomicUsize,
        gate: Option<tokio::sync::Semaphore>,
    }

    impl Fake {
        fn serve(&self, body: serde_json::Value, cache_control: Option<&str>) {
            *self.answer.lock().unwrap() = Some(Ok(Fetched {
                body: body.to_string().into_bytes(),
                cache_control: cache_control.map(str::to_string),
            }));
        }
        fn fail(&self, e: FetchError) {
            *self.answer.lock().unwrap() = Some(Err(e));
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    #[async_trait::async_trait]
    impl KeySetFetcher for Fake {
        async fn fetch(&self, uri: &str) -> Result<Fetched, FetchError> {
            if let Some(gate) = &self.gate {
                if uri.contains("gated") {
                    gate.acquire().await.unwrap().forget();
                }
            }
            self.fetches.fetch_add(1, Ordering::SeqCst);
            self.answer.lock().unwrap().clone().expect("an answer")
        }
    }

    const URI: &str = "https://app.example.com/jwks";

    fn cache(fake: &Arc<Fake>) -> (KeySets, ManualClock) {
        let clock = ManualClock::new(1_700_000_000);
        (KeySets::new(fake.clone(), Arc::new(clock.clone())), clock)
    }

    #[tokio::test]
    async fn a_set_is_kept_for_its_max_age_within_bounds() {
        let fake = Arc::new(Fake::default());
        let (sets, clock) = cache(&fake);
        fake.serve(json!({"keys": [jwk("a")]}), Some("public, max-age=120"));
        sets.key(URI, Some("a")).await.unwrap();
        clock.advance(119);
        sets.key(URI, Some("a")).await.unwrap();
        assert_eq!(fake.fetches(), 1, "cached for max-age");
        clock.advance(1);
        sets.key(URI, None).await.unwrap();
        assert_eq!(fake.fetches(), 2, "fetched again once expired");

        assert_eq!(max_age("max-age=5"), Some(5));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("Max-Age=\"90\", must-revalidate"), Some(90));
        assert_eq!(max_age("private"), None);
        // Below the floor: kept MIN_TTL.
        let fake = Arc::new(Fake::default());
        let (sets, clock) = cache(&fake);
        fake.serve(json!({"keys": [jwk("a")]}), Some("no-cache"));
        sets.key(URI, Some("a")).await.unwrap();
        clock.advance(MIN_TTL - 1);
        sets.key(URI, Some("a")).await.unwrap();
        assert_eq!(fake.fetches(), 1);
        // Above the ceiling: MAX_TTL; no header: DEFAULT_TTL.
        for (cc, ttl) in [(Some("max-age=999999999"), MAX_TTL), (None, DEFAULT_TTL)] {
            let fake = Arc::new(Fake::default());
            let (sets, clock) = cache(&fake);
            fake.serve(json!({"keys": [jwk("a")]}), cc);
            sets.key(URI, Some("a")).await.unwrap();
            clock.advance(ttl - 1);
            sets.key(URI, Some("a")).await.unwrap();
            assert_eq!(fake.fetches(), 1, "{cc:?}");
            clock.advance(1);
            sets.key(URI, Some("a")).await.unwrap();
            assert_eq!(fake.fetches(), 2, "{cc:?}");
        }
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_at_most_every_30_seconds() {
        let fake = Arc::new(Fake::default());
        let (sets, clock) = cache(&fake);
        fake.serve(json!({"keys": [jwk("a")]}), None);
        sets.key(URI, Some("a")).await.unwrap();
        fake.serve(json!({"keys": [jwk("a"), jwk("b")]}), None);
        clock.advance(10);
        let e = sets.key(URI, Some("b")).await.unwrap_err();
        assert_eq!(e.code, Code::KeySetUnknownKey);
        assert!(
            e.description.contains("'a'") && e.description.contains("next in 20 s"),
            "{}",
            e.description
        );
        assert_eq!(fake.fetches(), 1, "no refetch within 30 s");
        clock.advance(20);
        sets.key(URI, Some("b")).await.unwrap();
        assert_eq!(fake.fetches(), 2, "refetched for the new kid");
        // A kid missing after the refetch lists what is there.
        clock.advance(REFETCH_INTERVAL);
        let e = sets.key(URI, Some("c")).await.unwrap_err();
        assert_eq!(fake.fetches(), 3);
        assert!(
            e.description.contains("'a', 'b'") && e.description.contains("'c'"),
            "{}",
            e.description
        );
        // Without a kid, a set of two keys cannot say which.
        let e = sets.key(URI, None).await.unwrap_err();
        assert!(e.description.contains("has no kid"), "{}", e.description);
    }

    #[tokio::test]
    async fn a_failure_is_remembered_briefly() {
        let fake = Arc::new(Fake::default());
        let (sets, clock) = cache(&fake);
        fake.fail(FetchError::Status(503));
        let e = sets.key(URI, Some("a")).await.unwrap_err();
        assert_eq!(e.code, Code::KeySetStatus);
        assert!(e.description.contains("503") && e.description.contains(URI));
        clock.advance(FAILURE_TTL - 1);
        let e = sets.key(URI, Some("a")).await.unwrap_err();
        assert_eq!(e.code, Code::KeySetStatus);
        assert!(e.description.contains("again in 1 s"), "{}", e.description);
        assert_eq!(fake.fetches(), 1, "not asked again");
        clock.advance(1);
        fake.serve(json!({"keys": [jwk("a")]}), None);
        sets.key(URI, Some("a")).await.unwrap();
        assert_eq!(fake.fetches(), 2);
    }

    #[tokio::test]
    async fn each_bad_answer_has_its_own_code() {
        let cases: Vec<(Result<Fetched, FetchError>, Code, &str)> = vec![
            (
                Err(FetchError::Unreachable("connection refused".into())),
                Code::KeySetUnreachable,
                "connection refused",
            ),
            (Err(FetchError::Timeout), Code::KeySetTimeout, "5 seconds"),
            (
                Err(FetchError::Redirect {
                    to: "http://evil.example/k?x=1".into(),
                    why: "not https".into(),
                }),
                Code::KeySetRedirect,
                "http://evil.example/k?...",
            ),
            (Err(FetchError::TooBig), Code::KeySetTooBig, "64 KiB"),
            (
                Ok(Fetched {
                    body: b"<html>".to_vec(),
                    cache_control: None,
                }),
                Code::KeySetNotJwks,
                "not JSON",
            ),
            (
                Ok(Fetched {
                    body: jwk("a").to_string().into_bytes(),
                    cache_control: None,
                }),
                Code::KeySetNotJwks,
                "single JWK",
            ),
            (
                Ok(Fetched {
                    body: br#"{"keys": []}"#.to_vec(),
                    cache_control: None,
                }),
                Code::KeySetInvalid,
                "empty",
            ),
            (
                Ok(Fetched {
                    body: json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]})
                        .to_string()
                        .into_bytes(),
                    cache_control: None,
                }),
                Code::KeySetInvalid,
                "symmetric",
            ),
            (
                Ok(Fetched {
                    body: json!({"keys": [jwk("a"), jwk("a")]})
                        .to_string()
                        .into_bytes(),
                    cache_control: None,
                }),
                Code::KeySetInvalid,
                "used by two keys",
            ),
        ];
        for (answer, code, says) in cases {
            let fake = Arc::new(Fake::default());
            let (sets, _) = cache(&fake);
            *fake.answer.lock().unwrap() = Some(answer);
            let e = sets
                .key("https://app.example.com/jwks?token=s3cret", Some("a"))
                .await
                .unwrap_err();
            assert_eq!(e.code, code, "{}", e.description);
            assert!(e.description.contains(says), "{says}: {}", e.description);
            assert!(!e.description.contains("s3cret"), "{}", e.description);
        }
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_uri_share_one_fetch_and_others_go_on() {
        let fake = Arc::new(Fake {
            gate: Some(tokio::sync::Semaphore::new(0)),
            ..Fake::default()
        });
        let (sets, _) = cache(&fake);
        let sets = Arc::new(sets);
        fake.serve(json!({"keys": [jwk("a")]}), None);
        let gated = "https://gated.example.com/jwks";
        let waiting: Vec<_> = (0..8)
            .map(|_| {
                let sets = sets.clone();
                tokio::spawn(async move { sets.key(gated, Some("a")).await })
            })
            .collect();
        // Another URI is answered while the gated fetch hangs.
        sets.key(URI, Some("a")).await.unwrap();
        assert_eq!(fake.fetches(), 1);
        fake.gate.as_ref().unwrap().add_permits(1);
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(fake.fetches(), 2, "the gated URI was fetched once");
    }
}
