//! RingCentral's cross-app sign-in (`POST /restapi/v1.0/interop/generate-code`):
//! a live token of one app mints an authorization code for another app of
//! the same account, for the same user, so the user need not sign in twice.

use crate::authorize::CODE_TTL;
use crate::crypto::{random_token, sha256};
use crate::model::AuthCode;
use crate::resource::Bearer;
use crate::Grantd;
use grantd_protocol::{Grant, OAuthError, Scopes};

/// The permission a token needs to mint codes for other apps.
pub const INTEROPERABILITY: &str = "Interoperability";

/// A code for the target app, and seconds it lives.
#[derive(Debug)]
pub struct InteropCode {
    pub code: String,
    pub expires_in: i64,
}

impl Grantd {
    /// An authorization code for app `target`, for the bearer's user, when
    /// the bearer holds `Interoperability` and `target` belongs to the same
    /// account as the bearer's app and takes codes. The code is exchanged at
    /// the token endpoint by `target` as any code (its first redirect URI,
    /// not to be repeated; its whole scope).
    pub async fn interop_code(
        &self,
        bearer: &Bearer,
        target: &str,
    ) -> Result<InteropCode, OAuthError> {
        if !Scopes::parse(&bearer.scope)?.contains(INTEROPERABILITY) {
            return Err(OAuthError::interop_scope_missing(&bearer.client_id));
        }
        let source = self
            .find_app(&bearer.client_id)
            .await?
            .ok_or_else(|| OAuthError::access_token_revoked("its app was deleted"))?;
        // Another account's app is answered as a missing one: no probing.
        let app = match self.find_app(target).await? {
            Some(app) if app.account_id == source.account_id => app,
            _ => return Err(OAuthError::interop_target_unknown(target)),
        };
        if app.distribution == crate::model::Distribution::Private
            && app.account_id != bearer.user.account_id
        {
            return Err(OAuthError::interop_target_unknown(target));
        }
        let Some(redirect_uri) = app.redirect_uris.first() else {
            return Err(OAuthError::interop_target_takes_no_code(&app.name, target));
        };
        if !app.has_grant(Grant::AuthorizationCode) {
            return Err(OAuthError::interop_target_takes_no_code(&app.name, target));
        }
        let now = self.now();
        let code = random_token();
        self.store
            .insert_code(&AuthCode {
                hash: sha256(code.as_bytes()),
                client_id: app.client_id.clone(),
                user_id: bearer.user.id.clone(),
                account_id: bearer.user.account_id.clone(),
                redirect_uri: redirect_uri.as_str().to_string(),
                redirect_uri_sent: false,
                scope: app.scopes.to_string(),
                nonce: None,
                code_challenge: None,
                code_challenge_method: None,
                auth_time: now,
                created_at: now,
                expires_at: now + CODE_TTL,
                used_at: None,
                session_id: None,
                sid: None,
                resources: Vec::new(),
            })
            .await?;
        tracing::info!(from = %source.client_id, to = %app.client_id, user_id = %bearer.user.id, "interop code issued");
        Ok(InteropCode {
            code,
            expires_in: CODE_TTL,
        })
    }
}
