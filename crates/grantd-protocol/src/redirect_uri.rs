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
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        {
            return bad(
                "it contains white space, control or non-ASCII characters (percent-encode them)",
            );
        }
        if value.contains('#') {
            return bad("it has a fragment (#…), which RFC 6749 §3.1.2 forbids");
        }
        if value.contains('*') {
            return bad("it contains a wildcard (*); redirect URIs are matched exactly, so register each one in full");
        }
        let Ok(url) = url::Url::parse(value) else {
            return bad("it is not an absolute URI (scheme, host, a port of at most 65535, path)");
        };
        match url.scheme() {
            "https" | "http" => {
                // WHATWG parsing forgives "https:///host" and "https:\\host"; a registration must not.
                let rest = &value[url.scheme().len()..];
                if !rest.starts_with("://") || rest[3..].starts_with('/') || rest.contains('\\') {
                    return bad("an http(s) URI must have a host (https://host/path)");
                }
                if !url.username().is_empty() || url.password().is_some() || value.contains('@') {
                    return bad("it contains user information (user@host)");
                }
                if url.host().is_none() {
                    return bad("it has no host");
                }
                if url.scheme() == "http" && !is_loopback(&url) {
                    return bad("http is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https");
                }
            }
            "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
                return bad("this scheme cannot be a redirect target");
            }
            // A private-use scheme for native apps (RFC 8252 §7.1): com.example.app:/callback
            _ if url.path().is_empty() && url.host().is_none() => {
                return bad("it has nothing after the scheme")
            }
            _ => {}
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this URI is http on a loopback host (RFC 8252 §7.3: the port may vary).
    pub fn is_loopback(&self) -> bool {
        url::Url::parse(&self.0).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u))
    }

    /// Whether `sent` names this redirect URI: the same string, or for a
    /// loopback URI the same scheme, host, path and query on any port.
    pub fn matches(&self, sent: &str) -> bool {
        if self.0 == sent {
            return true;
        }
        if !self.is_loopback() || RedirectUri::parse(sent).is_err() {
            return false;
        }
        match (url::Url::parse(&self.0), url::Url::parse(sent)) {
            (Ok(a), Ok(b)) => {
                b.scheme() == "http"
                    && b.username().is_empty()
                    && b.password().is_none()
                    && a.host() == b.host()
                    && a.path() == b.path()
                    && a.query() == b.query()
            }
            _ => false,
        }
    }

    /// The web origin (`scheme://host[:port]`, as browsers send it in
    /// `Origin`) of an http(s) URI; `None` for a private-use scheme.
    pub fn web_origin(&self) -> Option<String> {
        url::Url::parse(&self.0)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .map(|u| u.origin().ascii_serialization())
    }

    /// Where a browser sent to this URI goes, for a Content-Security-Policy
    /// source: `scheme://host:port`, or `scheme:` for a private-use scheme.
    /// A host that a source expression cannot hold (`ws:a;script-src` keeps
    /// `;` in its host) gives `'none'`, so it cannot end the directive.
    pub fn csp_source(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(u) if u.host().is_some() => {
                let origin = u.origin().ascii_serialization();
                if origin
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:/[]".contains(c))
                {
                    origin
                } else {
                    "'none'".into()
                }
            }
            Ok(u) => format!("{}:", u.scheme()),
            Err(_) => "'none'".into(),
        }
    }
}

/// An origin as an app registers it for CORS: `http(s)://host[:port]`, with
/// no path, query, fragment or user info; answered in the form browsers send
/// in `Origin` (lowercase host, default port left out), or why it is not one.
pub fn parse_origin(value: &str) -> Result<String, String> {
    let shown = crate::error::sanitize(value, 100);
    let u = url::Url::parse(value.trim())
        .map_err(|_| format!("'{shown}' is not an origin; write it as https://app.example.com"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(format!(
            "'{shown}' is not an origin: browsers send http or https origins; write it as https://app.example.com"
        ));
    }
    if u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return Err(format!(
            "'{shown}' has a path, query or user info; an origin is only scheme://host[:port], e.g. {}",
            u.origin().ascii_serialization()
        ));
    }
    Ok(u.origin().ascii_serialization())
}

/// 127.0.0.0/8, ::1, or exactly `localhost`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
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
            "http://127.attacker.example/cb",
            "http://127.0.0.1:99999999/cb",
            "https://app.example.com:abc/cb",
            "https://app.exämple.com/cb",
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
    fn loopback_ports_may_vary_and_nothing_else() {
        let r = RedirectUri::parse("http://127.0.0.1:8000/cb").unwrap();
        assert!(r.matches("http://127.0.0.1:51234/cb"));
        assert!(r.matches("http://127.0.0.1/cb"));
        assert!(!r.matches("http://127.0.0.1:8000/cb/"));
        assert!(!r.matches("http://localhost:8000/cb"));
        assert!(!r.matches("http://127.0.0.1:1@evil.example/cb"));
        assert!(!r.matches("http://127.0.0.1:1;x@evil.example/cb"));
        assert!(!r.matches("http://127.0.0.1:8000/cb?x=1"));
        let r = RedirectUri::parse("https://app.example.com/cb").unwrap();
        assert!(!r.matches("https://app.example.com:444/cb"));
        assert_eq!(r.csp_source(), "https://app.example.com");
        assert_eq!(
            RedirectUri::parse("com.example.app:/cb")
                .unwrap()
                .csp_source(),
            "com.example.app:"
        );
    }

    #[test]
    fn csp_sources_cannot_end_the_directive() {
        // Special schemes other than http(s) keep `;`, `,` and `"` in their
        // host; the CSP source must not carry them into the header.
        for uri in [
            "ws:a;script-src",
            "wss:x\"y",
            "ftp:a,b",
            "ws:'unsafe-inline'",
        ] {
            let r = RedirectUri::parse(uri).expect(uri);
            assert_eq!(r.csp_source(), "'none'", "{uri}");
        }
        assert_eq!(
            RedirectUri::parse("wss://app.example.com/cb")
                .unwrap()
                .csp_source(),
            "wss://app.example.com"
        );
        assert_eq!(
            RedirectUri::parse("http://[::1]:9000/cb")
                .unwrap()
                .csp_source(),
            "http://[::1]:9000"
        );
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
