//! The records grantd keeps: accounts, apps, signing keys, tokens.

use crate::clock::UnixTime;
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};
use serde::{Deserialize, Serialize};

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
    /// SHA-256 of the client secret; `None` for public apps.
    #[serde(skip)]
    pub secret_hash: Option<[u8; 32]>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl App {
    pub fn is_confidential(&self) -> bool {
        self.platform_type.is_confidential()
    }

    pub fn has_grant(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
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
}
