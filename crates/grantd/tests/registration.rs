//! Dynamic client registration over HTTP (RFC 7591, RFC 7592): initial
//! access tokens and open registration, the policy on what a
//! self-registered client may be (each refusal its code), the client
//! configuration endpoint, a registered public client's code flow with
//! PKCE, and the protected resource metadata of grantd's API (RFC 9728).

mod common;

use common::{query_of, Browser, Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

const CB: &str = "http://127.0.0.1:8765/callback";

fn open_server() -> Server {
    Server::start_with(&[], &[("GRANTD_REGISTRATION_OPEN", "true")])
}

async fn register(server: &Server, token: Option<&str>, body: &Value) -> Reply {
    let mut req = server
        .http
        .post(server.url("/oauth/register"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Reply::from(req.send().await.expect("register")).await
}

async fn configure(
    server: &Server,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut req = server.http.request(method, uri);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    Reply::from(req.send().await.expect("client configuration")).await
}

async fn initial_token(server: &Server, spec: Value) -> (String, String) {
    let (status, body) = server
        .admin(Method::POST, "/admin/v1/registration-tokens", Some(spec))
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

fn urlencode(s: &str) -> String {
    url_escape(s)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-registration".to_string();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

#[tokio::test]
async fn discovery_lists_the_registration_endpoint_and_resource_metadata_names_grantd() {
    let server = Server::start();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc: Value = server
            .http
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["registration_endpoint"],
            format!("{}/oauth/register", server.base),
            "{path}"
        );
    }
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource", server.base.clone()),
        (
            "/.well-known/oauth-protected-resource/restapi",
            format!("{}/restapi", server.base),
        ),
    ] {
        let r = Reply::from(server.http.get(server.url(path)).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.json["resource"], resource);
        assert_eq!(r.json["authorization_servers"], json!([server.base]));
        assert_eq!(r.json["bearer_methods_supported"], json!(["header"]));
        assert!(r.json["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid")));
        assert!(r.json["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256")));
    }
    // A page of any origin may read the metadata and register (an MCP
    // client in a browser has no app yet to allow its origin).
    let origin = "https://inspector.example.net";
    let r = Reply::from(
        server
            .http
            .get(server.url("/.well-known/oauth-protected-resource"))
            .header("origin", origin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    let r = Reply::from(
        server
            .http
            .request(Method::OPTIONS, server.url("/oauth/register"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));

    // A resource's 401 says where its metadata is (RFC 9728 §5.1).
    let r = Reply::from(
        server
            .http
            .get(server.url("/restapi/v1.0/account/~/extension/~"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer")
            && challenge.contains(&format!(
                "resource_metadata=\"{}/.well-known/oauth-protected-resource/restapi\"",
                server.base
            )),
        "{challenge}"
    );
    let r = Reply::from(
        server
            .http
            .get(server.url("/oauth/userinfo"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
            server.base
        )),
        "{challenge}"
    );
    // The token endpoint is no resource: its challenge stays as it was.
    let r = server
        .post_form(
            "/oauth/token",
            Some(("nobody", "wrong")),
            "grant_type=client_credentials",
        )
        .await;
    assert!(!r
        .header("www-authenticate")
        .unwrap_or_default()
        .contains("resource_metadata"));
}

#[tokio::test]
async fn closed_registration_takes_only_live_initial_access_tokens() {
    let server = Server::start();
    let body =
        json!({"client_name": "Partner", "redirect_uris": ["https://partner.example.com/cb"]});

    let r = register(&server, None, &body).await;
    r.assert_error(401, "invalid_token", "GRD-964", &["registration.open"]);
    assert!(r
        .header("www-authenticate")
        .unwrap_or_default()
        .starts_with("Bearer"));
    let r = register(&server, Some("made-up-initial-access-token"), &body).await;
    r.assert_error(
        401,
        "invalid_token",
        "GRD-965",
        &["not an initial access token"],
    );
    assert!(!r.text.contains("made-up-initial-access-token"));

    // Max uses: two registrations, then no more.
    let (id, token) = initial_token(&server, json!({"label": "partners", "max_uses": 2})).await;
    for _ in 0..2 {
        let r = register(&server, Some(&token), &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = register(&server, Some(&token), &body).await;
    r.assert_error(
        401,
        "invalid_token",
        "GRD-966",
        &["'partners'", "2 client(s)"],
    );
    assert!(!r.text.contains(&token));
    let (_, list) = server
        .admin(Method::GET, "/admin/v1/registration-tokens", None)
        .await;
    let listed = &list["registration_tokens"][0];
    assert_eq!(
        (&listed["id"], &listed["uses"], &listed["max_uses"]),
        (&json!(id), &json!(2), &json!(2))
    );
    assert!(
        listed.get("token").is_none() && !list.to_string().contains(&token),
        "the token is shown once"
    );

    // Expiry.
    let (_, soon) = initial_token(&server, json!({"label": "hour", "expires_in": 3600})).await;
    assert_eq!(register(&server, Some(&soon), &body).await.status, 201);
    server.advance(3601);
    let r = register(&server, Some(&soon), &body).await;
    r.assert_error(401, "invalid_token", "GRD-966", &["'hour' expired at"]);

    // Revocation.
    let (live_id, live) = initial_token(&server, json!({"label": "revoked soon"})).await;
    assert_eq!(register(&server, Some(&live), &body).await.status, 201);
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/registration-tokens/{live_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let r = register(&server, Some(&live), &body).await;
    r.assert_error(401, "invalid_token", "GRD-965", &["revoked"]);
    let (status, again) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/registration-tokens/{live_id}"),
            None,
        )
        .await;
    assert_eq!(
        (status, &again["errors"][0]["errorCode"]),
        (400, &json!("GRD-969"))
    );

    // The audit log records the tokens and who registered.
    let (_, audit) = server
        .admin(Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    let entries = audit["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"registration_token_created")
            && kinds.contains(&"registration_token_revoked"),
        "{audit}"
    );
    assert!(entries
        .iter()
        .any(|e| e["kind"] == "app_created" && e["actor"] == "registration"));
    assert!(
        !audit.to_string().contains(&token),
        "no token in the audit log"
    );

    // The operator's request itself is checked.
    for bad in [
        json!({"max_uses": 0}),
        json!({"expires_in": 5}),
        json!({"label": ""}),
    ] {
        let (status, e) = server
            .admin(
                Method::POST,
                "/admin/v1/registration-tokens",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(
            (status, &e["errors"][0]["errorCode"]),
            (400, &json!("GRD-969")),
            "{bad}: {e}"
        );
    }
}

#[tokio::test]
async fn open_registration_derives_the_platform_and_answers_the_effective_metadata() {
    let server = open_server();
    // A native app: loopback and private-use scheme, no secret.
    let r = register(
        &server,
        None,
        &json!({
            "client_name": "Acme CLI",
            "token_endpoint_auth_method": "none",
            "redirect_uris": [CB, "com.example.cli:/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile",
            "contacts": ["dev@example.com"],
            "logo_uri": "https://example.com/logo.png",
            "client_uri": "https://example.com",
            "software_id": "acme-cli",
            "software_version": "1.2.3",
            "unknown_field": "ignored"
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let c = &r.json;
    let client_id = c["client_id"].as_str().unwrap();
    assert!(
        c.get("client_secret").is_none(),
        "a public client gets no secret"
    );
    assert!(c["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert_eq!(
        c["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(c["response_types"], json!(["code"]));
    assert_eq!(c["redirect_uris"], json!([CB, "com.example.cli:/callback"]));
    assert_eq!(c["scope"], "openid profile");
    assert_eq!(c["contacts"], json!(["dev@example.com"]));
    assert_eq!(c["software_version"], "1.2.3");
    assert!(c.get("unknown_field").is_none());
    assert_eq!(
        c["registration_client_uri"],
        format!("{}/oauth/register/{client_id}", server.base)
    );
    assert!(c["registration_access_token"].as_str().unwrap().len() >= 32);
    let (_, app) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{client_id}"), None)
        .await;
    assert_eq!(app["platform_type"], "desktop", "{app}");
    assert_eq!(app["name"], "Acme CLI");

    // A single-page app: https redirect URIs only, no secret.
    let r = register(
        &server,
        None,
        &json!({"token_endpoint_auth_method": "none", "redirect_uris": ["https://spa.example.com/cb"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (_, app) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/apps/{}", r.json["client_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(app["platform_type"], "browser");

    // A web server: the default method (client_secret_basic), a secret shown once.
    let r = register(
        &server,
        None,
        &json!({"client_name": "Acme Web", "redirect_uris": ["https://web.example.com/cb"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.json["client_secret"].as_str().expect("a secret");
    assert_eq!(r.json["client_secret_expires_at"], 0);
    assert_eq!(r.json["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(r.json["grant_types"], json!(["authorization_code"]));
    let web_id = r.json["client_id"].as_str().unwrap();
    let (_, app) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{web_id}"), None)
        .await;
    assert_eq!(app["platform_type"], "server-web");
    assert!(
        !app.to_string().contains(secret),
        "stored hashed, never shown again"
    );
    // The secret authenticates the app (a wrong code, but the client is known).
    let r = server
        .post_form(
            "/oauth/token",
            Some((web_id, secret)),
            "grant_type=authorization_code&code=nope&redirect_uri=https%3A%2F%2Fweb.example.com%2Fcb",
        )
        .await;
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
}

#[tokio::test]
async fn every_policy_refusal_names_the_field_and_the_fix() {
    let server = open_server();
    let cases: &[(Value, &str, &str, &[&str])] = &[
        (
            json!({"redirect_uris": ["https://app.example.com/cb#frag"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["fragment"],
        ),
        (
            json!({"redirect_uris": ["https://*.example.com/cb"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["wildcard"],
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["loopback", "use https"],
        ),
        (
            json!({"redirect_uris": [CB]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["native apps", "token_endpoint_auth_method none"],
        ),
        (
            json!({"token_endpoint_auth_method": "none", "redirect_uris": ["myapp:/cb"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["reverse domain name", "com.example.app"],
        ),
        (
            json!({"redirect_uris": ["com.example.app:/cb"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["private-use schemes are for native apps"],
        ),
        (
            json!({"token_endpoint_auth_method": "none", "redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "GRD-960",
            &["cannot take the browser back"],
        ),
        (
            json!({"grant_types": ["implicit"], "redirect_uris": ["https://a.example.com/cb"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["grant_types", "'implicit'", "authorization_code"],
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["'password'"],
        ),
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["initial access token"],
        ),
        (
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["add authorization_code"],
        ),
        (
            json!({"response_types": ["token"], "redirect_uris": ["https://a.example.com/cb"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["response_types", "'token'"],
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_jwt", "redirect_uris": ["https://a.example.com/cb"]}),
            "invalid_client_metadata",
            "GRD-962",
            &[
                "token_endpoint_auth_method",
                "'client_secret_jwt'",
                "private_key_jwt",
            ],
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "redirect_uris": ["https://a.example.com/cb"]}),
            "invalid_client_metadata",
            "GRD-962",
            &["jwks"],
        ),
        (
            json!({"client_name": "No URIs"}),
            "invalid_client_metadata",
            "GRD-961",
            &["redirect_uris", "at least one"],
        ),
        (
            json!({"redirect_uris": "https://a.example.com/cb"}),
            "invalid_client_metadata",
            "GRD-961",
            &["redirect_uris", "array of strings"],
        ),
        (
            json!({"redirect_uris": ["https://a.example.com/cb"], "contacts": "ops@example.com"}),
            "invalid_client_metadata",
            "GRD-961",
            &["contacts"],
        ),
        (
            json!({"redirect_uris": ["https://a.example.com/cb"], "logo_uri": "http://a.example.com/logo.png"}),
            "invalid_client_metadata",
            "GRD-961",
            &["logo_uri", "https"],
        ),
        (
            json!({"redirect_uris": ["https://a.example.com/cb"], "client_name": ""}),
            "invalid_client_metadata",
            "GRD-961",
            &["client_name"],
        ),
        (
            json!({"redirect_uris": ["https://a.example.com/cb"], "scope": "openid bad\\scope"}),
            "invalid_client_metadata",
            "GRD-961",
            &["'scope'"],
        ),
        (
            json!({"redirect_uris": ["https://a.example.com/cb"], "software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}),
            "invalid_software_statement",
            "GRD-963",
            &["software_statement"],
        ),
    ];
    for (body, error, code, says) in cases {
        let r = register(&server, None, body).await;
        r.assert_error(400, error, code, says);
        assert!(
            !r.text.contains("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
            "a statement is never echoed"
        );
    }
    // The body itself.
    for (content_type, body, says) in [
        ("application/json", "{not json", "not valid JSON"),
        ("application/json", "[1, 2]", "not an object"),
        (
            "application/x-www-form-urlencoded",
            "client_name=x",
            "Content-Type 'application/x-www-form-urlencoded'",
        ),
    ] {
        let r = Reply::from(
            server
                .http
                .post(server.url("/oauth/register"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.assert_error(400, "invalid_client_metadata", "GRD-968", &[says]);
    }
    // Only POST.
    let r = Reply::from(
        server
            .http
            .get(server.url("/oauth/register"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.code()), (405, "GRD-101"));
}

#[tokio::test]
async fn client_credentials_only_with_an_initial_access_token_for_a_confidential_server() {
    let server = Server::start();
    let (_, token) = initial_token(&server, json!({"label": "backends"})).await;
    let r = register(
        &server,
        Some(&token),
        &json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    r.assert_error(
        400,
        "invalid_client_metadata",
        "GRD-962",
        &["confidential client"],
    );
    let r = register(
        &server,
        Some(&token),
        &json!({"grant_types": ["client_credentials", "authorization_code"], "redirect_uris": ["https://a.example.com/cb"]}),
    )
    .await;
    r.assert_error(
        400,
        "invalid_client_metadata",
        "GRD-962",
        &["register two clients"],
    );
    let r = register(
        &server,
        Some(&token),
        &json!({"client_name": "Nightly sync", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["response_types"], json!([]));
    let id = r.json["client_id"].as_str().unwrap();
    let secret = r.json["client_secret"].as_str().unwrap();
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, app) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{id}"), None)
        .await;
    assert_eq!(app["platform_type"], "server-only");
}

#[tokio::test]
async fn rfc7592_reads_replaces_and_deletes_with_the_registration_access_token() {
    let server = open_server();
    let r = register(
        &server,
        None,
        &json!({"client_name": "Editor", "token_endpoint_auth_method": "none", "redirect_uris": [CB], "software_id": "editor"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let uri = r.json["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let token = r.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client_id = r.json["client_id"].as_str().unwrap().to_string();

    // Read.
    let got = configure(&server, Method::GET, &uri, Some(&token), None).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["client_name"], "Editor");
    assert_eq!(got.json["software_id"], "editor");
    assert!(got.json.get("registration_access_token").is_none());
    // The RingCentral path serves the same registration.
    let alias = uri.replace("/oauth/register", "/restapi/oauth/register");
    assert_eq!(
        configure(&server, Method::GET, &alias, Some(&token), None)
            .await
            .status,
        200
    );

    // Wrong, missing and another client's tokens.
    let r = configure(&server, Method::GET, &uri, None, None).await;
    r.assert_error(401, "invalid_token", "GRD-967", &["no bearer token"]);
    let r = configure(&server, Method::GET, &uri, Some("wrong-token"), None).await;
    r.assert_error(401, "invalid_token", "GRD-967", &["not this client's"]);
    assert!(r
        .header("www-authenticate")
        .unwrap_or_default()
        .starts_with("Bearer"));
    let other = register(
        &server,
        None,
        &json!({"token_endpoint_auth_method": "none", "redirect_uris": [CB]}),
    )
    .await;
    let other_token = other.json["registration_access_token"].as_str().unwrap();
    let r = configure(&server, Method::GET, &uri, Some(other_token), None).await;
    r.assert_error(401, "invalid_token", "GRD-967", &[]);
    // An app the operator registered has no registration to read.
    let admin_app = server
        .create_app(
            json!({"name": "Operator's", "platform_type": "browser", "redirect_uris": [CB]}),
        )
        .await;
    let r = configure(
        &server,
        Method::GET,
        &format!(
            "{}/oauth/register/{}",
            server.base,
            admin_app["client_id"].as_str().unwrap()
        ),
        Some(&token),
        None,
    )
    .await;
    r.assert_error(401, "invalid_token", "GRD-967", &[]);

    // A client id no registration has is not quoted in full.
    let r = configure(
        &server,
        Method::GET,
        &format!("{}/oauth/register/UnknownClientId0123456789", server.base),
        Some(&token),
        None,
    )
    .await;
    r.assert_error(401, "invalid_token", "GRD-967", &[]);
    assert!(!r.text.contains("UnknownClientId0123456789"), "{}", r.text);

    // Replace, under the same policy.
    let put = configure(
        &server,
        Method::PUT,
        &uri,
        Some(&token),
        Some(&json!({"client_id": client_id, "client_name": "Editor 2", "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1:9000/cb", "https://editor.example.com/cb"]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json["client_name"], "Editor 2");
    assert_eq!(
        put.json["redirect_uris"],
        json!(["http://127.0.0.1:9000/cb", "https://editor.example.com/cb"])
    );
    assert!(
        put.json.get("software_id").is_none(),
        "PUT replaces the metadata"
    );
    let r = configure(
        &server,
        Method::PUT,
        &uri,
        Some(&token),
        Some(&json!({"token_endpoint_auth_method": "none", "grant_types": ["implicit"], "redirect_uris": [CB]})),
    )
    .await;
    r.assert_error(400, "invalid_client_metadata", "GRD-962", &["'implicit'"]);
    let r = configure(
        &server,
        Method::PUT,
        &uri,
        Some(&token),
        Some(&json!({"redirect_uris": ["https://editor.example.com/cb"]})),
    )
    .await;
    r.assert_error(
        400,
        "invalid_client_metadata",
        "GRD-962",
        &["registered as a desktop app", "server-web"],
    );
    let r = configure(
        &server,
        Method::PUT,
        &uri,
        Some(&token),
        Some(&json!({"client_id": "someone-else", "token_endpoint_auth_method": "none", "redirect_uris": [CB]})),
    )
    .await;
    r.assert_error(400, "invalid_client_metadata", "GRD-961", &["client_id"]);
    let r = configure(&server, Method::PUT, &uri, Some("wrong"), Some(&json!({}))).await;
    r.assert_error(401, "invalid_token", "GRD-967", &[]);

    // Delete: the app is gone, and so is its registration.
    let r = configure(&server, Method::DELETE, &uri, Some(&token), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (status, _) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{client_id}"), None)
        .await;
    assert_eq!(status, 404);
    let r = configure(&server, Method::GET, &uri, Some(&token), None).await;
    r.assert_error(401, "invalid_token", "GRD-967", &[]);
}

#[tokio::test]
async fn registered_public_client_completes_the_code_flow_with_pkce_and_its_tokens_end_with_it() {
    let server = open_server();
    server
        .create_user(json!({"email": "alice@example.com", "name": "Alice Smith", "password": "correct horse battery", "extension_number": "101"}))
        .await;
    let r = register(
        &server,
        None,
        &json!({"client_name": "Acme Desktop", "token_endpoint_auth_method": "none", "redirect_uris": [CB], "grant_types": ["authorization_code", "refresh_token"], "scope": "openid profile email"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let client_id = r.json["client_id"].as_str().unwrap().to_string();
    let uri = r.json["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let registration_token = r.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let (verifier, challenge) = pkce();
    // RFC 8252: a loopback redirect may use any port.
    let redirect = "http://127.0.0.1:51234/callback";
    let url = server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=xyz&code_challenge={challenge}&code_challenge_method=S256",
        urlencode(redirect)
    ));
    let b = Browser::new(&server);
    let loc = b
        .authorize(&url, "alice@example.com", "correct horse battery")
        .await;
    assert!(loc.starts_with(redirect), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["state"], "xyz");
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!(
                "grant_type=authorization_code&client_id={client_id}&code={}&redirect_uri={}&code_verifier={verifier}",
                q["code"],
                urlencode(redirect)
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["access_token"].as_str().unwrap().to_string();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_string();
    assert!(r.json["id_token"].is_string());
    let me = server.get_bearer("/oauth/userinfo", &access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["email"], "alice@example.com");

    // Without PKCE the code flow is refused for this public client.
    let no_pkce = server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}",
        urlencode(redirect)
    ));
    let page = b.get(&no_pkce).await;
    assert_ne!(page.status, 200, "no sign-in without PKCE: {}", page.text);

    // The client deletes itself: its tokens stop working.
    let r = configure(
        &server,
        Method::DELETE,
        &uri,
        Some(&registration_token),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let me = server.get_bearer("/oauth/userinfo", &access).await;
    assert_eq!(me.status, 401, "{}", me.text);
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!("grant_type=refresh_token&client_id={client_id}&refresh_token={refresh}"),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn the_cli_issues_lists_and_revokes_initial_access_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cli = |args: &[&str]| {
        std::process::Command::new(common::bin())
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("GRANTD_ADMIN_TOKEN", common::ADMIN_TOKEN)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "registration-token",
        "create",
        "--label",
        "ci",
        "--max-uses",
        "1",
        "--expires",
        "1d",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["max_uses"], 1);

    let server = Server::start_in(&data, &[], &[]);
    let body = json!({"redirect_uris": ["https://ci.example.com/cb"]});
    assert_eq!(register(&server, Some(&token), &body).await.status, 201);

    let out = cli(&["registration-token", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.contains(&id) && listed.contains("used up") && listed.contains("1/1"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "the token is shown once");
    let out = cli(&["registration-token", "revoke", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["registration-token", "revoke", &id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GRD-969")
            || String::from_utf8_lossy(&out.stdout).contains("GRD-969"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_console_shows_a_self_registered_app_and_its_initial_access_token() {
    let server = Server::start();
    server
        .create_user(json!({"email": "dev@example.com", "name": "Dana Dev", "role": "developer", "password": "developer password 1"}))
        .await;
    let (_, token) = initial_token(&server, json!({"label": "partner <onboarding>"})).await;
    let r = register(
        &server,
        Some(&token),
        &json!({"client_name": "Partner app", "redirect_uris": ["https://partner.example.com/cb"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let client_id = r.json["client_id"].as_str().unwrap();
    let operator_app = server
        .create_app(
            json!({"name": "Operator's", "platform_type": "browser", "redirect_uris": [CB]}),
        )
        .await;

    let b = common::browser();
    let html = b
        .get(server.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let r = b
        .post(server.url("/console/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "dev@example.com"),
            ("password", "developer password 1"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let page = b
        .get(server.url(&format!("/console/apps/{client_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("registered dynamically (RFC 7591) with the initial access token")
            && page.contains("partner &#60;onboarding&#62;"),
        "the label, escaped: {page}"
    );
    let page = b
        .get(server.url(&format!(
            "/console/apps/{}",
            operator_app["client_id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(operator_app["client_id"].as_str().unwrap()),
        "{page}"
    );
    assert!(
        !page.contains("registered dynamically"),
        "an app the operator registered says nothing of registration"
    );
}
