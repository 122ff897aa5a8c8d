//! Cookie headers where the server reads them: the authorization endpoint
//! and the sign-in, consent and sign-out forms (browser session and CSRF
//! cookies), through the whole HTTP application.
//!
//! Input: a selector byte, then `Cookie values (NUL between headers) \n
//! query or form`. The selector picks the page, whether a valid
//! authorization request comes first, and whether the client asks for HTML.
//! `$WEB`, `$SESSION` and the other placeholders of `Fixture::fill` are
//! replaced.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use grantd_fuzz::{fixture, split};
use libfuzzer_sys::fuzz_target;

const PAGES: &[(&str, &str)] = &[
    ("GET", "/oauth/authorize"),
    ("POST", "/oauth/authorize/login"),
    ("POST", "/oauth/authorize/consent"),
    ("POST", "/oauth/authorize/signout"),
    ("POST", "/oauth/authorize"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let (method, path) = PAGES[sel as usize % PAGES.len()];
    let with_request = sel & 0x40 == 0;
    let html = sel & 0x80 == 0;

    let text = String::from_utf8_lossy(rest);
    let filled = f.fill(&text);
    // Invalid UTF-8 in a cookie is kept as sent.
    let bytes: &[u8] = if std::str::from_utf8(rest).is_ok() {
        filled.as_bytes()
    } else {
        rest
    };
    let (cookies, params) = split(bytes, b'\n');
    let params = params.unwrap_or_default();
    let base = format!(
        "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid+ReadAccounts&state=xyz",
        f.web_app.client_id
    );
    let mut form = Vec::new();
    if with_request {
        form.extend_from_slice(base.as_bytes());
        if !params.is_empty() {
            form.push(b'&');
        }
    }
    form.extend_from_slice(params);

    let mut req = Request::builder().method(method);
    req = if method == "GET" {
        // Bytes a URI cannot hold are percent-encoded, as a browser would.
        let query: String = form
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() && b != b'#' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        req.uri(format!("{path}?{query}"))
    } else {
        req.uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
    };
    if html {
        req = req.header("accept", "text/html,application/xhtml+xml");
    }
    for c in cookies.split(|b| *b == 0) {
        if let Ok(v) = axum::http::HeaderValue::from_bytes(c) {
            req = req.header("cookie", v);
        }
    }
    let body = if method == "GET" { Vec::new() } else { form };
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };
    f.send(req).check();
});
