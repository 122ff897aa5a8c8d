//! Redirect URIs as apps register them: absolute, no fragment, no wildcard,
//! https except on loopback (RFC 9700 §2.1, RFC 8252 §7).

use crate::error::OAuthError;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_REDIRECT_URIS: usize = 10;

/// A redirect URI that passed registration rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        let bad = |reason: &str| Err(OAuthError::redirect_uri_invalid(value, reason));
        if value.len() > 2000 {
            return bad("it is longer than 2000 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("it contains white space or control characters");
        }
        if value.contains('#') {
            return bad("it has a fragment (#…), which RFC 6749 §3.1.2 forbids");
        }
        if value.contains('*') {
            return bad("it contains a wildcard (*); redirect URIs are matched exactly, so register each one in full");
        }
        let Some((scheme, rest)) = value.split_once(':') else {
            return bad("it is not an absolute URI (no scheme)");
        };
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return bad("its scheme is not valid");
        }
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "https" | "http" => {
                let Some(after) = rest.strip_prefix("//") else {
                    return bad("an http(s) URI must have a host (https://host/path)");
                };
                let authority = after.split(['/', '?']).next().unwrap_or("");
                if authority.contains('@') {
                    return bad("it contains user information (user@host)");
                }
                let host = host_of(authority);
                if host.is_empty() {
                    return bad("it has no host");
                }
                if scheme == "http" && !is_loopback(host) {
                    return bad("http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https");
                }
            }
            "javascript" | "data" | "file" | "vbscript" => {
                return bad("this scheme cannot be a redirect target");
            }
            _ => {
                // Private-use scheme for native apps (RFC 8252 §7.1): com.example.app:/callback
                if rest.is_empty() {
                    return bad("it has nothing after the scheme");
                }
            }
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this URI is on a loopback host (RFC 8252 §7.3: the port may vary).
    pub fn is_loopback(&self) -> bool {
        self.0
            .strip_prefix("http://")
            .map(|rest| is_loopback(host_of(rest.split(['/', '?']).next().unwrap_or(""))))
            .unwrap_or(false)
    }
}

fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6
            .split(']')
            .next()
            .map(|h| &authority[..h.len() + 2])
            .unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost" || h == "[::1]" || h.starts_with("127.")
}

/// Validates a list for registration.
pub fn parse_list(values: &[String]) -> Result<Vec<RedirectUri>, OAuthError> {
    if values.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::too_many_redirect_uris(
            values.len(),
            MAX_REDIRECT_URIS,
        ));
    }
    let mut out: Vec<RedirectUri> = Vec::with_capacity(values.len());
    for v in values {
        let uri = RedirectUri::parse(v)?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        RedirectUri::parse(&v).map_err(|e| e.description)
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> Self {
        r.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_ones() {
        for ok in [
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb?x=1",
            "http://127.0.0.1:8000/callback",
            "http://localhost/cb",
            "http://[::1]:9000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_ones() {
        for bad in [
            "/relative",
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "https://user@evil.com/cb",
            "https:///nohost",
            "",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn at_most_ten() {
        let v: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
        assert!(parse_list(&v).is_err());
        assert_eq!(parse_list(&v[..10]).unwrap().len(), 10);
    }

    #[test]
    fn loopback_detection() {
        assert!(RedirectUri::parse("http://127.0.0.1:1/x")
            .unwrap()
            .is_loopback());
        assert!(!RedirectUri::parse("https://127.0.0.1/x")
            .unwrap()
            .is_loopback());
    }
}
