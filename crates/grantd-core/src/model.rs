//! The records grantd keeps: accounts, apps, signing keys, tokens.

use crate::clock::UnixTime;
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};
use serde::{Deserialize, Serialize};

pub use jsonwebtoken::jwk::JwkSet;

/// An organization; its users sign in to apps and it owns apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub created_at: UnixTime,
}

/// Who may sign in to an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Only users of the owning account.
    Private,
    /// Users of any account.
    Public,
}

impl Distribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Private => "private",
            Distribution::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "private" => Some(Distribution::Private),
            "public" => Some(Distribution::Public),
            _ => None,
        }
    }
}

/// How an app's access tokens look (RFC 9068 JWT, or an opaque handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    Jwt,
    Opaque,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTokenFormat::Jwt => "jwt",
            AccessTokenFormat::Opaque => "opaque",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jwt" => Some(AccessTokenFormat::Jwt),
            "opaque" => Some(AccessTokenFormat::Opaque),
            _ => None,
        }
    }
}

/// An OAuth client. Built only by [`crate::apps`], which enforces the
/// platform-type table and the redirect-URI rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub account_id: String,
    pub name: String,
    pub platform_type: PlatformType,
    /// Sorted, unique, each allowed by `platform_type`.
    pub grants: Vec<Grant>,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: Scopes,
    pub distribution: Distribution,
    pub issue_refresh_tokens: bool,
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub access_token_format: AccessTokenFormat,
    /// Accept PKCE `plain` (RFC 7636 §4.2) from this app; S256 otherwise.
    #[serde(default)]
    pub allow_plain_pkce: bool,
    /// The app stands for one of the operator's APIs: it may introspect
    /// tokens issued to any app (RFC 7662 §2.1's protected resource).
    #[serde(default)]
    pub resource_server: bool,
    /// The app's own request quotas per rate-limit group, replacing the
    /// server-wide ones for the groups named.
    #[serde(default)]
    pub rate_limits: crate::rate_limits::AppRateLimits,
    /// Whose tokens the app may exchange, and for which resource servers
    /// (RFC 8693); `None`: only its own tokens, for grantd's own API.
    #[serde(default)]
    pub token_exchange: Option<ExchangePolicy>,
    /// Origins (`scheme://host[:port]`) whose pages may call grantd's token
    /// endpoints and APIs from a browser (CORS), besides a browser app's
    /// redirect URI origins ([`App::cors_origins`]).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The public keys the app signs its client assertions with
    /// (`private_key_jwt`, RFC 7523 §2.2); `None`: it does not use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<JwkSet>,
    /// Where the app publishes those keys instead (RFC 7591 `jwks_uri`):
    /// grantd fetches and caches them ([`crate::key_sets`]). At most one
    /// of `jwks` and `jwks_uri` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// PAR, DPoP and the FAPI 2.0 profile (`require_par`, `require_dpop`, `profile`).
    #[serde(default, flatten)]
    pub security: AppSecurity,
    /// Logout and resource links (`post_logout_redirect_uris`,
    /// `backchannel_logout_uri`, `backchannel_logout_session_required`,
    /// `resource_uris`).
    #[serde(default, flatten)]
    pub links: AppLinks,
    /// SHA-256 of the client secret; `None` for public apps.
    #[serde(skip)]
    pub secret_hash: Option<[u8; 32]>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// Moves on by one with every stored change; updates compare it (no lost update).
    #[serde(skip)]
    pub revision: i64,
}

/// What an app must use beyond the defaults: pushed authorization requests
/// (RFC 9126), DPoP-bound tokens (RFC 9449), or a whole security profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSecurity {
    /// Authorization requests only through `POST /oauth/par`.
    #[serde(default)]
    pub require_par: bool,
    /// Tokens only with a DPoP proof (sender-constrained).
    #[serde(default)]
    pub require_dpop: bool,
    /// Authorization requests only as request objects signed by the app's
    /// key (RFC 9101), at the authorization endpoint or through PAR.
    #[serde(default)]
    pub require_signed_request_object: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

/// Where an app is told of, and sends users after, a logout (OpenID Connect
/// RP-Initiated and Back-Channel Logout 1.0), and the resources its tokens
/// may be for (RFC 8707).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppLinks {
    /// Where `/oauth/logout` may send the browser afterwards (exact match).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where grantd POSTs a logout token when a sign-in with the app ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// The app needs `sid` in its logout tokens (grantd sends it whenever
    /// the session came from a browser sign-in).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Resource servers (absolute URIs) the app's access tokens may be
    /// restricted to with `resource` (RFC 8707), besides grantd's own API.
    #[serde(default)]
    pub resource_uris: Vec<String>,
}

/// A security profile an app follows; each adds its rules to the app's own settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// FAPI 2.0 Security Profile: PAR, PKCE S256, DPoP, private_key_jwt,
    /// short codes, no implicit or password grant.
    Fapi2,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fapi2 => "fapi2",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fapi2" => Some(Profile::Fapi2),
            _ => None,
        }
    }
}

/// An app's token exchange policy: which tokens it may exchange (beyond its
/// own), for which audiences, up to which scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangePolicy {
    /// Client ids of the apps whose tokens it may exchange, besides its own.
    #[serde(default)]
    pub allowed_subject_apps: Vec<String>,
    /// Resource servers (client ids) its exchanged tokens may be for.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The widest scope an exchanged token may carry; `None`: the subject token's.
    #[serde(default)]
    pub max_scope: Option<Scopes>,
}

impl App {
    pub fn is_confidential(&self) -> bool {
        self.platform_type.is_confidential()
    }

    /// Every origin whose pages may call grantd for this app: its
    /// `allowed_origins`, and for a `browser` app the origins of its
    /// redirect URIs (where its pages live).
    pub fn cors_origins(&self) -> Vec<String> {
        let mut out = self.allowed_origins.clone();
        if self.platform_type == PlatformType::Browser {
            out.extend(
                self.redirect_uris
                    .iter()
                    .filter_map(RedirectUri::web_origin),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn has_grant(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }

    pub fn is_fapi2(&self) -> bool {
        self.security.profile == Some(Profile::Fapi2)
    }

    /// Authorization requests must come through PAR (its own setting or the profile's).
    pub fn requires_par(&self) -> bool {
        self.security.require_par || self.is_fapi2()
    }

    /// Authorization requests must be signed request objects (RFC 9101).
    pub fn requires_signed_request_object(&self) -> bool {
        self.security.require_signed_request_object
    }

    /// Tokens must be DPoP-bound (its own setting or the profile's).
    pub fn requires_dpop(&self) -> bool {
        self.security.require_dpop || self.is_fapi2()
    }
}

/// Signing algorithms grantd can generate keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    EdDSA,
    RS256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" => Some(SigningAlg::ES256),
            "EDDSA" | "ED25519" => Some(SigningAlg::EdDSA),
            "RS256" => Some(SigningAlg::RS256),
            _ => None,
        }
    }
}

/// A signing key as stored: the private half sealed with the key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// PKCS#8, sealed with the KEK (AAD: the kid).
    pub sealed_private: Vec<u8>,
    pub created_at: UnixTime,
    /// When a newer key took over; still published until tokens it signed expire.
    pub retired_at: Option<UnixTime>,
}

/// What a stored token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// A token kept in the store (opaque access tokens, refresh tokens), found by
/// the SHA-256 of its value; the value itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: [u8; 32],
    pub kind: TokenKind,
    /// Public identifier (the `jti`).
    pub id: String,
    pub client_id: String,
    /// `sub`: the user id for user grants, the client id for client_credentials.
    pub subject: String,
    pub account_id: Option<String>,
    pub session_id: Option<String>,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// Refresh tokens: when this token was exchanged for a new pair.
    pub rotated_at: Option<UnixTime>,
    /// Refresh tokens: the response of that exchange, sealed with a key derived
    /// from this token's value (so only its holder can replay it in the grace window).
    pub replay: Option<Vec<u8>>,
    /// Refresh tokens: `jti` and expiry of the access token issued with it.
    pub pair_access_id: Option<String>,
    pub pair_access_expires_at: Option<UnixTime>,
    /// Access tokens made by a token exchange: their audience and actor.
    pub exchange: Option<ExchangeClaims>,
}

/// What a token exchange (RFC 8693) adds to an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeClaims {
    /// `aud`: the resource server's client id; `None`: grantd's own audience.
    pub audience: Option<String>,
    /// `act`: who acts for the subject (delegation); `None`: impersonation.
    pub act: Option<Actor>,
}

impl ExchangeClaims {
    /// The claims of a token restricted to a resource (RFC 8707): its `aud`.
    pub fn for_resource(audience: Option<&str>) -> Option<ExchangeClaims> {
        audience.map(|a| ExchangeClaims {
            audience: Some(a.to_string()),
            act: None,
        })
    }
}

/// RFC 8693 §4.1 `act`: the party acting for a token's subject. A nested
/// `act` names the one who acted before it; the least recent is innermost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// How many actors the chain names, this one included.
    pub fn chain_len(&self) -> usize {
        1 + self.act.as_ref().map_or(0, |a| a.chain_len())
    }

    /// This chain with `earlier` nested under its innermost actor: they
    /// acted before everyone in it.
    pub fn then(self, earlier: Option<Actor>) -> Actor {
        let Some(earlier) = earlier else {
            return self;
        };
        Actor {
            act: Some(Box::new(match self.act {
                Some(inner) => inner.then(Some(earlier)),
                None => earlier,
            })),
            ..self
        }
    }
}

/// What a user may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Developer,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "developer" => Some(Role::Developer),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Enabled,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Enabled => "enabled",
            UserStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(UserStatus::Enabled),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// A user of an account (RingCentral's extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub account_id: String,
    /// Lower-case; unique across the server.
    pub email: Option<String>,
    /// E.164 (`+16505550100`); several users may share one, told apart by extension.
    pub phone: Option<String>,
    /// Unique within the account.
    pub extension_number: Option<String>,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    /// argon2id PHC string; `None` = cannot sign in with a password.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

/// Failed-password bookkeeping for one user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginState {
    pub failures: u32,
    pub window_started_at: UnixTime,
    pub locked_until: Option<UnixTime>,
}

/// A JWT credential: a user's long-lived proof, exchanged for tokens with
/// the jwt-bearer grant (or token exchange). The JWT itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtCredential {
    /// Also the JWT's `jti`.
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub label: String,
    /// Client ids that may use it; `None` = every app of the user's account.
    pub allowed_apps: Option<Vec<String>>,
    pub expires_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl JwtCredential {
    /// Whether `app` may exchange this credential of a user of `user_account`:
    /// an app it names, or (when it names none) an app of the user's
    /// account; a private app only for users of its own account.
    pub fn allows(&self, app: &App, user_account: &str) -> bool {
        let named = match &self.allowed_apps {
            Some(ids) => ids.contains(&app.client_id),
            None => app.account_id == user_account,
        };
        named && (app.distribution == Distribution::Public || app.account_id == user_account)
    }

    /// The apps it allows, for messages.
    pub fn allowed_list(&self, user_account: &str) -> String {
        match &self.allowed_apps {
            Some(ids) => ids.join(", "),
            None => format!("the apps of account {user_account}"),
        }
    }
}

/// A user's sign-in to one app; refreshes continue it, revocation ends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub ended_at: Option<UnixTime>,
    pub end_reason: Option<String>,
    /// The JWT credential the session was opened with (revoking it ends the session).
    pub credential_id: Option<String>,
    /// RingCentral's `endpoint_id`: the client's value when the session
    /// opened, or one made then; every refresh answers the same (web phones
    /// use it as their identity). `None` only for sessions stored before it.
    pub endpoint_id: Option<String>,
    /// The browser sign-in (OIDC `sid`) the session came from, if any.
    pub sid: Option<String>,
    /// The resources (RFC 8707) its authorization granted; empty: none named.
    pub resources: Vec<String>,
}

/// An authorization code (RFC 6749 §4.1.2), stored by the hash of its value
/// and bound to everything the token request must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub hash: [u8; 32],
    pub client_id: String,
    pub user_id: String,
    pub account_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the client named it at authorize (if so, the token request must repeat it).
    pub redirect_uri_sent: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256` or `plain`.
    pub code_challenge_method: Option<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// The session the first exchange opened; a replay ends it.
    pub session_id: Option<String>,
    /// The browser sign-in (OIDC `sid`) the code was issued under.
    pub sid: Option<String>,
    /// The resources (RFC 8707) the authorization request named.
    pub resources: Vec<String>,
}

/// What [`crate::store::Store::consume_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the code is now marked used.
    Fresh(Box<AuthCode>),
    /// Used before (at `used_at`).
    Replayed(Box<AuthCode>),
    Unknown,
}

/// Where a device authorization stands (RFC 8628): pending until the user
/// decides on the verification page; an approved code is used by the one
/// poll that gets tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Used,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Used => "used",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeviceStatus::Pending),
            "approved" => Some(DeviceStatus::Approved),
            "denied" => Some(DeviceStatus::Denied),
            "used" => Some(DeviceStatus::Used),
            _ => None,
        }
    }
}

/// A device authorization (RFC 8628 §3.1–3.2): found by the hash of its
/// device code when the device polls, and by its user code on the
/// verification page. The device code itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub hash: [u8; 32],
    /// In normal form (`BCDFGHJKLM`); unique among stored codes.
    pub user_code: String,
    pub client_id: String,
    /// The scope asked for; once approved, the scope the user approved.
    pub scope: String,
    /// Seconds the device must wait between polls; slow_down raises it.
    pub interval: i64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_polled_at: Option<UnixTime>,
    pub status: DeviceStatus,
    /// Who approved or denied it.
    pub user_id: Option<String>,
    /// When the approving user signed in (for the ID token).
    pub auth_time: Option<UnixTime>,
    pub decided_at: Option<UnixTime>,
    /// The session its exchange opened.
    pub session_id: Option<String>,
}

/// A user's standing consent to an app's scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    /// Space-separated scopes granted.
    pub scope: String,
    pub granted_at: UnixTime,
}

/// A pushed authorization request (RFC 9126), stored by the SHA-256 of its
/// `request_uri` until it expires or is used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub hash: [u8; 32],
    pub client_id: String,
    /// The authorization request's parameters as a JSON array of pairs.
    pub params: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// What [`crate::store::Store::use_pushed_request`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushedUse {
    /// First use: now marked used.
    Fresh(PushedRequest),
    /// Used before.
    Used(PushedRequest),
    Unknown,
}

/// A signed-in browser (the sign-in cookie), stored by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub hash: [u8; 32],
    pub user_id: String,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Where a back-channel logout delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet accepted by the app; tried again at `next_attempt_at`.
    Pending,
    /// The app answered 2xx.
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One back-channel logout token to deliver to one app (OIDC Back-Channel
/// Logout 1.0): for the user `user_id` and, when the sessions came from a
/// browser sign-in, its `sid`. The token itself is signed at each attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutDelivery {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// An initial access token (RFC 7591 §3) an operator issued so that a client
/// may register itself: stored by its SHA-256, with an optional expiry and
/// an optional number of registrations it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationToken {
    pub id: String,
    pub label: String,
    pub hash: [u8; 32],
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub max_uses: Option<i64>,
    /// Registrations made with it so far.
    pub uses: i64,
    pub revoked_at: Option<UnixTime>,
}

/// A dynamically registered app's registration (RFC 7591, RFC 7592): the
/// hash of its registration access token and the client metadata grantd
/// keeps beside the app (contacts, logo_uri, client_uri, software_id, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    /// SHA-256 of the registration access token.
    pub token_hash: [u8; 32],
    /// The metadata as a JSON object.
    pub metadata: String,
    /// The initial access token it was registered with (none: open registration).
    pub initial_token_id: Option<String>,
    /// That token's label, kept so the console can name it after it is revoked.
    pub initial_token_label: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}
