//! Cross-origin requests from browser apps (CORS): which paths answer them,
//! whether a page's origin is allowed (the apps' origin index and the
//! server's `cors.allowed_origins`), preflights, and the response headers.
//! The admin API never answers a cross-origin request.

use crate::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// What the edge does with a request, as far as CORS goes.
pub enum Cors {
    /// No `Origin`, the same origin, or a path browsers do not call cross-origin.
    NotCross,
    /// An `OPTIONS` preflight for a path that answers cross-origin.
    Preflight { origin: HeaderValue, allowed: bool },
    /// A cross-origin request for a path that answers cross-origin.
    Actual { origin: HeaderValue, allowed: bool },
    /// A page of another origin calling the admin API.
    Admin { origin: String },
}

/// The headers a page may read from grantd's answers: the rate-limit
/// headers the RingCentral SDKs pace themselves by, the request ids, and
/// what tells a client why it was refused or that a feature is retiring.
pub const EXPOSE_HEADERS: &str = "Retry-After, X-Rate-Limit-Group, X-Rate-Limit-Limit, \
     X-Rate-Limit-Remaining, X-Rate-Limit-Window, RCRequestId, X-Request-Id, WWW-Authenticate, \
     Deprecation, Sunset, X-Error-Code";

/// Seconds a browser may keep a preflight's answer.
const MAX_AGE: u32 = 600;

/// Paths a browser app calls from its pages: the OAuth endpoints that take
/// a token or a client (not the authorization pages, which are navigated
/// to) and grantd's API resources under `/restapi`.
pub fn applies(path: &str) -> bool {
    if let Some(rest) = path.strip_prefix("/restapi/") {
        return !rest.starts_with("oauth/authorize");
    }
    matches!(
        path,
        "/oauth/token" | "/oauth/revoke" | "/oauth/introspect" | "/oauth/userinfo"
    ) || is_public_document(path)
}

/// What every origin may call: the documents anyone may read (keys and
/// metadata, the protected resource metadata of RFC 9728), and the
/// registration endpoint (RFC 7591), which a client not yet registered
/// (an MCP client in a page) calls before any app could allow its origin;
/// it reads no cookie, and an initial access token is in the request itself.
fn is_public_document(path: &str) -> bool {
    matches!(
        path,
        "/oauth/jwks"
            | "/restapi/oauth/jwks"
            | "/.well-known/openid-configuration"
            | "/.well-known/oauth-authorization-server"
            | "/.well-known/oauth-protected-resource"
            | "/.well-known/oauth-protected-resource/restapi"
            | "/oauth/register"
            | "/restapi/oauth/register"
    )
}

/// Whether `origin` is the server's own (a same-origin request sends
/// `Origin` too): the issuer's origin, or the `Host` the request was sent to.
fn same_origin(s: &AppState, origin: &str, headers: &HeaderMap) -> bool {
    if origin == issuer_origin(s.issuer()) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

fn issuer_origin(issuer: &str) -> &str {
    let start = issuer.find("://").map_or(0, |i| i + 3);
    match issuer[start..].find('/') {
        Some(i) => &issuer[..start + i],
        None => issuer,
    }
}

pub fn classify(s: &AppState, req: &Request) -> Cors {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Cors::NotCross;
    };
    let Ok(text) = origin.to_str() else {
        return Cors::NotCross;
    };
    if same_origin(s, text, req.headers()) {
        return Cors::NotCross;
    }
    let path = req.uri().path();
    if path == "/admin" || path.starts_with("/admin/") {
        return Cors::Admin {
            origin: text.to_string(),
        };
    }
    if !applies(path) {
        return Cors::NotCross;
    }
    let allowed =
        is_public_document(path) || s.cors_origins.contains(text) || s.grantd.origins.allows(text);
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        Cors::Preflight {
            origin: origin.clone(),
            allowed,
        }
    } else {
        Cors::Actual {
            origin: origin.clone(),
            allowed,
        }
    }
}

/// The answer to an allowed preflight: the method and headers the page
/// asked for, for this origin, with credentials.
pub fn preflight(origin: HeaderValue, req_headers: &HeaderMap) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    allow(h, origin);
    if let Some(m) = req_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m.clone());
    }
    if let Some(asked) = req_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE));
    h.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    res
}

/// Lets the page at `origin` read the answer (echoed, never `*`: the
/// RingCentral JS SDK sends credentials).
pub fn allow(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

/// Answers vary by `Origin` on every path that answers cross-origin.
pub fn vary(h: &mut HeaderMap) {
    if !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_paths_answer_cross_origin_and_pages_do_not() {
        for p in [
            "/oauth/token",
            "/restapi/oauth/token",
            "/restapi/oauth/revoke",
            "/restapi/oauth/wstoken",
            "/restapi/v1.0/account/~/extension/~",
            "/restapi/v1.0/client-info",
            "/oauth/jwks",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-protected-resource",
            "/oauth/register",
        ] {
            assert!(applies(p), "{p}");
        }
        for p in [
            "/oauth/authorize",
            "/restapi/oauth/authorize",
            "/oauth/authorize/login",
            "/admin/v1/apps",
            "/device",
            "/docs/errors",
        ] {
            assert!(!applies(p), "{p}");
        }
    }

    #[test]
    fn the_issuers_origin_leaves_out_its_path() {
        assert_eq!(
            issuer_origin("https://auth.example.com/tenant"),
            "https://auth.example.com"
        );
        assert_eq!(
            issuer_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
