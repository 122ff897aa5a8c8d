//! The admin API's JSON bodies, read by its own extractor (size cap, error
//! text without the input's values) into each request type; an app spec that
//! reads is then applied to a scratch app, through every registration rule.
//! The first byte picks the type.
#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use grantd_core::apps::AppSpec;
use grantd_core::credentials::CredentialSpec;
use grantd_core::model::UserStatus;
use grantd_core::users::{normalize_phone, Login, UserSpec};
use grantd_fuzz::{check, check_error, fixture, rt};
use grantd_server::admin::{NewAccount, UserPatch};
use grantd_server::extract::AdminJson;
use grantd_server::reject::Rejection;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn read<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let f = fixture();
    let req = Request::post("/admin/v1/x")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    match rt().block_on(AdminJson::<T>::from_request(req, &f.state)) {
        Ok(AdminJson(v)) => Some(v),
        Err(Rejection(e)) => {
            check_error(&e);
            // The description never quotes a string value of the body (it
            // could be a password).
            // Unknown field names are named; a value that is part of a
            // name is not told apart.
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
                let (mut values, mut keys) = (Vec::new(), Vec::new());
                strings(&v, &mut values, &mut keys);
                // Nor one that could be part of a field name serde lists
                // as expected (lower case and underscores).
                let in_a_key = |s: &str| keys.iter().any(|k| k.contains(s));
                let name_like = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                for s in values
                    .iter()
                    .filter(|s| s.len() >= 12 && !in_a_key(s) && !name_like(s))
                {
                    assert!(
                        !e.description.contains(s.as_str()),
                        "{s} echoed: {}",
                        e.description
                    );
                }
            }
            None
        }
    }
}

/// Every string value, and every key, in a JSON document.
fn strings(v: &serde_json::Value, values: &mut Vec<String>, keys: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => values.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, values, keys)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            keys.push(k.clone());
            strings(x, values, keys)
        }),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let f = fixture();
    match which % 5 {
        0 => {
            if let Some(spec) = read::<AppSpec>(body) {
                let r = rt().block_on(f.grantd.update_app(&f.scratch_app.client_id, spec));
                if let Some(app) = check(r) {
                    assert!(app.grants.iter().all(|g| app.platform_type.allows(*g)));
                    assert!(!app.grants.is_empty());
                    assert!(app.redirect_uris.len() <= 10);
                    assert_eq!(app.client_id, f.scratch_app.client_id);
                }
            }
        }
        1 => {
            if let Some(spec) = read::<UserSpec>(body) {
                if let Some(p) = &spec.phone {
                    if let Some(n) = normalize_phone(p) {
                        assert!(n.len() <= 16 && n.starts_with('+'));
                    }
                }
                if let Some(e) = &spec.email {
                    check(Login::parse(e, spec.extension_number.as_deref()));
                }
                assert!(!format!("{spec:?}").contains("password: Some(\""));
            }
        }
        2 => {
            let _ = read::<CredentialSpec>(body);
        }
        3 => {
            let _ = read::<NewAccount>(body);
        }
        _ => {
            if let Some(p) = read::<UserPatch>(body) {
                if let Some(status) = &p.status {
                    if let Some(s) = UserStatus::parse(status) {
                        assert_eq!(s.as_str(), status);
                    }
                }
            }
        }
    }
});
