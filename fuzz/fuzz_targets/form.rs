//! The token endpoint's input: the form body, client authentication from the
//! Authorization header and the body, the shared token request, the
//! credentials-in-query check and the password grant's username.
//! Input: `Authorization header value \n body`; no newline: body only.
#![no_main]

use grantd_core::users::Login;
use grantd_fuzz::{check, check_error, split};
use grantd_protocol::form::{
    forbidden_in_query, max_value_len, MAX_NAME_LEN, MAX_PARAMS, TOKEN_PARAM_QUERY_FORBIDDEN,
    TOKEN_QUERY_FORBIDDEN,
};
use grantd_protocol::{ClientAuth, Params, TokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = split(data, b'\n');
    let (header, body) = match rest {
        Some(body) => (Some(first), body),
        None => (None, first),
    };

    if let Ok(q) = std::str::from_utf8(body) {
        for found in forbidden_in_query(Some(q), TOKEN_QUERY_FORBIDDEN) {
            assert!(TOKEN_QUERY_FORBIDDEN.contains(&found));
        }
        let _ = forbidden_in_query(Some(q), TOKEN_PARAM_QUERY_FORBIDDEN);
    }

    let Some(params) = check(Params::parse(body)) else {
        // Even a refused body is answered from its headers alone.
        if let Some(h) = header {
            let _ = check(ClientAuth::read(Some(h), &Params::default()));
        }
        return;
    };
    // What the parser promises: unique names, no empty values, the caps.
    let names: Vec<&str> = params.names().collect();
    assert!(names.len() <= MAX_PARAMS);
    for (i, n) in names.iter().enumerate() {
        assert!(!n.is_empty() && n.len() <= MAX_NAME_LEN);
        assert!(!names[..i].contains(n), "duplicate {n}");
        let v = params.get(n).expect("named parameter");
        assert!(!v.is_empty() && v.len() <= max_value_len(n));
    }

    if let Some(auth) = check(ClientAuth::read(header, &params)) {
        match &auth {
            ClientAuth::Basic { client_id, .. } => {
                assert!(header.is_some() && !client_id.is_empty());
                if let Some(b) = params.get("client_id") {
                    assert_eq!(b, client_id);
                }
                assert!(!params.contains("client_secret"));
            }
            ClientAuth::Post { client_id, .. } | ClientAuth::None { client_id } => {
                assert!(header.is_none());
                assert_eq!(params.get("client_id"), Some(client_id.as_str()));
            }
            ClientAuth::Assertion { client_id, .. } => {
                // Never combined with another method; the id is the body's
                // or the assertion's issuer.
                assert!(header.is_none() && !params.contains("client_secret"));
                assert!(params.contains("client_assertion") && !client_id.is_empty());
                if let Some(b) = params.get("client_id") {
                    assert_eq!(b, client_id);
                }
            }
            ClientAuth::Absent => assert!(header.is_none() && !params.contains("client_id")),
        }
        // Secrets never print (unless the client id itself holds the text).
        let shown = format!("{auth:?}");
        if let Some(s) = params.get("client_secret").filter(|s| s.len() > 12) {
            let in_id = auth.client_id().is_some_and(|id| id.contains(s));
            assert!(in_id || !shown.contains(s), "{shown}");
        }
    }

    if let Some(req) = check(TokenRequest::read(&params)) {
        if let Some(scope) = &req.scope {
            assert!(scope.iter().all(|s| !s.is_empty()));
        }
        if let Some(e) = &req.issue.endpoint_id {
            assert!(e.len() <= 64);
        }
    }

    if let Some(username) = params.get("username") {
        match Login::parse(username, params.get("extension")) {
            Ok(Login::Phone { phone, .. }) => {
                assert!(phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit()))
            }
            Ok(Login::Email(e)) => assert!(e.contains('@')),
            Err(e) => check_error(&e),
        }
    }
});
