//! The token endpoint's request and response (RFC 6749 §4–5), with the
//! RingCentral fields (`owner_id`, `endpoint_id`, `session_id`, …).

use crate::error::OAuthError;
use crate::form::Params;
use crate::grant::{supported_grant_types, GrantType};
use crate::scope::Scopes;
use serde::{Deserialize, Serialize};

/// The parts of a token request every grant shares; grant-specific
/// parameters are read by each grant into its own type ([`crate::requests`]).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub grant_type: GrantType,
    /// `None`: the client did not ask, so it gets all of the app's permissions.
    pub scope: Option<Scopes>,
    pub issue: IssueParams,
}

/// What a client may ask of the tokens it is issued, whatever the grant
/// (RingCentral's lifetime and endpoint parameters).
#[derive(Debug, Clone, Default)]
pub struct IssueParams {
    pub access_token_ttl: Option<u64>,
    pub refresh_token_ttl: Option<u64>,
    pub endpoint_id: Option<String>,
    /// The thumbprint of the DPoP key the request proved (RFC 9449): the
    /// tokens issued are bound to it. Set by grantd-core, never read from the form.
    pub dpop_jkt: Option<String>,
    /// The resource the access token is for (its `aud`, RFC 8707), when
    /// not grantd's own API. Set by grantd-core, never read from the form.
    pub audience: Option<String>,
}

impl TokenRequest {
    pub fn read(params: &Params) -> Result<Self, OAuthError> {
        let value = params.require("grant_type", "at the token endpoint")?;
        let grant_type = GrantType::parse(value)
            .ok_or_else(|| OAuthError::unsupported_grant_type(value, &supported_grant_types()))?;
        let scope = params.get("scope").map(Scopes::parse).transpose()?;
        let endpoint_id = params
            .get("endpoint_id")
            .map(|v| {
                if v.len() <= 64
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                {
                    Ok(v.to_string())
                } else {
                    Err(OAuthError::invalid_parameter(
                        "endpoint_id",
                        "use at most 64 letters, digits, '-' or '_'",
                    ))
                }
            })
            .transpose()?;
        Ok(Self {
            grant_type,
            scope,
            issue: IssueParams {
                access_token_ttl: params.number("access_token_ttl"),
                refresh_token_ttl: params.number("refresh_token_ttl"),
                endpoint_id,
                dpop_jkt: None,
                audience: None,
            },
        })
    }
}

/// A successful token response (RFC 6749 §5.1 and RingCentral's fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Token exchange (RFC 8693 §2.2.1): the type of `access_token`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issued_token_type: Option<String>,
    /// RingCentral's session policy, when the account sets one: seconds
    /// until the session's absolute end, that end (RFC 3339), and the idle
    /// timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_expiration_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_idle_timeout: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Code;

    #[test]
    fn unknown_grant_lists_supported() {
        let p = Params::parse(b"grant_type=jwt").unwrap();
        let e = TokenRequest::read(&p).unwrap_err();
        assert_eq!(e.code, Code::UnsupportedGrantType);
        assert!(e
            .description
            .contains("urn:ietf:params:oauth:grant-type:jwt-bearer"));
        assert!(e.description.contains("client_credentials"));
    }

    #[test]
    fn missing_grant_type() {
        let e = TokenRequest::read(&Params::default()).unwrap_err();
        assert_eq!(e.code, Code::MissingParameter);
        assert_eq!(e.parameter, Some("grant_type"));
    }

    #[test]
    fn ttl_garbage_is_ignored() {
        let p = Params::parse(b"grant_type=client_credentials&access_token_ttl=NaN").unwrap();
        assert_eq!(TokenRequest::read(&p).unwrap().issue.access_token_ttl, None);
    }
}
