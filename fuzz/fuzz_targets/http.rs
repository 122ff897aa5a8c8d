//! Whole requests to every endpoint through the HTTP application: any
//! method, path suffix, query, headers and body. Nothing answers 5xx, every
//! error is the catalog's, nothing is reflected as markup.
//!
//! Input: two selector bytes (method, endpoint), then text shaped like a
//! request without its request line: `path suffix and query \n headers
//! (Name: value, one a line) \n\n body`. Placeholders of `Fixture::fill`
//! (`$BASIC`, `$ACCESS`, `$CREDENTIAL`, …) are replaced; `$ADMIN` (the admin
//! token) only on GET, so the admin API is read but never grows the store.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use grantd_fuzz::{fixture, ADMIN_TOKEN};
use libfuzzer_sys::fuzz_target;

const METHODS: &[&str] = &["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];

const PATHS: &[&str] = &[
    "/oauth/token",
    "/restapi/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/authorize",
    "/oauth/authorize/login",
    "/oauth/authorize/consent",
    "/oauth/authorize/signout",
    "/oauth/userinfo",
    "/restapi/v1.0/account/~/extension/~",
    "/oauth/jwks",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/docs/errors",
    "/docs/errors/",
    "/healthz",
    "/readyz",
    "/admin/v1/apps",
    "/admin/v1/users",
    "/admin/v1/accounts",
    "/admin/v1/jwt-credentials/",
    "/admin/v1/openapi.json",
    "/assets/grantd.css",
    "/",
];

fuzz_target!(|data: &[u8]| {
    let [m, p, rest @ ..] = data else {
        return;
    };
    let f = fixture();
    let method = METHODS[*m as usize % METHODS.len()];
    let path = PATHS[*p as usize % PATHS.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut text = f.fill(text);
    if method == "GET" {
        text = text.replace("$ADMIN", ADMIN_TOKEN);
    }
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.split('\n');
    let suffix = lines.next().unwrap_or("");
    let Ok(uri) = format!("{path}{suffix}").parse::<axum::http::Uri>() else {
        return;
    };
    let mut req = Request::builder().method(method).uri(uri);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) else {
            continue;
        };
        // The router is below hyper, which owns the framing headers.
        if name == "content-length" || name == "transfer-encoding" || name == "host" {
            continue;
        }
        req = req.header(name, value);
    }
    let Ok(req) = req.body(Body::from(body.to_string())) else {
        return;
    };
    f.send(req).check();
});
