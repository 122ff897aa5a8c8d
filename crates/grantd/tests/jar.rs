//! Signed request objects (JAR, RFC 9101) over HTTP: a request object at the
//! authorization endpoint and at PAR replaces the parameters beside it and
//! completes the flow; an app that requires them is refused anything else,
//! through the sign-in and consent forms too; each fault of an object has
//! its own catalog code naming it.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::keys::{form, now, Key};
use common::{get_json, hidden_fields, query_of, App, Browser, Reply, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const CB: &str = "http://127.0.0.1:8765/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery";

async fn setup(server: &Server, key: &Key, require: bool) -> App {
    server
        .create_user(json!({"email": EMAIL, "name": "Alice Smith", "password": PASSWORD}))
        .await;
    let mut jwk = key.jwk.clone();
    jwk["kid"] = json!("k1");
    App::from(
        server
            .create_app(
                json!({"name": "Signed Requests", "platform_type": "server-web",
                "grants": ["authorization_code", "refresh_token"], "redirect_uris": [CB],
                "scopes": ["openid", "ReadAccounts"], "jwks": {"keys": [jwk]},
                "require_signed_request_object": require}),
            )
            .await,
    )
}

/// The claims of a good request object of `app`; `edit` changes them.
fn claims(server: &Server, app: &App, edit: impl FnOnce(&mut Value)) -> Value {
    let mut c = json!({
        "iss": app.client_id, "aud": issuer(server), "client_id": app.client_id,
        "response_type": "code", "redirect_uri": CB, "scope": "openid ReadAccounts",
        "state": "from-the-object", "code_challenge": CHALLENGE, "code_challenge_method": "S256",
        "max_age": 3600, "exp": now() + 300, "nbf": now() - 5,
    });
    edit(&mut c);
    c
}

fn issuer(server: &Server) -> String {
    server.url("").trim_end_matches('/').to_string()
}

fn signed(key: &Key, claims: &Value) -> String {
    let header = Header {
        typ: Some("oauth-authz-req+jwt".into()),
        kid: Some("k1".into()),
        ..Header::new(Algorithm::ES256)
    };
    key.sign(header, claims)
}

fn authorize_url(server: &Server, pairs: &[(&str, &str)]) -> String {
    format!("{}?{}", server.url("/oauth/authorize"), form(pairs))
}

async fn exchange(server: &Server, app: &App, code: &str) -> Reply {
    server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CB),
                ("code_verifier", VERIFIER),
            ]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_object_replaces_the_query_and_completes_the_flow() {
    let server = Server::start();
    let key = Key::new();
    let app = setup(&server, &key, true).await;

    let meta = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(meta["request_parameter_supported"], true);
    assert_eq!(meta["request_uri_parameter_supported"], false);
    assert!(meta["request_object_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("ES256")));

    // The object's parameters win over the query's (RFC 9101 §6.3): the
    // query's state and scope are not used.
    let object = signed(&key, &claims(&server, &app, |_| {}));
    let url = authorize_url(
        &server,
        &[
            ("client_id", &app.client_id),
            ("request", &object),
            ("state", "from-the-query"),
            ("scope", "openid"),
        ],
    );
    let redirect = Browser::new(&server).authorize(&url, EMAIL, PASSWORD).await;
    let q = query_of(&redirect);
    assert!(redirect.starts_with(CB), "{redirect}");
    assert_eq!(q["state"], "from-the-object");
    let tokens = exchange(&server, &app, &q["code"]).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(
        tokens.json["scope"], "openid ReadAccounts",
        "the object's scope"
    );

    // The same app without a request object: refused, naming the setting.
    get_json(&authorize_url(
        &server,
        &[
            ("client_id", &app.client_id),
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    ))
    .await
    .assert_error(
        400,
        "invalid_request",
        "GRD-996",
        &["require_signed_request_object"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_forms_keep_the_proof_and_a_changed_parameter_loses_it() {
    let server = Server::start();
    let key = Key::new();
    let app = setup(&server, &key, true).await;
    let object = signed(&key, &claims(&server, &app, |_| {}));
    let browser = Browser::new(&server);
    let page = browser
        .get(&authorize_url(
            &server,
            &[("client_id", &app.client_id), ("request", &object)],
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        !page.text.contains(&object),
        "the forms carry the parameters, not the object"
    );
    // Changing a sealed parameter on the way breaks the seal: the request
    // is then an unsigned one, which this app does not take.
    let mut fields: Vec<(String, String)> = hidden_fields(&page.text)
        .into_iter()
        .map(|(k, v)| {
            let v = if k == "scope" {
                "openid".to_string()
            } else {
                v
            };
            (k, v)
        })
        .collect();
    fields.push(("username".into(), EMAIL.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let tampered = browser.post("/oauth/authorize/login", &fields).await;
    assert_eq!(tampered.status, 400, "{}", tampered.text);
    assert!(tampered.text.contains("GRD-996"), "{}", tampered.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn par_takes_a_request_object_and_keeps_its_proof() {
    let server = Server::start();
    let key = Key::new();
    let app = setup(&server, &key, true).await;

    // Without an object, the push is refused like the authorization request.
    let plain = server
        .post_form(
            "/oauth/par",
            Some((&app.client_id, &app.secret)),
            &form(&[
                ("response_type", "code"),
                ("redirect_uri", CB),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]),
        )
        .await;
    plain.assert_error(
        400,
        "invalid_request",
        "GRD-996",
        &["require_signed_request_object"],
    );

    let object = signed(&key, &claims(&server, &app, |_| {}));
    let pushed = server
        .post_form(
            "/oauth/par",
            Some((&app.client_id, &app.secret)),
            &form(&[("request", &object)]),
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    let request_uri = pushed.json["request_uri"].as_str().unwrap();
    let url = authorize_url(
        &server,
        &[("client_id", &app.client_id), ("request_uri", request_uri)],
    );
    let q = query_of(&Browser::new(&server).authorize(&url, EMAIL, PASSWORD).await);
    assert_eq!(q["state"], "from-the-object");
    assert_eq!(exchange(&server, &app, &q["code"]).await.status, 200);

    // Another app's object pushed by this app: its client_id is not this app's.
    let other = json!({"client_id": "someone-else"});
    let foreign = signed(
        &key,
        &claims(&server, &app, |c| {
            c["client_id"] = other["client_id"].clone()
        }),
    );
    server
        .post_form(
            "/oauth/par",
            Some((&app.client_id, &app.secret)),
            &form(&[("request", &foreign)]),
        )
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-994",
            &["client_id", "someone-else"],
        );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_object_fault_names_its_cause() {
    let server = Server::start();
    let key = Key::new();
    let app = setup(&server, &key, false).await;
    let refused = |object: String| {
        let url = authorize_url(
            &server,
            &[("client_id", &app.client_id), ("request", &object)],
        );
        async move { get_json(&url).await }
    };
    let good = |edit: fn(&mut Value)| signed(&key, &claims(&server, &app, edit));

    // Unreadable, of another type, or holding another request.
    refused("not.a-jwt".into()).await.assert_error(
        400,
        "invalid_request_object",
        "GRD-990",
        &["2 dot-separated parts"],
    );
    let typed = key.sign(
        Header {
            typ: Some("dpop+jwt".into()),
            kid: Some("k1".into()),
            ..Header::new(Algorithm::ES256)
        },
        &claims(&server, &app, |_| {}),
    );
    refused(typed)
        .await
        .assert_error(400, "invalid_request_object", "GRD-990", &["typ"]);
    refused(good(|c| c["request_uri"] = json!("urn:x")))
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-990",
            &["cannot hold another request"],
        );

    // Unsigned, or an HMAC.
    let payload = URL_SAFE_NO_PAD.encode(claims(&server, &app, |_| {}).to_string());
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    refused(none).await.assert_error(
        400,
        "invalid_request_object",
        "GRD-991",
        &["'none'", "anyone"],
    );
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&server, &app, |_| {}),
        &EncodingKey::from_secret(app.secret.as_bytes()),
    )
    .unwrap();
    refused(hmac)
        .await
        .assert_error(400, "invalid_request_object", "GRD-991", &["HMAC"]);

    // Another key, an unknown kid.
    let stranger = Key::new();
    refused(signed(&stranger, &claims(&server, &app, |_| {})))
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-993",
            &["does not verify", "'k1'"],
        );
    let unknown_kid = key.sign(
        Header {
            kid: Some("k9".into()),
            ..Header::new(Algorithm::ES256)
        },
        &claims(&server, &app, |_| {}),
    );
    refused(unknown_kid).await.assert_error(
        400,
        "invalid_request_object",
        "GRD-993",
        &["'k9'", "k1"],
    );

    // Who it is from and for.
    refused(good(|c| c["aud"] = json!("https://other.example")))
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-994",
            &["aud", "https://other.example"],
        );
    refused(good(|c| c["iss"] = json!("mallory")))
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-994",
            &["iss", "mallory"],
        );
    refused(good(|c| {
        c.as_object_mut().unwrap().remove("client_id");
    }))
    .await
    .assert_error(
        400,
        "invalid_request_object",
        "GRD-994",
        &["client_id is nothing"],
    );

    // When.
    refused(good(|c| {
        c.as_object_mut().unwrap().remove("exp");
    }))
    .await
    .assert_error(400, "invalid_request_object", "GRD-995", &["no exp"]);
    refused(good(|c| c["exp"] = json!(now() - 600)))
        .await
        .assert_error(400, "invalid_request_object", "GRD-995", &["expired at"]);
    refused(good(|c| c["nbf"] = json!(now() + 600)))
        .await
        .assert_error(
            400,
            "invalid_request_object",
            "GRD-995",
            &["not valid before"],
        );
    refused(good(|c| c["exp"] = json!(now() + 7200)))
        .await
        .assert_error(400, "invalid_request_object", "GRD-995", &["at most 3600"]);

    // request with request_uri; no client_id beside request.
    get_json(&authorize_url(
        &server,
        &[
            ("client_id", &app.client_id),
            ("request", &good(|_| {})),
            ("request_uri", "urn:ietf:params:oauth:request_uri:abc"),
        ],
    ))
    .await
    .assert_error(400, "invalid_request", "GRD-997", &["not both"]);
    let no_client = get_json(&authorize_url(&server, &[("request", &good(|_| {}))])).await;
    assert_eq!(no_client.status, 400, "{}", no_client.text);
    assert!(no_client.json["error_description"]
        .as_str()
        .unwrap()
        .contains("client_id"));

    // An app with no keys.
    let keyless = server
        .server_only_app(
            json!({"platform_type": "server-web", "grants": ["authorization_code"],
                                "redirect_uris": [CB]}),
        )
        .await;
    let url = authorize_url(
        &server,
        &[
            ("client_id", &keyless.client_id),
            ("request", &signed(&key, &claims(&server, &keyless, |_| {}))),
        ],
    );
    get_json(&url)
        .await
        .assert_error(400, "invalid_request_object", "GRD-992", &["jwks"]);

    // Nothing secret is echoed: the object is never in an answer.
    let object = good(|c| c["aud"] = json!("https://other.example"));
    let r = refused(object.clone()).await;
    assert!(!r.text.contains(&object));
}
