//! Client authentication with a signed JWT (private_key_jwt, RFC 7523 §2.2):
//! an app registers its public keys (inline, or at a jwks_uri grantd fetches
//! them from) and signs its own assertions; every way an assertion or a
//! fetched key set can be wrong has its own catalog code and never echoes
//! the assertion.

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{App, KeyServer, Reply, Server};
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

/// Good claims for `client_id`, made when the server's clock is `ahead`
/// seconds past the real one (after `Server::advance`).
fn claims_ahead(server: &Server, client_id: &str, ahead: i64) -> Value {
    let mut c = claims(server, client_id);
    c["iat"] = json!(now() + ahead);
    c["exp"] = json!(now() + ahead + 60);
    c
}

fn key_set(keys: &[&Key]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

#[tokio::test]
async fn an_app_with_a_jwks_uri_gets_tokens_and_follows_key_rotation() {
    let server = Server::start();
    let keys = KeyServer::start().await;
    let (k1, k2, k9) = (Key::new("k1"), Key::new("k2"), Key::new("k9"));
    keys.serve_json("/jwks", &key_set(&[&k1]));
    let app = server
        .server_only_app(json!({"jwks_uri": keys.url("/jwks")}))
        .await;
    assert_eq!(app.json["jwks_uri"], keys.url("/jwks"), "{}", app.json);
    assert!(app.json.get("jwks").is_none(), "{}", app.json);
    let id = app.client_id.as_str();

    let a = k1.sign(Some("k1"), &claims(&server, id));
    let r = token_with(&server, &a, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = k1.sign(Some("k1"), &claims(&server, id));
    assert_eq!(token_with(&server, &a, &[]).await.status, 200);
    assert_eq!(keys.hits("/jwks"), 1, "the set is cached");

    // The app rotates: k2 is published. Within 30 s of the last fetch an
    // unknown kid does not make grantd fetch again; it says when it will.
    keys.serve_json("/jwks", &key_set(&[&k1, &k2]));
    let a = k2.sign(Some("k2"), &claims(&server, id));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-666",
        &["'k2'", "('k1')", &keys.url("/jwks"), "every 30 seconds"],
    );
    assert_eq!(keys.hits("/jwks"), 1);
    server.advance(31);
    let a = k2.sign(Some("k2"), &claims_ahead(&server, id, 31));
    let r = token_with(&server, &a, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys.hits("/jwks"), 2, "fetched again for the new kid");
    // The old key still works from the cache.
    let a = k1.sign(Some("k1"), &claims_ahead(&server, id, 31));
    assert_eq!(token_with(&server, &a, &[]).await.status, 200);
    assert_eq!(keys.hits("/jwks"), 2);

    // A kid the set lacks even after a fresh fetch: the kids there are listed.
    server.advance(31);
    let a = k9.sign(Some("k9"), &claims_ahead(&server, id, 62));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-666",
        &["'k9'", "'k1', 'k2'", "just fetched"],
    );
    assert_eq!(keys.hits("/jwks"), 3);

    // After its max-age (60 s at least) the set is fetched again.
    keys.serve(
        "/jwks",
        200,
        &[("Cache-Control", "max-age=60")],
        key_set(&[&k2]).to_string(),
    );
    server.advance(300);
    let a = k2.sign(Some("k2"), &claims_ahead(&server, id, 362));
    assert_eq!(token_with(&server, &a, &[]).await.status, 200);
    assert_eq!(keys.hits("/jwks"), 4);
    server.advance(61);
    let a = k1.sign(Some("k1"), &claims_ahead(&server, id, 423));
    let r = token_with(&server, &a, &[]).await;
    assert_eq!(keys.hits("/jwks"), 5, "expired after max-age");
    refused(&r, &a, "invalid_client", "GRD-666", &["('k2')"]);
}

#[tokio::test]
async fn every_failure_to_fetch_a_key_set_has_its_own_code() {
    let server = Server::start();
    let keys = KeyServer::start().await;
    let key = Key::new("k1");
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", l.local_addr().unwrap())
    };
    // A port that takes connections (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = format!("http://{}/jwks", silent.local_addr().unwrap());
    keys.serve("/down", 503, &[], "maintenance");
    keys.serve(
        "/page",
        200,
        &[("Content-Type", "text/html")],
        "<html>keys</html>",
    );
    keys.serve_json("/one-key", &key.jwk);
    keys.serve("/big", 200, &[], vec![b' '; 70 * 1024]);
    keys.serve_json(
        "/oct",
        &json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k1"}]}),
    );
    keys.serve(
        "/moved",
        302,
        &[("Location", "http://keys.example.com/jwks")],
        "",
    );
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (
            dead.clone(),
            "GRD-659",
            vec![dead.as_str(), "could not fetch"],
        ),
        (hanging.clone(), "GRD-660", vec!["within 5 seconds"]),
        (keys.url("/down"), "GRD-661", vec!["HTTP 503"]),
        (keys.url("/page"), "GRD-664", vec!["not JSON"]),
        (
            keys.url("/one-key"),
            "GRD-664",
            vec!["single JWK", "keys array"],
        ),
        (keys.url("/big"), "GRD-663", vec!["64 KiB"]),
        (keys.url("/oct"), "GRD-665", vec!["symmetric", "key 'k1'"]),
        (
            keys.url("/moved"),
            "GRD-662",
            vec!["http://keys.example.com/jwks", "https"],
        ),
    ];
    for (uri, code, says) in cases {
        let app = server.server_only_app(json!({"jwks_uri": uri})).await;
        let a = key.sign(Some("k1"), &claims(&server, &app.client_id));
        let mut says = says.clone();
        says.push(&uri);
        let r = token_with(&server, &a, &[]).await;
        refused(&r, &a, "invalid_client", code, &says);
    }
    drop(silent);

    // A failure is remembered for a while: the dead URI is not asked again.
    assert_eq!(keys.hits("/down"), 1);
    let app = server
        .server_only_app(json!({"jwks_uri": keys.url("/down")}))
        .await;
    let a = key.sign(Some("k1"), &claims(&server, &app.client_id));
    refused(
        &token_with(&server, &a, &[]).await,
        &a,
        "invalid_client",
        "GRD-661",
        &["asks the URL again in"],
    );
    assert_eq!(keys.hits("/down"), 1);
    // Once it is back and the failure forgotten, the keys are fetched.
    keys.serve_json("/down", &key_set(&[&key]));
    server.advance(16);
    let a = key.sign(Some("k1"), &claims_ahead(&server, &app.client_id, 16));
    let r = token_with(&server, &a, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys.hits("/down"), 2);
}

#[tokio::test]
async fn jwks_uri_is_checked_at_registration_and_exclusive_with_jwks() {
    let server = Server::start();
    let key = Key::new("k1");
    let create = |extra: Value| {
        let mut spec = json!({"name": "Keys", "platform_type": "server-only",
                              "grants": ["client_credentials"]});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        server.admin(Method::POST, "/admin/v1/apps", Some(spec))
    };
    for (uri, says) in [
        ("http://keys.example.com/jwks", "loopback"),
        ("https://keys.example.com/jwks#k1", "fragment"),
        ("keys.example.com/jwks", "absolute URL"),
        ("https://user:pw@keys.example.com/jwks", "password"),
    ] {
        let (status, body) = create(json!({"jwks_uri": uri})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errors"][0]["errorCode"], "GRD-658", "{body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(says), "{uri}: {d}");
    }
    let long = format!("https://keys.example.com/{}", "a".repeat(2000));
    let (status, body) = create(json!({"jwks_uri": long})).await;
    assert_eq!(
        (status, body["errors"][0]["errorCode"].as_str()),
        (400, Some("GRD-658")),
        "{body}"
    );

    let both = json!({"jwks_uri": "https://keys.example.com/jwks", "jwks": {"keys": [key.jwk]}});
    let (status, body) = create(both).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["errorCode"], "GRD-657", "{body}");
    let d = body["error_description"].as_str().unwrap_or_default();
    assert!(
        d.contains("'jwks'") && d.contains("'jwks_uri'") && d.contains("null"),
        "{d}"
    );

    // An app with inline keys switches only by removing them in the same request.
    let app = server
        .server_only_app(json!({"jwks": {"keys": [key.jwk]}}))
        .await;
    let path = format!("/admin/v1/apps/{}", app.client_id);
    let (status, body) = server
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"jwks_uri": "https://keys.example.com/jwks"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["errorCode"], "GRD-657", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("--no-jwks"),
        "{body}"
    );
    let (status, body) = server
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"jwks_uri": "https://keys.example.com/jwks", "jwks": null})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jwks_uri"], "https://keys.example.com/jwks");
    assert!(body.get("jwks").is_none(), "{body}");
    // And back: inline keys while the URI is set are refused, naming jwks first.
    let (status, body) = server
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"jwks": {"keys": [key.jwk]}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("To switch to jwks, remove jwks_uri"),
        "{body}"
    );
    let (status, body) = server
        .admin(Method::PATCH, &path, Some(json!({"jwks_uri": null})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("jwks_uri").is_none(), "{body}");
}

#[tokio::test]
async fn the_cli_registers_and_removes_a_jwks_uri() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(common::bin())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .env("GRANTD_ADMIN_TOKEN", common::ADMIN_TOKEN)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "app",
        "create",
        "--name",
        "Sync",
        "--platform-type",
        "server-only",
        "--jwks-uri",
        "https://keys.example.com/jwks.json",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(app["jwks_uri"], "https://keys.example.com/jwks.json");
    let id = app["client_id"].as_str().unwrap();
    let out = cli(&["app", "show", id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fetched from https://keys.example.com/jwks.json"),
        "{text}"
    );
    let out = cli(&[
        "app",
        "update",
        id,
        "--jwks-uri",
        "http://keys.example.com/jwks",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("GRD-658") || err.contains("loopback"), "{err}");
    let out = cli(&["app", "update", id, "--no-jwks-uri", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(app.get("jwks_uri").is_none(), "{app}");
}
