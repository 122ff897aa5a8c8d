//! Grants an app is enabled for, the token endpoint's `grant_type` values,
//! platform types, and which platform may enable which grant.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A grant an app can be enabled for (the names of the admin API and PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    JwtBearer,
    ClientCredentials,
    Password,
    Implicit,
    TokenExchange,
    DeviceCode,
}

impl Grant {
    pub const ALL: [Grant; 8] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::JwtBearer,
        Grant::ClientCredentials,
        Grant::Password,
        Grant::Implicit,
        Grant::TokenExchange,
        Grant::DeviceCode,
    ];

    /// The name used in app configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::JwtBearer => "jwt_bearer",
            Grant::ClientCredentials => "client_credentials",
            Grant::Password => "password",
            Grant::Implicit => "implicit",
            Grant::TokenExchange => "token_exchange",
            Grant::DeviceCode => "device_code",
        }
    }

    /// The `grant_type` a client sends at the token endpoint for this grant,
    /// if any (implicit has none: it is a `response_type` at the
    /// authorization endpoint).
    pub fn grant_type(self) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|t| t.enabled_by() == self)
    }

    /// The `grant_type` value a client sends at the token endpoint, if any.
    pub fn grant_type_param(self) -> Option<&'static str> {
        self.grant_type().map(GrantType::as_str)
    }

    /// Legacy grants are governed by a deprecation policy.
    pub fn is_legacy(self) -> bool {
        matches!(self, Grant::Password | Grant::Implicit)
    }

    /// Whether a new app gets this grant when none are named. Token
    /// exchange lets an app mint tokens from other tokens, so it is only
    /// ever enabled by name.
    pub fn on_by_default(self) -> bool {
        !self.is_legacy() && self != Grant::TokenExchange
    }
}

pub const JWT_BEARER_URN: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const TOKEN_EXCHANGE_URN: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub const DEVICE_CODE_URN: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A `grant_type` value of the token endpoint (RFC 6749 §4, RFC 7523, RFC 8628, RFC 8693), as
/// opposed to [`Grant`], what an app is configured with: implicit is a grant
/// with no `grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    JwtBearer,
    ClientCredentials,
    Password,
    TokenExchange,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 7] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::JwtBearer,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::TokenExchange,
        GrantType::DeviceCode,
    ];

    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::JwtBearer => JWT_BEARER_URN,
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::TokenExchange => TOKEN_EXCHANGE_URN,
            GrantType::DeviceCode => DEVICE_CODE_URN,
        }
    }

    pub fn parse(value: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// The app setting that enables this grant type.
    pub fn enabled_by(self) -> Grant {
        match self {
            GrantType::AuthorizationCode => Grant::AuthorizationCode,
            GrantType::RefreshToken => Grant::RefreshToken,
            GrantType::JwtBearer => Grant::JwtBearer,
            GrantType::ClientCredentials => Grant::ClientCredentials,
            GrantType::Password => Grant::Password,
            GrantType::TokenExchange => Grant::TokenExchange,
            GrantType::DeviceCode => Grant::DeviceCode,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grant {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Grant::ALL.into_iter().find(|g| g.as_str() == s).ok_or(())
    }
}

/// Every `grant_type` value this protocol crate knows.
pub fn supported_grant_types() -> Vec<&'static str> {
    GrantType::ALL.into_iter().map(GrantType::as_str).collect()
}

/// The kind of app; it decides which grants the app may enable (the seed's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlatformType {
    #[serde(rename = "server-web")]
    ServerWeb,
    #[serde(rename = "browser")]
    Browser,
    #[serde(rename = "desktop")]
    Desktop,
    #[serde(rename = "mobile")]
    Mobile,
    #[serde(rename = "server-only")]
    ServerOnly,
    /// A limited-input device (TV, CLI, appliance): public, no redirect URI,
    /// the user approves it on another screen (RFC 8628).
    #[serde(rename = "device")]
    Device,
}

impl PlatformType {
    pub const ALL: [PlatformType; 6] = [
        PlatformType::ServerWeb,
        PlatformType::Browser,
        PlatformType::Desktop,
        PlatformType::Mobile,
        PlatformType::ServerOnly,
        PlatformType::Device,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlatformType::ServerWeb => "server-web",
            PlatformType::Browser => "browser",
            PlatformType::Desktop => "desktop",
            PlatformType::Mobile => "mobile",
            PlatformType::ServerOnly => "server-only",
            PlatformType::Device => "device",
        }
    }

    /// Confidential apps hold a client secret; public apps cannot keep one and
    /// prove themselves with PKCE instead.
    pub fn is_confidential(self) -> bool {
        matches!(self, PlatformType::ServerWeb | PlatformType::ServerOnly)
    }

    /// The grants this platform type may enable.
    pub fn allowed_grants(self) -> &'static [Grant] {
        use Grant::*;
        match self {
            PlatformType::ServerWeb => &[AuthorizationCode, RefreshToken, TokenExchange],
            PlatformType::Browser => &[AuthorizationCode, RefreshToken, Implicit],
            PlatformType::Desktop => &[AuthorizationCode, RefreshToken, Password, DeviceCode],
            PlatformType::Mobile => &[AuthorizationCode, RefreshToken, Password],
            PlatformType::ServerOnly => &[
                JwtBearer,
                ClientCredentials,
                RefreshToken,
                Password,
                TokenExchange,
            ],
            PlatformType::Device => &[DeviceCode, RefreshToken],
        }
    }

    pub fn allows(self, grant: Grant) -> bool {
        self.allowed_grants().contains(&grant)
    }

    /// The platform types that may enable `grant`.
    pub fn allowing(grant: Grant) -> Vec<PlatformType> {
        PlatformType::ALL
            .into_iter()
            .filter(|p| p.allows(grant))
            .collect()
    }
}

impl fmt::Display for PlatformType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlatformType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        PlatformType::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(())
    }
}

/// Joins names with ", " for messages.
pub fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table() {
        assert!(!PlatformType::ServerWeb.allows(Grant::Password));
        assert!(PlatformType::Desktop.allows(Grant::Password));
        assert!(PlatformType::Browser.allows(Grant::Implicit));
        assert!(!PlatformType::Browser.allows(Grant::Password));
        assert!(!PlatformType::ServerOnly.allows(Grant::AuthorizationCode));
        assert_eq!(
            PlatformType::allowing(Grant::TokenExchange),
            vec![PlatformType::ServerWeb, PlatformType::ServerOnly]
        );
        assert!(!Grant::TokenExchange.on_by_default());
        assert_eq!(
            PlatformType::allowing(Grant::Password),
            vec![
                PlatformType::Desktop,
                PlatformType::Mobile,
                PlatformType::ServerOnly
            ]
        );
    }

    #[test]
    fn grant_type_round_trip() {
        for t in GrantType::ALL {
            assert_eq!(GrantType::parse(t.as_str()), Some(t));
            assert_eq!(t.enabled_by().grant_type(), Some(t));
        }
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(Grant::Implicit.grant_type(), None);
    }

    #[test]
    fn the_device_grant() {
        assert_eq!(
            GrantType::parse("urn:ietf:params:oauth:grant-type:device_code"),
            Some(GrantType::DeviceCode)
        );
        assert_eq!("device_code".parse::<Grant>(), Ok(Grant::DeviceCode));
        assert_eq!(
            PlatformType::allowing(Grant::DeviceCode),
            vec![PlatformType::Desktop, PlatformType::Device]
        );
        assert_eq!(
            PlatformType::Device.allowed_grants(),
            &[Grant::DeviceCode, Grant::RefreshToken]
        );
        assert!(!PlatformType::Device.is_confidential());
    }
}
