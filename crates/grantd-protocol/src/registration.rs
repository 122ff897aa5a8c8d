//! What RFC 7591 says a self-registering client may send, read field by
//! field: the redirect URIs a self-registered client may have (https; for
//! native clients loopback http and private-use schemes, RFC 8252) and the
//! informational URLs (logo, home page, policies).

use crate::redirect_uri::{is_loopback, RedirectUri};
use crate::OAuthError;

/// What kind of redirect URI a client registered: what decides whether a
/// public client is a browser app or a native one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    Https,
    /// http on 127.0.0.1, [::1] or localhost (RFC 8252 §7.3).
    Loopback,
    /// `com.example.app:/callback` (RFC 8252 §7.1).
    PrivateUse,
}

impl RedirectKind {
    pub fn is_native(self) -> bool {
        !matches!(self, RedirectKind::Https)
    }
}

/// Schemes that can never take a browser to an app.
const NEVER: &[&str] = &[
    "javascript",
    "data",
    "file",
    "vbscript",
    "blob",
    "about",
    "ftp",
    "ws",
    "wss",
];

/// A redirect URI a self-registered client may register: `public` clients
/// (token_endpoint_auth_method `none`) are native or browser apps and may
/// use loopback http and private-use schemes; confidential ones https only.
pub fn redirect_uri(value: &str, public: bool) -> Result<(RedirectUri, RedirectKind), OAuthError> {
    let refuse = |why: &str| Err(OAuthError::registration_redirect_uri(value, why));
    if value.contains('#') {
        return refuse("it has a fragment (#…), which RFC 6749 §3.1.2 forbids; remove it");
    }
    if value.contains('*') {
        return refuse(
            "it contains a wildcard (*); redirect URIs are matched exactly, so register each one in full",
        );
    }
    let Ok(url) = url::Url::parse(value) else {
        return refuse("it is not an absolute URI (https://host/path, http://127.0.0.1/path or com.example.app:/path)");
    };
    let kind = match url.scheme() {
        "https" => RedirectKind::Https,
        "http" if is_loopback(&url) => {
            if !public {
                return refuse("loopback http URIs are for native apps, which register with token_endpoint_auth_method none; a confidential client registers https URIs");
            }
            RedirectKind::Loopback
        }
        "http" => {
            return refuse(
                "http is allowed only on a loopback host (127.0.0.1, [::1], localhost) for native apps; use https",
            )
        }
        scheme if NEVER.contains(&scheme) => {
            return refuse("this scheme cannot take the browser back to an app")
        }
        scheme => {
            if !public {
                return refuse("private-use schemes are for native apps, which register with token_endpoint_auth_method none; a confidential client registers https URIs");
            }
            if !scheme.contains('.') {
                return refuse("a private-use scheme must be a reverse domain name the app's publisher owns, such as com.example.app (RFC 8252 §7.1), so that apps do not claim each other's schemes");
            }
            RedirectKind::PrivateUse
        }
    };
    let uri = RedirectUri::parse(value).map_err(|e| {
        OAuthError::registration_redirect_uri(
            value,
            e.description
                .split_once(": ")
                .map_or("it is not a valid redirect URI", |(_, why)| why)
                .trim_end_matches('.'),
        )
    })?;
    Ok((uri, kind))
}

/// An informational URL of the client (`logo_uri`, `client_uri`,
/// `policy_uri`, `tos_uri`): absolute https (http for a loopback host),
/// at most 2,000 characters, no user information.
pub fn info_url(field: &'static str, value: &str) -> Result<String, OAuthError> {
    let refuse = |why: &str| Err(OAuthError::registration_metadata(field, why));
    if value.len() > 2000 {
        return refuse("it is longer than 2000 characters");
    }
    let Ok(url) = url::Url::parse(value) else {
        return refuse("it is not an absolute URL; send https://…");
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return refuse("it must be an https URL (pages shown to users are not loaded over plain http or other schemes)"),
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return refuse("it must name a host and no user information");
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn native_clients_get_loopback_and_private_use_schemes() {
        for (uri, kind) in [
            ("https://app.example.com/cb", RedirectKind::Https),
            ("http://127.0.0.1/cb", RedirectKind::Loopback),
            ("http://[::1]:8080/cb", RedirectKind::Loopback),
            ("http://localhost:3000/cb", RedirectKind::Loopback),
            ("com.example.app:/cb", RedirectKind::PrivateUse),
        ] {
            assert_eq!(redirect_uri(uri, true).unwrap().1, kind, "{uri}");
        }
        for uri in [
            "http://127.0.0.1/cb",
            "com.example.app:/cb",
            "http://app.example.com/cb",
        ] {
            let e = redirect_uri(uri, false).unwrap_err();
            assert_eq!(e.code, Code::RegistrationRedirectUri, "{uri}");
        }
        for uri in [
            "https://app.example.com/cb#x",
            "https://*.example.com/cb",
            "myapp:/cb",
            "javascript:alert(1)",
            "not a uri",
            "https://user@app.example.com/cb",
        ] {
            let e = redirect_uri(uri, true).unwrap_err();
            assert_eq!(
                e.code,
                Code::RegistrationRedirectUri,
                "{uri}: {}",
                e.description
            );
        }
    }

    #[test]
    fn info_urls_are_https() {
        assert!(info_url("logo_uri", "https://example.com/logo.png").is_ok());
        let e = info_url("logo_uri", "http://example.com/logo.png").unwrap_err();
        assert_eq!(e.code, Code::RegistrationMetadata);
        assert!(e.description.contains("logo_uri"));
    }
}
