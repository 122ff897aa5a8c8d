//! The token pipeline and token lifecycle: a short list of named checks every
//! grant passes through, then issuing; introspection and revocation.

use crate::crypto::{constant_time_eq, random_id, random_token, sha256};
use crate::grants::{self, GrantContext, Grantee, IMPLEMENTED};
use crate::keys::VerifyError;
use crate::model::{AccessTokenFormat, App, TokenKind, TokenRecord};
use crate::Grantd;
use grantd_protocol::{
    Challenge, ClientAuth, Grant, OAuthError, Params, Scopes, TokenRequest, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Claims of grantd's JWT access tokens (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_id: Option<String>,
}

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The RFC 7662 answer.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// The `grant_type` values the token endpoint accepts.
pub fn supported_grant_types() -> Vec<&'static str> {
    IMPLEMENTED
        .iter()
        .filter_map(|g| g.grant_type_param())
        .collect()
}

impl Grantd {
    /// `POST /oauth/token`.
    pub async fn token(
        &self,
        auth: &ClientAuth,
        params: &Params,
    ) -> Result<TokenResponse, OAuthError> {
        let request = read_request(params)?;
        let app = self.authenticate_client(auth).await?;
        check_grant_enabled(&app, request.grant)?;
        let scopes = check_scopes(&app, request.scope.as_ref())?;
        let ctx = GrantContext {
            app: &app,
            request: &request,
            params,
            scopes,
        };
        let grantee = match request.grant {
            Grant::ClientCredentials => grants::client_credentials::exchange(ctx)?,
            // read_request admits only IMPLEMENTED grants.
            other => {
                return Err(OAuthError::unsupported_grant_type(
                    other.grant_type_param().unwrap_or(other.as_str()),
                    &supported_grant_types(),
                ))
            }
        };
        self.issue(&app, &request, grantee, None).await
    }

    /// Checks who the client is: known client id, right secret for
    /// confidential apps, nothing but the id for public ones.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Arc<App>, OAuthError> {
        let challenge = auth.used_basic().then_some(Challenge::Basic);
        let Some(client_id) = auth.client_id() else {
            return Err(OAuthError::client_auth_missing());
        };
        let app = self
            .find_app(client_id)
            .await?
            .ok_or_else(|| OAuthError::client_unknown(client_id, challenge))?;
        let secret = match auth {
            ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. } => Some(secret),
            _ => None,
        };
        match (&app.secret_hash, secret) {
            (Some(hash), Some(s)) if !s.is_empty() => {
                if constant_time_eq(&sha256(s.expose().as_bytes()), hash) {
                    Ok(app)
                } else {
                    Err(OAuthError::client_secret_wrong(
                        &app.client_id,
                        &app.name,
                        challenge,
                    ))
                }
            }
            (Some(_), _) => Err(OAuthError::secret_required(
                &app.client_id,
                &app.name,
                app.platform_type,
            )),
            // Public app: an empty secret (Basic "id:") or none at all.
            (None, Some(s)) if !s.is_empty() => Err(OAuthError::client_secret_wrong(
                &app.client_id,
                &app.name,
                challenge,
            )),
            (None, _) => Ok(app),
        }
    }

    /// Issues the access token (and, later, refresh and ID tokens) for a grantee.
    async fn issue(
        &self,
        app: &App,
        request: &TokenRequest,
        grantee: Grantee,
        session_id: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let ttl = access_ttl(app, request.access_token_ttl);
        let scope = grantee.scopes.to_string();
        let jti = random_id(22);
        let access_token = match app.access_token_format {
            AccessTokenFormat::Jwt => self.keys.sign(
                ACCESS_TOKEN_TYP,
                &AccessClaims {
                    iss: self.config.issuer.clone(),
                    sub: grantee.subject.clone(),
                    aud: self.config.audience.clone(),
                    client_id: app.client_id.clone(),
                    scope: scope.clone(),
                    exp: now + ttl as i64,
                    iat: now,
                    jti,
                    account_id: grantee.account_id.clone(),
                    session_id: session_id.clone(),
                },
            ),
            AccessTokenFormat::Opaque => {
                let token = random_token();
                self.store
                    .insert_token(&TokenRecord {
                        hash: sha256(token.as_bytes()),
                        kind: TokenKind::Access,
                        id: jti,
                        client_id: app.client_id.clone(),
                        subject: grantee.subject.clone(),
                        account_id: grantee.account_id.clone(),
                        session_id: session_id.clone(),
                        scope: scope.clone(),
                        issued_at: now,
                        expires_at: now + ttl as i64,
                        revoked_at: None,
                        rotated_at: None,
                        replay: None,
                        pair_access_id: None,
                        pair_access_expires_at: None,
                    })
                    .await?;
                token
            }
        };
        let user_grant = grantee.refreshable;
        Ok(TokenResponse {
            access_token,
            token_type: "bearer",
            expires_in: ttl,
            refresh_token: None,
            refresh_token_expires_in: None,
            scope,
            owner_id: user_grant.then(|| grantee.subject.clone()),
            endpoint_id: request.endpoint_id.clone(),
            session_id,
            id_token: None,
        })
    }

    /// RFC 7662. A client may introspect only tokens issued to it; anything
    /// else (unknown, expired, revoked, another app's) is `{"active": false}`.
    pub async fn introspect(&self, caller: &App, token: &str) -> Result<Introspection, OAuthError> {
        let now = self.now();
        if looks_like_jwt(token) {
            let claims: AccessClaims = match self.keys.verify(token, ACCESS_TOKEN_TYP, now, 0) {
                Ok(c) => c,
                Err(_) => return Ok(Introspection::default()),
            };
            if claims.client_id != caller.client_id
                || self.store.is_jti_revoked(&claims.jti).await?
            {
                return Ok(Introspection::default());
            }
            return Ok(Introspection {
                active: true,
                scope: Some(claims.scope),
                client_id: Some(claims.client_id),
                token_type: Some("Bearer".into()),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
                jti: Some(claims.jti),
                account_id: claims.account_id,
                session_id: claims.session_id,
            });
        }
        let Some(record) = self.store.get_token(&sha256(token.as_bytes())).await? else {
            return Ok(Introspection::default());
        };
        if record.client_id != caller.client_id
            || record.revoked_at.is_some()
            || record.expires_at <= now
        {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: Some(record.scope),
            client_id: Some(record.client_id),
            token_type: Some(match record.kind {
                TokenKind::Access => "Bearer".into(),
                TokenKind::Refresh => "refresh_token".into(),
            }),
            exp: Some(record.expires_at),
            iat: Some(record.issued_at),
            sub: Some(record.subject),
            aud: Some(self.config.audience.clone()),
            iss: Some(self.config.issuer.clone()),
            jti: Some(record.id),
            account_id: record.account_id,
            session_id: record.session_id,
        })
    }

    /// RFC 7009. Unknown tokens and other apps' tokens are ignored (the answer
    /// is the same, so revocation cannot be used to probe for tokens).
    pub async fn revoke(&self, caller: &App, token: &str) -> Result<(), OAuthError> {
        let now = self.now();
        if looks_like_jwt(token) {
            match self
                .keys
                .verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, now, 0)
            {
                Ok(claims) if claims.client_id == caller.client_id => {
                    self.store.revoke_jti(&claims.jti, claims.exp, now).await?;
                    tracing::info!(client_id = %caller.client_id, jti = %claims.jti, "access token revoked");
                }
                Ok(_) | Err(VerifyError::Expired) => {}
                Err(_) => {}
            }
            return Ok(());
        }
        let hash = sha256(token.as_bytes());
        if let Some(record) = self.store.get_token(&hash).await? {
            if record.client_id == caller.client_id && self.store.revoke_token(&hash, now).await? {
                tracing::info!(client_id = %caller.client_id, jti = %record.id, kind = record.kind.as_str(), "token revoked");
            }
        }
        Ok(())
    }
}

fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Step 1: the grant_type is one this server implements.
fn read_request(params: &Params) -> Result<TokenRequest, OAuthError> {
    let request = TokenRequest::read(params)?;
    if !IMPLEMENTED.contains(&request.grant) {
        let value = params.get("grant_type").unwrap_or_default();
        return Err(OAuthError::unsupported_grant_type(
            value,
            &supported_grant_types(),
        ));
    }
    Ok(request)
}

/// Step 3: the app is enabled for the grant (the seed's first cause).
fn check_grant_enabled(app: &App, grant: Grant) -> Result<(), OAuthError> {
    if app.has_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::grant_not_enabled(
            &app.name,
            &app.client_id,
            app.platform_type,
            grant,
            &app.grants,
        ))
    }
}

/// Step 4: the scopes asked are the app's; none asked means all of them.
fn check_scopes(app: &App, asked: Option<&Scopes>) -> Result<Scopes, OAuthError> {
    match asked {
        None => Ok(app.scopes.clone()),
        Some(asked) => {
            let missing = asked.missing_from(&app.scopes);
            if missing.is_empty() {
                Ok(asked.clone())
            } else {
                Err(OAuthError::scope_not_permitted(
                    &app.name,
                    &missing,
                    app.scopes.as_slice(),
                ))
            }
        }
    }
}

/// The access token lifetime: the app's, or less if the client asks, never
/// under 600 s unless the app's own is (RingCentral clamps to 600–3600).
fn access_ttl(app: &App, asked: Option<u64>) -> u64 {
    match asked {
        Some(t) => t.clamp(app.access_token_ttl.min(600), app.access_token_ttl),
        None => app.access_token_ttl,
    }
}
