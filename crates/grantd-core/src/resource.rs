//! Bearer tokens presented to grantd's own APIs (the RingCentral extension
//! endpoint, userinfo): checked, with each failure named.

use crate::credentials::CREDENTIAL_TYP;
use crate::crypto::{rfc3339, sha256};
use crate::keys::VerifyError;
use crate::model::{TokenKind, User, UserStatus};
use crate::tokens::{looks_like_jwt, AccessClaims, ACCESS_TOKEN_TYP};
use crate::Grantd;
use grantd_protocol::OAuthError;

/// A valid access token and its user.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub client_id: String,
    pub scope: String,
    pub session_id: Option<String>,
    pub user: User,
}

impl Grantd {
    /// Checks an access token sent as `Authorization: Bearer`, for an API
    /// that answers about the token's user.
    pub async fn authenticate_bearer(&self, token: Option<&str>) -> Result<Bearer, OAuthError> {
        let token = token.ok_or_else(OAuthError::bearer_missing)?;
        let now = self.now();
        let (subject, client_id, scope, session_id) = if looks_like_jwt(token) {
            let header = jsonwebtoken::decode_header(token)
                .map_err(|_| OAuthError::access_token_unparsable())?;
            let typ = header.typ.unwrap_or_default();
            if typ.eq_ignore_ascii_case(CREDENTIAL_TYP)
                && self
                    .keys
                    .verify::<serde_json::Value>(token, CREDENTIAL_TYP, now, 0)
                    .is_ok()
            {
                return Err(OAuthError::credential_as_bearer(&self.token_endpoint()));
            }
            let claims: AccessClaims =
                self.keys
                    .verify(token, ACCESS_TOKEN_TYP, now, 0)
                    .map_err(|e| match e {
                        VerifyError::Expired => {
                            let exp =
                                jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(
                                    token,
                                )
                                .ok()
                                .and_then(|d| d.claims["exp"].as_i64())
                                .unwrap_or(0);
                            OAuthError::access_token_expired(&rfc3339(exp))
                        }
                        VerifyError::NotAJwt | VerifyError::WrongType | VerifyError::Invalid(_) => {
                            OAuthError::access_token_unparsable()
                        }
                        _ => OAuthError::access_token_corrupted(),
                    })?;
            if self.store.is_jti_revoked(&claims.jti).await? {
                return Err(OAuthError::access_token_revoked(
                    "it was revoked or replaced by a refresh",
                ));
            }
            (
                claims.sub,
                claims.client_id,
                claims.scope,
                claims.session_id,
            )
        } else {
            let record = match self.store.get_token(&sha256(token.as_bytes())).await? {
                Some(r) if r.kind == TokenKind::Access => r,
                _ => return Err(OAuthError::access_token_unparsable()),
            };
            if record.expires_at <= now {
                return Err(OAuthError::access_token_expired(&rfc3339(
                    record.expires_at,
                )));
            }
            if record.revoked_at.is_some() || self.store.is_jti_revoked(&record.id).await? {
                return Err(OAuthError::access_token_revoked(
                    "it was revoked or replaced by a refresh",
                ));
            }
            (
                record.subject,
                record.client_id,
                record.scope,
                record.session_id,
            )
        };
        let Some(sid) = session_id.clone() else {
            return Err(OAuthError::no_user_in_token());
        };
        if !self.session_in_use(Some(&sid)).await? {
            return Err(OAuthError::access_token_revoked("its session has ended"));
        }
        let user = match self.store.get_user(&subject).await? {
            Some(u) if u.status == UserStatus::Enabled => u,
            _ => return Err(OAuthError::access_token_revoked("its user is disabled")),
        };

        Ok(Bearer {
            client_id,
            scope,
            session_id,
            user,
        })
    }
}
