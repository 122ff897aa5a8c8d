//! JWTs from the network: jwt-bearer assertions, bearer tokens presented to
//! the APIs, and tokens sent to introspection and revocation, through the
//! core's entry points on a real key ring.
//!
//! The first byte picks how the rest becomes a token:
//! - 0: the bytes as they are;
//! - 1: one of the fixture's real tokens with bytes spliced in;
//! - 2: `header JSON \0 payload JSON \0 signature`, each base64url-encoded
//!   here, so the fuzzer controls the header (alg, kid, typ) directly;
//! - 3: `typ \0 payload JSON` signed with the server's own key, to reach what
//!   happens after a signature verifies.
//!
//! In 2 and 3, `$ISS`, `$KID`, `$CLIENT`, `$USER`, `$AUD`, `$NOW` in the text
//! become the fixture's values. Whatever the input, nothing panics, errors
//! quote no markup, and a token this process did not sign is never accepted.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_fuzz::{check, check_error, fixture, rt, split, Fixture, ISSUER};
use libfuzzer_sys::fuzz_target;

fn placeholders(f: &Fixture, s: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    s.replace("$ISS", ISSUER)
        .replace("$KID", &f.kid)
        .replace("$CLIENT", &f.app.client_id)
        .replace("$USER", &f.user_id)
        .replace("$AUD", &format!("{ISSUER}/oauth/token"))
        .replace("$NOW", &now.to_string())
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (token, forged) = match mode % 4 {
        0 => match std::str::from_utf8(rest) {
            Ok(s) => (s.to_string(), true),
            Err(_) => return,
        },
        1 => {
            let Some((&which, rest)) = rest.split_first() else {
                return;
            };
            let all = f.tokens.all();
            let mut bytes = all[which as usize % all.len()].as_bytes().to_vec();
            let at = rest.first().map_or(0, |b| *b as usize) % (bytes.len() + 1);
            let insert = rest.get(1..).unwrap_or_default();
            let end = (at + insert.len()).min(bytes.len());
            bytes.splice(at..end, insert.iter().copied());
            match String::from_utf8(bytes) {
                Ok(s) => (s, false),
                Err(_) => return,
            }
        }
        2 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let text = placeholders(f, text);
            let (header, tail) = split(text.as_bytes(), 0);
            let (payload, sig) = split(tail.unwrap_or_default(), 0);
            let parts = [header, payload, sig.unwrap_or_default()];
            let token: Vec<String> = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect();
            (token.join("."), true)
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let text = placeholders(f, text);
            let (typ, payload) = split(text.as_bytes(), 0);
            let typ = std::str::from_utf8(typ).expect("split at ASCII");
            let Ok(claims) = serde_json::from_slice::<serde_json::Value>(payload.unwrap_or(b"{}"))
            else {
                return;
            };
            (f.grantd.keys.sign(typ, &claims), false)
        }
    };

    let now = f.grantd.now();
    for typ in ["JWT", "at+jwt", "id_token", ""] {
        let r = f
            .grantd
            .keys
            .verify::<serde_json::Value>(&token, typ, now, 60);
        assert!(
            !(forged && r.is_ok()),
            "accepted a forged token as {typ}: {token}"
        );
    }
    rt().block_on(async {
        let r = f
            .grantd
            .verify_assertion(&f.app, &grantd_protocol::Secret::new(token.clone()))
            .await;
        assert!(!(forged && r.is_ok()), "forged assertion accepted: {token}");
        check(r);
        let r = f
            .grantd
            .authenticate_bearer(Some(&token), &Default::default())
            .await;
        assert!(!(forged && r.is_ok()), "forged bearer accepted: {token}");
        check(r);
        match f.grantd.introspect(&f.app, &token).await {
            Ok(i) => assert!(!(forged && i.active), "forged token introspected active"),
            Err(e) => check_error(&e),
        }
        // Revocation changes the store, so only tokens that cannot be the
        // fixture's go there.
        if forged {
            if let Err(e) = f.grantd.revoke(&f.app, &token).await {
                check_error(&e);
            }
        }
    });
});
