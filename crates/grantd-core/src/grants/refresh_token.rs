//! refresh_token (RFC 6749 §6) with rotation: the session goes on with a new
//! pair, the refresh token presented is exchanged at most once, a retry
//! inside the grace window gets the same answer, and reuse after it ends
//! the session (RFC 9700 §4.14) or, for a confidential client by default,
//! is refused while the session goes on (`Policy::refresh_reuse`). The rotation itself happens when the
//! pipeline issues ([`crate::tokens`]), as one unit of work in the store.

use super::{
    end_session, Continuation, GrantContext, GrantDeps, Grantee, Issue, Oidc, SessionPlan,
    TokenGrant,
};
use crate::crypto::{open_with_token, rfc3339, sha256};
use crate::model::{Session, TokenKind, TokenRecord, UserStatus};
use crate::tokens::OIDC_SCOPES;
use async_trait::async_trait;
use grantd_protocol::requests::RefreshTokenRequest;
use grantd_protocol::{GrantType, OAuthError, Scopes, Secret, TokenResponse};

pub struct RefreshToken;

#[async_trait]
impl TokenGrant for RefreshToken {
    const GRANT_TYPE: GrantType = GrantType::RefreshToken;
    type Request = RefreshTokenRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: RefreshTokenRequest,
    ) -> Result<Issue, OAuthError> {
        let app = ctx.app;
        let now = deps.now;
        let hash = sha256(request.refresh_token.expose().as_bytes());
        let record = match deps.store.get_token(&hash).await? {
            Some(r) if r.kind == TokenKind::Refresh => r,
            _ => return Err(not_refresh(deps, &request.refresh_token).await?),
        };
        if record.client_id != app.client_id {
            return Err(OAuthError::refresh_other_client(&app.client_id));
        }
        let session_id = record.session_id.clone().unwrap_or_default();
        let Some(session) = deps.store.get_session(&session_id).await? else {
            return Err(OAuthError::refresh_unknown());
        };
        if session.ended_at.is_some() {
            return Err(ended(&session));
        }
        if record.rotated_at.is_some() {
            let answer = replay_or_reuse(
                deps,
                &record,
                &session,
                &request.refresh_token,
                app.is_confidential(),
                app.is_fapi2(),
            )
            .await?;
            return Ok(Issue::Replay(Box::new(answer)));
        }
        if session_end(deps, &session).is_some_and(|end| now >= end) {
            let reason = "it reached its maximum lifetime (--session-max-lifetime)";
            end_session(deps, &session.id, reason).await?;
            return Err(OAuthError::session_ended(&session.id, reason));
        }
        if record.revoked_at.is_some() {
            return Err(OAuthError::session_ended(&session.id, "revoked"));
        }
        // The account's own timeouts (RingCentral's session policy); the
        // refresh token presented was issued at the session's last refresh.
        let policy =
            crate::session_policy::SessionPolicy::of(deps.store, &session.account_id).await?;
        if let Some(reason) = policy.ended(&session, record.issued_at, now) {
            end_session(deps, &session.id, &reason).await?;
            return Err(OAuthError::session_ended(&session.id, &reason));
        }
        if record.expires_at <= now {
            return Err(OAuthError::refresh_expired(&rfc3339(record.expires_at)));
        }
        let user = match deps.store.get_user(&session.user_id).await? {
            Some(user) => user,
            None => return Err(OAuthError::user_not_found(&session.user_id)),
        };
        if user.status != UserStatus::Enabled {
            end_session(deps, &session.id, "user disabled").await?;
            return Err(OAuthError::user_disabled());
        }
        // RFC 6749 §6: a refresh may narrow the scope, never widen it. The
        // app may have lost scopes since the session began.
        let kept = Scopes::from_names(
            Scopes::parse(&session.scope)?
                .iter()
                .filter(|s| app.scopes.contains(s) || OIDC_SCOPES.contains(s)),
        )
        .map_err(|_| OAuthError::server_error())?;
        let scopes = match &ctx.request.scope {
            None => kept,
            Some(asked) => {
                let missing = asked.missing_from(&kept);
                if !missing.is_empty() {
                    let app_lacks: Vec<&str> = missing
                        .iter()
                        .copied()
                        .filter(|s| !app.scopes.contains(s) && !OIDC_SCOPES.contains(s))
                        .collect();
                    return Err(OAuthError::refresh_scope_too_wide(
                        &missing,
                        kept.as_slice(),
                        &app_lacks,
                    ));
                }
                asked.clone()
            }
        };
        Ok(Issue::Tokens(Grantee {
            subject: user.id.clone(),
            account_id: Some(user.account_id.clone()),
            scopes,
            user: Some(user),
            // A refresh issues no new ID token.
            oidc: None::<Oidc>,
            // A refresh may narrow to one of these (RFC 8707 §2.2), never add.
            resources: session.resources.clone(),
            session: SessionPlan::Continue(Box::new(Continuation {
                session,
                old: record,
                presented: request.refresh_token,
            })),
        }))
    }
}

/// A refresh_token that is no refresh token: another of grantd's tokens
/// is named as what it is; anything else is unknown.
async fn not_refresh(deps: &GrantDeps<'_>, presented: &Secret) -> Result<OAuthError, OAuthError> {
    use crate::own_token::OwnKind;
    let kind = match deps.auth.verify_own_token(presented).await? {
        Ok(t) => Some(t.kind),
        Err(refused) => refused.kind,
    };
    Ok(match kind {
        Some(OwnKind::JwtAccess | OwnKind::OpaqueAccess) => {
            OAuthError::not_a_refresh_token("an access token")
        }
        Some(OwnKind::IdToken) => OAuthError::not_a_refresh_token("an ID token"),
        Some(OwnKind::Credential) => OAuthError::not_a_refresh_token(
            "a JWT credential (it is exchanged with grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…)",
        ),
        _ => OAuthError::refresh_unknown(),
    })
}

/// When the session must end however often it is refreshed.
pub(crate) fn session_end(deps: &GrantDeps<'_>, session: &Session) -> Option<i64> {
    let max = deps.policy.session_max_lifetime;
    (max > 0).then(|| session.created_at.saturating_add(max))
}

/// An exchanged refresh token presented again: inside the grace window
/// (counted from the exchange, whether or not the new pair was used) it
/// answers with the same new pair; after it, the reuse policy decides:
/// the session ends, or (a confidential client's own workers racing) the
/// stale token is refused and the session lives on.
pub(crate) async fn replay_or_reuse(
    deps: &GrantDeps<'_>,
    record: &TokenRecord,
    session: &Session,
    presented: &Secret,
    confidential: bool,
    retry_until_used: bool,
) -> Result<TokenResponse, OAuthError> {
    let now = deps.now;
    let rotated_at = record.rotated_at.unwrap_or(now);
    let replay: Option<TokenResponse> = record
        .replay
        .as_deref()
        .and_then(|sealed| open_with_token(presented.expose(), sealed))
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    // Is the pair it produced still the newest one of the session?
    let successor_current = match replay.as_ref().and_then(|r| r.refresh_token.as_deref()) {
        Some(next) => deps
            .store
            .get_token(&sha256(next.as_bytes()))
            .await?
            .is_some_and(|n| n.rotated_at.is_none() && n.revoked_at.is_none()),
        None => true,
    };
    let grace_end = rotated_at.saturating_add(deps.policy.refresh_grace);
    // FAPI 2.0 (§5.3.2.1): a client that lost the answer to a refresh can
    // retry with the previous token and succeed, until it has used the new
    // one, as long as the access token of that answer lives.
    let retry_end = match &replay {
        Some(r) if retry_until_used => {
            grace_end.max(rotated_at.saturating_add(r.expires_in as i64))
        }
        _ => grace_end,
    };
    match replay {
        Some(response) if successor_current && now <= retry_end => {
            tracing::info!(session_id = %session.id, "refresh retried before the new pair was used: same pair returned");
            Ok(response)
        }
        _ if !deps.policy.refresh_reuse.ends_session(confidential) => {
            tracing::info!(session_id = %session.id, client_id = %session.client_id, "stale refresh token refused; the session goes on");
            Err(OAuthError::refresh_stale(&rfc3339(rotated_at)))
        }
        _ => {
            end_session(deps, &session.id, "refresh token reuse").await?;
            tracing::warn!(session_id = %session.id, user_id = %session.user_id, client_id = %session.client_id, "refresh token reuse detected: session ended");
            Err(OAuthError::refresh_reused(
                &session.id,
                &rfc3339(rotated_at),
            ))
        }
    }
}

/// The error for a session that has ended, with its reason.
pub(crate) fn ended(session: &Session) -> OAuthError {
    OAuthError::session_ended(
        &session.id,
        session.end_reason.as_deref().unwrap_or("ended"),
    )
}
