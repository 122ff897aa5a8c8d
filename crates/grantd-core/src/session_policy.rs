//! RingCentral's session policy per account: an absolute session lifetime
//! (`session_expires_in`) and an idle timeout (`session_idle_timeout`),
//! kept as a setting of the account, enforced at every refresh and told to
//! the client in every token response of a session.

use crate::clock::UnixTime;
use crate::crypto::rfc3339;
use crate::model::Session;
use crate::store::Store;
use crate::Grantd;
use grantd_protocol::{OAuthError, TokenResponse};
use serde::{Deserialize, Serialize};

/// Shortest and longest values either timeout may take, in seconds.
pub const RANGE: (i64, i64) = (300, 90 * 86_400);

/// An account's session timeouts (`None`: the server's rules only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    /// Seconds a session lasts from sign-in, however often it is refreshed.
    #[serde(default)]
    pub session_expires_in: Option<i64>,
    /// Seconds a session may go without a refresh before it ends.
    #[serde(default)]
    pub session_idle_timeout: Option<i64>,
}

fn key(account_id: &str) -> String {
    format!("session_policy:{account_id}")
}

impl SessionPolicy {
    /// The account's policy (settings are never deleted: empty is none).
    pub async fn of(store: &dyn Store, account_id: &str) -> Result<Self, OAuthError> {
        Ok(store
            .get_setting(&key(account_id))
            .await?
            .filter(|v| !v.is_empty())
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    pub fn is_set(&self) -> bool {
        self.session_expires_in.is_some() || self.session_idle_timeout.is_some()
    }

    /// When `session` ends under this policy, if it has an absolute end.
    pub fn end_of(&self, session: &Session) -> Option<UnixTime> {
        self.session_expires_in
            .map(|s| session.created_at.saturating_add(s))
    }

    /// Why a session must end now, if it must: past its absolute end, or
    /// idle since `last_refresh`.
    pub fn ended(
        &self,
        session: &Session,
        last_refresh: UnixTime,
        now: UnixTime,
    ) -> Option<String> {
        if let Some(end) = self.end_of(session) {
            if now >= end {
                return Some(format!(
                    "it reached the account's session lifetime (session_expires_in {} s)",
                    self.session_expires_in.unwrap_or_default()
                ));
            }
        }
        match self.session_idle_timeout {
            Some(idle) if now.saturating_sub(last_refresh) >= idle => Some(format!(
                "it was idle longer than the account's session_idle_timeout ({idle} s)"
            )),
            _ => None,
        }
    }

    /// Adds the policy's fields to a token response of `session`.
    pub fn describe(&self, response: &mut TokenResponse, session: &Session, now: UnixTime) {
        if let Some(end) = self.end_of(session) {
            response.session_expires_in = Some(end.saturating_sub(now).max(0) as u64);
            response.session_expiration_time = Some(rfc3339(end));
        }
        response.session_idle_timeout = self.session_idle_timeout.map(|s| s.max(0) as u64);
    }
}

impl Grantd {
    /// Sets (or, with both `None`, clears) an account's session policy.
    pub async fn set_session_policy(
        &self,
        account_id: &str,
        policy: SessionPolicy,
    ) -> Result<SessionPolicy, OAuthError> {
        self.store
            .get_account(account_id)
            .await?
            .ok_or_else(|| OAuthError::account_not_found(account_id))?;
        for (field, value) in [
            ("session_expires_in", policy.session_expires_in),
            ("session_idle_timeout", policy.session_idle_timeout),
        ] {
            if let Some(v) = value {
                if !(RANGE.0..=RANGE.1).contains(&v) {
                    return Err(OAuthError::invalid_parameter(
                        match field {
                            "session_expires_in" => "session_expires_in",
                            _ => "session_idle_timeout",
                        },
                        format!("{v} seconds is outside {}–{}", RANGE.0, RANGE.1),
                    ));
                }
            }
        }
        let value = if policy.is_set() {
            serde_json::to_string(&policy).map_err(|_| OAuthError::server_error())?
        } else {
            String::new()
        };
        self.store.put_setting(&key(account_id), &value).await?;
        tracing::info!(account_id, ?policy, "session policy set");
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: UnixTime) -> Session {
        Session {
            id: "s".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            account_id: "a".into(),
            scope: String::new(),
            created_at,
            ended_at: None,
            end_reason: None,
            credential_id: None,
            endpoint_id: None,
            sid: None,
            resources: Vec::new(),
        }
    }

    #[test]
    fn absolute_and_idle_ends() {
        let p = SessionPolicy {
            session_expires_in: Some(1000),
            session_idle_timeout: Some(300),
        };
        let s = session(0);
        assert_eq!(p.ended(&s, 500, 700), None);
        assert!(p.ended(&s, 100, 400).unwrap().contains("idle"));
        assert!(p.ended(&s, 990, 1000).unwrap().contains("lifetime"));
        assert_eq!(SessionPolicy::default().ended(&s, 0, 1 << 40), None);
    }
}
