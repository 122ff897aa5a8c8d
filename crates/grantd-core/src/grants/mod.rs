//! The grants of the token endpoint, one file each, behind one trait.
//!
//! Each grant declares its `grant_type`, reads its own typed request (from
//! [`grantd_protocol::requests`]) and runs only the checks unique to it, with
//! the narrow [`GrantDeps`]; it answers whom to issue tokens for
//! ([`Issue`]). [`crate::tokens`] owns the shared steps around it (client
//! authentication, the legacy policy, the enabled-grant check, scopes, and
//! issuing), so no grant can skip one. [`REGISTRY`] is the one list of grants:
//! the token endpoint dispatches through it and discovery lists it.
//!
//! Adding a grant: a `GrantType` value (and, if apps enable it by a new
//! setting, a `Grant` with its platforms) in grantd-protocol, its request
//! type in `requests.rs`, a file here implementing [`TokenGrant`], and one
//! line in [`REGISTRY`].

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod jwt_bearer;
pub mod password;
pub mod refresh_token;
pub mod token_exchange;

use crate::clock::UnixTime;
use crate::model::{Actor, App, Session, TokenRecord, User};
use crate::own_token::{OwnToken, Refused};
use crate::store::Store;
use crate::users::Login;
use crate::Policy;
use async_trait::async_trait;
use grantd_protocol::requests::{GrantRequest, IssuedTokenType};
use grantd_protocol::{GrantType, OAuthError, Params, Scopes, Secret, TokenRequest, TokenResponse};

/// One grant of the token endpoint.
#[async_trait]
pub trait TokenGrant: Send + Sync + 'static {
    /// The `grant_type` value it answers.
    const GRANT_TYPE: GrantType;
    /// Its own parameters, read from the form before it runs.
    type Request: GrantRequest;

    /// The checks unique to this grant; the shared ones have passed.
    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: Self::Request,
    ) -> Result<Issue, OAuthError>;
}

/// The grants the token endpoint serves, in the order discovery lists them.
pub static REGISTRY: &[&dyn RegisteredGrant] = &[
    &authorization_code::AuthorizationCode,
    &jwt_bearer::JwtBearer,
    &client_credentials::ClientCredentials,
    &refresh_token::RefreshToken,
    &password::Password,
    &token_exchange::TokenExchange,
    &device_code::DeviceCode,
];

/// The registry's entry for a grant type.
pub fn registered(grant_type: GrantType) -> Option<&'static dyn RegisteredGrant> {
    REGISTRY
        .iter()
        .copied()
        .find(|g| g.grant_type() == grant_type)
}

/// A [`TokenGrant`] as the registry holds it (its request type erased).
#[async_trait]
pub trait RegisteredGrant: Send + Sync {
    fn grant_type(&self) -> GrantType;
    /// Reads the grant's request from the form, then runs it.
    async fn run(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        params: &Params,
    ) -> Result<Issue, OAuthError>;
}

#[async_trait]
impl<G: TokenGrant> RegisteredGrant for G {
    fn grant_type(&self) -> GrantType {
        G::GRANT_TYPE
    }

    async fn run(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        params: &Params,
    ) -> Result<Issue, OAuthError> {
        let request = G::Request::read(params)?;
        self.exchange(deps, ctx, request).await
    }
}

/// What a grant may use: the store, the time, the policy, grantd's own
/// audience, and the authentications grants share. Not the whole server.
pub struct GrantDeps<'a> {
    pub store: &'a dyn Store,
    pub now: UnixTime,
    pub policy: &'a Policy,
    /// `aud` of tokens for grantd's own API.
    pub audience: &'a str,
    pub auth: &'a dyn Authenticate,
}

/// The authentications of a user that grants share with the pages.
#[async_trait]
pub trait Authenticate: Send + Sync {
    /// A jwt-bearer assertion for `app`: the user and the credential's id.
    async fn verify_assertion(
        &self,
        app: &App,
        assertion: &Secret,
    ) -> Result<(User, String), OAuthError>;
    /// A password sign-in, with the lockout.
    async fn authenticate_user(&self, login: &Login, password: Secret) -> Result<User, OAuthError>;
    /// One of grantd's own tokens (see [`crate::own_token`]): the token, or
    /// why it is refused; the outer error is the store failing.
    async fn verify_own_token(
        &self,
        token: &Secret,
    ) -> Result<Result<OwnToken, Refused>, OAuthError>;
}

/// The request as the shared steps left it.
pub struct GrantContext<'a> {
    pub app: &'a App,
    pub request: &'a TokenRequest,
    /// The scopes granted: those asked (checked against the app), or all of the app's.
    pub scopes: Scopes,
}

/// What a grant decided. Made once per request and moved once, so the
/// larger variant is not boxed.
#[allow(clippy::large_enum_variant)]
pub enum Issue {
    /// Issue tokens for this grantee.
    Tokens(Grantee),
    /// Issue the one access token a token exchange decided (RFC 8693).
    Exchanged(Box<Exchanged>),
    /// Answer again what an earlier, identical exchange answered (a refresh
    /// retried inside the grace window).
    Replay(Box<TokenResponse>),
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
    /// Which session the tokens belong to.
    pub session: SessionPlan,
    /// The resources (RFC 8707) the grant allows tokens for: the
    /// authorization's, or the session's on a refresh; empty: any of the app's.
    pub resources: Vec<String>,
}

/// The session a grant's tokens belong to.
pub enum SessionPlan {
    /// None: the app acts for itself.
    None,
    /// A new session (a user signed in).
    Open {
        /// The JWT credential the user signed in with (its revocation ends the session).
        credential_id: Option<String>,
        /// The authorization code being exchanged (its hash): the session is
        /// recorded on it, and a replay ends that session.
        code: Option<[u8; 32]>,
    },
    /// The session goes on with a new pair (a refresh).
    Continue(Box<Continuation>),
    /// A new session for the user who approved a device code (its hash):
    /// the code is marked used in the same unit of work, so of concurrent
    /// polls exactly one gets tokens.
    Device { device_code: [u8; 32] },
}

/// A refresh: the session, the refresh token presented and its record.
pub struct Continuation {
    pub session: Session,
    pub old: TokenRecord,
    /// Seals the answer for a retry inside the grace window.
    pub presented: Secret,
}

impl Grantee {
    /// A user signed in just now (JWT bearer, password): a new session.
    pub fn user(user: User, scopes: Scopes, now: UnixTime) -> Self {
        Self {
            subject: user.id.clone(),
            account_id: Some(user.account_id.clone()),
            scopes,
            user: Some(user),
            oidc: Some(Oidc {
                nonce: None,
                auth_time: now,
                sid: None,
            }),
            session: SessionPlan::Open {
                credential_id: None,
                code: None,
            },
            resources: Vec::new(),
        }
    }
}

/// What a token exchange decided: one access token, never a refresh token
/// or an ID token.
pub struct Exchanged {
    /// `sub`: the subject token's.
    pub subject: String,
    pub account_id: Option<String>,
    pub scopes: Scopes,
    /// Who acts for the subject; `None`: impersonation.
    pub act: Option<Actor>,
    /// The resource server the token is for; `None`: grantd's own API.
    pub audience: Option<String>,
    pub token_type: IssuedTokenType,
    /// The token lives no longer than the tokens it came from.
    pub not_after: Option<UnixTime>,
    pub session: ExchangeSession,
}

/// The session an exchanged token belongs to.
pub enum ExchangeSession {
    /// None: the subject is an app's own token.
    None,
    /// The subject token's session: the new token ends with it.
    Join(String),
    /// A user proved by an ID token or a JWT credential signs in to the
    /// exchanging app: a new session, as with the JWT grant.
    Open {
        user: User,
        credential_id: Option<String>,
    },
}

pub struct Oidc {
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    /// The browser sign-in the code was issued under (the ID token's `sid`).
    pub sid: Option<String>,
}

/// Ends a session (and every token of it) on behalf of a grant.
pub(crate) async fn end_session(
    deps: &GrantDeps<'_>,
    session_id: &str,
    reason: &str,
) -> Result<bool, OAuthError> {
    let ended = deps.store.end_session(session_id, reason, deps.now).await?;
    if ended {
        tracing::info!(session_id, reason, "session ended");
    }
    Ok(ended)
}
