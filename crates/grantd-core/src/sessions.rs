//! Sessions and refresh tokens: rotation on every refresh, an idempotent
//! grace window for retries, reuse detection that ends the session
//! (RFC 9700 §4.14), and ending sessions.

use crate::clock::UnixTime;
use crate::crypto::{open_with_token, random_id, random_token, rfc3339, seal_with_token, sha256};
use crate::model::{App, Session, TokenKind, TokenRecord, User, UserStatus};
use crate::store::{RotateOutcome, Rotation};
use crate::tokens::{access_ttl, AccessToken};
use crate::Grantd;
use grantd_protocol::{OAuthError, Params, TokenRequest, TokenResponse};

/// An access token and, if the app issues them, a refresh token.
pub(crate) struct Pair {
    pub access: AccessToken,
    pub refresh: Option<(String, TokenRecord)>,
}

impl Pair {
    /// The records the store keeps of this pair: the refresh token and, when
    /// it is opaque, the access token.
    pub fn stored_records(&self) -> Vec<TokenRecord> {
        self.access
            .record
            .iter()
            .chain(self.refresh.as_ref().map(|(_, r)| r))
            .cloned()
            .collect()
    }

    pub fn response(
        &self,
        request: &TokenRequest,
        session: &Session,
        user: &User,
    ) -> TokenResponse {
        TokenResponse {
            access_token: self.access.value.clone(),
            token_type: "bearer".into(),
            expires_in: self.access.ttl,
            refresh_token: self.refresh.as_ref().map(|(v, _)| v.clone()),
            refresh_token_expires_in: self
                .refresh
                .as_ref()
                .map(|(_, r)| (r.expires_at - r.issued_at).max(0) as u64),
            scope: session.scope.clone(),
            owner_id: Some(user.id.clone()),
            endpoint_id: Some(request.endpoint_id.clone().unwrap_or_else(|| random_id(22))),
            session_id: Some(session.id.clone()),
            id_token: None,
        }
    }
}

/// The refresh token lifetime: the app's, shortened if the client asks; 0 = none.
fn refresh_ttl(app: &App, asked: Option<u64>) -> u64 {
    if !app.issue_refresh_tokens {
        return 0;
    }
    asked.map_or(app.refresh_token_ttl, |t| t.min(app.refresh_token_ttl))
}

impl Grantd {
    /// A new access token for the session and, unless the app or the client
    /// declines, a refresh token bound to it.
    pub(crate) fn new_pair(
        &self,
        app: &App,
        session: &Session,
        scope: &str,
        request: &TokenRequest,
        now: UnixTime,
    ) -> Pair {
        let access = self.new_access_token(
            app,
            &session.user_id,
            Some(&session.account_id),
            scope,
            Some(&session.id),
            access_ttl(app, request.access_token_ttl),
            now,
        );
        let ttl = refresh_ttl(app, request.refresh_token_ttl);
        let refresh = (ttl > 0).then(|| {
            let value = random_token();
            let record = TokenRecord {
                hash: sha256(value.as_bytes()),
                kind: TokenKind::Refresh,
                id: random_id(22),
                client_id: app.client_id.clone(),
                subject: session.user_id.clone(),
                account_id: Some(session.account_id.clone()),
                session_id: Some(session.id.clone()),
                scope: scope.to_string(),
                issued_at: now,
                expires_at: now + ttl as i64,
                revoked_at: None,
                rotated_at: None,
                replay: None,
                pair_access_id: Some(access.jti.clone()),
                pair_access_expires_at: Some(access.exp),
            };
            (value, record)
        });
        Pair { access, refresh }
    }

    /// Ends a session and every token of it.
    pub async fn end_session(&self, session_id: &str, reason: &str) -> Result<bool, OAuthError> {
        let ended = self
            .store
            .end_session(session_id, reason, self.now())
            .await?;
        if ended {
            tracing::info!(session_id, reason, "session ended");
        }
        Ok(ended)
    }

    /// The refresh_token grant (RFC 6749 §6) with rotation.
    pub(crate) async fn refresh(
        &self,
        app: &App,
        request: &TokenRequest,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let token = params.require("refresh_token", "for the refresh_token grant")?;
        let hash = sha256(token.as_bytes());
        let record = match self.store.get_token(&hash).await? {
            Some(r) if r.kind == TokenKind::Refresh => r,
            _ => return Err(OAuthError::refresh_unknown()),
        };
        if record.client_id != app.client_id {
            return Err(OAuthError::refresh_other_client(&app.client_id));
        }
        let session_id = record.session_id.clone().unwrap_or_default();
        let Some(session) = self.store.get_session(&session_id).await? else {
            return Err(OAuthError::refresh_unknown());
        };
        if session.ended_at.is_some() {
            return Err(ended(&session));
        }
        if record.rotated_at.is_some() {
            return self.replay_or_reuse(&record, &session, token, now).await;
        }
        if record.revoked_at.is_some() {
            return Err(OAuthError::session_ended(&session.id, "revoked"));
        }
        if record.expires_at <= now {
            return Err(OAuthError::refresh_expired(&rfc3339(record.expires_at)));
        }
        let user = self.get_user(&session.user_id).await?;
        if user.status != UserStatus::Enabled {
            self.end_session(&session.id, "user disabled").await?;
            return Err(OAuthError::user_disabled());
        }
        // RFC 6749 §6: a refresh may narrow the scope, never widen it.
        // The app may have lost scopes since the session began.
        let kept = grantd_protocol::Scopes::from_names(
            grantd_protocol::Scopes::parse(&session.scope)?
                .iter()
                .filter(|s| app.scopes.contains(s) || crate::tokens::OIDC_SCOPES.contains(s)),
        )
        .map_err(|_| OAuthError::server_error())?;
        let scope = match &request.scope {
            None => kept.to_string(),
            Some(asked) => {
                let granted = kept;
                let missing = asked.missing_from(&granted);
                if !missing.is_empty() {
                    return Err(OAuthError::scope_not_permitted(
                        &app.name,
                        &missing,
                        granted.as_slice(),
                    ));
                }
                asked.to_string()
            }
        };
        let pair = self.new_pair(app, &session, &scope, request, now);
        let mut response = pair.response(request, &session, &user);
        response.scope = scope;
        let replay = serde_json::to_vec(&response).map_err(|_| OAuthError::server_error())?;
        let sealed = seal_with_token(token, &replay);
        let next = match &pair.refresh {
            Some((_, r)) => r.clone(),
            // The client declined a new refresh token (refresh_token_ttl=0):
            // the session continues until its access token expires.
            None => tombstone(&record, now),
        };
        // One unit of work: the old token exchanged, the new pair stored, and
        // the old access token revoked with it.
        let rotation = Rotation {
            old_hash: hash,
            next,
            access: pair.access.record.clone(),
            replay: sealed,
            revoke_jti: record
                .pair_access_id
                .clone()
                .zip(record.pair_access_expires_at),
        };
        match self.store.rotate_refresh(&rotation, now).await? {
            RotateOutcome::Rotated => {
                tracing::info!(session_id = %session.id, client_id = %app.client_id, "refresh token rotated");
                Ok(response)
            }
            RotateOutcome::AlreadyRotated(stored) => {
                self.replay_or_reuse(&stored, &session, token, now).await
            }
            // A revocation won the race: the session is over.
            RotateOutcome::Ended => match self.store.get_session(&session.id).await? {
                Some(s) if s.ended_at.is_some() => Err(ended(&s)),
                _ => Err(OAuthError::session_ended(&session.id, "revoked")),
            },
            RotateOutcome::Unknown => Err(OAuthError::refresh_unknown()),
        }
    }

    /// An exchanged refresh token presented again: inside the grace window
    /// (counted from the exchange, whether or not the new pair was used) it
    /// answers with the same new pair; after it, the session ends.
    async fn replay_or_reuse(
        &self,
        record: &TokenRecord,
        session: &Session,
        token: &str,
        now: UnixTime,
    ) -> Result<TokenResponse, OAuthError> {
        let policy = &self.config.policy;
        let rotated_at = record.rotated_at.unwrap_or(now);
        let replay: Option<TokenResponse> = record
            .replay
            .as_deref()
            .and_then(|sealed| open_with_token(token, sealed))
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        // Is the pair it produced still the newest one of the session?
        let successor_current = match replay.as_ref().and_then(|r| r.refresh_token.as_deref()) {
            Some(next) => self
                .store
                .get_token(&sha256(next.as_bytes()))
                .await?
                .is_some_and(|n| n.rotated_at.is_none() && n.revoked_at.is_none()),
            None => true,
        };
        let grace_end = rotated_at.saturating_add(policy.refresh_grace);
        match replay {
            Some(response) if successor_current && now <= grace_end => {
                tracing::info!(session_id = %session.id, "refresh retried inside the grace window: same pair returned");
                Ok(response)
            }
            _ => {
                self.end_session(&session.id, "refresh token reuse").await?;
                tracing::warn!(session_id = %session.id, user_id = %session.user_id, client_id = %session.client_id, "refresh token reuse detected: session ended");
                Err(OAuthError::refresh_reused(
                    &session.id,
                    &rfc3339(rotated_at),
                ))
            }
        }
    }
}

fn ended(session: &Session) -> OAuthError {
    OAuthError::session_ended(
        &session.id,
        session.end_reason.as_deref().unwrap_or("ended"),
    )
}

/// When a refresh issues no new refresh token, the rotation still needs a
/// successor row; this one is already expired and can never be presented
/// (its hash is of random bytes nobody holds).
fn tombstone(old: &TokenRecord, now: UnixTime) -> TokenRecord {
    TokenRecord {
        hash: sha256(random_token().as_bytes()),
        id: random_id(22),
        issued_at: now,
        expires_at: now,
        revoked_at: Some(now),
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
        ..old.clone()
    }
}
