//! One module per grant. Each does only what is unique to it and returns a
//! [`Grantee`]; [`crate::tokens`] owns the shared steps (client authentication,
//! the enabled-grant check, scopes, issuing), so no grant can skip one.

pub mod authorization_code;
pub mod client_credentials;
pub mod jwt_bearer;
pub mod password;

use crate::model::{App, User};
use grantd_protocol::{Grant, Params, Scopes, TokenRequest};

/// The grants this server implements at its token endpoint.
pub const IMPLEMENTED: &[Grant] = &[
    Grant::AuthorizationCode,
    Grant::JwtBearer,
    Grant::ClientCredentials,
    Grant::RefreshToken,
    Grant::Password,
];

/// What a grant hands to the pipeline.
pub struct GrantContext<'a> {
    pub app: &'a App,
    pub request: &'a TokenRequest,
    pub params: &'a Params,
    /// The scopes granted: those asked (checked against the app), or all of the app's.
    pub scopes: Scopes,
}

/// Whom the tokens are for, as a grant decided it.
pub struct Grantee {
    /// `sub`: a user id, or the client id for client_credentials.
    pub subject: String,
    pub account_id: Option<String>,
    pub scopes: Scopes,
    /// The user a user grant signed in; a session (and refresh token) follows.
    pub user: Option<User>,
    /// For an ID token when `openid` is granted: the nonce and when the user authenticated.
    pub oidc: Option<Oidc>,
    /// The JWT credential the user signed in with (its revocation ends the session).
    pub credential_id: Option<String>,
    /// The authorization code being exchanged (its hash): the session is
    /// recorded on it, and a replay ends that session.
    pub code: Option<[u8; 32]>,
}

impl Grantee {
    /// A user signed in just now (JWT bearer, password): the tokens are theirs.
    pub fn user(user: User, scopes: Scopes, now: crate::clock::UnixTime) -> Self {
        Self {
            subject: user.id.clone(),
            account_id: Some(user.account_id.clone()),
            scopes,
            user: Some(user),
            oidc: Some(Oidc {
                nonce: None,
                auth_time: now,
            }),
            credential_id: None,
            code: None,
        }
    }
}

pub struct Oidc {
    pub nonce: Option<String>,
    pub auth_time: crate::clock::UnixTime,
}
