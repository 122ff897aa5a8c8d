//! JWT credentials: issued to a user, exchanged by an app with the
//! jwt-bearer grant (RFC 7523), revocable. Every way an assertion can be
//! wrong has its own catalog code.

use crate::crypto::{random_id, rfc3339};
use crate::keys::VerifyError;
use crate::model::{App, JwtCredential, User, UserStatus};
use crate::store::SessionsOf;
use crate::Grantd;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_protocol::{OAuthError, Secret};
use serde::{Deserialize, Serialize};

/// `typ` of a JWT credential.
pub const CREDENTIAL_TYP: &str = "JWT";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialClaims {
    pub iss: String,
    pub sub: String,
    pub aud: serde_json::Value,
    pub jti: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<i64>,
}

/// What the admin API and CLI ask for.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    pub label: Option<String>,
    /// Client ids; absent = every app of the user's account.
    pub apps: Option<Vec<String>>,
    /// Seconds from now; absent = no expiry.
    pub expires_in: Option<u64>,
}

/// A new credential and its JWT (shown this once).
#[derive(Debug, Serialize)]
pub struct IssuedCredential {
    #[serde(flatten)]
    pub credential: JwtCredential,
    pub jwt: String,
}

impl Grantd {
    /// The token endpoint URL that credentials name as `aud`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.config.issuer)
    }

    pub(crate) fn accepted_audiences(&self) -> [String; 2] {
        [
            self.token_endpoint(),
            format!("{}/restapi/oauth/token", self.config.issuer),
        ]
    }

    pub async fn create_credential(
        &self,
        user_id: &str,
        spec: CredentialSpec,
    ) -> Result<IssuedCredential, OAuthError> {
        self.create_credential_by(&crate::audit::Actor::ADMIN_TOKEN, user_id, spec)
            .await
    }

    /// Creates a credential, recording `actor` in the audit log.
    pub async fn create_credential_by(
        &self,
        actor: &crate::audit::Actor<'_>,
        user_id: &str,
        spec: CredentialSpec,
    ) -> Result<IssuedCredential, OAuthError> {
        let user = self.get_user(user_id).await?;
        let now = self.now();
        if let Some(apps) = &spec.apps {
            if apps.is_empty() {
                return Err(OAuthError::invalid_parameter(
                    "apps",
                    "give at least one client id, or omit apps to allow every app of the account",
                ));
            }
            for id in apps {
                if self.store.get_app(id).await?.is_none() {
                    return Err(OAuthError::app_not_found(id));
                }
            }
        }
        let expires_at = match spec.expires_in {
            Some(0) => {
                return Err(OAuthError::invalid_parameter(
                    "expires_in",
                    "give a positive number of seconds, or omit it for no expiry",
                ))
            }
            Some(s) => Some(
                now + i64::try_from(s)
                    .unwrap_or(i64::MAX / 2)
                    .min(100 * 365 * 86_400),
            ),
            None => None,
        };
        let credential = JwtCredential {
            id: random_id(22),
            user_id: user.id.clone(),
            account_id: user.account_id.clone(),
            label: spec
                .label
                .unwrap_or_else(|| "JWT credential".into())
                .chars()
                .take(100)
                .collect(),
            allowed_apps: spec.apps,
            expires_at,
            created_at: now,
            revoked_at: None,
        };
        self.store.insert_jwt_credential(&credential).await?;
        let jwt = self.keys.sign(
            CREDENTIAL_TYP,
            &CredentialClaims {
                iss: self.config.issuer.clone(),
                sub: user.id,
                aud: serde_json::Value::String(self.token_endpoint()),
                jti: credential.id.clone(),
                iat: now,
                exp: expires_at,
            },
        );
        tracing::info!(credential_id = %credential.id, user_id = %credential.user_id, "JWT credential created");
        self.audit(
            crate::audit::kind::CREDENTIAL_CREATED,
            actor.id,
            &credential.id,
            actor.source,
            serde_json::json!({"user_id": credential.user_id}),
        )
        .await;
        Ok(IssuedCredential { credential, jwt })
    }

    pub async fn revoke_credential(&self, id: &str) -> Result<(), OAuthError> {
        self.revoke_credential_by(&crate::audit::Actor::ADMIN_TOKEN, id)
            .await
    }

    /// Revokes a credential, recording `actor` in the audit log.
    pub async fn revoke_credential_by(
        &self,
        actor: &crate::audit::Actor<'_>,
        id: &str,
    ) -> Result<(), OAuthError> {
        if self.store.get_jwt_credential(id).await?.is_none() {
            return Err(OAuthError::jwt_credential_not_found(id));
        }
        let now = self.now();
        if self.store.revoke_jwt_credential(id, now).await? {
            tracing::info!(credential_id = id, "JWT credential revoked");
            self.audit(
                crate::audit::kind::CREDENTIAL_REVOKED,
                actor.id,
                id,
                actor.source,
                serde_json::json!({}),
            )
            .await;
        }
        // The sessions it opened end with it (also on a repeated revocation,
        // so one that raced the first is ended too).
        let ended = self
            .store
            .end_sessions(SessionsOf::Credential(id), "credential revoked", now)
            .await?;
        if ended > 0 {
            tracing::info!(
                credential_id = id,
                sessions = ended,
                "sessions of a revoked credential ended"
            );
        }
        Ok(())
    }

    /// Checks a jwt-bearer assertion for `app`; returns the user it stands
    /// for and the credential's id.
    pub async fn verify_assertion(
        &self,
        app: &App,
        assertion: &Secret,
    ) -> Result<(User, String), OAuthError> {
        let assertion = assertion.expose();
        let now = self.now();
        if assertion
            .as_bytes()
            .get(..7)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"bearer "))
        {
            return Err(OAuthError::assertion_not_jwt(
                "it starts with 'Bearer '; send the credential alone",
            ));
        }
        let parts: Vec<&str> = assertion.split('.').collect();
        if parts.len() != 3 {
            return Err(OAuthError::assertion_not_jwt(&format!(
                "it has {} dot-separated part{} where a JWT has three",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" }
            )));
        }
        // The algorithm first, from the raw header: the JWT library cannot
        // even read a header with alg none, and "not JSON" would be false.
        let raw_header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(parts[0].trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                OAuthError::assertion_not_jwt("its header is not base64url-encoded JSON")
            })?;
        let alg = raw_header["alg"].as_str().unwrap_or("");
        if !matches!(alg, "ES256" | "EdDSA" | "RS256") {
            return Err(OAuthError::assertion_algorithm(alg));
        }
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
            OAuthError::assertion_not_jwt("its header is not a JWT header grantd can read")
        })?;
        let payload: serde_json::Value = URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                OAuthError::assertion_not_jwt("its payload is not base64url-encoded JSON")
            })?;
        // Diagnose from the unverified payload first, to name the likely cause;
        // nothing is trusted until the signature verifies below.
        let iss = payload["iss"].as_str().unwrap_or("");
        if iss != self.config.issuer {
            return Err(OAuthError::assertion_foreign_issuer(
                if iss.is_empty() { "(no iss)" } else { iss },
                &self.config.issuer,
            ));
        }
        let typ = header.typ.clone().unwrap_or_default();
        if typ.eq_ignore_ascii_case(crate::tokens::ACCESS_TOKEN_TYP) {
            return Err(OAuthError::assertion_wrong_kind(&typ));
        }
        // An ID token names an app as audience and carries sign-in claims.
        if payload["aud"].as_str() == Some(app.client_id.as_str())
            || payload.get("at_hash").is_some()
            || payload.get("auth_time").is_some()
        {
            return Err(OAuthError::assertion_wrong_kind("id_token"));
        }
        let claims: CredentialClaims =
            match self
                .keys
                .verify(assertion, CREDENTIAL_TYP, now, self.config.jwt_leeway)
            {
                Ok(c) => c,
                Err(VerifyError::UnknownKey) => {
                    return Err(OAuthError::assertion_unknown_key(
                        header.kid.as_deref().unwrap_or("(none)"),
                    ))
                }
                Err(VerifyError::BadSignature) => return Err(OAuthError::assertion_bad_signature()),
                Err(VerifyError::Expired) => {
                    return Err(OAuthError::assertion_expired(
                        payload["jti"].as_str().unwrap_or("?"),
                        &rfc3339(payload["exp"].as_i64().unwrap_or(0)),
                    ))
                }
                Err(VerifyError::NotYetValid) => {
                    return Err(OAuthError::assertion_not_yet_valid(&rfc3339(
                        payload["nbf"].as_i64().unwrap_or(0),
                    )))
                }
                Err(VerifyError::WrongType) => return Err(OAuthError::assertion_wrong_kind(&typ)),
                Err(VerifyError::WrongIssuer) => {
                    return Err(OAuthError::assertion_foreign_issuer(
                        iss,
                        &self.config.issuer,
                    ))
                }
                Err(VerifyError::NotAJwt | VerifyError::Invalid(_)) => {
                    return Err(OAuthError::assertion_not_jwt(
                        "its claims are not those of a JWT credential",
                    ))
                }
            };
        // Issued in the future: clocks disagree, or it was made by hand.
        if claims.iat > now.saturating_add(self.config.jwt_leeway) {
            return Err(OAuthError::assertion_not_yet_valid(&rfc3339(claims.iat)));
        }
        let audiences = self.accepted_audiences();
        let aud_ok = match &claims.aud {
            serde_json::Value::String(a) => audiences.contains(a),
            serde_json::Value::Array(v) => v
                .iter()
                .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
            _ => false,
        };
        crate::trace::step(
            "check_assertion_audience",
            aud_ok,
            (!aud_ok).then_some(grantd_protocol::Code::AssertionWrongAudience.entry().code),
            &[
                ("assertion's aud", &claims.aud.to_string()),
                ("accepted (the token endpoint)", &audiences.join(" or ")),
            ],
        );
        if !aud_ok {
            // An ID token names its app as audience.
            if claims.aud.as_str() == Some(app.client_id.as_str()) {
                return Err(OAuthError::assertion_wrong_kind("id_token"));
            }
            let aud = match &claims.aud {
                serde_json::Value::String(a) => a.clone(),
                serde_json::Value::Array(v) => v
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            return Err(OAuthError::assertion_wrong_audience(
                &aud,
                &self.token_endpoint(),
            ));
        }
        let Some(credential) = self.store.get_jwt_credential(&claims.jti).await? else {
            return Err(OAuthError::assertion_revoked(&claims.jti, None));
        };
        if let Some(at) = credential.revoked_at {
            return Err(OAuthError::assertion_revoked(
                &credential.id,
                Some(&rfc3339(at)),
            ));
        }
        let Some(user) = self.store.get_user(&claims.sub).await? else {
            return Err(OAuthError::assertion_revoked(&credential.id, None));
        };
        if user.status != UserStatus::Enabled {
            return Err(OAuthError::user_disabled());
        }
        if !credential.allows(app, &user.account_id) {
            return Err(OAuthError::assertion_app_not_allowed(
                &credential.id,
                &app.name,
                &app.client_id,
                &credential.allowed_list(&user.account_id),
            ));
        }
        Ok((user, credential.id))
    }
}
