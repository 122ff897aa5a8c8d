//! Grant types, platform types and which platform may enable which grant.

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
}

impl Grant {
    pub const ALL: [Grant; 6] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::JwtBearer,
        Grant::ClientCredentials,
        Grant::Password,
        Grant::Implicit,
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
        }
    }

    /// The `grant_type` value a client sends at the token endpoint, if any
    /// (implicit has none: it is a `response_type` at the authorization endpoint).
    pub fn grant_type_param(self) -> Option<&'static str> {
        match self {
            Grant::AuthorizationCode => Some("authorization_code"),
            Grant::RefreshToken => Some("refresh_token"),
            Grant::JwtBearer => Some(JWT_BEARER_URN),
            Grant::ClientCredentials => Some("client_credentials"),
            Grant::Password => Some("password"),
            Grant::Implicit => None,
        }
    }

    /// The grant a token-endpoint `grant_type` value names.
    pub fn from_grant_type_param(value: &str) -> Option<Grant> {
        Grant::ALL
            .into_iter()
            .find(|g| g.grant_type_param() == Some(value))
    }

    /// Legacy grants are governed by a deprecation policy.
    pub fn is_legacy(self) -> bool {
        matches!(self, Grant::Password | Grant::Implicit)
    }
}

pub const JWT_BEARER_URN: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

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

/// The `grant_type` values this server accepts at its token endpoint.
pub fn supported_grant_types() -> Vec<&'static str> {
    Grant::ALL
        .into_iter()
        .filter_map(Grant::grant_type_param)
        .collect()
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
}

impl PlatformType {
    pub const ALL: [PlatformType; 5] = [
        PlatformType::ServerWeb,
        PlatformType::Browser,
        PlatformType::Desktop,
        PlatformType::Mobile,
        PlatformType::ServerOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlatformType::ServerWeb => "server-web",
            PlatformType::Browser => "browser",
            PlatformType::Desktop => "desktop",
            PlatformType::Mobile => "mobile",
            PlatformType::ServerOnly => "server-only",
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
            PlatformType::ServerWeb => &[AuthorizationCode, RefreshToken],
            PlatformType::Browser => &[AuthorizationCode, RefreshToken, Implicit],
            PlatformType::Desktop | PlatformType::Mobile => {
                &[AuthorizationCode, RefreshToken, Password]
            }
            PlatformType::ServerOnly => &[JwtBearer, ClientCredentials, RefreshToken, Password],
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
        for g in Grant::ALL {
            if let Some(p) = g.grant_type_param() {
                assert_eq!(Grant::from_grant_type_param(p), Some(g));
            }
        }
        assert_eq!(Grant::from_grant_type_param("implicit"), None);
    }
}
