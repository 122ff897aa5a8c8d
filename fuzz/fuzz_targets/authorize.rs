//! The authorization request as the query string (or form) carries it, its
//! scopes and PKCE challenge, and the round trip through the sign-in form's
//! hidden fields.
#![no_main]

use grantd_fuzz::check;
use grantd_protocol::authorize::{check_challenge, AuthorizeRequest, PkceMethod};
use grantd_protocol::Params;
use libfuzzer_sys::fuzz_target;

const TOKEN_ENDPOINT: &str = "http://127.0.0.1:8080/oauth/token";

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        let _ = check(Params::parse(data));
        return;
    };
    let Some(params) = check(Params::parse_query(Some(query))) else {
        return;
    };
    let Some(req) = check(AuthorizeRequest::read(&params, TOKEN_ENDPOINT)) else {
        return;
    };
    assert!(!(req.prompt.none && (req.prompt.login || req.prompt.consent)));
    if let Some(scopes) = check(req.scopes()).flatten() {
        let again = grantd_protocol::Scopes::parse(&scopes.to_string()).expect("scopes reparse");
        assert_eq!(again, scopes);
    }
    if let Some(challenge) = &req.code_challenge {
        for method in [PkceMethod::S256, PkceMethod::Plain] {
            if check(check_challenge(challenge, method)).is_some() {
                assert!(challenge.len() >= 43 && challenge.len() <= 128 && challenge.is_ascii());
            }
        }
    }
    if let Some(m) = &req.code_challenge_method {
        if let Some(p) = PkceMethod::parse(m) {
            assert_eq!(p.as_str(), m);
        }
    }

    // The sign-in and consent pages carry the request in hidden fields; what
    // comes back must read as the same request.
    let pairs = req.to_pairs();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let params = Params::parse(body.as_bytes()).expect("hidden fields reparse");
    let again = AuthorizeRequest::read(&params, TOKEN_ENDPOINT).expect("hidden fields reread");
    assert_eq!(again.client_id, req.client_id);
    assert_eq!(again.redirect_uri, req.redirect_uri);
    assert_eq!(again.state, req.state);
    assert_eq!(again.scope, req.scope);
    assert_eq!(again.nonce, req.nonce);
    assert_eq!(again.code_challenge, req.code_challenge);
    assert_eq!(again.code_challenge_method, req.code_challenge_method);
    assert_eq!(again.max_age, req.max_age);
    assert_eq!(again.prompt.none, req.prompt.none);
    assert_eq!(again.prompt.consent, req.prompt.consent);
});
