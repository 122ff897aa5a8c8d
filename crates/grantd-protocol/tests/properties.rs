//! Property tests for everything that reads bytes from the network: no input
//! makes a parser panic, and what parses obeys the rules.

use grantd_protocol::authorize::AuthorizeRequest;
use grantd_protocol::form::{forbidden_in_query, TOKEN_QUERY_FORBIDDEN};
use grantd_protocol::requests::{GrantRequest, TokenExchangeRequest};
use grantd_protocol::{ClientAuth, Params, RedirectUri, Scopes, TokenRequest};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn form_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(p) = Params::parse(&body) {
            // Names are unique and no value is empty.
            let names: Vec<&str> = p.names().collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), names.len());
            for n in names {
                prop_assert!(!p.get(n).unwrap_or_default().is_empty());
            }
            let _ = TokenRequest::read(&p);
            let _ = TokenExchangeRequest::read(&p);
            let _ = AuthorizeRequest::read(&p, "https://as/oauth/token");
            let _ = ClientAuth::read(None, &p);
        }
    }

    #[test]
    fn form_like_bodies_never_panic(body in "[a-z_=&%0-9A-F+.~*-]{0,200}") {
        if let Ok(p) = Params::parse(body.as_bytes()) {
            let _ = TokenRequest::read(&p);
            let _ = TokenExchangeRequest::read(&p);
            let _ = AuthorizeRequest::read(&p, "t");
        }
        let _ = forbidden_in_query(Some(&body), TOKEN_QUERY_FORBIDDEN);
    }

    #[test]
    fn token_exchange_types_never_panic(
        subject_type in "(urn:ietf:params:oauth:token-type:)?[a-z_0-9]{0,20}",
        actor in proptest::option::of("(urn:ietf:params:oauth:token-type:)?[a-z_0-9]{0,20}"),
        requested in proptest::option::of("(urn:ietf:params:oauth:token-type:)?[a-z_0-9]{0,20}"),
    ) {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("subject_token", "t").append_pair("subject_token_type", &subject_type);
        if let Some(a) = &actor {
            body.append_pair("actor_token", "a").append_pair("actor_token_type", a);
        }
        if let Some(r) = &requested {
            body.append_pair("requested_token_type", r);
        }
        if let Ok(p) = Params::parse(body.finish().as_bytes()) {
            if let Ok(r) = TokenExchangeRequest::read(&p) {
                // A refresh token is never read as one to exchange.
                prop_assert!(r.subject.token_type != grantd_protocol::requests::TokenType::RefreshToken);
                prop_assert!(r.actor.is_none_or(|a| a.token_type != grantd_protocol::requests::TokenType::RefreshToken));
            }
        }
    }

    #[test]
    fn authorization_headers_never_panic(header in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = ClientAuth::read(Some(&header), &Params::default());
    }

    #[test]
    fn basic_credentials_round_trip(id in "[A-Za-z0-9]{1,40}", secret in "[A-Za-z0-9_-]{0,64}") {
        use base64::Engine;
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")));
        match ClientAuth::read(Some(header.as_bytes()), &Params::default()) {
            Ok(ClientAuth::Basic { client_id, secret: s }) => {
                prop_assert_eq!(client_id, id);
                prop_assert_eq!(s.expose(), secret.as_str());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn redirect_uris_never_panic_and_accepted_ones_are_safe(uri in "\\PC{0,120}") {
        if let Ok(r) = RedirectUri::parse(&uri) {
            prop_assert!(!r.as_str().contains('#'));
            prop_assert!(!r.as_str().contains('*'));
            prop_assert!(!r.as_str().starts_with("javascript:"));
        }
    }

    #[test]
    fn scopes_parse_to_printable_names(s in "\\PC{0,80}") {
        if let Ok(scopes) = Scopes::parse(&s) {
            for name in scopes.iter() {
                prop_assert!(name.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'));
            }
            // Display and parse agree.
            prop_assert_eq!(Scopes::parse(&scopes.to_string()).unwrap(), scopes);
        }
    }
}
