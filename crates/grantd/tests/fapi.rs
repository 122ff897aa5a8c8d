//! PAR (RFC 9126), DPoP (RFC 9449) and the FAPI 2.0 profile over HTTP: a
//! fapi2 app's whole flow (pushed request, sign-in, DPoP-bound tokens, the
//! API with a proof), and each rule's refusal with its catalog code.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::keys::{form, now, unique, Key};
use common::{get_json, query_of, App, Browser, Reply, Server};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CB: &str = "http://127.0.0.1:8765/callback";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A client assertion of `app` signed by `key`.
fn assertion(server: &Server, app: &App, key: &Key) -> String {
    let claims = json!({"iss": app.client_id, "sub": app.client_id, "aud": server.url("/oauth/token"),
                        "iat": now(), "exp": now() + 60, "jti": unique()});
    key.sign(Header::new(Algorithm::ES256), &claims)
}

async fn post(server: &Server, path: &str, body: &str, dpop: Option<&str>) -> Reply {
    let mut req = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    Reply::from(req.send().await.expect("request")).await
}

async fn api(server: &Server, scheme: &str, token: &str, dpop: Option<&str>) -> Reply {
    let mut req = reqwest::Client::new()
        .get(server.url("/restapi/v1.0/account/~/extension/~"))
        .header("authorization", format!("{scheme} {token}"));
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    Reply::from(req.send().await.expect("request")).await
}

async fn fapi2_app(server: &Server, key: &Key) -> App {
    App::from(
        server
            .create_app(json!({"name": "Acme Bank", "platform_type": "server-web",
                "grants": ["authorization_code", "refresh_token"], "redirect_uris": [CB],
                "scopes": ["openid", "ReadAccounts"], "jwks": {"keys": [key.jwk]},
                "profile": "fapi2"}))
            .await,
    )
}

async fn user(server: &Server) {
    server
        .create_user(json!({"email": "alice@example.com", "name": "Alice Smith",
                            "password": "correct horse battery"}))
        .await;
}

/// Pushes an authorization request for `app`, with the nonce dance.
async fn push(
    server: &Server,
    app: &App,
    client_key: &Key,
    dpop: &Key,
    extra: &[(&str, &str)],
) -> Reply {
    let par = server.url("/oauth/par");
    let body = |a: &str| {
        let mut pairs = vec![
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a),
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", CB),
            ("scope", "openid ReadAccounts"),
            ("state", "s1"),
        ];
        pairs.extend_from_slice(extra);
        form(&pairs)
    };
    let first = post(
        server,
        "/oauth/par",
        &body(&assertion(server, app, client_key)),
        Some(&dpop.proof("POST", &par, |_| {})),
    )
    .await;
    first.assert_error(400, "use_dpop_nonce", "GRD-941", &["DPoP-Nonce"]);
    let nonce = first
        .header("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_string();
    post(
        server,
        "/oauth/par",
        &body(&assertion(server, app, client_key)),
        Some(&dpop.proof("POST", &par, |c| c["nonce"] = json!(nonce))),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn fapi2_app_completes_par_pkce_dpop_and_calls_the_api_with_a_bound_token() {
    let server = Server::start();
    user(&server).await;
    let client_key = Key::new();
    let dpop = Key::new();
    let app = fapi2_app(&server, &client_key).await;

    // Discovery names PAR and DPoP's algorithms.
    let meta = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        meta["pushed_authorization_request_endpoint"],
        json!(server.url("/oauth/par"))
    );
    assert!(meta["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("ES256")));

    let pushed = push(
        &server,
        &app,
        &client_key,
        &dpop,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    assert_eq!(pushed.json["expires_in"], 60);
    let request_uri = pushed.json["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // The browser brings client_id and request_uri only.
    let browser = Browser::new(&server);
    let url = format!(
        "{}?{}",
        server.url("/oauth/authorize"),
        form(&[("client_id", &app.client_id), ("request_uri", &request_uri)])
    );
    let redirect = browser
        .authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    let q = query_of(&redirect);
    assert_eq!(q["state"], "s1");
    assert_eq!(
        q["iss"],
        server.url("").trim_end_matches('/'),
        "RFC 9207 iss in the response"
    );
    let code = q["code"].clone();

    // Used once.
    get_json(&url)
        .await
        .assert_error(400, "invalid_request_uri", "GRD-925", &["used"]);

    // The token request: private_key_jwt, PKCE, DPoP with the nonce.
    let token_url = server.url("/oauth/token");
    let token_body = |a: &str| {
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a),
        ])
    };
    let nonce = pushed.header("dpop-nonce").unwrap().to_string();
    let tokens = post(
        &server,
        "/oauth/token",
        &token_body(&assertion(&server, &app, &client_key)),
        Some(&dpop.proof("POST", &token_url, |c| c["nonce"] = json!(nonce))),
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.json["token_type"], "DPoP");
    let access = tokens.json["access_token"].as_str().unwrap().to_string();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["cnf"]["jkt"],
        json!(dpop.jkt()),
        "cnf.jkt in the JWT"
    );

    // grantd's API: with a proof of the token's key.
    let resource = server.url("/restapi/v1.0/account/~/extension/~");
    let proof = dpop.proof("GET", &resource, |c| c["ath"] = json!(ath(&access)));
    let ok = api(&server, "DPoP", &access, Some(&proof)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // The same proof again is a replay.
    api(&server, "DPoP", &access, Some(&proof))
        .await
        .assert_error(401, "invalid_dpop_proof", "GRD-939", &["before"]);
    // As a bearer token: refused.
    let bearer = api(&server, "Bearer", &access, None).await;
    bearer.assert_error(401, "invalid_token", "GRD-944", &["DPoP"]);
    assert!(bearer
        .header("www-authenticate")
        .unwrap()
        .starts_with("DPoP "));
    // Another key's proof: refused.
    let other = Key::new();
    api(
        &server,
        "DPoP",
        &access,
        Some(&other.proof("GET", &resource, |c| c["ath"] = json!(ath(&access)))),
    )
    .await
    .assert_error(401, "invalid_token", "GRD-946", &[&dpop.jkt()]);
    // No ath: refused, naming the claim.
    api(
        &server,
        "DPoP",
        &access,
        Some(&dpop.proof("GET", &resource, |_| {})),
    )
    .await
    .assert_error(401, "invalid_dpop_proof", "GRD-940", &["ath"]);

    // Introspection shows the binding.
    let intro = post(
        &server,
        "/oauth/introspect",
        &form(&[
            ("token", &access),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion(&server, &app, &client_key)),
        ]),
        None,
    )
    .await;
    assert_eq!(intro.json["active"], true, "{}", intro.text);
    assert_eq!(intro.json["cnf"]["jkt"], json!(dpop.jkt()));
    assert_eq!(intro.json["token_type"], "DPoP");

    // Refresh (FAPI 2.0 §5.3.2.1): a client that lost the answer retries
    // with the previous token and gets the same pair, past the grace
    // window, until it uses the new refresh token.
    let refresh = |rt: &str| {
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion(&server, &app, &client_key)),
        ])
    };
    let mut nonce = intro.header("dpop-nonce").unwrap_or(&nonce).to_string();
    let mut send = async |rt: &str| {
        let proof = dpop.proof("POST", &token_url, |c| c["nonce"] = json!(nonce));
        let r = post(&server, "/oauth/token", &refresh(rt), Some(&proof)).await;
        if let Some(n) = r.header("dpop-nonce") {
            nonce = n.to_string();
        }
        r
    };
    let first = tokens.json["refresh_token"].as_str().unwrap().to_string();
    let refreshed = send(&first).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    server.advance(30); // past the 10-second grace window
    let retried = send(&first).await;
    assert_eq!(retried.status, 200, "the retry succeeds: {}", retried.text);
    assert_eq!(retried.json["access_token"], refreshed.json["access_token"]);
    assert_eq!(
        retried.json["refresh_token"],
        refreshed.json["refresh_token"]
    );
    let second = refreshed.json["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(send(&second).await.status, 200);
    let stale = send(&first).await;
    assert_eq!(stale.status, 400, "{}", stale.text);
    assert_eq!(stale.json["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread")]
async fn fapi2_rules_are_each_refused_naming_the_rule() {
    let server = Server::start();
    user(&server).await;
    let client_key = Key::new();
    let dpop = Key::new();
    let app = fapi2_app(&server, &client_key).await;

    // PAR required: a plain authorization request is refused on a page.
    let plain = format!(
        "{}?{}",
        server.url("/oauth/authorize"),
        form(&[
            ("client_id", &app.client_id),
            ("response_type", "code"),
            ("redirect_uri", CB),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256")
        ])
    );
    get_json(&plain).await.assert_error(
        400,
        "invalid_request",
        "GRD-927",
        &["PAR required", "fapi2"],
    );

    // PKCE S256 required.
    push(&server, &app, &client_key, &dpop, &[])
        .await
        .assert_error(
            400,
            "invalid_request",
            "GRD-950",
            &["PKCE S256", "no code_challenge"],
        );

    // private_key_jwt only: the app's client secret is refused.
    let by_secret = server
        .post_form(
            "/oauth/par",
            Some((&app.client_id, &app.secret)),
            &form(&[("response_type", "code"), ("redirect_uri", CB)]),
        )
        .await;
    by_secret.assert_error(
        401,
        "invalid_client",
        "GRD-951",
        &["private_key_jwt only", "client_secret_basic"],
    );

    // DPoP required at the token endpoint.
    let no_proof = post(
        &server,
        "/oauth/token",
        &form(&[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion(&server, &app, &client_key)),
        ]),
        None,
    )
    .await;
    no_proof.assert_error(400, "invalid_request", "GRD-942", &["DPoP required"]);

    // The profile refuses a public app and the password grant.
    let (status, body) = server
        .admin(
            reqwest::Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Spa", "platform_type": "browser", "redirect_uris": ["https://spa.example.com/cb"], "profile": "fapi2"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["errorCode"], "GRD-953", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn require_par_and_request_uri_refusals() {
    let server = Server::start();
    user(&server).await;
    let app = server
        .server_only_app(
            json!({"platform_type": "server-web", "grants": ["authorization_code"],
                                "redirect_uris": [CB], "require_par": true}),
        )
        .await;
    let authorize =
        |pairs: &[(&str, &str)]| format!("{}?{}", server.url("/oauth/authorize"), form(pairs));
    get_json(&authorize(&[
        ("client_id", &app.client_id),
        ("response_type", "code"),
        ("redirect_uri", CB),
    ]))
    .await
    .assert_error(400, "invalid_request", "GRD-927", &["require_par"]);
    get_json(&authorize(&[
        ("client_id", &app.client_id),
        ("request_uri", "https://evil.example/r"),
    ]))
    .await
    .assert_error(
        400,
        "invalid_request_uri",
        "GRD-922",
        &["urn:ietf:params:oauth:request_uri:"],
    );
    get_json(&authorize(&[
        ("client_id", &app.client_id),
        ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
    ]))
    .await
    .assert_error(400, "invalid_request_uri", "GRD-923", &["never issued"]);

    // Pushed with the secret; request_uri in the push is refused.
    let basic = Some((app.client_id.as_str(), app.secret.as_str()));
    server
        .post_form(
            "/oauth/par",
            basic,
            &form(&[("request_uri", "urn:x"), ("response_type", "code")]),
        )
        .await
        .assert_error(400, "invalid_request", "GRD-920", &["request_uri"]);
    // Another client_id than the authenticated one (the client
    // authentication's own check answers first).
    server
        .post_form(
            "/oauth/par",
            basic,
            &form(&[("client_id", "someone-else"), ("response_type", "code")]),
        )
        .await
        .assert_error(401, "invalid_client", "GRD-201", &["client_id"]);
    // The authorization endpoint's own rules hold at the push.
    server
        .post_form(
            "/oauth/par",
            basic,
            &form(&[
                ("response_type", "code"),
                ("redirect_uri", "https://evil.example/cb"),
            ]),
        )
        .await
        .assert_error(400, "invalid_request", "GRD-351", &["not registered"]);
    let pushed = server
        .post_form(
            "/oauth/par",
            basic,
            &form(&[
                ("response_type", "code"),
                ("redirect_uri", CB),
                ("state", "x"),
            ]),
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    let uri = pushed.json["request_uri"].as_str().unwrap().to_string();
    let other = server
        .server_only_app(json!({"platform_type": "server-web", "grants": ["authorization_code"], "redirect_uris": [CB]}))
        .await;
    get_json(&authorize(&[
        ("client_id", &other.client_id),
        ("request_uri", &uri),
    ]))
    .await
    .assert_error(400, "invalid_request_uri", "GRD-926", &[&app.client_id]);
    // Expiry: a fresh one, a minute later.
    let pushed = server
        .post_form(
            "/oauth/par",
            basic,
            &form(&[("response_type", "code"), ("redirect_uri", CB)]),
        )
        .await;
    let uri = pushed.json["request_uri"].as_str().unwrap().to_string();
    server.advance(61);
    get_json(&authorize(&[
        ("client_id", &app.client_id),
        ("request_uri", &uri),
    ]))
    .await
    .assert_error(400, "invalid_request_uri", "GRD-924", &["60 s"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dpop_proof_failure_names_its_claim() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let key = Key::new();
    let url = server.url("/oauth/token");
    let basic = common::basic_header(&app.client_id, &app.secret);
    let send = |proof: String| {
        let basic = basic.clone();
        let server = &server;
        async move {
            let res = reqwest::Client::new()
                .post(server.url("/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", basic)
                .header("DPoP", proof)
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap();
            Reply::from(res).await
        }
    };
    let good = send(key.proof("POST", &url, |_| {})).await;
    assert_eq!(good.status, 200, "{}", good.text);
    assert_eq!(good.json["token_type"], "DPoP");
    assert!(good.header("dpop-nonce").is_some());
    // An opaque or JWT token alike: introspection shows the key.
    let cases: Vec<(String, &str, &str)> = vec![
        ("not-a-jwt".into(), "GRD-930", "parts"),
        (
            {
                let header = Header {
                    typ: Some("JWT".into()),
                    jwk: Some(serde_json::from_value(key.jwk.clone()).unwrap()),
                    ..Header::new(Algorithm::ES256)
                };
                key.sign(
                    header,
                    &json!({"htm": "POST", "htu": url, "iat": now(), "jti": unique()}),
                )
            },
            "GRD-931",
            "typ",
        ),
        (
            key.sign(
                Header {
                    typ: Some("dpop+jwt".into()),
                    ..Header::new(Algorithm::ES256)
                },
                &json!({"htm": "POST", "htu": url, "iat": now(), "jti": unique()}),
            ),
            "GRD-933",
            "jwk",
        ),
        (key.proof("GET", &url, |_| {}), "GRD-935", "htm"),
        (
            key.proof("POST", &server.url("/oauth/other"), |_| {}),
            "GRD-936",
            "htu",
        ),
        (
            key.proof("POST", &url, |c| c["iat"] = json!(now() - 600)),
            "GRD-937",
            "ago",
        ),
        (
            key.proof("POST", &url, |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "GRD-938",
            "jti",
        ),
        (
            key.proof("POST", &url, |c| c["nonce"] = json!("stale")),
            "GRD-941",
            "nonce",
        ),
    ];
    for (proof, code, says) in cases {
        let r = send(proof).await;
        let error = if code == "GRD-941" {
            "use_dpop_nonce"
        } else {
            "invalid_dpop_proof"
        };
        r.assert_error(400, error, code, &[says]);
    }
    // htu compares without the query.
    let ok = send(key.proof("POST", &format!("{url}?x=1"), |_| {})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // A replayed proof.
    let proof = key.proof("POST", &url, |_| {});
    assert_eq!(send(proof.clone()).await.status, 200);
    send(proof)
        .await
        .assert_error(400, "invalid_dpop_proof", "GRD-939", &["before"]);
}
