//! How the client authenticated (RFC 6749 §2.3): read from the Authorization
//! header and the body, with each malformation named.

use crate::error::OAuthError;
use crate::form::Params;
use crate::secret::Secret;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

/// The client's claim of identity, not yet checked against the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` (`client_secret_basic`); the secret may be empty
    /// for public apps (the RingCentral Python SDK sends `id:`).
    Basic { client_id: String, secret: Secret },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post { client_id: String, secret: Secret },
    /// `client_id` alone in the body (public apps, `none`).
    None { client_id: String },
    /// A JWT client assertion (`private_key_jwt`, RFC 7523 §2.2): the client id
    /// is the body's `client_id`, or else the assertion's `iss` (unverified;
    /// grantd-core checks the rest).
    Assertion {
        client_id: String,
        assertion: Secret,
    },
    /// Nothing identifies the client.
    Absent,
}

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const JWT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl ClientAuth {
    pub fn client_id(&self) -> Option<&str> {
        match self {
            ClientAuth::Basic { client_id, .. }
            | ClientAuth::Post { client_id, .. }
            | ClientAuth::None { client_id }
            | ClientAuth::Assertion { client_id, .. } => Some(client_id),
            ClientAuth::Absent => None,
        }
    }

    /// The `token_endpoint_auth_method` name (RFC 8414).
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::Assertion { .. } => "private_key_jwt",
            ClientAuth::None { .. } | ClientAuth::Absent => "none",
        }
    }

    pub fn used_basic(&self) -> bool {
        matches!(self, ClientAuth::Basic { .. })
    }

    /// Reads the client's credentials from the header value and the body.
    pub fn read(authorization: Option<&[u8]>, body: &Params) -> Result<Self, OAuthError> {
        if body.contains("client_assertion") || body.contains("client_assertion_type") {
            return read_assertion(authorization.is_some(), body);
        }
        let body_id = body.get("client_id");
        let body_secret = body.secret("client_secret");
        match authorization {
            Some(header) => {
                let (client_id, secret) = parse_basic(header)?;
                if body_secret.is_some() {
                    return Err(OAuthError::multiple_client_auth());
                }
                if let Some(b) = body_id {
                    if b != client_id {
                        return Err(OAuthError::client_id_mismatch(&client_id, b));
                    }
                }
                Ok(ClientAuth::Basic { client_id, secret })
            }
            None => match (body_id, body_secret) {
                (Some(id), Some(secret)) => Ok(ClientAuth::Post {
                    client_id: id.to_string(),
                    secret,
                }),
                (Some(id), None) => Ok(ClientAuth::None {
                    client_id: id.to_string(),
                }),
                (None, Some(_)) => Err(OAuthError::missing_parameter(
                    "client_id",
                    "when client_secret is sent in the body",
                )),
                (None, None) => Ok(ClientAuth::Absent),
            },
        }
    }
}

/// Reads `client_assertion_type` + `client_assertion` (RFC 7521 §4.2), alone.
fn read_assertion(has_header: bool, body: &Params) -> Result<ClientAuth, OAuthError> {
    if has_header {
        return Err(OAuthError::client_assertion_with_other_auth(
            "an Authorization header",
        ));
    }
    if body.contains("client_secret") {
        return Err(OAuthError::client_assertion_with_other_auth(
            "client_secret",
        ));
    }
    let Some(kind) = body.get("client_assertion_type") else {
        return Err(OAuthError::client_assertion_incomplete(
            "client_assertion_type",
        ));
    };
    let Some(assertion) = body.secret("client_assertion") else {
        return Err(OAuthError::client_assertion_incomplete("client_assertion"));
    };
    if kind != JWT_ASSERTION_TYPE {
        return Err(OAuthError::client_assertion_type_unsupported(kind));
    }
    let client_id = match body.get("client_id") {
        Some(id) => id.to_string(),
        None => assertion_issuer(assertion.expose())?,
    };
    Ok(ClientAuth::Assertion {
        client_id,
        assertion,
    })
}

/// The `iss` of a JWT, read without checking anything (to find the app).
fn assertion_issuer(jwt: &str) -> Result<String, OAuthError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(OAuthError::client_assertion_malformed(&format!(
            "it has {} dot-separated parts, not 3",
            parts.len()
        )));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .ok_or_else(|| {
            OAuthError::client_assertion_malformed("its payload is not base64url-encoded JSON")
        })?;
    match payload.get("iss").and_then(|v| v.as_str()) {
        Some(iss) if !iss.is_empty() => Ok(iss.to_string()),
        _ => Err(OAuthError::client_assertion_malformed(
            "it has no iss and the body no client_id, so nothing names the app; set iss and sub to the client id",
        )),
    }
}

/// Parses `Basic base64(client_id:client_secret)`.
fn parse_basic(header: &[u8]) -> Result<(String, Secret), OAuthError> {
    let header = std::str::from_utf8(header)
        .map_err(|_| OAuthError::auth_header_malformed("it is not ASCII"))?
        .trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        let why = if scheme.eq_ignore_ascii_case("bearer") && looks_like_jwt(rest.trim()) {
            format!(
                "it sends a JWT with the Bearer scheme. A JWT credential is not client authentication: it goes in the body as assertion=<the JWT> with grant_type={}, and the header carries the app's own credentials with the Basic scheme (an access token goes to APIs, not here)",
                crate::grant::JWT_BEARER_URN
            )
        } else if scheme.eq_ignore_ascii_case("bearer") {
            "it uses the Bearer scheme, which carries an access token for APIs; the token endpoint needs the app's own credentials with the Basic scheme".to_string()
        } else {
            format!(
                "the scheme is '{}', not Basic",
                crate::error::echo(scheme, 20)
            )
        };
        return Err(OAuthError::auth_header_malformed(&why));
    }
    let encoded = rest.trim();
    if encoded.is_empty() {
        return Err(OAuthError::auth_header_malformed(
            "nothing follows 'Basic '",
        ));
    }
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| {
            OAuthError::auth_header_malformed(
                "the value after 'Basic ' is not valid base64 (did you send client_id:client_secret without encoding it?)",
            )
        })?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| OAuthError::auth_header_malformed("the decoded value is not UTF-8"))?;
    let Some((id, secret)) = decoded.split_once(':') else {
        return Err(OAuthError::auth_header_malformed(
            "the decoded value has no colon; it must be client_id:client_secret",
        ));
    };
    // RFC 6749 §2.3.1: both parts are form-encoded before base64.
    let id = percent_decode(id);
    if id.is_empty() {
        return Err(OAuthError::auth_header_malformed(
            "the client id before the colon is empty",
        ));
    }
    Ok((id, Secret::new(percent_decode(secret))))
}

/// Three base64url parts, the first a JSON object (`eyJ`): a JWT.
fn looks_like_jwt(value: &str) -> bool {
    value.starts_with("eyJ") && value.split('.').count() == 3
}

fn percent_decode(s: &str) -> String {
    if s.contains('%') {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Code;

    fn basic(s: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(s)).into_bytes()
    }

    #[test]
    fn basic_with_empty_secret_is_read() {
        let a = ClientAuth::read(Some(&basic("abc:")), &Params::default()).unwrap();
        assert_eq!(
            a,
            ClientAuth::Basic {
                client_id: "abc".into(),
                secret: Secret::new("")
            }
        );
    }

    #[test]
    fn malformations_have_their_own_code() {
        for h in [
            b"Bearer xyz".to_vec(),
            b"Basic !!!".to_vec(),
            basic("nocolon"),
            b"Basic".to_vec(),
            basic(":secret"),
        ] {
            let e = ClientAuth::read(Some(&h), &Params::default()).unwrap_err();
            assert_eq!(e.code, Code::AuthHeaderMalformed, "{}", e.description);
        }
    }

    #[test]
    fn mismatch_and_double_auth() {
        let p = Params::parse(b"client_id=other").unwrap();
        assert_eq!(
            ClientAuth::read(Some(&basic("abc:s")), &p)
                .unwrap_err()
                .code,
            Code::ClientIdMismatch
        );
        let p = Params::parse(b"client_secret=s").unwrap();
        assert_eq!(
            ClientAuth::read(Some(&basic("abc:s")), &p)
                .unwrap_err()
                .code,
            Code::MultipleClientAuth
        );
        let p = Params::parse(b"client_id=abc").unwrap();
        assert!(ClientAuth::read(Some(&basic("abc:s")), &p).is_ok());
    }

    #[test]
    fn body_forms() {
        let p = Params::parse(b"client_id=abc&client_secret=s").unwrap();
        assert_eq!(
            ClientAuth::read(None, &p).unwrap().method(),
            "client_secret_post"
        );
        let p = Params::parse(b"client_id=abc").unwrap();
        assert_eq!(ClientAuth::read(None, &p).unwrap().method(), "none");
        assert_eq!(
            ClientAuth::read(None, &Params::default()).unwrap(),
            ClientAuth::Absent
        );
    }
}
