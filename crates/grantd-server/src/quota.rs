//! Request quotas by RingCentral rate-limit group (Auth, Light, Medium,
//! Heavy; the endpoint table says which endpoint is in which): at most
//! `REQUESTS` per `SECONDS` per app and user, or per app for requests made
//! without a user, from the app's own limits or else the server's. Off
//! unless the operator sets them.
//!
//! The edge marks a request of a group ([`Metered`]); the handler, once it
//! knows the app (and the user), checks the quota ([`Metering::check`]),
//! refusing with 429 (CMN-301) when this window's requests are all made; the
//! edge then counts the request, unless it failed authentication (those
//! count against the failure limit instead, so wrong secrets cannot use up
//! an app's quota) or was refused, and writes the `X-Rate-Limit-*` headers.
//! Counts live in [`crate::counters`], shared across nodes on PostgreSQL;
//! requests in flight at once and the sync interval can let a few more
//! through than the quota says.

use crate::counters::{Count, Counters, Key};
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use grantd_core::model::App;
use grantd_core::rate_limits::{Group, Quota, RateLimits};
use grantd_protocol::OAuthError;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

/// The server-wide quotas and the counters they count in.
pub struct Quotas {
    pub defaults: RateLimits,
    counters: Arc<Counters>,
}

impl Quotas {
    pub fn new(defaults: RateLimits, counters: Arc<Counters>) -> Self {
        Self { defaults, counters }
    }
}

/// What the `X-Rate-Limit-*` headers of a metered response say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub group: Group,
    pub quota: Quota,
    pub remaining: u32,
    /// When the request was refused: seconds until the window ends.
    pub retry_after: Option<u64>,
}

/// One request to an endpoint of a rate-limit group.
#[derive(Clone)]
pub struct Metered(Arc<MeteredState>);

struct MeteredState {
    quotas: Arc<Quotas>,
    group: Group,
    checked: OnceLock<Checked>,
}

#[derive(Debug, Clone, Copy)]
struct Checked {
    key: Key,
    quota: Quota,
    before: Count,
    refused: bool,
}

impl Metered {
    pub fn new(quotas: Arc<Quotas>, group: Group) -> Self {
        Self(Arc::new(MeteredState {
            quotas,
            group,
            checked: OnceLock::new(),
        }))
    }

    /// Checks this request of `app`, made for `user` if it names one,
    /// against the app's quota for the group (its own, else the server's);
    /// nothing is checked when neither sets one. Only the first check of a
    /// request counts.
    pub fn check(&self, app: &App, user: Option<&str>) -> Result<(), OAuthError> {
        let s = &self.0;
        let Some(quota) = app.rate_limits.effective(s.group, &s.quotas.defaults) else {
            return Ok(());
        };
        let checked = *s.checked.get_or_init(|| {
            let counters = &s.quotas.counters;
            let key = counters.key(&[
                b"requests of group",
                s.group.key().as_bytes(),
                app.client_id.as_bytes(),
                user.map_or(b"" as &[u8], str::as_bytes),
                &[u8::from(user.is_some())],
                &quota.seconds.to_be_bytes(),
            ]);
            let before = counters.get(&key, quota.seconds);
            Checked {
                key,
                quota,
                before,
                refused: before.n >= quota.requests,
            }
        });
        if checked.refused {
            return Err(OAuthError::rate_limited(
                s.group.name(),
                checked.quota.requests,
                checked.quota.seconds,
                user.is_some(),
                checked.before.resets_in,
            ));
        }
        Ok(())
    }

    /// After the response: counts the request if `count` (it did not fail
    /// authentication) and it was not refused, and says what the headers
    /// should; `None` if no quota applied.
    pub fn finish(&self, count: bool) -> Option<Report> {
        let s = &self.0;
        let c = s.checked.get()?;
        let (remaining, retry_after) = if c.refused {
            (0, Some(c.before.resets_in))
        } else if count {
            let after = s
                .quotas
                .counters
                .add(c.key, c.quota.seconds, c.quota.requests);
            (c.quota.requests.saturating_sub(after.n), None)
        } else {
            (c.quota.requests.saturating_sub(c.before.n), None)
        };
        Some(Report {
            group: s.group,
            quota: c.quota,
            remaining,
            retry_after,
        })
    }
}

/// A handler's view of the request's [`Metered`] mark: none when the
/// endpoint is in no group.
pub struct Metering(Option<Metered>);

impl Metering {
    /// [`Metered::check`], if the request is metered.
    pub fn check(&self, app: &App, user: Option<&str>) -> Result<(), OAuthError> {
        match &self.0 {
            Some(m) => m.check(app, user),
            None => Ok(()),
        }
    }

    /// Checks a request that names its app by client id, before the client
    /// is authenticated (the token endpoint): an unknown client id is not
    /// metered (it fails authentication, which the failure limit counts).
    pub async fn check_client(
        &self,
        s: &AppState,
        client_id: Option<&str>,
        user: Option<&str>,
    ) -> Result<(), Rejection> {
        let (Some(_), Some(id)) = (&self.0, client_id) else {
            return Ok(());
        };
        if let Some(app) = s.grantd.find_app(id).await? {
            self.check(&app, user)?;
        }
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Metering {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Metering(parts.extensions.get::<Metered>().cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::tests::counters;
    use grantd_core::model::{AccessTokenFormat, Distribution};
    use grantd_core::rate_limits::AppRateLimits;
    use grantd_protocol::{Code, PlatformType, Scopes};

    fn app(id: &str, limits: &[(&str, &str)]) -> App {
        App {
            client_id: id.into(),
            account_id: "a".into(),
            name: "n".into(),
            platform_type: PlatformType::ServerOnly,
            grants: vec![],
            redirect_uris: vec![],
            scopes: Scopes::default(),
            distribution: Distribution::Private,
            issue_refresh_tokens: false,
            access_token_ttl: 3600,
            refresh_token_ttl: 3600,
            access_token_format: AccessTokenFormat::Jwt,
            allow_plain_pkce: false,
            resource_server: false,
            token_exchange: None,
            allowed_origins: Vec::new(),
            jwks: None,
            jwks_uri: None,
            security: Default::default(),
            links: Default::default(),
            rate_limits: AppRateLimits::parse(limits.iter().copied()).unwrap(),
            secret_hash: None,
            created_at: 0,
            updated_at: 0,
            revision: 1,
        }
    }

    fn quotas(defaults: &str) -> (Arc<Quotas>, grantd_core::clock::ManualClock) {
        let (c, clock) = counters();
        let mut limits = RateLimits::default();
        for a in defaults.split(',').filter(|a| !a.is_empty()) {
            limits.apply(a).unwrap();
        }
        (Arc::new(Quotas::new(limits, c)), clock)
    }

    /// One request: checked, answered, counted unless it failed authentication.
    fn request(
        q: &Arc<Quotas>,
        group: Group,
        app: &App,
        user: Option<&str>,
        authenticated: bool,
    ) -> (Result<(), OAuthError>, Option<Report>) {
        let m = Metered::new(q.clone(), group);
        let checked = m.check(app, user);
        (checked, m.finish(authenticated))
    }

    #[test]
    fn off_unless_set() {
        let (q, _) = quotas("");
        let a = app("c", &[]);
        for _ in 0..100 {
            assert_eq!(request(&q, Group::Auth, &a, None, true), (Ok(()), None));
        }
    }

    #[test]
    fn a_quota_refuses_past_its_requests_until_the_window_ends() {
        let (q, clock) = quotas("auth=2/60");
        let a = app("c", &[]);
        let (ok, report) = request(&q, Group::Auth, &a, None, true);
        ok.unwrap();
        assert_eq!(
            report,
            Some(Report {
                group: Group::Auth,
                quota: Quota {
                    requests: 2,
                    seconds: 60
                },
                remaining: 1,
                retry_after: None
            })
        );
        clock.advance(10);
        assert_eq!(
            request(&q, Group::Auth, &a, None, true)
                .1
                .unwrap()
                .remaining,
            0
        );
        let (refused, report) = request(&q, Group::Auth, &a, None, true);
        let e = refused.unwrap_err();
        assert_eq!(e.code, Code::RateExceeded);
        for says in [
            "rate-limit group Auth",
            "2 per 60 seconds",
            "resets in 50 seconds",
        ] {
            assert!(e.description.contains(says), "{says}: {}", e.description);
        }
        assert_eq!(report.unwrap().retry_after, Some(50));
        // Other groups and other apps have their own counts.
        assert_eq!(request(&q, Group::Light, &a, None, true), (Ok(()), None));
        request(&q, Group::Auth, &app("d", &[]), None, true)
            .0
            .unwrap();
        clock.advance(50);
        request(&q, Group::Auth, &a, None, true).0.unwrap();
    }

    #[test]
    fn failed_authentication_and_refusals_do_not_count() {
        let (q, _) = quotas("auth=1/60");
        let a = app("c", &[]);
        for _ in 0..5 {
            let (ok, report) = request(&q, Group::Auth, &a, None, false);
            ok.unwrap();
            assert_eq!(report.unwrap().remaining, 1);
        }
        request(&q, Group::Auth, &a, None, true).0.unwrap();
        for _ in 0..3 {
            assert!(request(&q, Group::Auth, &a, None, true).0.is_err());
        }
    }

    #[test]
    fn users_count_apart_and_an_app_overrides_the_server() {
        let (q, _) = quotas("light=1/60,auth=1/60");
        let a = app("c", &[("light", "3/60"), ("auth", "off")]);
        for user in ["u1", "u2"] {
            for _ in 0..3 {
                request(&q, Group::Light, &a, Some(user), true).0.unwrap();
            }
            let e = request(&q, Group::Light, &a, Some(user), true)
                .0
                .unwrap_err();
            assert!(e.description.contains("for this user"), "{}", e.description);
        }
        // The app's own requests (no user) have their own count.
        request(&q, Group::Light, &a, None, true).0.unwrap();
        for _ in 0..10 {
            assert_eq!(request(&q, Group::Auth, &a, None, true), (Ok(()), None));
        }
    }
}
