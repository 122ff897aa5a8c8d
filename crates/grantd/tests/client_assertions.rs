//! Client authentication with a signed JWT (private_key_jwt, RFC 7523 §2.2):
//! an app registers its public keys and signs its own assertions; every way
//! an assertion can be wrong has its own catalog code and never echoes it.

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{App, Reply, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An EC P-256 key made here: its private half signs, its public JWK is registered.
struct Key {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl Key {
    fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("read the key");
        let p = pair.public_key().as_ref(); // 0x04 ‖ X ‖ Y
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                         "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])});
        Self {
            kid: kid.into(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
        }
    }

    /// Signs `claims` with this key, naming `kid` in the header.
    fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let header = Header {
            kid: kid.map(str::to_string),
            ..Header::new(Algorithm::ES256)
        };
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("sign")
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn jti() -> String {
    format!("jti-{}-{}", now(), rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Good claims for `client_id` at this server.
fn claims(server: &Server, client_id: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": server.url("/oauth/token"),
           "iat": now(), "exp": now() + 60, "jti": jti()})
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn token_with(server: &Server, assertion: &str, extra: &[(&str, &str)]) -> Reply {
    let mut pairs = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    pairs.extend_from_slice(extra);
    server.post_form("/oauth/token", None, &form(&pairs)).await
}

/// A server-only app with `key` registered inline.
async fn app_with_key(server: &Server, key: &Key) -> App {
    server
        .server_only_app(json!({"jwks": {"keys": [key.jwk]}}))
        .await
}

#[track_caller]
fn refused(reply: &Reply, assertion: &str, error: &str, code: &str, says: &[&str]) {
    let status = if error == "invalid_client" { 401 } else { 400 };
    reply.assert_error(status, error, code, says);
    let signature = assertion.rsplit('.').next().unwrap_or(assertion);
    assert!(
        !reply.text.contains(assertion) && (signature.len() < 8 || !reply.text.contains(signature)),
        "the assertion is echoed: {}",
        reply.text
    );
}

#[tokio::test]
async fn an_app_with_an_inline_jwks_gets_a_token_with_private_key_jwt() {
    let server = Server::start();
    let key = Key::new("k1");
    let app = app_with_key(&server, &key).await;
    assert_eq!(app.json["jwks"]["keys"][0]["kid"], "k1", "{}", app.json);
    let assertion = key.sign(Some("k1"), &claims(&server, &app.client_id));
    let reply = token_with(&server, &assertion, &[("scope", "ReadAccounts")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["token_type"], "bearer");
    let access = reply.json["access_token"].as_str().unwrap().to_string();

    // With no kid, the only key is used; the issuer is an accepted audience.
    let c = with(
        claims(&server, &app.client_id),
        "aud",
        json!(server.url("")),
    );
    let reply = token_with(&server, &key.sign(None, &c), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Introspection authenticates the same way.
    let assertion = key.sign(Some("k1"), &claims(&server, &app.client_id));
    let reply = server
        .post_form(
            "/oauth/introspect",
            None,
            &form(&[
                ("token", access.as_str()),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["active"], true, "{}", reply.text);
}

#[tokio::test]
async fn discovery_lists_private_key_jwt_and_not_client_secret_jwt() {
    let server = Server::start();
    let doc: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for endpoint in ["token", "introspection", "revocation"] {
        let methods = doc[format!("{endpoint}_endpoint_auth_methods_supported")]
            .as_array()
            .unwrap_or_else(|| panic!("{endpoint} methods in {doc}"));
        assert!(methods.contains(&json!("private_key_jwt")), "{methods:?}");
        assert!(
            !methods.contains(&json!("client_secret_jwt")),
            "{methods:?}"
        );
        let algs = doc[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")]
            .as_array()
            .unwrap();
        assert!(algs.contains(&json!("ES256")) && algs.contains(&json!("RS256")));
        assert!(!algs
            .iter()
            .any(|a| a == "none" || a.as_str().unwrap().starts_with("HS")));
    }
}

#[tokio::test]
async fn every_wrong_assertion_has_its_own_code_and_is_never_echoed() {
    let server = Server::start();
    let key = Key::new("k1");
    let app = app_with_key(&server, &key).await;
    let id = app.client_id.as_str();
    let good = || claims(&server, id);
    let sign = |c: &Value| key.sign(Some("k1"), c);

    // iss and sub must be the client id (the body names the app).
    let a = sign(&with(good(), "iss", json!("someone-else")));
    let r = token_with(&server, &a, &[("client_id", id)]).await;
    refused(
        &r,
        &a,
        "invalid_client",
        "GRD-644",
        &["iss", "someone-else"],
    );
    let a = sign(&with(good(), "sub", json!("someone-else")));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-644",
        &["sub"],
    );

    let a = sign(&with(good(), "aud", json!("https://other.example/token")));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-645",
        &["https://other.example/token", "/oauth/token"],
    );

    let a = sign(&with(good(), "exp", json!(now() - 3600)));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-646",
        &["expired"],
    );
    let a = sign(&with(good(), "exp", json!(now() + 86_400)));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-647",
        &["600"],
    );
    let a = sign(&with(good(), "exp", Value::Null));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-655",
        &["exp"],
    );
    let a = sign(&with(good(), "jti", Value::Null));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-648",
        &["jti"],
    );
    let a = sign(&with(good(), "nbf", json!(now() + 3600)));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-656",
        &["nbf"],
    );

    // Single use: the second request with the same assertion is a replay.
    let c = with(good(), "jti", json!("once-only"));
    let a = sign(&c);
    assert_eq!(token_with(&server, &a, &[]).await.status, 200);
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-649",
        &["once-only"],
    );
    // A new assertion with the same jti is a replay too.
    let a = sign(&with(c, "iat", json!(now() - 1)));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-649",
        &["once-only"],
    );

    let a = key.sign(Some("no-such-key"), &good());
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-651",
        &["no-such-key", "'k1'"],
    );

    // Signed by another key under the registered kid.
    let a = Key::new("k1").sign(Some("k1"), &good());
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-653",
        &["k1"],
    );

    // alg none: a header and payload with an empty signature.
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let a = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good())
    );
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-652",
        &["'none'"],
    );

    // HS256 is client_secret_jwt, which hashed secrets cannot verify.
    let a = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good(),
        &EncodingKey::from_secret(app.secret.as_bytes()),
    )
    .unwrap();
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-654",
        &["HS256", "hash", "private_key_jwt"],
    );

    // One method only.
    let a = sign(&good());
    let r = server
        .post_form(
            "/oauth/token",
            Some((id, &app.secret)),
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", a.as_str()),
            ]),
        )
        .await;
    refused(
        &r,
        &a,
        "invalid_request",
        "GRD-642",
        &["Authorization header"],
    );
    let r = token_with(&server, &a, &[("client_secret", &app.secret)]).await;
    refused(&r, &a, "invalid_request", "GRD-642", &["client_secret"]);
    assert!(!r.text.contains(&app.secret));

    // The two parameters go together, and only the JWT type is taken.
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion", a.as_str()),
            ]),
        )
        .await;
    refused(
        &r,
        &a,
        "invalid_request",
        "GRD-641",
        &["client_assertion_type"],
    );
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:saml"),
                ("client_assertion", a.as_str()),
            ]),
        )
        .await;
    refused(&r, &a, "invalid_client", "GRD-640", &["urn:example:saml"]);
    let r = token_with(&server, "not-a-jwt", &[("client_id", id)]).await;
    refused(&r, "not-a-jwt", "invalid_client", "GRD-643", &["3"]);
}

#[tokio::test]
async fn an_app_without_keys_is_told_to_register_them() {
    let server = Server::start();
    let key = Key::new("k1");
    let app = server.server_only_app(json!({})).await;
    let a = key.sign(Some("k1"), &claims(&server, &app.client_id));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-650",
        &[&app.client_id, "jwks"],
    );
    // Registering the key with PATCH lets the same kind of assertion in.
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", app.client_id),
            Some(json!({"jwks": {"keys": [key.jwk]}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let a = key.sign(Some(&key.kid), &claims(&server, &app.client_id));
    assert_eq!(token_with(&server, &a, &[]).await.status, 200);
    // null removes the keys.
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", app.client_id),
            Some(json!({"jwks": null})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("jwks").is_none(), "{body}");
    let a = key.sign(Some(&key.kid), &claims(&server, &app.client_id));
    assert_eq!(token_with(&server, &a, &[]).await.code(), "GRD-650");
}

#[tokio::test]
async fn a_symmetric_or_unusable_key_set_is_refused_at_registration() {
    let server = Server::start();
    for (jwks, says) in [
        (
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}),
            "symmetric",
        ),
        (json!({"keys": []}), "no keys"),
        (
            json!({"keys": [Key::new("a").jwk, Key::new("a").jwk]}),
            "kid 'a' is used by two keys",
        ),
    ] {
        let (status, body) = server
            .admin(
                Method::POST,
                "/admin/v1/apps",
                Some(json!({"name": "Keys", "platform_type": "server-only",
                            "grants": ["client_credentials"], "jwks": jwks})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains("jwks") && d.contains(says), "{body}");
    }
}
