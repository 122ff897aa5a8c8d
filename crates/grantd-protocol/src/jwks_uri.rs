//! An app's `jwks_uri` (RFC 7591 §2): where it publishes the public keys of
//! its `private_key_jwt` assertions. https only, but for loopback hosts.

use crate::redirect_uri::is_loopback;
use crate::OAuthError;

/// The longest `jwks_uri` grantd registers.
pub const MAX_LEN: usize = 2000;

/// Checks a `jwks_uri` for registration; returns it as it is stored (the
/// URL serialized, so the cache meets one spelling of it).
pub fn parse(value: &str) -> Result<String, OAuthError> {
    let value = value.trim();
    let refuse = |why: &str| Err(OAuthError::jwks_uri_invalid(&shown(value), why));
    if value.is_empty() {
        return refuse("it is empty (send null to remove it)");
    }
    if value.len() > MAX_LEN {
        return refuse(&format!(
            "it is {} characters long; grantd takes at most {MAX_LEN}",
            value.len()
        ));
    }
    let url = match url::Url::parse(value) {
        Ok(u) => u,
        Err(e) => return refuse(&format!("it is not an absolute URL ({e})")),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return refuse("http is accepted only for a loopback host (127.0.0.1, ::1, localhost): keys fetched over plain http could be swapped on the way")
        }
        other => {
            return refuse(&format!(
                "its scheme is '{}'; grantd fetches keys over https",
                crate::error::sanitize(other, 20)
            ))
        }
    }
    if url.host().is_none() {
        return refuse("it names no host");
    }
    if url.fragment().is_some() {
        return refuse("it has a fragment (#…), which is never sent to the server");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("it holds a user name or password; publish the keys where they can be read without one (they are public)");
    }
    Ok(url.to_string())
}

/// Whether grantd may fetch `url` (a jwks_uri or where one redirects):
/// https, or http to a loopback host.
pub fn fetchable(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url),
        _ => false,
    }
}

/// The URI as grantd shows it in messages and logs: without its query,
/// which may carry something meant for the key server alone.
pub fn shown(uri: &str) -> String {
    match uri.split_once('?') {
        Some((base, _)) => format!("{base}?..."),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn https_and_loopback_http_are_taken() {
        assert_eq!(
            parse(" https://app.example.com/jwks.json ").unwrap(),
            "https://app.example.com/jwks.json"
        );
        assert_eq!(
            parse("HTTPS://App.Example.com").unwrap(),
            "https://app.example.com/"
        );
        for ok in [
            "http://127.0.0.1:8080/jwks",
            "http://[::1]:9/k",
            "http://localhost/k",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_rest_is_refused_naming_why() {
        for (bad, says) in [
            ("http://app.example.com/jwks", "loopback"),
            ("ftp://app.example.com/jwks", "scheme"),
            ("/jwks.json", "absolute"),
            ("https://app.example.com/jwks#k1", "fragment"),
            ("https://user:pw@app.example.com/jwks", "password"),
            ("", "empty"),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, Code::JwksUriInvalid, "{bad}");
            assert!(e.description.contains(says), "{bad}: {}", e.description);
        }
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_LEN));
        assert!(parse(&long)
            .unwrap_err()
            .description
            .contains("at most 2000"));
    }

    #[test]
    fn redirects_are_followed_only_to_https_or_loopback() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(fetchable(&u("https://cdn.example.com/k")));
        assert!(fetchable(&u("http://127.0.0.1/k")));
        assert!(!fetchable(&u("http://cdn.example.com/k")));
        assert!(!fetchable(&u("file:///etc/passwd")));
    }

    #[test]
    fn the_query_is_not_shown() {
        assert_eq!(
            shown("https://a.example/k?sig=abc"),
            "https://a.example/k?..."
        );
        assert_eq!(shown("https://a.example/k"), "https://a.example/k");
    }
}
