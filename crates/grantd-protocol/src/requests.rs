//! Each grant's own parameters at the token endpoint, read once into a type
//! (the shared ones are in [`crate::token::TokenRequest`]). A grant in
//! grantd-core receives one of these, never the raw form.

use crate::error::OAuthError;
use crate::form::Params;
use crate::secret::Secret;

/// What a grant reads from the token request's form.
pub trait GrantRequest: Sized + Send + Sync {
    fn read(params: &Params) -> Result<Self, OAuthError>;
}

/// `client_credentials` (RFC 6749 §4.4.2): nothing beyond the shared parameters.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentialsRequest;

impl GrantRequest for ClientCredentialsRequest {
    fn read(_: &Params) -> Result<Self, OAuthError> {
        Ok(Self)
    }
}

/// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1).
#[derive(Debug, Clone)]
pub struct JwtBearerRequest {
    pub assertion: Secret,
}

impl GrantRequest for JwtBearerRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let assertion = params.require(
            "assertion",
            "for the JWT bearer grant (the user's JWT credential)",
        )?;
        Ok(Self {
            assertion: Secret::new(assertion),
        })
    }
}

/// `password` (RFC 6749 §4.3.2), with RingCentral's separate `extension`.
#[derive(Debug, Clone)]
pub struct PasswordRequest {
    /// An email or E.164 phone number (optionally `*extension`).
    pub username: String,
    pub password: Secret,
    pub extension: Option<String>,
}

impl GrantRequest for PasswordRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let username = params.require(
            "username",
            "for the password grant (an email or E.164 phone number)",
        )?;
        let password = params
            .secret("password")
            .ok_or_else(|| OAuthError::missing_parameter("password", "for the password grant"))?;
        Ok(Self {
            username: username.to_string(),
            password,
            extension: params.get("extension").map(str::to_string),
        })
    }
}

/// `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Clone)]
pub struct AuthorizationCodeRequest {
    pub code: Secret,
    /// Required when the authorization request named one (checked against the code).
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<Secret>,
}

impl GrantRequest for AuthorizationCodeRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let code = params.require(
            "code",
            "for the authorization_code grant (the code of the redirect)",
        )?;
        Ok(Self {
            code: Secret::new(code),
            redirect_uri: params.get("redirect_uri").map(str::to_string),
            code_verifier: params.secret("code_verifier"),
        })
    }
}

/// `refresh_token` (RFC 6749 §6).
#[derive(Debug, Clone)]
pub struct RefreshTokenRequest {
    pub refresh_token: Secret,
}

impl GrantRequest for RefreshTokenRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let token = params.require("refresh_token", "for the refresh_token grant")?;
        Ok(Self {
            refresh_token: Secret::new(token),
        })
    }
}

/// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4): a device
/// polling with the device code of its device authorization response.
#[derive(Debug, Clone)]
pub struct DeviceCodeRequest {
    pub device_code: Secret,
}

impl GrantRequest for DeviceCodeRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let code = params.require(
            "device_code",
            "for the device_code grant (the device_code of the device authorization response)",
        )?;
        Ok(Self {
            device_code: Secret::new(code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_grant_names_its_missing_parameter() {
        let empty = Params::default();
        let missing = |e: OAuthError| e.parameter;
        assert_eq!(
            missing(JwtBearerRequest::read(&empty).unwrap_err()),
            Some("assertion")
        );
        assert_eq!(
            missing(PasswordRequest::read(&empty).unwrap_err()),
            Some("username")
        );
        assert_eq!(
            missing(AuthorizationCodeRequest::read(&empty).unwrap_err()),
            Some("code")
        );
        assert_eq!(
            missing(RefreshTokenRequest::read(&empty).unwrap_err()),
            Some("refresh_token")
        );
        assert_eq!(
            missing(DeviceCodeRequest::read(&empty).unwrap_err()),
            Some("device_code")
        );
        assert!(ClientCredentialsRequest::read(&empty).is_ok());
    }

    #[test]
    fn secrets_stay_redacted() {
        let p = Params::parse(b"code=abc&code_verifier=xyz").unwrap();
        let r = AuthorizationCodeRequest::read(&p).unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("abc") && !shown.contains("xyz"), "{shown}");
    }
}
