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
        let code_verifier = params.get("code_verifier");
        if let Some(v) = code_verifier {
            check_code_verifier(v)?;
        }
        Ok(Self {
            code: Secret::new(code),
            redirect_uri: params.get("redirect_uri").map(str::to_string),
            code_verifier: code_verifier.map(Secret::new),
        })
    }
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set. The reason
/// names the length or the kind of character, never the verifier.
pub fn check_code_verifier(v: &str) -> Result<(), OAuthError> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    let len = v.chars().count();
    let mut reasons = Vec::new();
    if let Some(how) = crate::hint::invisible(v) {
        reasons.push(how);
    }
    let mut odd: Vec<String> = Vec::new();
    for c in crate::hint::trimmed(v).chars().filter(|c| !unreserved(*c)) {
        let name = match c {
            c if crate::hint::invisible_char(c).is_some() => crate::hint::invisible_char(c)
                .unwrap_or_default()
                .to_string(),
            '+' | '/' => {
                "'+' or '/' (standard base64: use base64url, with '-' and '_')".to_string()
            }
            '=' => "'=' (padding: base64url without padding has none)".to_string(),
            c if c.is_ascii_graphic() => format!("'{}'", crate::error::sanitize(&c.to_string(), 1)),
            _ => "characters outside ASCII".to_string(),
        };
        if !odd.contains(&name) {
            odd.push(name);
        }
    }
    if !odd.is_empty() {
        reasons.push(format!("contains {}", odd.join(", ")));
    }
    if !(43..=128).contains(&len) {
        reasons.insert(
            0,
            format!(
                "is {len} characters long ({})",
                if len < 43 {
                    "at least 43 are required"
                } else {
                    "at most 128 are allowed"
                }
            ),
        );
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(OAuthError::code_verifier_malformed(&reasons.join(" and ")))
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

/// A token type URI (RFC 8693 §3; `jwt` from RFC 7519 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    AccessToken,
    RefreshToken,
    IdToken,
    Jwt,
}

impl TokenType {
    pub const ALL: [TokenType; 4] = [
        TokenType::AccessToken,
        TokenType::RefreshToken,
        TokenType::IdToken,
        TokenType::Jwt,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            TokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            TokenType::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            TokenType::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
        }
    }

    pub fn parse(uri: &str) -> Option<TokenType> {
        TokenType::ALL.into_iter().find(|t| t.uri() == uri)
    }
}

/// What a token exchange may issue (`requested_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuedTokenType {
    /// An access token in the app's format (JWT or opaque).
    #[default]
    AccessToken,
    /// A JWT access token, whatever the app's format.
    Jwt,
}

impl IssuedTokenType {
    /// The `issued_token_type` of the answer.
    pub fn uri(self) -> &'static str {
        match self {
            IssuedTokenType::AccessToken => TokenType::AccessToken.uri(),
            IssuedTokenType::Jwt => TokenType::Jwt.uri(),
        }
    }
}

/// A token sent to an exchange, with the type the client says it is.
#[derive(Debug, Clone)]
pub struct PresentedToken {
    pub token: Secret,
    /// Never [`TokenType::RefreshToken`]: refused when read.
    pub token_type: TokenType,
}

/// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
#[derive(Debug, Clone)]
pub struct TokenExchangeRequest {
    /// Whom the new token is about.
    pub subject: PresentedToken,
    /// Who acts for the subject (delegation); none for impersonation.
    pub actor: Option<PresentedToken>,
    pub requested: IssuedTokenType,
    /// The resource server the token is for, by client id (`audience`).
    pub audience: Option<String>,
    /// The same, as `resource` (RFC 8707); grantd names resource servers by client id.
    pub resource: Option<String>,
}

/// The token types a token exchange accepts for a token it is sent.
const ACCEPTED_TYPES: [&str; 3] = [
    "urn:ietf:params:oauth:token-type:access_token",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:jwt",
];

/// Reads `{name}` and `{name}_type`.
fn presented(
    params: &Params,
    name: &'static str,
    type_name: &'static str,
) -> Result<Option<PresentedToken>, OAuthError> {
    let (token, type_value) = match (params.get(name), params.get(type_name)) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(OAuthError::missing_parameter(
                type_name,
                &format!("with {name} (RFC 8693 §2.1: the type of the token sent)"),
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::missing_parameter(
                name,
                &format!("when {type_name} is sent (it names the type of {name})"),
            ))
        }
        (Some(t), Some(v)) => (t, v),
    };
    let token_type = match TokenType::parse(type_value) {
        Some(TokenType::RefreshToken) => return Err(OAuthError::exchange_refresh_token(type_name)),
        Some(t) => t,
        None => {
            return Err(OAuthError::exchange_token_type_unsupported(
                type_name,
                type_value,
                unknown_type_reason(type_value),
                &ACCEPTED_TYPES,
            ))
        }
    };
    Ok(Some(PresentedToken {
        token: Secret::new(token),
        token_type,
    }))
}

fn unknown_type_reason(value: &str) -> &'static str {
    if value.starts_with("urn:ietf:params:oauth:token-type:saml") {
        "grantd neither accepts nor issues SAML assertions"
    } else {
        "it is not a token type URI grantd knows (RFC 8693 §3)"
    }
}

impl GrantRequest for TokenExchangeRequest {
    fn read(params: &Params) -> Result<Self, OAuthError> {
        let subject = match presented(params, "subject_token", "subject_token_type")? {
            Some(s) => s,
            None => {
                return Err(OAuthError::missing_parameter(
                    "subject_token",
                    "for token exchange (the token of the user or app the new token is about), with subject_token_type",
                ))
            }
        };
        let actor = presented(params, "actor_token", "actor_token_type")?;
        let requested = match params.get("requested_token_type") {
            None => IssuedTokenType::AccessToken,
            Some(v) => match TokenType::parse(v) {
                Some(TokenType::AccessToken) => IssuedTokenType::AccessToken,
                Some(TokenType::Jwt) => IssuedTokenType::Jwt,
                Some(TokenType::RefreshToken) => {
                    return Err(OAuthError::exchange_refresh_token("requested_token_type"))
                }
                Some(TokenType::IdToken) => {
                    return Err(OAuthError::exchange_token_type_unsupported(
                        "requested_token_type",
                        v,
                        "grantd issues ID tokens only when a user signs in, and an exchange issues access tokens",
                        &[IssuedTokenType::AccessToken.uri(), IssuedTokenType::Jwt.uri()],
                    ))
                }
                None => {
                    return Err(OAuthError::exchange_token_type_unsupported(
                        "requested_token_type",
                        v,
                        unknown_type_reason(v),
                        &[IssuedTokenType::AccessToken.uri(), IssuedTokenType::Jwt.uri()],
                    ))
                }
            },
        };
        Ok(Self {
            subject,
            actor,
            requested,
            audience: params.get("audience").map(str::to_string),
            resource: params.get("resource").map(str::to_string),
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
        assert_eq!(
            missing(TokenExchangeRequest::read(&empty).unwrap_err()),
            Some("subject_token")
        );
    }

    const AT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";

    fn exchange(body: &str) -> Result<TokenExchangeRequest, OAuthError> {
        TokenExchangeRequest::read(&Params::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn token_exchange_reads_its_tokens_and_types() {
        let r = exchange(&format!(
            "subject_token=s&subject_token_type={AT}&actor_token=a&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&audience=rs"
        ))
        .unwrap();
        assert_eq!(r.subject.token_type, TokenType::AccessToken);
        assert_eq!(r.actor.unwrap().token_type, TokenType::Jwt);
        assert_eq!(r.requested, IssuedTokenType::Jwt);
        assert_eq!(r.audience.as_deref(), Some("rs"));
        let r = exchange(&format!("subject_token=s&subject_token_type={AT}")).unwrap();
        assert_eq!(r.requested, IssuedTokenType::AccessToken);
        assert!(r.actor.is_none());
    }

    #[test]
    fn token_exchange_refusals() {
        use crate::Code;
        let code = |body: String| exchange(&body).unwrap_err();
        let e = code("subject_token=s&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Arefresh_token".into());
        assert_eq!(
            (e.code, e.parameter),
            (Code::ExchangeRefreshToken, Some("subject_token_type"))
        );
        let e = code("subject_token=s&subject_token_type=bearer".into());
        assert_eq!(e.code, Code::ExchangeTokenTypeUnsupported);
        assert!(
            e.description.contains("token-type:id_token"),
            "{}",
            e.description
        );
        let e = code(format!(
            "subject_token=s&subject_token_type={AT}&actor_token=a"
        ));
        assert_eq!(
            (e.code, e.parameter),
            (Code::MissingParameter, Some("actor_token_type"))
        );
        let e = code(format!("subject_token=s&subject_token_type={AT}&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Arefresh_token"));
        assert_eq!(
            (e.code, e.parameter),
            (Code::ExchangeRefreshToken, Some("requested_token_type"))
        );
        let e = code(format!("subject_token=s&subject_token_type={AT}&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"));
        assert_eq!(e.code, Code::ExchangeTokenTypeUnsupported);
        let e = code(
            "subject_token=s&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2"
                .into(),
        );
        assert!(e.description.contains("SAML"), "{}", e.description);
    }

    #[test]
    fn code_verifier_follows_rfc_7636() {
        let ok = "a".repeat(43);
        assert!(check_code_verifier(&ok).is_ok());
        assert!(check_code_verifier(&"-._~9".repeat(25)).is_ok());
        for (bad, says) in [
            ("a".repeat(42), "is 42 characters long"),
            ("a".repeat(129), "is 129 characters long"),
            (format!("{ok}+"), "'+' or '/'"),
            (format!("{ok}="), "padding"),
            (format!("{ok} b"), "contains a space"),
            (format!("{ok}\n"), "ends with a newline"),
            (format!("{ok}é"), "outside ASCII"),
        ] {
            let e = check_code_verifier(&bad).unwrap_err();
            assert_eq!(e.code, crate::catalog::Code::CodeVerifierMalformed);
            assert!(e.description.contains(says), "{}", e.description);
            assert!(!e.description.contains(&ok), "{}", e.description);
        }
    }

    #[test]
    fn secrets_stay_redacted() {
        let verifier = "xyz".repeat(15);
        let p = Params::parse(format!("code=abc&code_verifier={verifier}").as_bytes()).unwrap();
        let r = AuthorizationCodeRequest::read(&p).unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("abc") && !shown.contains("xyz"), "{shown}");
        let r = exchange(&format!(
            "subject_token=abc&subject_token_type={AT}&actor_token=xyz&actor_token_type={AT}"
        ))
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("abc") && !shown.contains("xyz"), "{shown}");
    }
}
