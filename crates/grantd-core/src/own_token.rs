//! grantd's own tokens, recognized and verified in one place. The resource
//! API ([`crate::resource`]), introspection and token exchange all ask
//! [`Grantd::verify_own_token`] and differ only in which kinds they accept
//! and how they word a refusal.

use crate::clock::UnixTime;
use crate::credentials::{CredentialClaims, CREDENTIAL_TYP};
use crate::crypto::sha256;
use crate::keys::VerifyError;
use crate::model::{Actor, JwtCredential, TokenKind, User, UserStatus};
use crate::oidc::ID_TOKEN_TYP;
use crate::tokens::{looks_like_jwt, AccessClaims, ACCESS_TOKEN_TYP};
use crate::Grantd;
use grantd_protocol::OAuthError;
use serde::Deserialize;

/// What kind of token grantd issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnKind {
    /// An RFC 9068 access token (`typ: at+jwt`).
    JwtAccess,
    /// An opaque access token (stored by its hash).
    OpaqueAccess,
    /// A refresh token (opaque, stored by its hash).
    Refresh,
    /// An OpenID Connect ID token.
    IdToken,
    /// A user's JWT credential (exchanged with the JWT grant).
    Credential,
}

impl OwnKind {
    pub fn is_access(self) -> bool {
        matches!(self, OwnKind::JwtAccess | OwnKind::OpaqueAccess)
    }

    pub fn is_jwt(self) -> bool {
        matches!(
            self,
            OwnKind::JwtAccess | OwnKind::IdToken | OwnKind::Credential
        )
    }

    /// The kind in words, for messages ("an ID token").
    pub fn described(self) -> &'static str {
        match self {
            OwnKind::JwtAccess => "a JWT access token",
            OwnKind::OpaqueAccess => "an opaque access token",
            OwnKind::Refresh => "a refresh token",
            OwnKind::IdToken => "an ID token",
            OwnKind::Credential => "a JWT credential",
        }
    }
}

/// One of grantd's tokens, verified: signed or stored by grantd, not
/// expired, not revoked, its session going on, its user enabled, its app
/// still registered.
#[derive(Debug, Clone)]
pub struct OwnToken {
    pub kind: OwnKind,
    /// The `jti`: a token's id, or the credential's; empty for an ID token.
    pub id: String,
    /// `sub`: a user id, or a client id for an app's own token.
    pub subject: String,
    /// The app it was issued to (an ID token's `aud`); none for a credential.
    pub client_id: Option<String>,
    /// Access and refresh tokens' scope; ID tokens and credentials carry none.
    pub scope: Option<String>,
    /// `aud`: grantd's audience, or the resource server a token exchange
    /// named; an ID token's app; a credential's token endpoint.
    pub audience: String,
    pub issued_at: UnixTime,
    /// `None`: a credential without expiry.
    pub expires_at: Option<UnixTime>,
    pub account_id: Option<String>,
    pub session_id: Option<String>,
    /// Who acts for the subject (a token exchange's delegation).
    pub act: Option<Actor>,
    /// The user it stands for: a session's, an ID token's, a credential's.
    pub user: Option<User>,
    pub credential: Option<JwtCredential>,
}

/// Why a token is not (or no longer) one grantd honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token grantd issued: not a JWT of one of its kinds, claims it
    /// never writes, or an opaque value it does not store.
    NotOurs,
    /// Looks like grantd's, but the key, signature, issuer or `nbf` do not verify.
    Corrupted,
    Expired {
        at: UnixTime,
    },
    /// Revoked, replaced by a refresh, or (a refresh token) already exchanged.
    Revoked,
    SessionEnded {
        session_id: String,
        reason: String,
    },
    /// Its user is disabled or gone.
    UserDisabled,
    CredentialRevoked {
        credential_id: String,
        at: Option<UnixTime>,
    },
    AppDeleted {
        client_id: String,
    },
}

impl Refusal {
    /// The token verified as one of grantd's (signature, expiry) and was
    /// refused for what happened since.
    pub fn after_verification(&self) -> bool {
        !matches!(
            self,
            Refusal::NotOurs | Refusal::Corrupted | Refusal::Expired { .. }
        )
    }
}

/// A refusal, with the kind of token it was when that could be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub kind: Option<OwnKind>,
    pub reason: Refusal,
}

impl Refused {
    fn new(kind: Option<OwnKind>, reason: Refusal) -> Self {
        Self { kind, reason }
    }
}

/// An ID token's claims as grantd writes them ([`crate::oidc`]).
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    #[serde(default)]
    account_id: Option<String>,
}

impl Grantd {
    /// Recognizes and verifies a token grantd issued. The outer error is
    /// the store failing; the inner one is the token's refusal.
    pub async fn verify_own_token(
        &self,
        token: &str,
    ) -> Result<Result<OwnToken, Refused>, OAuthError> {
        let now = self.now();
        let found = if looks_like_jwt(token) {
            self.verify_own_jwt(token, now)
        } else {
            self.find_opaque(token, now).await?
        };
        let mut own = match found {
            Ok(t) => t,
            Err(refused) => return Ok(Err(refused)),
        };
        Ok(match self.check_standing(&mut own).await? {
            Ok(()) => Ok(own),
            Err(reason) => Err(Refused::new(Some(own.kind), reason)),
        })
    }

    /// A JWT: its kind from the `typ` header, then its signature, issuer and expiry.
    fn verify_own_jwt(&self, token: &str, now: UnixTime) -> Result<OwnToken, Refused> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Refused::new(None, Refusal::NotOurs))?;
        let typ = header.typ.unwrap_or_default();
        if typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) {
            let kind = OwnKind::JwtAccess;
            let c: AccessClaims = self
                .keys
                .verify(token, ACCESS_TOKEN_TYP, now, 0)
                .map_err(|e| jwt_refused(kind, e, token))?;
            return Ok(OwnToken {
                kind,
                id: c.jti,
                subject: c.sub,
                client_id: Some(c.client_id),
                scope: Some(c.scope),
                audience: c.aud,
                issued_at: c.iat,
                expires_at: Some(c.exp),
                account_id: c.account_id,
                session_id: c.session_id,
                act: c.act,
                user: None,
                credential: None,
            });
        }
        // ID tokens and credentials share `typ: JWT` (ID_TOKEN_TYP and
        // CREDENTIAL_TYP). An ID token carries sign-in claims (`auth_time`,
        // `at_hash`); a credential never does.
        if !typ.eq_ignore_ascii_case(ID_TOKEN_TYP) {
            return Err(Refused::new(None, Refusal::NotOurs));
        }
        let payload = unverified_claims(token);
        if payload.get("auth_time").is_some() || payload.get("at_hash").is_some() {
            let kind = OwnKind::IdToken;
            let c: IdClaims = self
                .keys
                .verify(token, ID_TOKEN_TYP, now, 0)
                .map_err(|e| jwt_refused(kind, e, token))?;
            return Ok(OwnToken {
                kind,
                id: String::new(),
                subject: c.sub,
                client_id: Some(c.aud.clone()),
                scope: None,
                audience: c.aud,
                issued_at: c.iat,
                expires_at: Some(c.exp),
                account_id: c.account_id,
                session_id: None,
                act: None,
                user: None,
                credential: None,
            });
        }
        let kind = OwnKind::Credential;
        let c: CredentialClaims = self
            .keys
            .verify(token, CREDENTIAL_TYP, now, 0)
            .map_err(|e| jwt_refused(kind, e, token))?;
        Ok(OwnToken {
            kind,
            id: c.jti,
            subject: c.sub,
            client_id: None,
            scope: None,
            audience: c.aud.as_str().unwrap_or_default().to_string(),
            issued_at: c.iat,
            expires_at: c.exp,
            account_id: None,
            session_id: None,
            act: None,
            user: None,
            credential: None,
        })
    }

    /// An opaque token: found by its hash, not expired, not revoked.
    async fn find_opaque(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Result<OwnToken, Refused>, OAuthError> {
        let Some(r) = self.store.get_token(&sha256(token.as_bytes())).await? else {
            return Ok(Err(Refused::new(None, Refusal::NotOurs)));
        };
        let kind = match r.kind {
            TokenKind::Access => OwnKind::OpaqueAccess,
            TokenKind::Refresh => OwnKind::Refresh,
        };
        if r.expires_at <= now {
            return Ok(Err(Refused::new(
                Some(kind),
                Refusal::Expired { at: r.expires_at },
            )));
        }
        if r.revoked_at.is_some() || r.rotated_at.is_some() {
            return Ok(Err(Refused::new(Some(kind), Refusal::Revoked)));
        }
        let exchange = r.exchange.unwrap_or_default();
        Ok(Ok(OwnToken {
            kind,
            id: r.id,
            subject: r.subject,
            client_id: Some(r.client_id),
            scope: Some(r.scope),
            audience: exchange
                .audience
                .unwrap_or_else(|| self.config.audience.clone()),
            issued_at: r.issued_at,
            expires_at: Some(r.expires_at),
            account_id: r.account_id,
            session_id: r.session_id,
            act: exchange.act,
            user: None,
            credential: None,
        }))
    }

    /// What may have happened since the token was issued: revocation, the
    /// end of its session, its user disabled, its credential revoked, its
    /// app deleted. Loads the user it stands for.
    async fn check_standing(&self, own: &mut OwnToken) -> Result<Result<(), Refusal>, OAuthError> {
        match own.kind {
            OwnKind::JwtAccess | OwnKind::OpaqueAccess | OwnKind::Refresh => {
                if self.store.is_jti_revoked(&own.id).await? {
                    return Ok(Err(Refusal::Revoked));
                }
                if let Some(sid) = &own.session_id {
                    match self.store.get_session(sid).await? {
                        Some(s) if s.ended_at.is_none() => {}
                        ended => {
                            return Ok(Err(Refusal::SessionEnded {
                                session_id: sid.clone(),
                                reason: ended
                                    .and_then(|s| s.end_reason)
                                    .unwrap_or_else(|| "ended".into()),
                            }))
                        }
                    }
                    match self.enabled_user(&own.subject).await? {
                        Some(u) => own.user = Some(u),
                        None => return Ok(Err(Refusal::UserDisabled)),
                    }
                }
            }
            OwnKind::IdToken => match self.enabled_user(&own.subject).await? {
                Some(u) => own.user = Some(u),
                None => return Ok(Err(Refusal::UserDisabled)),
            },
            OwnKind::Credential => {
                let credential = match self.store.get_jwt_credential(&own.id).await? {
                    Some(c) if c.revoked_at.is_none() => c,
                    other => {
                        return Ok(Err(Refusal::CredentialRevoked {
                            credential_id: own.id.clone(),
                            at: other.and_then(|c| c.revoked_at),
                        }))
                    }
                };
                match self.enabled_user(&own.subject).await? {
                    Some(u) => own.user = Some(u),
                    None => return Ok(Err(Refusal::UserDisabled)),
                }
                own.account_id = Some(credential.account_id.clone());
                own.credential = Some(credential);
            }
        }
        // A deleted app's tokens end with it (its opaque ones are deleted).
        if let Some(client_id) = &own.client_id {
            if self.find_app(client_id).await?.is_none() {
                return Ok(Err(Refusal::AppDeleted {
                    client_id: client_id.clone(),
                }));
            }
        }
        Ok(Ok(()))
    }

    async fn enabled_user(&self, id: &str) -> Result<Option<User>, OAuthError> {
        Ok(self
            .store
            .get_user(id)
            .await?
            .filter(|u| u.status == UserStatus::Enabled))
    }
}

/// A JWT that did not verify as its kind.
fn jwt_refused(kind: OwnKind, e: VerifyError, token: &str) -> Refused {
    let reason = match e {
        VerifyError::Expired => Refusal::Expired {
            at: unverified_claims(token)["exp"].as_i64().unwrap_or(0),
        },
        VerifyError::NotAJwt | VerifyError::WrongType | VerifyError::Invalid(_) => Refusal::NotOurs,
        VerifyError::UnknownKey
        | VerifyError::BadSignature
        | VerifyError::WrongIssuer
        | VerifyError::NotYetValid => Refusal::Corrupted,
    };
    Refused::new(Some(kind), reason)
}

/// The claims of a JWT, unverified: only to tell its kind, or to say when
/// it expired once its signature has verified.
fn unverified_claims(token: &str) -> serde_json::Value {
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(token)
        .map(|d| d.claims)
        .unwrap_or_default()
}
