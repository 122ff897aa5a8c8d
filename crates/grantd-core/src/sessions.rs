//! Sessions and their token pairs: making a pair for a session, the answer
//! that carries it, and ending sessions. The refresh grant that rotates
//! pairs is in [`crate::grants::refresh_token`].

use crate::clock::UnixTime;
use crate::crypto::{random_id, random_token, sha256};
use crate::model::{App, Session, TokenKind, TokenRecord, User};
use crate::tokens::{access_ttl, AccessSpec, AccessToken};
use crate::Grantd;
use grantd_protocol::{IssueParams, OAuthError, TokenResponse};

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
        params: &IssueParams,
        session: &Session,
        scope: &str,
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
            scope: scope.to_string(),
            owner_id: Some(user.id.clone()),
            // The session's, whatever a refresh sends (RingCentral keeps it).
            endpoint_id: Some(
                session
                    .endpoint_id
                    .clone()
                    .or_else(|| params.endpoint_id.clone())
                    .unwrap_or_else(|| random_id(22)),
            ),
            session_id: Some(session.id.clone()),
            id_token: None,
            issued_token_type: None,
            session_expires_in: None,
            session_expiration_time: None,
            session_idle_timeout: None,
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
        params: &IssueParams,
        now: UnixTime,
    ) -> Pair {
        let resource = crate::model::ExchangeClaims::for_resource(params.audience.as_deref());
        let access = self.new_access_token(
            app,
            AccessSpec {
                subject: &session.user_id,
                account_id: Some(&session.account_id),
                scope,
                session_id: Some(&session.id),
                ttl: access_ttl(app, params.access_token_ttl),
                format: app.access_token_format,
                exchange: resource.as_ref(),
                cnf_jkt: params.dpop_jkt.as_deref(),
            },
            now,
        );
        let mut ttl = refresh_ttl(app, params.refresh_token_ttl);
        // A refresh token never outlives its session's absolute end.
        let max = self.config.policy.session_max_lifetime;
        if max > 0 {
            let end = session.created_at.saturating_add(max);
            ttl = ttl.min(end.saturating_sub(now).max(0) as u64);
        }
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
                exchange: None,
            };
            (value, record)
        });
        Pair { access, refresh }
    }

    /// Ends every active session of a user, an app, a credential, or a
    /// user with an app; returns how many.
    pub async fn end_sessions(
        &self,
        of: crate::store::SessionsOf<'_>,
        reason: &str,
    ) -> Result<u64, OAuthError> {
        let ended = self.store.end_sessions(of, reason, self.now()).await?;
        tracing::info!(?of, reason, sessions = ended, "sessions ended");
        Ok(ended)
    }

    /// A user withdraws consent to an app: the next sign-in asks again, and
    /// the tokens the app holds for the user stop working (their sessions end).
    pub async fn withdraw_consent(&self, user_id: &str, client_id: &str) -> Result<(), OAuthError> {
        if !self.store.delete_consent(user_id, client_id).await? {
            return Err(OAuthError::consent_not_found(user_id, client_id));
        }
        // After the deletion: a session opened on the old consent meanwhile ends too.
        let of = crate::store::SessionsOf::UserApp { user_id, client_id };
        let ended = self
            .store
            .end_sessions(of, "consent withdrawn", self.now())
            .await?;
        tracing::info!(user_id, client_id, sessions = ended, "consent withdrawn");
        self.audit(
            crate::audit::kind::CONSENT_WITHDRAWN,
            "admin",
            client_id,
            "",
            serde_json::json!({"user_id": user_id, "sessions_ended": ended}),
        )
        .await;
        Ok(())
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
}

/// When a refresh issues no new refresh token, the rotation still needs a
/// successor row; this one is already expired and can never be presented
/// (its hash is of random bytes nobody holds).
pub(crate) fn tombstone(old: &TokenRecord, now: UnixTime) -> TokenRecord {
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
