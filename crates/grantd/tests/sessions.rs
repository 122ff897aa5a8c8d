//! Users, JWT credentials, sessions and refresh rotation, the legacy password
//! grant and the RingCentral extension endpoint, over HTTP.

mod common;

use common::{Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

const EXTENSION: &str = "/restapi/v1.0/account/~/extension/~";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

struct Setup {
    app: common::App,
    user: Value,
    jwt: String,
    credential_id: String,
}

async fn jwt_setup(server: &Server) -> Setup {
    let app = server
        .server_only_app(json!({"name": "Acme JWT", "grants": ["jwt_bearer", "refresh_token"]}))
        .await;
    let user = server
        .create_user(json!({"email": "Alice@Example.com", "name": "Alice Smith", "extension_number": "101", "phone": "+16505550100", "password": "correct horse battery"}))
        .await;
    let (credential_id, jwt) = server
        .create_credential(user["id"].as_str().unwrap(), json!({"label": "ci"}))
        .await;
    Setup {
        app,
        user,
        jwt,
        credential_id,
    }
}

async fn login(server: &Server, s: &Setup) -> Reply {
    server
        .post_form(
            "/restapi/oauth/token",
            Some((&s.app.client_id, &s.app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={}", s.jwt),
        )
        .await
}

async fn refresh(server: &Server, s: &Setup, token: &str) -> Reply {
    server
        .post_form(
            "/restapi/oauth/token",
            Some((&s.app.client_id, &s.app.secret)),
            &format!("grant_type=refresh_token&refresh_token={token}"),
        )
        .await
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

#[tokio::test]
async fn jwt_flow_refresh_grace_and_reuse() {
    // RFC 9700's rule for every client (a confidential one's default is
    // RingCentral's: see tests/ringcentral.rs).
    let server = Server::start_with(
        &["--refresh-grace", "1", "--refresh-reuse", "end-session"],
        &[],
    );
    let setup = jwt_setup(&server).await;
    let r = login(&server, &setup).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t1 = r.json.clone();
    assert_eq!(t1["token_type"], "bearer");
    assert_eq!(t1["expires_in"], 3600);
    assert_eq!(t1["refresh_token_expires_in"], 604800);
    assert_eq!(t1["owner_id"], setup.user["id"]);
    assert!(t1["endpoint_id"].is_string() && t1["session_id"].is_string());
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // The SDKs' smoke test: the token's user.
    let me = server.get_bearer(EXTENSION, &s(&t1, "access_token")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["extensionNumber"], "101");
    assert_eq!(me.json["contact"]["email"], "alice@example.com");
    assert_eq!(me.json["account"]["id"], setup.user["account_id"]);
    assert_eq!(me.json["name"], "Alice Smith");

    // Refresh: a new pair; the old access token ends.
    let r = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t2 = r.json.clone();
    assert_ne!(t2["access_token"], t1["access_token"]);
    assert_ne!(t2["refresh_token"], t1["refresh_token"]);
    assert_eq!(t2["session_id"], t1["session_id"]);
    let old = server.get_bearer(EXTENSION, &s(&t1, "access_token")).await;
    old.assert_error(401, "invalid_token", "GRD-341", &["replaced by a refresh"]);

    // A retry with the old refresh token inside the grace window: the same pair.
    let r = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["access_token"], t2["access_token"]);
    assert_eq!(r.json["refresh_token"], t2["refresh_token"]);

    // The new pair is used; after the grace window, reuse ends the session.
    assert_eq!(
        server
            .get_bearer(EXTENSION, &s(&t2, "access_token"))
            .await
            .status,
        200
    );
    server.advance(3);
    let r = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    r.assert_error(
        400,
        "invalid_grant",
        "GRD-331",
        &["already exchanged", "ended"],
    );
    let r = refresh(&server, &setup, &s(&t2, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["refresh token reuse"]);
    let me = server.get_bearer(EXTENSION, &s(&t2, "access_token")).await;
    me.assert_error(401, "invalid_token", "GRD-341", &["session has ended"]);
    let auth = Some((setup.app.client_id.as_str(), setup.app.secret.as_str()));
    for t in [&t1, &t2] {
        for k in ["access_token", "refresh_token"] {
            let r = server
                .post_form("/oauth/introspect", auth, &format!("token={}", s(t, k)))
                .await;
            assert_eq!(r.json, json!({"active": false}), "{k}");
        }
    }
}

#[tokio::test]
async fn revoking_any_token_ends_the_session() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let auth = Some((setup.app.client_id.as_str(), setup.app.secret.as_str()));
    let t1 = login(&server, &setup).await.json;
    let t2 = refresh(&server, &setup, &s(&t1, "refresh_token"))
        .await
        .json;
    let other = login(&server, &setup).await.json; // a second session, untouched
    let r = server
        .post_form(
            "/restapi/oauth/revoke",
            auth,
            &format!("token={}", s(&t2, "access_token")),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    for k in ["access_token", "refresh_token"] {
        let r = server
            .post_form("/oauth/introspect", auth, &format!("token={}", s(&t2, k)))
            .await;
        assert_eq!(r.json["active"], false, "{k}");
    }
    let r = refresh(&server, &setup, &s(&t2, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["revoked"]);
    let r = server
        .post_form(
            "/oauth/introspect",
            auth,
            &format!("token={}", s(&other, "refresh_token")),
        )
        .await;
    assert_eq!(r.json["active"], true);
    assert_eq!(r.json["token_type"], "refresh_token");
    // Revoking by refresh token works the same way.
    server
        .post_form(
            "/oauth/revoke",
            auth,
            &format!("token={}", s(&other, "refresh_token")),
        )
        .await;
    let me = server
        .get_bearer(EXTENSION, &s(&other, "access_token"))
        .await;
    assert_eq!(me.code(), "GRD-341");
}

#[tokio::test]
async fn concurrent_refreshes_do_not_fork_the_session() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let t1 = login(&server, &setup).await.json;
    let rt = s(&t1, "refresh_token");
    let answers = futures_join(&server, &setup, &rt, 12).await;
    let first = &answers[0];
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.json["access_token"], first.json["access_token"]);
        assert_eq!(a.json["refresh_token"], first.json["refresh_token"]);
    }
    // The one new refresh token continues the session.
    let r = refresh(&server, &setup, &s(&first.json, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn futures_join(server: &Server, setup: &Setup, rt: &str, n: usize) -> Vec<Reply> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let http = server.http.clone();
        let url = server.url("/oauth/token");
        let auth = common::basic_header(&setup.app.client_id, &setup.app.secret);
        let body = format!("grant_type=refresh_token&refresh_token={rt}");
        handles.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            Reply::from(res).await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn session_cap_ends_the_oldest() {
    let server = Server::start_with(&["--max-sessions", "2"], &[]);
    let setup = jwt_setup(&server).await;
    let a = login(&server, &setup).await.json;
    let b = login(&server, &setup).await.json;
    let c = login(&server, &setup).await.json;
    let r = refresh(&server, &setup, &s(&a, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["session_limit"]);
    for t in [&b, &c] {
        assert_eq!(
            refresh(&server, &setup, &s(t, "refresh_token"))
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn token_lifetimes_are_clamped() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let auth = Some((setup.app.client_id.as_str(), setup.app.secret.as_str()));
    let body = |extra: &str| format!("grant_type={JWT_GRANT}&assertion={}&{extra}", setup.jwt);
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &body("access_token_ttl=60&refresh_token_ttl=999999999"),
        )
        .await;
    assert_eq!(r.json["expires_in"], 600);
    assert_eq!(r.json["refresh_token_expires_in"], 604800);
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &body("access_token_ttl=1800&refresh_token_ttl=3600"),
        )
        .await;
    assert_eq!(r.json["expires_in"], 1800);
    assert_eq!(r.json["refresh_token_expires_in"], 3600);
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &body("access_token_ttl=abc&refresh_token_ttl=0"),
        )
        .await;
    assert_eq!(r.json["expires_in"], 3600);
    assert!(
        r.json.get("refresh_token").is_none() && r.json.get("refresh_token_expires_in").is_none()
    );
}

#[tokio::test]
async fn jwt_bearer_failures_each_have_a_code() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let auth = Some((setup.app.client_id.as_str(), setup.app.secret.as_str()));
    let try_assertion = |a: String| {
        let server = &server;
        async move {
            server
                .post_form(
                    "/oauth/token",
                    auth,
                    &format!("grant_type={JWT_GRANT}&assertion={a}"),
                )
                .await
        }
    };
    try_assertion("not-a-jwt".into()).await.assert_error(
        400,
        "invalid_grant",
        "GRD-310",
        &["three"],
    );
    // Multi-byte text is an error like any other, never a crash.
    try_assertion("abcdef%E2%82%AC.x.y".into())
        .await
        .assert_error(400, "invalid_grant", "GRD-310", &[]);
    try_assertion("Bearer%20abc.def.ghi".into())
        .await
        .assert_error(400, "invalid_grant", "GRD-310", &["Bearer"]);
    let r = server
        .post_form("/oauth/token", auth, &format!("grant_type={JWT_GRANT}"))
        .await;
    r.assert_error(400, "invalid_request", "GRD-105", &["'assertion'"]);

    // An access token is not a credential.
    let at = s(&login(&server, &setup).await.json, "access_token");
    try_assertion(at)
        .await
        .assert_error(400, "invalid_grant", "GRD-311", &["at+jwt"]);

    // A credential from another grantd (another environment).
    let other = Server::start();
    let other_setup = jwt_setup(&other).await;
    try_assertion(other_setup.jwt.clone()).await.assert_error(
        400,
        "invalid_grant",
        "GRD-312",
        &[other.base.as_str(), server.base.as_str()],
    );

    // Tampered: the signature no longer verifies.
    let mut parts: Vec<String> = setup.jwt.split('.').map(String::from).collect();
    let sig = parts[2].clone();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{flipped}{}", &sig[1..]);
    try_assertion(parts.join(".")).await.assert_error(
        400,
        "invalid_grant",
        "GRD-314",
        &["signature"],
    );

    // Signed by a key this server never had.
    let forged = forge(
        &server.base,
        setup.user["id"].as_str().unwrap(),
        &format!("{}/oauth/token", server.base),
    );
    try_assertion(forged)
        .await
        .assert_error(400, "invalid_grant", "GRD-313", &["'test-key'"]);

    // Expired.
    let uid = setup.user["id"].as_str().unwrap();
    let (short_id, short) = server
        .create_credential(uid, json!({"expires_in": 1}))
        .await;
    // Accepted while valid: its signature is now remembered, and the expiry
    // below must still be checked on every use.
    let r = try_assertion(short.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Revoked.
    let (_, revoked) = server.create_credential(uid, json!({})).await;
    let revoked_id = {
        let (_, list) = server
            .admin(
                Method::GET,
                &format!("/admin/v1/users/{uid}/jwt-credentials"),
                None,
            )
            .await;
        let list = list["jwt_credentials"].as_array().unwrap().clone();
        assert!(
            list.iter().all(|c| c.get("jwt").is_none()),
            "listing never shows the JWT"
        );
        list.iter()
            .map(|c| s(c, "id"))
            .find(|id| *id != short_id && *id != setup.credential_id)
            .unwrap()
    };
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/jwt-credentials/{revoked_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    try_assertion(revoked).await.assert_error(
        400,
        "invalid_grant",
        "GRD-318",
        &[revoked_id.as_str(), "revoked at"],
    );

    // Restricted to another app.
    let other_app = server
        .server_only_app(json!({"name": "Other", "grants": ["jwt_bearer"]}))
        .await;
    let (_, restricted) = server
        .create_credential(uid, json!({"apps": [other_app.client_id]}))
        .await;
    try_assertion(restricted).await.assert_error(
        400,
        "invalid_grant",
        "GRD-319",
        &["Acme JWT", other_app.client_id.as_str()],
    );

    // A disabled user.
    let bob = server
        .create_user(json!({"email": "bob@example.com", "name": "Bob"}))
        .await;
    let (_, bob_jwt) = server
        .create_credential(bob["id"].as_str().unwrap(), json!({}))
        .await;
    let (status, _) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/users/{}", s(&bob, "id")),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, 200);
    try_assertion(bob_jwt.clone()).await.assert_error(
        400,
        "invalid_grant",
        "GRD-320",
        &["disabled"],
    );

    // A JWT credential sent to an API as if it were an access token.
    let r = server.get_bearer(EXTENSION, &setup.jwt).await;
    r.assert_error(
        401,
        "invalid_token",
        "GRD-342",
        &["Exchange it first", "/oauth/token"],
    );

    server.advance(7); // past exp plus the 5 s leeway
    try_assertion(short).await.assert_error(
        400,
        "invalid_grant",
        "GRD-316",
        &[short_id.as_str(), "expired at"],
    );
}

/// A credential-shaped JWT signed with a key grantd does not know.
fn forge(iss: &str, sub: &str, aud: &str) -> String {
    use base64::Engine;
    const PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVOwZ3xOIeko0x7aDkEELkH9jfUKM3Z7H3YSXNYzHfyChRANCAARXnjQ1VXLdh6MCetHFXPErulTK3OqSjJ0YnY/vikPzxewPD8P0Amuc97YwU0EB6bFgUbse+6ZnVsUo/QVLUX8q";
    let der = base64::engine::general_purpose::STANDARD
        .decode(PKCS8)
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("test-key".into());
    header.typ = Some("JWT".into());
    let claims = json!({"iss": iss, "sub": sub, "aud": aud, "jti": "forged", "iat": 1_700_000_000});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&der),
    )
    .unwrap()
}

#[tokio::test]
async fn refresh_and_api_misuse_are_explained() {
    let server = Server::start();
    let no_refresh = server
        .server_only_app(
            json!({"name": "No Refresh", "grants": ["jwt_bearer", "client_credentials"]}),
        )
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&no_refresh.client_id, &no_refresh.secret)),
            "grant_type=refresh_token&refresh_token=abc",
        )
        .await;
    r.assert_error(
        400,
        "unauthorized_client",
        "GRD-330",
        &[
            "does not issue refresh tokens",
            "--issue-refresh-tokens true",
        ],
    );
    let cc = server
        .post_form(
            "/oauth/token",
            Some((&no_refresh.client_id, &no_refresh.secret)),
            "grant_type=client_credentials",
        )
        .await;
    let r = server
        .get_bearer(EXTENSION, &s(&cc.json, "access_token"))
        .await;
    r.assert_error(
        403,
        "insufficient_scope",
        "GRD-343",
        &["client_credentials"],
    );
    let r = server.get_bearer(EXTENSION, "garbage").await;
    r.assert_error(401, "invalid_token", "OAU-149", &[]);
    let res = server.http.get(server.url(EXTENSION)).send().await.unwrap();
    Reply::from(res)
        .await
        .assert_error(401, "invalid_token", "GRD-340", &["Bearer"]);

    let setup = jwt_setup(&server).await;
    let r = refresh(&server, &setup, "no-such-token").await;
    r.assert_error(400, "invalid_grant", "OAU-213", &["newest"]);
    let t = login(&server, &setup).await.json;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&no_refresh.client_id, &no_refresh.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200);
    let other = server
        .server_only_app(json!({"name": "Thief", "grants": ["jwt_bearer", "refresh_token"]}))
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&other.client_id, &other.secret)),
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                s(&t, "refresh_token")
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-332", &[]);
}

#[tokio::test]
async fn password_grant_before_its_sunset_and_lockout() {
    let server = Server::start_with(
        &[
            "--password-grant-sunset",
            "2099-12-31",
            "--lockout-threshold",
            "3",
        ],
        &[],
    );
    let app = App::from(server.create_app(json!({"name": "Desk", "platform_type": "desktop", "grants": ["authorization_code", "refresh_token", "password"]})).await);
    assert!(app.secret.is_empty(), "desktop apps are public");
    let user = server
        .create_user(json!({"email": "carol@example.com", "phone": "+16505550100", "extension_number": "102", "name": "Carol", "password": "correct horse battery"}))
        .await;
    server
        .create_user(json!({"email": "dave@example.com", "phone": "+16505550100", "extension_number": "103", "name": "Dave", "password": "another good one"}))
        .await;
    // Python SDK style: Basic with an empty secret.
    for body in [
        "grant_type=password&username=carol%40example.com&password=correct+horse+battery",
        "grant_type=password&username=%2B16505550100*102&password=correct+horse+battery",
        "grant_type=password&username=%2B16505550100&extension=102&password=correct+horse+battery",
    ] {
        let r = server
            .post_form("/restapi/oauth/token", Some((&app.client_id, "")), body)
            .await;
        assert_eq!(r.status, 200, "{body}: {}", r.text);
        assert_eq!(r.json["owner_id"], user["id"]);
        assert_eq!(r.header("deprecation"), Some("@1736812800"));
        assert_eq!(r.header("sunset"), Some("Thu, 31 Dec 2099 00:00:00 GMT"));
        assert!(r.header("link").unwrap().contains("rel=\"deprecation\""));
    }
    // JS SDK style: client_id in the body, no header.
    let r = server
        .post_form("/oauth/token", None, &format!("grant_type=password&client_id={}&username=carol%40example.com&password=correct+horse+battery", app.client_id))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A shared phone without the extension is ambiguous.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "")),
            "grant_type=password&username=%2B16505550100&password=correct+horse+battery",
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-140", &["add the extension"]);
    // Wrong passwords lock the user after three; then even the right one is refused.
    let wrong = "grant_type=password&username=carol%40example.com&password=wrong-password";
    for _ in 0..2 {
        let r = server
            .post_form("/oauth/token", Some((&app.client_id, "")), wrong)
            .await;
        r.assert_error(
            400,
            "invalid_grant",
            "OAU-140",
            &["username or password is wrong"],
        );
        assert!(!r.text.contains("wrong-password"));
    }
    let r = server
        .post_form("/oauth/token", Some((&app.client_id, "")), wrong)
        .await;
    r.assert_error(400, "invalid_grant", "OAU-147", &["locked", "until"]);
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "")),
            "grant_type=password&username=carol%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(r.code(), "OAU-147");
    // Other users are not affected.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "")),
            "grant_type=password&username=dave%40example.com&password=another+good+one",
        )
        .await;
    assert_eq!(r.status, 200);
    // A web app is not enabled for the password grant: the seed's first cause.
    let web = App::from(server.create_app(json!({"name": "Acme Web", "platform_type": "server-web", "redirect_uris": ["https://acme.example/cb"]})).await);
    let r = server
        .post_form(
            "/oauth/token",
            Some((&web.client_id, &web.secret)),
            "grant_type=password&username=dave%40example.com&password=another+good+one",
        )
        .await;
    r.assert_error(
        400,
        "unauthorized_client",
        "OAU-251",
        &[
            "App 'Acme Web' (server-web) is not enabled for grant_type 'password'",
            "authorization_code, refresh_token",
            "desktop, mobile, server-only",
        ],
    );
    assert!(!server.log().contains("correct horse") && !server.log().contains("wrong-password"));
}

use common::App;

#[tokio::test]
async fn password_grant_after_its_sunset() {
    let server = Server::start();
    let app = App::from(server.create_app(json!({"name": "Desk", "platform_type": "desktop", "grants": ["authorization_code", "password"]})).await);
    server.create_user(json!({"email": "erin@example.com", "name": "Erin", "password": "correct horse battery"})).await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "")),
            "grant_type=password&username=erin%40example.com&password=correct+horse+battery",
        )
        .await;
    r.assert_error(
        400,
        "unsupported_grant_type",
        "GRD-304",
        &[
            "retired on 2024-03-31",
            "JWT flow",
            "authorization code flow with PKCE",
        ],
    );
}

#[tokio::test]
async fn cli_creates_users_and_jwt_credentials() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"name": "CLI JWT", "grants": ["jwt_bearer", "refresh_token"]}))
        .await;
    let cli = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(common::bin())
            .arg("--data-dir")
            .arg(&server.dir)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = cli(
        &[
            "user",
            "create",
            "--email",
            "frank@example.com",
            "--name",
            "Frank",
            "--extension",
            "105",
            "--password-stdin",
            "--json",
        ],
        "a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    let uid = s(&user, "id");
    assert!(user.get("password_hash").is_none());
    let out = cli(
        &[
            "jwt",
            "create",
            "--user",
            &uid,
            "--app",
            &app.client_id,
            "--expires",
            "30d",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["owner_id"], uid.as_str());
    let before = r.json.clone();
    let out = cli(&["user", "list"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("frank@example.com"));
    let out = cli(&["user", "disable", &uid], "");
    assert!(out.status.success());
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-320", &[]);
    // The refresh token of the disabled user's session stops working too.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                s(&before, "refresh_token")
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["user disabled"]);
    // Disabling ended the user's sessions: introspection says inactive.
    for k in ["access_token", "refresh_token"] {
        let r = server
            .post_form(
                "/oauth/introspect",
                Some((&app.client_id, &app.secret)),
                &format!("token={}", s(&before, k)),
            )
            .await;
        assert_eq!(r.json["active"], false, "{k} of a disabled user");
    }
    let out = cli(&["jwt", "list", "--user", &uid], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("active"));
}

#[tokio::test]
async fn logging_out_with_an_expired_access_token_ends_the_session() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"name": "Short", "grants": ["jwt_bearer", "refresh_token"], "access_token_ttl": 60}))
        .await;
    let user = server
        .create_user(json!({"email": "gina@example.com", "name": "Gina"}))
        .await;
    let (_, jwt) = server
        .create_credential(user["id"].as_str().unwrap(), json!({}))
        .await;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let t = server
        .post_form(
            "/oauth/token",
            auth,
            &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
        )
        .await
        .json;
    assert_eq!(t["expires_in"], 60);
    server.advance(62);
    let r = server
        .post_form(
            "/oauth/revoke",
            auth,
            &format!("token={}", s(&t, "access_token")),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                s(&t, "refresh_token")
            ),
        )
        .await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["revoked"]);
}

#[tokio::test]
async fn a_clients_access_token_ttl_never_exceeds_3600() {
    let server = Server::start();
    let app = server
        .server_only_app(
            json!({"name": "Long", "grants": ["jwt_bearer"], "access_token_ttl": 86400}),
        )
        .await;
    let user = server
        .create_user(json!({"email": "hal@example.com", "name": "Hal"}))
        .await;
    let (_, jwt) = server
        .create_credential(user["id"].as_str().unwrap(), json!({}))
        .await;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let body = |extra: &str| format!("grant_type={JWT_GRANT}&assertion={jwt}{extra}");
    assert_eq!(
        server.post_form("/oauth/token", auth, &body("")).await.json["expires_in"],
        86400
    );
    assert_eq!(
        server
            .post_form("/oauth/token", auth, &body("&access_token_ttl=50000"))
            .await
            .json["expires_in"],
        3600
    );
}

#[tokio::test]
async fn reuse_after_the_grace_window_ends_the_session_even_when_the_new_pair_was_never_used() {
    let server = Server::start_with(&["--refresh-reuse", "end-session"], &[]);
    let setup = jwt_setup(&server).await;
    let t1 = login(&server, &setup).await.json;
    let t2 = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    assert_eq!(t2.status, 200, "{}", t2.text);
    // Nobody uses the new pair (a resource server checks JWTs by itself);
    // the window still closes 10 s after the exchange.
    server.advance(20);
    let r = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "GRD-331", &["already exchanged"]);
    let r = refresh(&server, &setup, &s(&t2.json, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["refresh token reuse"]);
}

#[tokio::test]
async fn a_refresh_token_past_its_lifetime_is_refused_as_expired() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let t = login(&server, &setup).await.json;
    let ttl = t["refresh_token_expires_in"].as_i64().unwrap();
    server.advance(ttl + 1);
    let r = refresh(&server, &setup, &s(&t, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-210", &["expired at"]);
}

#[tokio::test]
async fn sessions_end_at_their_maximum_lifetime_however_often_refreshed() {
    let server = Server::start_with(&["--session-max-lifetime", "3600"], &[]);
    let setup = jwt_setup(&server).await;
    let t1 = login(&server, &setup).await.json;
    server.advance(3000);
    let t2 = refresh(&server, &setup, &s(&t1, "refresh_token")).await;
    assert_eq!(t2.status, 200, "{}", t2.text);
    // The new refresh token does not outlive the session.
    let left = t2.json["refresh_token_expires_in"].as_i64().unwrap();
    assert!((1..=600).contains(&left), "refresh_token_expires_in {left}");
    // The test clock runs on from real time: 10 s of margin either side of
    // the session's end, for a slow machine.
    server.advance(590);
    let t3 = refresh(&server, &setup, &s(&t2.json, "refresh_token")).await;
    assert_eq!(t3.status, 200, "{}", t3.text);
    server.advance(20);
    let r = refresh(&server, &setup, &s(&t3.json, "refresh_token")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("maximum lifetime") || d.contains("expired at")),
        "{}",
        r.text
    );
    let access = s(&t3.json, "access_token");
    let api = server.get_bearer(EXTENSION, &access).await;
    assert_eq!(api.status, 401, "the session's access token outlived it");
}

#[tokio::test]
async fn revoking_a_jwt_credential_ends_the_sessions_it_opened() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let t = login(&server, &setup).await.json;
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/jwt-credentials/{}", setup.credential_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let r = refresh(&server, &setup, &s(&t, "refresh_token")).await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["credential revoked"]);
    let api = server.get_bearer(EXTENSION, &s(&t, "access_token")).await;
    assert_eq!(api.status, 401);
}

#[tokio::test]
async fn an_administrator_ends_a_users_or_an_apps_sessions() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let uid = s(&setup.user, "id");
    let a = login(&server, &setup).await.json;
    let (status, body) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/users/{uid}/sessions"),
            None,
        )
        .await;
    assert_eq!((status, &body["ended"]), (200, &json!(1)), "{body}");
    let r = refresh(&server, &setup, &s(&a, "refresh_token")).await;
    r.assert_error(
        400,
        "invalid_grant",
        "OAU-211",
        &["ended by an administrator"],
    );
    assert_eq!(
        server
            .get_bearer(EXTENSION, &s(&a, "access_token"))
            .await
            .status,
        401
    );

    let b = login(&server, &setup).await.json;
    let out = std::process::Command::new(common::bin())
        .args(["--data-dir"])
        .arg(&server.dir)
        .args(["app", "end-sessions", &setup.app.client_id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ended 1 sessions"));
    let r = refresh(&server, &setup, &s(&b, "refresh_token")).await;
    r.assert_error(
        400,
        "invalid_grant",
        "OAU-211",
        &["ended by an administrator"],
    );

    let (status, body) = server
        .admin(Method::DELETE, "/admin/v1/apps/no-such-app/sessions", None)
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_lockout_and_its_hints_do_not_tell_who_exists() {
    let server = Server::start_with(
        &[
            "--password-grant-sunset",
            "2099-12-31",
            "--lockout-threshold",
            "3",
        ],
        &[],
    );
    let app = App::from(server.create_app(json!({"name": "Desk", "platform_type": "desktop", "grants": ["authorization_code", "refresh_token", "password"]})).await);
    server
        .create_user(json!({"email": "erin@example.com", "name": "Erin", "password": "correct horse battery"}))
        .await;
    server
        .create_user(
            json!({"phone": "+16505550111", "name": "Frank", "password": "correct horse battery"}),
        )
        .await;
    let answers = |username: &'static str| {
        let body = format!("grant_type=password&username={username}&password=wrong-password");
        let server = &server;
        let client_id = app.client_id.clone();
        async move {
            let mut codes = Vec::new();
            for _ in 0..5 {
                let r = server
                    .post_form("/oauth/token", Some((&client_id, "")), &body)
                    .await;
                codes.push((
                    r.status,
                    r.json["errors"][0]["errorCode"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    r.json["error_description"]
                        .as_str()
                        .unwrap_or("")
                        .contains("add the extension"),
                ));
            }
            codes
        }
    };
    let known = answers("erin%40example.com").await;
    let unknown = answers("nobody%40example.com").await;
    assert_eq!(known, unknown, "an unknown user answers as a known one");
    assert_eq!(known[2].1, "OAU-147", "locked after three: {known:?}");
    // The phone hint is the same whether or not anyone has the number.
    let known = answers("%2B16505550111").await;
    let unknown = answers("%2B16505550199").await;
    assert_eq!(known, unknown);
    assert!(known[0].2, "the hint is given: {known:?}");
}

#[tokio::test]
async fn expired_and_tampered_access_tokens_are_explained() {
    let server = Server::start();
    let setup = jwt_setup(&server).await;
    let t = login(&server, &setup).await.json;
    let access = s(&t, "access_token");
    // A character inside the signature changed (not the last one, whose
    // spare bits may not decode): it no longer verifies.
    let mut bytes = access.clone().into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let r = server.get_bearer(EXTENSION, &tampered).await;
    r.assert_error(401, "invalid_token", "OAU-129", &[]);
    server.advance(3601);
    let r = server.get_bearer(EXTENSION, &access).await;
    r.assert_error(401, "invalid_token", "OAU-128", &["expired at"]);
}

#[tokio::test]
async fn assertions_for_another_server_or_from_the_future_are_refused() {
    let server = Server::start_with(&["--issuer", "http://first.example"], &[]);
    let setup = jwt_setup(&server).await;
    // The server's clock an hour behind the credential's iat.
    server.advance(-3600);
    login(&server, &setup)
        .await
        .assert_error(400, "invalid_grant", "GRD-317", &[]);
    server.advance(3600);
    assert_eq!(login(&server, &setup).await.status, 200);
    // The same keys under another issuer: the credential names the first
    // server as its issuer (and its token endpoint as audience).
    let dir = server.dir.clone();
    let tmp = server.stop();
    let second = Server::start_in(&dir, &["--issuer", "http://second.example"], &[]);
    login(&second, &setup).await.assert_error(
        400,
        "invalid_grant",
        "GRD-312",
        &["http://first.example", "http://second.example"],
    );
    drop(tmp);
}

#[tokio::test]
async fn a_private_apps_password_grant_refuses_users_of_other_accounts() {
    let server = Server::start_with(&["--password-grant-sunset", "2099-12-31"], &[]);
    let app = App::from(server.create_app(json!({"name": "Desk", "platform_type": "desktop", "grants": ["authorization_code", "password"]})).await);
    let (status, account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    server
        .create_user(json!({"account_id": account["id"], "email": "gus@example.com", "name": "Gus", "password": "correct horse battery"}))
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "")),
            "grant_type=password&username=gus%40example.com&password=correct+horse+battery",
        )
        .await;
    r.assert_error(400, "invalid_grant", "GRD-321", &["Desk"]);
}
