//! authorization_code (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6): the code
//! is single-use, bound to the app, the redirect URI, the challenge and the
//! user; a replay revokes what the first exchange issued.

use super::{end_session, GrantContext, GrantDeps, Grantee, Issue, Oidc, SessionPlan, TokenGrant};
use crate::crypto::{b64url, rfc3339, sha256};
use crate::model::{CodeUse, UserStatus};
use async_trait::async_trait;
use grantd_protocol::requests::AuthorizationCodeRequest;
use grantd_protocol::{GrantType, OAuthError, Scopes};

pub struct AuthorizationCode;

#[async_trait]
impl TokenGrant for AuthorizationCode {
    const GRANT_TYPE: GrantType = GrantType::AuthorizationCode;
    type Request = AuthorizationCodeRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: AuthorizationCodeRequest,
    ) -> Result<Issue, OAuthError> {
        let hash = sha256(request.code.expose().as_bytes());
        let now = deps.now;
        let record = match deps.store.consume_code(&hash, now).await? {
            CodeUse::Unknown => return Err(OAuthError::code_invalid()),
            CodeUse::Replayed(record) => {
                if let Some(sid) = &record.session_id {
                    end_session(deps, sid, "authorization code replayed").await?;
                }
                tracing::warn!(client_id = %record.client_id, "authorization code replayed: its tokens were revoked");
                return Err(OAuthError::code_replayed(&rfc3339(
                    record.used_at.unwrap_or(now),
                )));
            }
            CodeUse::Fresh(record) => record,
        };
        if record.client_id != ctx.app.client_id {
            return Err(OAuthError::code_other_client(&ctx.app.client_id));
        }
        if record.expires_at <= now {
            return Err(OAuthError::code_expired(&rfc3339(record.expires_at)));
        }
        let sent = request.redirect_uri.as_deref();
        if (record.redirect_uri_sent || sent.is_some())
            && sent != Some(record.redirect_uri.as_str())
        {
            return Err(OAuthError::redirect_uri_mismatch(
                sent,
                &record.redirect_uri,
            ));
        }
        match (&record.code_challenge, &request.code_verifier) {
            (Some(challenge), Some(verifier)) => {
                let method = record.code_challenge_method.as_deref().unwrap_or("plain");
                let computed = if method == "S256" {
                    b64url(&sha256(verifier.expose().as_bytes()))
                } else {
                    verifier.expose().to_string()
                };
                if !crate::crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                    return Err(OAuthError::pkce_verifier_mismatch(method));
                }
            }
            (Some(_), None) => return Err(OAuthError::pkce_verifier_missing()),
            (None, Some(_)) => return Err(OAuthError::pkce_downgrade()),
            (None, None) => {}
        }
        let user = match deps.store.get_user(&record.user_id).await? {
            Some(user) => user,
            None => return Err(OAuthError::user_not_found(&record.user_id)),
        };
        if user.status != UserStatus::Enabled {
            return Err(OAuthError::user_disabled());
        }
        // The code carries the scopes the user consented to; a scope parameter here is ignored.
        let scopes = Scopes::parse(&record.scope)?;
        Ok(Issue::Tokens(Grantee {
            subject: user.id.clone(),
            account_id: Some(user.account_id.clone()),
            scopes,
            user: Some(user),
            oidc: Some(Oidc {
                nonce: record.nonce.clone(),
                auth_time: record.auth_time,
                sid: record.sid.clone(),
            }),
            session: SessionPlan::Open {
                credential_id: None,
                code: Some(hash),
            },
            resources: record.resources.clone(),
        }))
    }
}
