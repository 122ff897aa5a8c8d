//! The foundation end to end: apps through the admin API and the CLI,
//! client_credentials with the `oauth2` crate, JWKS verification,
//! introspection, revocation, persistence across restarts, `grantd explain`.

mod common;

use common::{basic_header, Server, ADMIN_TOKEN};
use jsonwebtoken::{jwk::JwkSet, DecodingKey, Validation};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

async fn oauth2_token(
    server: &Server,
    client_id: &str,
    secret: &str,
    scopes: &[&str],
    post: bool,
) -> String {
    let mut client = BasicClient::new(ClientId::new(client_id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).unwrap());
    if post {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.exchange_client_credentials();
    for s in scopes {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let token = req
        .request_async(&http)
        .await
        .expect("client_credentials token");
    assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(3600));
    token.access_token().secret().clone()
}

#[tokio::test]
async fn client_credentials_jwt_verifies_against_jwks() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    assert_eq!(app.secret.len(), 43, "256-bit secret");
    assert_eq!(app.json["client_type"], "confidential");

    let token = oauth2_token(
        &server,
        &app.client_id,
        &app.secret,
        &["ReadAccounts"],
        false,
    )
    .await;

    let jwks: JwkSet = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[server.base.as_str()]);
    v.set_audience(&[server.base.as_str()]);
    let claims: Value = jsonwebtoken::decode(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], app.client_id.as_str());
    assert_eq!(claims["client_id"], app.client_id.as_str());
    assert_eq!(claims["scope"], "ReadAccounts");
    for c in ["exp", "iat", "jti"] {
        assert!(
            claims[c].is_number() || claims[c].is_string(),
            "{c} in {claims}"
        );
    }

    // client_secret_post works too, and no scope means all of the app's.
    let token2 = oauth2_token(&server, &app.client_id, &app.secret, &[], true).await;
    let claims2: Value = jsonwebtoken::decode(&token2, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    assert_eq!(claims2["scope"], "ReadAccounts SMS");

    // Introspection sees it; after revocation it is inactive.
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={token}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], true);
    assert_eq!(r.json["client_id"], app.client_id.as_str());
    assert_eq!(r.json["scope"], "ReadAccounts");
    let r = server
        .post_form("/restapi/oauth/revoke", auth, &format!("token={token}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, "");
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={token}"))
        .await;
    assert_eq!(r.json, json!({"active": false}));
    // The other token is untouched.
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={token2}"))
        .await;
    assert_eq!(r.json["active"], true);
}

#[tokio::test]
async fn token_response_headers_and_ringcentral_path() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let r = server
        .post_form(
            "/restapi/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials&scope=SMS",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert!(r.header("x-request-id").is_some());
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["expires_in"], 3600);
    assert_eq!(r.json["scope"], "SMS");
    assert!(r.json.get("refresh_token").is_none());
}

#[tokio::test]
async fn opaque_tokens_introspect_revoke_and_survive_restart() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"access_token_format": "opaque", "access_token_ttl": 900}))
        .await;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let r = server
        .post_form("/oauth/token", auth, "grant_type=client_credentials")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["expires_in"], 900);
    let opaque = r.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(opaque.len(), 43);
    assert!(!opaque.contains('.'));
    let r = server
        .post_form("/oauth/token", auth, "grant_type=client_credentials")
        .await;
    let second = r.json["access_token"].as_str().unwrap().to_string();
    let kid_before = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();

    // Restart on the same data directory.
    let dir = server.dir.clone();
    let (clean, tmp) = server.stop_status();
    assert!(clean, "SIGTERM stops grantd gracefully with status 0");
    let server = Server::start_in(&dir, &[], &[]);
    let _keep = tmp;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={opaque}"))
        .await;
    assert_eq!(r.json["active"], true, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["client_id"], app.client_id.as_str());
    let kid_after = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(kid_before, kid_after, "signing keys persist");
    let (status, shown) = server
        .admin(
            Method::GET,
            &format!("/admin/v1/apps/{}", app.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["name"], "Acme Sync");

    // Revoke: inactive, and it stays revoked.
    let r = server
        .post_form("/oauth/revoke", auth, &format!("token={opaque}"))
        .await;
    assert_eq!(r.status, 200);
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={opaque}"))
        .await;
    assert_eq!(r.json, json!({"active": false}));
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={second}"))
        .await;
    assert_eq!(r.json["active"], true);

    // Another app cannot see or revoke this app's token.
    let other = server.server_only_app(json!({"name": "Other"})).await;
    let oauth = Some((other.client_id.as_str(), other.secret.as_str()));
    let r = server
        .post_form("/oauth/introspect", oauth, &format!("token={second}"))
        .await;
    assert_eq!(r.json, json!({"active": false}));
    server
        .post_form("/oauth/revoke", oauth, &format!("token={second}"))
        .await;
    let r = server
        .post_form("/oauth/introspect", auth, &format!("token={second}"))
        .await;
    assert_eq!(r.json["active"], true);
}

#[tokio::test]
async fn cli_registers_apps_the_server_uses() {
    let server = Server::start();
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&server.dir)
        .args([
            "app",
            "create",
            "--name",
            "CLI App",
            "--platform-type",
            "server-only",
        ])
        .args([
            "--grants",
            "client_credentials",
            "--scopes",
            "ReadAccounts",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    oauth2_token(&server, id, secret, &["ReadAccounts"], false).await;

    // The admin API sees it; list, show, update, rotate, delete through the CLI.
    let (_, list) = server.admin(Method::GET, "/admin/v1/apps", None).await;
    assert!(list["apps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["client_id"] == id));
    let cli = |args: &[&str]| {
        Command::new(common::bin())
            .arg("--data-dir")
            .arg(&server.dir)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "app",
        "update",
        id,
        "--scopes",
        "ReadAccounts,SMS",
        "--json",
    ]);
    assert!(out.status.success());
    let updated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(updated["scopes"], json!(["ReadAccounts", "SMS"]));
    let out = cli(&["app", "rotate-secret", id, "--json"]);
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    // The server's cache forgets within seconds; the old secret then fails.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((id, secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.code(), "OAU-146");
    let r = server
        .post_form(
            "/oauth/token",
            Some((id, new_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200);
    let out = cli(&[
        "app",
        "create",
        "--name",
        "Bad",
        "--platform-type",
        "server-web",
        "--grants",
        "password",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GRD-411") && err.contains("desktop, mobile, server-only"),
        "{err}"
    );
    let out = cli(&["app", "delete", id]);
    assert!(out.status.success());
    let (status, body) = server
        .admin(Method::GET, &format!("/admin/v1/apps/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["errorCode"], "GRD-414");
}

#[tokio::test]
async fn admin_api_round_trip() {
    let server = Server::start();
    let (status, account) = server
        .admin(
            Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(status, 201);
    let account_id = account["id"].as_str().unwrap();
    let app = server
        .create_app(json!({"name": "Web", "platform_type": "server-web", "account_id": account_id,
                           "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:8000/cb"]}))
        .await;
    assert_eq!(
        app["grants"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(app["issue_refresh_tokens"], true);
    assert_eq!(app["account_id"], account_id);
    let id = app["client_id"].as_str().unwrap();
    let (status, patched) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{id}"),
            Some(json!({"grants": ["authorization_code"]})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["issue_refresh_tokens"], false);
    assert!(patched.get("client_secret").is_none());
    let (status, rotated) = server
        .admin(Method::POST, &format!("/admin/v1/apps/{id}/secret"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(rotated["client_secret"].as_str().unwrap().len(), 43);
    let public = server
        .create_app(json!({"name": "SPA", "platform_type": "browser"}))
        .await;
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["client_type"], "public");
    let (status, _) = server
        .admin(Method::DELETE, &format!("/admin/v1/apps/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, doc) = server
        .admin(Method::GET, "/admin/v1/openapi.json", None)
        .await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/admin/v1/apps/{client_id}"]["patch"].is_object());
}

#[tokio::test]
async fn discovery_lists_what_is_served() {
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
        assert_eq!(doc["issuer"], server.base.as_str());
        assert_eq!(doc["token_endpoint"], server.url("/oauth/token"));
        assert_eq!(doc["jwks_uri"], server.url("/oauth/jwks"));
        // The password grant is retired by default, so it is not advertised.
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:token-exchange",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        // Every advertised endpoint answers (a GET on a POST endpoint gets its 405).
        for key in [
            "authorization_endpoint",
            "userinfo_endpoint",
            "token_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
            "device_authorization_endpoint",
            "jwks_uri",
        ] {
            let res = server
                .http
                .get(doc[key].as_str().unwrap())
                .send()
                .await
                .unwrap();
            // Served: anything but "no such endpoint" (userinfo wants a token, authorize a client).
            let code = res
                .headers()
                .get("x-error-code")
                .map(|v| v.to_str().unwrap().to_string());
            assert!(
                res.status().as_u16() < 500 && code.as_deref() != Some("GRD-109"),
                "{key}"
            );
        }
    }
    let h = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    let r = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn generated_admin_token_is_printed_once_and_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("GRANTD_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, BufReader};
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let token = stderr.by_ref().map_while(Result::ok).find_map(|l| {
        l.strip_prefix("Admin token (shown once; store it now): ")
            .map(|t| t.trim().to_string())
    });
    std::thread::spawn(move || for _ in stderr {});
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = stdout
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("grantd listening on ").map(str::to_string))
        .unwrap();
    std::thread::spawn(move || for _ in stdout {});
    let token = token.expect("admin token printed");
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token)
        .expect("base64url");
    assert!(raw.len() >= 32, "{} random bytes", raw.len());
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{base}/admin/v1/apps"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .get(format!("{base}/admin/v1/apps"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    child.kill().ok();
    child.wait().ok();
    // Not stored in clear anywhere in the data directory.
    let db = std::fs::read(dir.join("grantd.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));
    // A second start does not print a new one.
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["app", "list"])
        .env_remove("GRANTD_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Admin token"));
}

#[test]
fn explain_prints_explanation_and_fix() {
    let out = Command::new(common::bin())
        .args(["explain", "OAU-251"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OAU-251 — Unauthorized for this grant type"),
        "{text}"
    );
    assert!(
        text.contains("What it means:") && text.contains("platform type"),
        "{text}"
    );
    assert!(
        text.contains("How to fix it:") && text.contains("grantd app update"),
        "{text}"
    );
    let out = Command::new(common::bin())
        .args(["explain", "NOPE-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn signing_algorithms_are_selectable() {
    for alg in ["EdDSA", "RS256"] {
        let server = Server::start_with(&["--signing-alg", alg], &[]);
        let app = server.server_only_app(json!({})).await;
        let r = server
            .post_form(
                "/oauth/token",
                Some((&app.client_id, &app.secret)),
                "grant_type=client_credentials",
            )
            .await;
        let token = r.json["access_token"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        let jwks: JwkSet = server
            .http
            .get(server.url("/oauth/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let mut v = Validation::new(header.alg);
        v.set_audience(&[server.base.as_str()]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v).expect(alg);
        let _ = basic_header("a", "b");
    }
}

#[test]
fn docs_errors_md_is_current() {
    let out = Command::new(common::bin())
        .args(["explain", "--markdown"])
        .output()
        .unwrap();
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/errors.md is out of date: run `cargo run -- explain --markdown > docs/errors.md`"
    );
}

#[tokio::test]
async fn configuration_file_environment_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("grantd.toml");
    std::fs::write(
        &config,
        "issuer = \"https://auth.example.test\"\nsigning_alg = \"RS256\"\n[legacy]\npassword_sunset = \"2099-01-01\"\n",
    )
    .unwrap();
    // The file sets the issuer and algorithm; the environment overrides the algorithm.
    let server = Server::start_with(
        &["--config", config.to_str().unwrap()],
        &[("GRANTD_SIGNING_ALG", "EdDSA")],
    );
    let doc: Value = server
        .http
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], "https://auth.example.test");
    assert_eq!(
        doc["token_endpoint"],
        "https://auth.example.test/oauth/token"
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("password")));
    let jwks: Value = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");

    // A bad file is refused with its name.
    std::fs::write(&config, "listen = 8080\nnonsense = true\n").unwrap();
    let out = Command::new(common::bin())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("grantd.toml is not valid"));
}

#[tokio::test]
async fn signing_keys_are_sealed_with_the_master_key() {
    let server = Server::start();
    let dir = server.dir.clone();
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode, 0o600);
    let jwks: Value = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tmp = server.stop();
    // The private key is not in the database in clear: a PKCS#8 EC key would
    // carry the ecPublicKey OID; only the public JWK is readable.
    let mut db = std::fs::read(dir.join("grantd.db")).unwrap();
    db.extend(std::fs::read(dir.join("grantd.db-wal")).unwrap_or_default());
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    assert!(
        db.windows(x.len()).any(|w| w == x.as_bytes()),
        "public JWK stored"
    );
    let ec_oid = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    assert!(
        !db.windows(ec_oid.len()).any(|w| w == ec_oid),
        "no PKCS#8 in clear"
    );
    // Another master key cannot open them: grantd refuses to start and says why.
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&dir)
        .args(["app", "list"])
        .env("GRANTD_MASTER_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("master key is not the one it was sealed with"),
        "{err}"
    );
    drop(tmp);
}

#[tokio::test]
async fn rotated_keys_are_published_before_they_sign() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let token = |server: &Server| {
        let (id, secret) = (app.client_id.clone(), app.secret.clone());
        let url = server.url("/oauth/token");
        let http = server.http.clone();
        async move {
            let r = common::Reply::from(
                http.post(url)
                    .header("authorization", basic_header(&id, &secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            jsonwebtoken::decode_header(r.json["access_token"].as_str().unwrap())
                .unwrap()
                .kid
                .unwrap()
        }
    };
    let old_kid = token(&server).await;
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&server.dir)
        .args(["keys", "rotate", "--alg", "EdDSA"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A restart loads the new key at once (a running server within a minute).
    let dir = server.dir.clone();
    let tmp = server.stop();
    let server = Server::start_in(&dir, &[], &[]);
    let jwks: Value = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "both keys published: {jwks}");
    assert!(kids.contains(&old_kid.as_str()));
    assert_eq!(
        token(&server).await,
        old_kid,
        "the new key does not sign before its activation delay"
    );
    drop(tmp);
}

#[tokio::test]
async fn resource_servers_introspect_every_apps_tokens() {
    let server = Server::start();
    let app = server
        .server_only_app(json!({"access_token_format": "opaque"}))
        .await;
    let api = server
        .server_only_app(json!({"name": "Billing API", "resource_server": true}))
        .await;
    assert_eq!(api.json["resource_server"], true);
    let other = server.server_only_app(json!({"name": "Other"})).await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    let token = r.json["access_token"].as_str().unwrap().to_string();
    let r = server
        .post_form(
            "/oauth/introspect",
            Some((&api.client_id, &api.secret)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(r.json["active"], true, "{}", r.text);
    assert_eq!(r.json["client_id"], app.client_id.as_str());
    let r = server
        .post_form(
            "/oauth/introspect",
            Some((&other.client_id, &other.secret)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"active": false}),
        "an ordinary app sees only its own tokens"
    );
    let (status, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "SPA", "platform_type": "browser", "resource_server": true})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("confidential"));
}

#[tokio::test]
async fn a_deleted_apps_jwt_access_tokens_stop_introspecting_as_active() {
    let server = Server::start();
    let app = server.server_only_app(json!({"name": "Doomed"})).await;
    let api = server
        .server_only_app(json!({"name": "Billing API", "resource_server": true}))
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    let token = r.json["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("eyJ"), "a JWT: {}", r.text);
    let body = format!("token={token}");
    let introspect = || {
        server.post_form(
            "/oauth/introspect",
            Some((&api.client_id, &api.secret)),
            &body,
        )
    };
    assert_eq!(introspect().await.json["active"], true);
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/apps/{}", app.client_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(introspect().await.json, json!({"active": false}));
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The data directory and the database files are private to grantd's user,
/// whatever the umask; a directory or database left readable by others is
/// made private at start, with a warning.
#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    let server = Server::start();
    let dir = server.dir.clone();
    // A write, so the WAL exists.
    server.server_only_app(json!({})).await;
    assert_eq!(mode(&dir), 0o700);
    for f in ["grantd.db", "grantd.db-wal", "grantd.db-shm", "master.key"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    let log = server.log();
    assert!(!log.contains("accessible to other users"), "{log}");
    let tmp = server.stop();

    // Loosened by someone else: fixed at the next start, and said so.
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    set(&dir, 0o755);
    set(&dir.join("grantd.db"), 0o644);
    if dir.join("grantd.db-wal").exists() {
        set(&dir.join("grantd.db-wal"), 0o644);
    }
    let server = Server::start_in(&dir, &[], &[]);
    assert_eq!(mode(&dir), 0o700);
    for f in ["grantd.db", "grantd.db-wal", "grantd.db-shm"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    let log = server.log();
    assert!(
        log.contains("was accessible to other users (mode 755); changed it to 700"),
        "{log}"
    );
    assert!(
        log.contains("grantd.db was accessible to other users (mode 644)"),
        "{log}"
    );
    drop(server);
    drop(tmp);
}

#[tokio::test]
async fn a_revoked_signing_key_stops_verifying_what_it_signed_at_once() {
    let server = Server::start();
    let app = server.server_only_app(json!({"name": "Sync"})).await;
    let api = server
        .server_only_app(json!({"name": "Billing API", "resource_server": true}))
        .await;
    let token = |_: ()| {
        server.post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
    };
    let old = token(()).await.json["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let kid_of = |jwt: &str| {
        let header = jwt.split('.').next().unwrap().to_string();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_string()
    };
    let kid = kid_of(&old);
    let introspect = |t: String| {
        let body = format!("token={t}");
        let http = server.http.clone();
        let url = server.url("/oauth/introspect");
        let auth = common::basic_header(&api.client_id, &api.secret);
        async move {
            let res = http
                .post(url)
                .header("authorization", auth)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()["active"] == json!(true)
        }
    };
    assert!(introspect(old.clone()).await);

    let (status, body) = server
        .admin(Method::DELETE, &format!("/admin/v1/keys/{kid}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let new_kid = body["signing_kid"].as_str().unwrap().to_string();
    assert!(
        !introspect(old).await,
        "a token signed with the revoked key"
    );
    let jwks: Value = server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str()], "the JWKS after revocation");
    // The replacement signs at once.
    let fresh = token(()).await.json["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kid_of(&fresh), new_kid);
    assert!(introspect(fresh).await);
    let (status, body) = server
        .admin(Method::DELETE, &format!("/admin/v1/keys/{kid}"), None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errors"][0]["errorCode"], "GRD-420");
}

#[tokio::test]
async fn a_new_key_signs_once_its_publication_delay_has_passed() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let kid = |server: &Server| {
        let (id, secret) = (app.client_id.clone(), app.secret.clone());
        let url = server.url("/oauth/token");
        let http = server.http.clone();
        async move {
            let r = common::Reply::from(
                http.post(url)
                    .header("authorization", basic_header(&id, &secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            jsonwebtoken::decode_header(r.json["access_token"].as_str().unwrap())
                .unwrap()
                .kid
                .unwrap()
        }
    };
    let old_kid = kid(&server).await;
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(&server.dir)
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = server.dir.clone();
    let tmp = server.stop();
    let server = Server::start_in(&dir, &[], &[]);
    assert_eq!(kid(&server).await, old_kid, "not before five minutes");
    server.advance(301);
    let new_kid = kid(&server).await;
    assert_ne!(
        new_kid, old_kid,
        "the new key signs once published long enough"
    );
    drop(tmp);
}
