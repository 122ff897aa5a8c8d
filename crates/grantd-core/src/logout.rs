//! OpenID Connect logout: the end-session endpoint's rules (RP-Initiated
//! Logout 1.0), ending a sign-in's sessions, and back-channel logout tokens
//! (Back-Channel Logout 1.0) with their delivery, retried from the store.

use crate::clock::UnixTime;
use crate::crypto::{b64url, random_id, sha256};
use crate::model::{App, DeliveryStatus, LogoutDelivery};
use crate::oidc::ID_TOKEN_TYP;
use crate::store::{LoggedOut, Logout, LogoutOf};
use crate::Grantd;
use async_trait::async_trait;
use grantd_protocol::{OAuthError, Params};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// `typ` of a logout token (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The one event a logout token carries.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Attempts per delivery before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a claimed delivery is left to its node before another may try it.
pub const DELIVERY_LEASE: i64 = 30;
/// A logout token's lifetime.
pub const LOGOUT_TOKEN_TTL: i64 = 120;
/// Deliveries attempted per round of the delivery task.
const BATCH: u32 = 20;

/// The OIDC `sid` of a browser sign-in: derived from its cookie (through the
/// stored hash), so it names the sign-in without revealing the cookie.
pub fn sid_of_cookie(cookie: &str) -> String {
    sid_of_hash(&sha256(cookie.as_bytes()))
}

fn sid_of_hash(hash: &[u8; 32]) -> String {
    let mut input = b"grantd sid ".to_vec();
    input.extend_from_slice(hash);
    b64url(&sha256(&input)[..16])
}

/// The end-session request's parameters (RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
}

impl LogoutRequest {
    pub fn read(params: &Params) -> Self {
        let get = |n: &str| params.get(n).map(str::to_string);
        Self {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            ui_locales: get("ui_locales"),
        }
    }

    /// The parameters again, for the confirmation form's hidden fields.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
            ("ui_locales", &self.ui_locales),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.clone().map(|v| (n, v)))
        .collect()
    }
}

/// What an ID token used as a hint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub sub: String,
    pub aud: String,
    pub sid: Option<String>,
}

/// A checked end-session request.
#[derive(Debug, Clone)]
pub struct LogoutContext {
    pub request: LogoutRequest,
    /// The app the request comes from (client_id or the hint's `aud`).
    pub app: Option<Arc<App>>,
    pub hint: Option<Hint>,
    /// The registered URI to send the browser to afterwards.
    pub redirect: Option<String>,
}

impl LogoutContext {
    /// Where the browser goes after the logout (with `state`), if anywhere.
    pub fn after(&self) -> Option<String> {
        let uri = self.redirect.as_deref()?;
        Some(match self.request.state.as_deref() {
            Some(state) => crate::authorize::redirect_with(uri, &[("state", state)], false),
            None => uri.to_string(),
        })
    }

    /// Whether the hint names this browser's sign-in, so no confirmation is
    /// asked (RP-Initiated Logout 1.0 §2: the hint proves the RP's request
    /// is about the user signed in here).
    pub fn hint_is_browser(&self, browser_sid: Option<&str>) -> bool {
        match (
            self.hint.as_ref().and_then(|h| h.sid.as_deref()),
            browser_sid,
        ) {
            (Some(h), Some(b)) => crate::crypto::constant_time_eq(h.as_bytes(), b.as_bytes()),
            _ => false,
        }
    }
}

#[derive(Debug, Deserialize)]
struct HintClaims {
    sub: String,
    aud: String,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    at_hash: Option<String>,
}

/// Sends a logout token to an app's `backchannel_logout_uri` (the binary's
/// HTTP client implements it): `Ok` for a 2xx answer, else the reason in
/// words (never the token).
#[async_trait]
pub trait LogoutSender: Send + Sync {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String>;
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, 8 s.
pub fn backoff(attempts: u32) -> i64 {
    1i64 << attempts.saturating_sub(1).min(16)
}

impl Grantd {
    /// Checks an end-session request: the hint (grantd's own ID token, an
    /// expired one accepted), the app, and the post-logout redirect URI
    /// against the app's registration. Every refusal is a page, never a
    /// redirect.
    pub async fn logout_context(
        &self,
        request: LogoutRequest,
    ) -> Result<LogoutContext, OAuthError> {
        let hint = match &request.id_token_hint {
            Some(token) => Some(self.read_hint(token)?),
            None => None,
        };
        let client_id = match (&request.client_id, &hint) {
            (Some(c), Some(h)) if c != &h.aud => {
                return Err(OAuthError::logout_hint_other_client(c, &h.aud));
            }
            (Some(c), _) => Some(c.clone()),
            (None, Some(h)) => Some(h.aud.clone()),
            (None, None) => None,
        };
        let app = match &client_id {
            Some(c) => Some(
                self.find_app(c)
                    .await?
                    .ok_or_else(|| OAuthError::logout_client_unknown(c))?,
            ),
            None => None,
        };
        let redirect = match (&request.post_logout_redirect_uri, &app) {
            (None, _) => None,
            (Some(uri), None) => return Err(OAuthError::logout_redirect_without_client(uri)),
            (Some(uri), Some(app)) => {
                let registered = &app.links.post_logout_redirect_uris;
                if !registered.iter().any(|r| r == uri) {
                    return Err(OAuthError::logout_redirect_unregistered(
                        uri,
                        &app.client_id,
                        registered,
                    ));
                }
                Some(uri.clone())
            }
        };
        Ok(LogoutContext {
            request,
            app,
            hint,
            redirect,
        })
    }

    /// An ID token of grantd's, verified but for its expiry.
    fn read_hint(&self, token: &str) -> Result<Hint, OAuthError> {
        use crate::keys::VerifyError;
        let c: HintClaims = self
            .keys
            .verify(token, ID_TOKEN_TYP, self.now(), i64::MAX)
            .map_err(|e| {
                OAuthError::logout_hint_invalid(match e {
                    VerifyError::NotAJwt => "it is not a JWT",
                    VerifyError::WrongType => "its typ header is not JWT",
                    VerifyError::UnknownKey => "it is not signed with a key of grantd's JWKS",
                    VerifyError::BadSignature => "its signature does not verify",
                    VerifyError::WrongIssuer => "its iss is not this issuer",
                    VerifyError::Invalid(_) => {
                        "its signature or claims cannot be read (altered or truncated?)"
                    }
                    _ => "its claims are not an ID token's",
                })
            })?;
        if c.auth_time.is_none() && c.at_hash.is_none() {
            return Err(OAuthError::logout_hint_invalid(
                "it is not an ID token (it has no auth_time or at_hash: a JWT credential?)",
            ));
        }
        Ok(Hint {
            sub: c.sub,
            aud: c.aud,
            sid: c.sid,
        })
    }

    /// Ends a browser sign-in: the browser's session (its cookie), every
    /// OAuth session opened under it, and queues the apps' back-channel
    /// logouts; one unit of work. Without a cookie, the hint's `sid` names
    /// the sign-in.
    pub async fn logout_browser(
        &self,
        cookie: Option<&str>,
        hint_sid: Option<&str>,
    ) -> Result<LoggedOut, OAuthError> {
        let browser = cookie.map(|c| sha256(c.as_bytes()));
        let sid = match (&browser, hint_sid) {
            (Some(hash), _) => sid_of_hash(hash),
            (None, Some(sid)) => sid.to_string(),
            (None, None) => return Ok(LoggedOut::default()),
        };
        self.logout(LogoutOf::Sid(sid), browser, "logout").await
    }

    /// Ends sessions with their back-channel logouts (a user disabled, an
    /// administrator ending a user's or an app's sessions).
    pub async fn logout(
        &self,
        of: LogoutOf,
        browser_session: Option<[u8; 32]>,
        reason: &str,
    ) -> Result<LoggedOut, OAuthError> {
        let now = self.now();
        let out = self
            .store
            .logout(
                &Logout {
                    of: of.clone(),
                    browser_session,
                    reason: reason.to_string(),
                    delivery_prefix: crate::crypto::ordered_id(now, 22),
                    first_attempt_at: now,
                },
                now,
            )
            .await?;
        tracing::info!(
            ?of,
            reason,
            sessions = out.ended.len(),
            deliveries = out.deliveries.len(),
            "logged out"
        );
        Ok(out)
    }

    /// A logout token for one delivery (Back-Channel Logout 1.0 §2.4): `sub`
    /// always, `sid` when the sessions came from a browser sign-in, no nonce.
    pub fn logout_token(&self, d: &LogoutDelivery, now: UnixTime) -> String {
        let mut claims = json!({
            "iss": self.config.issuer,
            "aud": d.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": random_id(22),
            "sub": d.user_id,
            "events": { BACKCHANNEL_EVENT: {} },
        });
        if let Some(sid) = &d.sid {
            claims["sid"] = json!(sid);
        }
        self.keys.sign(LOGOUT_TOKEN_TYP, &claims)
    }

    /// One round of the delivery task: claims the due deliveries, sends each
    /// and stores the outcome (delivered, retried after [`backoff`], or
    /// failed after [`MAX_ATTEMPTS`]). Answers how many it attempted.
    pub async fn deliver_logouts(&self, sender: &dyn LogoutSender) -> Result<usize, OAuthError> {
        let now = self.now();
        let due = self
            .store
            .claim_logout_deliveries(now, now + DELIVERY_LEASE, BATCH)
            .await?;
        for mut d in due.iter().cloned() {
            let outcome = match self.find_app(&d.client_id).await? {
                Some(app) => match &app.links.backchannel_logout_uri {
                    Some(uri) => sender.send(uri, &self.logout_token(&d, now)).await,
                    None => Err("the app no longer has a backchannel_logout_uri".to_string()),
                },
                None => Err("the app no longer exists".to_string()),
            };
            let now = self.now();
            d.attempts += 1;
            d.updated_at = now;
            match outcome {
                Ok(()) => {
                    d.status = DeliveryStatus::Delivered;
                    d.last_error = None;
                    d.next_attempt_at = None;
                }
                Err(why) => {
                    tracing::info!(delivery = %d.id, client_id = %d.client_id, attempts = d.attempts, error = %why, "back-channel logout not delivered");
                    d.last_error = Some(why);
                    if d.attempts >= MAX_ATTEMPTS {
                        d.status = DeliveryStatus::Failed;
                        d.next_attempt_at = None;
                    } else {
                        d.next_attempt_at = Some(now + backoff(d.attempts));
                    }
                }
            }
            self.store.record_logout_attempt(&d).await?;
        }
        Ok(due.len())
    }

    /// An app's back-channel logout deliveries, newest first.
    pub async fn logout_deliveries(
        &self,
        client_id: &str,
    ) -> Result<Vec<LogoutDelivery>, OAuthError> {
        self.get_app(client_id).await?;
        Ok(self.store.list_logout_deliveries(client_id, 100).await?)
    }
}

/// The delivery task: a round every second (pending rows left by a
/// restart are picked up by the first), until the runtime stops.
pub fn spawn_delivery(
    grantd: Arc<Grantd>,
    sender: Arc<dyn LogoutSender>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = grantd.deliver_logouts(&*sender).await {
                tracing::warn!(error = %e.description, "back-channel logout round failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second() {
        assert_eq!((1..=4).map(backoff).collect::<Vec<_>>(), vec![1, 2, 4, 8]);
    }

    #[test]
    fn sid_names_the_sign_in_not_the_cookie() {
        let sid = sid_of_cookie("cookie value");
        assert_eq!(sid, sid_of_cookie("cookie value"));
        assert_ne!(sid, sid_of_cookie("another"));
        assert!(!sid.contains("cookie"));
        assert_eq!(sid.len(), 22);
    }
}
