//! Request quotas by rate-limit group (off by default; from flags, the
//! environment, the TOML file, a preset, and per app), and the admin token's
//! hardening: a minimum length, wrong guesses paused, a keyed hash that
//! survives restarts and replaces an older plain SHA-256.

mod common;

use common::{Reply, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::json;
use std::process::Command;

const CC: &str = "grant_type=client_credentials";
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn token(server: &Server, app: &common::App) -> Reply {
    server
        .post_form("/oauth/token", Some((&app.client_id, &app.secret)), CC)
        .await
}

fn group_headers(r: &Reply) -> [Option<&str>; 4] {
    [
        r.header("x-rate-limit-group"),
        r.header("x-rate-limit-limit"),
        r.header("x-rate-limit-remaining"),
        r.header("x-rate-limit-window"),
    ]
}

#[tokio::test]
async fn quotas_are_off_until_the_operator_sets_them() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    for i in 0..200 {
        let r = token(&server, &app).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
        assert_eq!(r.header("x-rate-limit-group"), None);
    }
}

#[tokio::test]
async fn past_its_quota_an_app_gets_429_saying_which_group_and_when() {
    let server = Server::start_with(&["--rate-limit", "auth=3/60"], &[]);
    let app = server.server_only_app(json!({})).await;
    for left in ["2", "1", "0"] {
        let r = token(&server, &app).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            group_headers(&r),
            [Some("Auth"), Some("3"), Some(left), Some("60")]
        );
    }
    let r = token(&server, &app).await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &[
            "rate-limit group Auth",
            "limited to 3 per 60 seconds",
            "The window resets in",
        ],
    );
    assert_eq!(
        group_headers(&r),
        [Some("Auth"), Some("3"), Some("0"), Some("60")]
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    // Per app: another app still gets its tokens.
    let other = server.server_only_app(json!({})).await;
    assert_eq!(token(&server, &other).await.status, 200);
    // Wrong secrets do not use up an app's quota (they are failures, which
    // have their own limit).
    let third = server.server_only_app(json!({})).await;
    let wrong = common::App {
        secret: "guess".into(),
        ..third.clone()
    };
    for _ in 0..5 {
        assert_eq!(token(&server, &wrong).await.status, 401);
    }
    let r = token(&server, &third).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-remaining"), Some("2"));
    // Introspection is in the Light group, which is off here.
    let r = server
        .post_form(
            "/oauth/introspect",
            Some((&other.client_id, &other.secret)),
            "token=x",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-group"), None);

    // The window ends: the app may ask again.
    server.advance(61);
    assert_eq!(token(&server, &app).await.status, 200);
}

/// An app's own limits replace the server's, per group; `off` exempts it.
#[tokio::test]
async fn an_app_has_its_own_quota() {
    let server = Server::start_with(&["--rate-limit", "auth=2/60"], &[]);
    let busy = server
        .server_only_app(json!({"rate_limits": {"auth": "5/60"}}))
        .await;
    assert_eq!(busy.json["rate_limits"], json!({"auth": "5/60"}));
    for _ in 0..5 {
        let r = token(&server, &busy).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-rate-limit-limit"), Some("5"));
    }
    assert_eq!(token(&server, &busy).await.status, 429);

    let trusted = server
        .server_only_app(json!({"rate_limits": {"auth": "off"}}))
        .await;
    for _ in 0..10 {
        let r = token(&server, &trusted).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-rate-limit-group"), None);
    }
    // Changed through the admin API, the new limit applies at once.
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", trusted.client_id),
            Some(json!({"rate_limits": {"auth": "1/60"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(token(&server, &trusted).await.status, 200);
    assert_eq!(token(&server, &trusted).await.status, 429);
    // Cleared, the server's applies.
    let plain = server
        .server_only_app(json!({"rate_limits": {"auth": "9/60"}}))
        .await;
    let (status, body) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", plain.client_id),
            Some(json!({"rate_limits": {}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rate_limits"], json!({}));
    let r = token(&server, &plain).await;
    assert_eq!(r.header("x-rate-limit-limit"), Some("2"));

    // A mistake is named.
    let (status, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "x", "platform_type": "server-only",
                        "rate_limits": {"auth": "lots"}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["errorCode"], "GRD-410");
    let d = body["error_description"].as_str().unwrap();
    assert!(
        d.contains("rate_limits") && d.contains("REQUESTS/SECONDS"),
        "{d}"
    );
}

/// The Light group (grantd's own API) counts per user and app.
#[tokio::test]
async fn api_requests_count_per_user() {
    let server = Server::start_with(&["--rate-limit", "light=2/60"], &[]);
    let app = server
        .server_only_app(json!({"grants": ["jwt_bearer"]}))
        .await;
    let mut access = Vec::new();
    for who in ["ann", "bob"] {
        let user = server
            .create_user(json!({"email": format!("{who}@example.com"), "name": who}))
            .await;
        let (_, jwt) = server
            .create_credential(user["id"].as_str().unwrap(), json!({"label": "t"}))
            .await;
        let r = server
            .post_form(
                "/restapi/oauth/token",
                Some((&app.client_id, &app.secret)),
                &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        access.push(r.json["access_token"].as_str().unwrap().to_string());
    }
    const API: &str = "/restapi/v1.0/account/~/extension/~";
    for left in ["1", "0"] {
        let r = server.get_bearer(API, &access[0]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            group_headers(&r),
            [Some("Light"), Some("2"), Some(left), Some("60")]
        );
    }
    let r = server.get_bearer(API, &access[0]).await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &["for this user", "rate-limit group Light"],
    );
    // Another user of the same app has a quota of their own.
    assert_eq!(server.get_bearer(API, &access[1]).await.status, 200);
    // A bad token is refused before any quota is looked at.
    let r = server.get_bearer(API, "not-a-token").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-rate-limit-group"), None);
}

/// The RingCentral preset, the environment and the TOML file all set quotas.
#[tokio::test]
async fn quotas_come_from_a_preset_the_environment_and_the_file() {
    let preset = Server::start_with(&["--rate-limit-preset", "ringcentral"], &[]);
    let app = preset.server_only_app(json!({})).await;
    for _ in 0..5 {
        assert_eq!(token(&preset, &app).await.status, 200);
    }
    let r = token(&preset, &app).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-rate-limit-limit"), Some("5"));
    drop(preset);

    let env = Server::start_with(&[], &[("GRANTD_RATE_LIMITS", "light=50/60,auth=2/30")]);
    let app = env.server_only_app(json!({})).await;
    let r = token(&env, &app).await;
    assert_eq!(
        group_headers(&r),
        [Some("Auth"), Some("2"), Some("1"), Some("30")]
    );
    drop(env);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grantd.toml");
    std::fs::write(
        &file,
        "[rate_limits]\npreset = \"ringcentral\"\nauth = \"off\"\nlight = \"7/60\"\n",
    )
    .unwrap();
    let toml = Server::start_with(&["--config", file.to_str().unwrap()], &[]);
    let app = toml.server_only_app(json!({})).await;
    let r = token(&toml, &app).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-rate-limit-group"), None, "auth = off");
    let r = toml
        .post_form(
            "/oauth/introspect",
            Some((&app.client_id, &app.secret)),
            "token=x",
        )
        .await;
    assert_eq!(
        group_headers(&r),
        [Some("Light"), Some("7"), Some("6"), Some("60")]
    );
}

#[test]
fn a_wrong_rate_limit_is_refused_at_start() {
    let out = Command::new(common::bin())
        .args(["serve", "--rate-limit", "auth=5"])
        .env("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auth=5") && err.contains("REQUESTS/SECONDS"),
        "{err}"
    );
}

#[test]
fn a_short_admin_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(common::bin())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GRANTD_ADMIN_TOKEN", "change-me")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for says in [
        "GRANTD_ADMIN_TOKEN is 9 bytes",
        "at least 32",
        "openssl rand -base64 32",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
    assert!(
        !dir.path().join("data").join("grantd.db").exists(),
        "refused before anything is stored"
    );
}

async fn admin_with(server: &Server, token: &str) -> Reply {
    Reply::from(
        server
            .http
            .get(server.url("/admin/v1/apps"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn wrong_admin_tokens_are_paused_and_the_right_one_survives_restarts() {
    let server = Server::start_with(&["--auth-failure-limit", "30"], &[]);
    let mut statuses = Vec::new();
    for i in 0..300 {
        let r = admin_with(&server, &format!("guess-{i:04}-0123456789abcdef0123456789")).await;
        statuses.push(r.status);
    }
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let paused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((wrong, paused), (30, 270), "{statuses:?}");
    let r = admin_with(&server, "guess-again-0123456789abcdef0123456789").await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &["for the admin API", "More than 30"],
    );
    assert!(r.header("retry-after").is_some());

    // After a restart (with the token set, then without it: the stored
    // keyed hash serves) the right token works, a wrong one does not.
    let dir = server.dir.clone();
    let tmp = server.stop();
    for env in [&[][..], &[("GRANTD_ADMIN_TOKEN", "")][..]] {
        let server = Server::start_in(&dir, &["--auth-failure-limit", "30"], env);
        assert_eq!(admin_with(&server, ADMIN_TOKEN).await.status, 200);
        assert_eq!(
            admin_with(&server, "guess-0123456789abcdef0123456789")
                .await
                .status,
            401
        );
        server.stop();
    }
    drop(tmp);
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn settings(dir: &std::path::Path) -> (Option<String>, Option<String>) {
    use grantd_core::store::Store;
    let store = grantd_store::SqliteStore::open(dir.join("grantd.db").to_str().unwrap())
        .await
        .unwrap();
    let got = (
        store.get_setting("admin_token_sha256").await.unwrap(),
        store.get_setting("admin_token_hmac").await.unwrap(),
    );
    store.close().await;
    got
}

/// A database from before the keyed hash holds the token's plain SHA-256:
/// it keeps working until the token is next set, which replaces it.
#[tokio::test]
async fn a_plain_sha256_admin_token_keeps_working_until_the_token_is_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        use grantd_core::store::Store;
        std::fs::create_dir_all(&dir).unwrap();
        let store = grantd_store::SqliteStore::open(dir.join("grantd.db").to_str().unwrap())
            .await
            .unwrap();
        store
            .put_setting("admin_token_sha256", &sha256_hex(ADMIN_TOKEN))
            .await
            .unwrap();
        store.close().await;
    }
    let unset = [("GRANTD_ADMIN_TOKEN", "")];
    let server = Server::start_in(&dir, &[], &unset);
    assert_eq!(admin_with(&server, ADMIN_TOKEN).await.status, 200);
    assert_eq!(
        admin_with(&server, "guess-0123456789abcdef0123456789")
            .await
            .status,
        401
    );
    assert!(server.log().contains("plain SHA-256"), "{}", server.log());
    server.stop();
    let (legacy, keyed) = settings(&dir).await;
    assert_eq!(
        legacy,
        Some(sha256_hex(ADMIN_TOKEN)),
        "kept until the token is set"
    );
    assert_eq!(keyed, None);

    // Set again: stored as a keyed hash, the plain one removed.
    let server = Server::start_in(&dir, &[], &[]);
    assert_eq!(admin_with(&server, ADMIN_TOKEN).await.status, 200);
    server.stop();
    let (legacy, keyed) = settings(&dir).await;
    assert_eq!(legacy.as_deref(), Some(""));
    let keyed = keyed.expect("a keyed hash");
    assert_eq!(keyed.len(), 64);
    assert_ne!(keyed, sha256_hex(ADMIN_TOKEN));

    let server = Server::start_in(&dir, &[], &unset);
    assert_eq!(admin_with(&server, ADMIN_TOKEN).await.status, 200);
    let db = std::fs::read(dir.join("grantd.db")).unwrap();
    assert!(!db
        .windows(ADMIN_TOKEN.len())
        .any(|w| w == ADMIN_TOKEN.as_bytes()));
}

#[test]
fn the_cli_sets_an_apps_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let grantd = |args: &[&str]| {
        Command::new(common::bin())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .env("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .unwrap()
    };
    let out = grantd(&[
        "app",
        "create",
        "--name",
        "Sync",
        "--platform-type",
        "server-only",
        "--rate-limit",
        "auth=3/60",
        "--rate-limit",
        "light=off",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(app["rate_limits"], json!({"auth": "3/60", "light": "off"}));
    let id = app["client_id"].as_str().unwrap();
    let out = grantd(&["app", "show", id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rate limits:      auth=3/60, light=off"),
        "{text}"
    );
    let out = grantd(&["app", "update", id, "--rate-limit", "none", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(app["rate_limits"], json!({}));
    let out = grantd(&["app", "update", id, "--rate-limit", "auth=3 a minute"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate_limits"), "{err}");
}
