//! The URIs an app registers for logout (OpenID Connect RP-Initiated and
//! Back-Channel Logout 1.0) and for resource indicators (RFC 8707): each
//! checked on registration and, for `resource`, on every request.

use crate::redirect_uri::is_loopback;

/// The longest URI grantd registers or accepts as a resource.
pub const MAX_LEN: usize = 2000;
/// Most URIs an app lists in each of these settings.
pub const MAX_URIS: usize = 20;

fn absolute(value: &str) -> Result<url::Url, String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.len() > MAX_LEN {
        return Err(format!(
            "it is {} characters long; at most {MAX_LEN} are accepted",
            value.len()
        ));
    }
    let url = url::Url::parse(value).map_err(|e| format!("it is not an absolute URI ({e})"))?;
    if url.fragment().is_some() {
        return Err("it has a fragment (#…), which is not allowed".into());
    }
    if matches!(url.scheme(), "http" | "https") && url.host().is_none() {
        return Err("it has no host".into());
    }
    Ok(url)
}

/// A `resource` (RFC 8707 §2): an absolute URI without a fragment. Compared
/// as sent, so registration and requests must spell it alike.
pub fn resource(value: &str) -> Result<String, String> {
    absolute(value).map(|_| value.to_string())
}

/// A `post_logout_redirect_uri` to register: an absolute URI without a
/// fragment or user info; requests must then send it exactly.
pub fn post_logout_redirect_uri(value: &str) -> Result<String, String> {
    let url = absolute(value)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it has user info (user:password@), which is not allowed".into());
    }
    Ok(value.to_string())
}

/// A `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2): https, or
/// http for a loopback host; no fragment.
pub fn backchannel_logout_uri(value: &str) -> Result<String, String> {
    let url = absolute(value)?;
    match url.scheme() {
        "https" => Ok(value.to_string()),
        "http" if is_loopback(&url) => Ok(value.to_string()),
        "http" => Err(
            "http is accepted only for a loopback host (127.0.0.1, ::1, localhost): logout tokens go over https".into(),
        ),
        other => Err(format!(
            "its scheme is '{}'; use https",
            crate::error::sanitize(other, 20)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_absolute_without_fragments() {
        assert!(resource("https://api.example.com/").is_ok());
        assert!(resource("urn:example:api").is_ok());
        assert!(resource("/relative").is_err());
        assert!(resource("https://api.example.com/#x").is_err());
        assert!(resource("").is_err());
    }

    #[test]
    fn backchannel_uris_are_https_or_loopback() {
        assert!(backchannel_logout_uri("https://rp.example.com/bc").is_ok());
        assert!(backchannel_logout_uri("http://127.0.0.1:9000/bc").is_ok());
        assert!(backchannel_logout_uri("http://rp.example.com/bc").is_err());
        assert!(backchannel_logout_uri("ftp://rp.example.com/bc").is_err());
    }

    #[test]
    fn post_logout_uris_refuse_user_info() {
        assert!(post_logout_redirect_uri("https://rp.example.com/bye").is_ok());
        assert!(post_logout_redirect_uri("https://u:p@rp.example.com/bye").is_err());
    }
}
