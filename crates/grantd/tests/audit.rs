//! The audit log: an entry for each kind of security event, read through
//! `/admin/v1/audit`, and `grantd audit verify` catching an edited or a
//! deleted row.

mod common;

use common::{bin, App, Server, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;

fn grantd(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run grantd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn sql(dir: &std::path::Path, statement: &str) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("grantd.db"))
        .connect()
        .await
        .expect("open the database");
    sqlx::query(statement)
        .execute(&mut conn)
        .await
        .expect("tamper");
}

#[tokio::test]
async fn every_kind_of_event_is_recorded_and_tampering_is_detected() {
    let server = Server::start_with(
        &[
            "--password-grant-sunset",
            "2099-12-31",
            "--lockout-threshold",
            "2",
        ],
        &[],
    );
    // Apps: created, changed, secret rotated.
    let web = App::from(
        server
            .create_app(json!({"name": "Acme Web", "platform_type": "server-only", "grants": ["client_credentials", "jwt_bearer"]}))
            .await,
    );
    let (status, _) = server
        .admin(
            Method::PATCH,
            &format!("/admin/v1/apps/{}", web.client_id),
            Some(json!({"name": "Acme Web 2"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, rotated) = server
        .admin(
            Method::POST,
            &format!("/admin/v1/apps/{}/secret", web.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Credentials: created and revoked.
    let user = server
        .create_user(json!({"email": "carol@example.com", "name": "Carol", "password": "correct horse battery"}))
        .await;
    let user_id = user["id"].as_str().unwrap();
    let (credential_id, jwt) = server.create_credential(user_id, json!({})).await;
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/admin/v1/jwt-credentials/{credential_id}"),
            None,
        )
        .await;
    assert!(status == 200 || status == 204, "{status}");
    // Sign-ins: one right, two wrong (the second locks the user).
    let desk = App::from(
        server
            .create_app(json!({"name": "Desk", "platform_type": "desktop", "grants": ["authorization_code", "password"]}))
            .await,
    );
    let r = server
        .post_form(
            "/oauth/token",
            Some((&desk.client_id, "")),
            "grant_type=password&username=carol%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..2 {
        server
            .post_form(
                "/oauth/token",
                Some((&desk.client_id, "")),
                "grant_type=password&username=carol%40example.com&password=wrong-guess-1",
            )
            .await;
    }
    // A key rotation from the CLI, on the running server's store.
    let (status, out, err) = grantd(&server.dir, &["keys", "rotate"]);
    assert_eq!(status, 0, "{out}{err}");

    let (status, log) = server
        .admin(Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    assert_eq!(status, 200, "{log}");
    let entries = log["entries"].as_array().unwrap().clone();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "app_created",
        "app_changed",
        "secret_rotated",
        "credential_created",
        "credential_revoked",
        "sign_in",
        "sign_in_failed",
        "lockout",
        "key_rotated",
        "admin_token_used",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let find = |kind: &str| -> &Value { entries.iter().find(|e| e["kind"] == kind).unwrap() };
    assert_eq!(find("app_created")["subject"], web.client_id.as_str());
    assert_eq!(find("sign_in")["actor"], user_id);
    assert_eq!(find("lockout")["subject"], user_id);
    let admin = find("admin_token_used");
    assert_eq!(admin["source"], "127.0.0.1");
    assert!(
        admin["subject"]
            .as_str()
            .unwrap()
            .starts_with("POST /admin/v1/"),
        "{admin}"
    );
    assert_eq!(find("key_rotated")["source"], "cli");
    // Chained: each entry names the hash of the one before it.
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["seq"].as_i64().unwrap(),
            pair[0]["seq"].as_i64().unwrap() + 1
        );
    }
    // Paging.
    let (_, page) = server
        .admin(Method::GET, "/admin/v1/audit?after=2&limit=3", None)
        .await;
    let seqs: Vec<i64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    // Nothing secret is recorded.
    let text = log.to_string();
    for secret in [
        web.secret.as_str(),
        rotated["client_secret"].as_str().unwrap(),
        jwt.as_str(),
        "correct horse battery",
        "wrong-guess-1",
        ADMIN_TOKEN,
    ] {
        assert!(!text.contains(secret), "a secret is in the audit log");
    }

    let dir = server.dir.clone();
    let _keep = server.stop();
    let (status, out, err) = grantd(&dir, &["audit", "verify"]);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("audit log intact"), "{out}");
    let (_, listed, _) = grantd(&dir, &["audit", "list", "--limit", "3"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");

    // An edited row is caught, at its own entry.
    sql(&dir, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await;
    let (status, out, err) = grantd(&dir, &["audit", "verify"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(
        err.contains("broken at entry 3") && err.contains("edited"),
        "{err}"
    );
    let (_, out, _) = grantd(&dir, &["audit", "verify", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["intact"].as_bool(), v["seq"].as_i64()),
        (Some(false), Some(3))
    );
    // Put back, it verifies again; a deleted row is caught too.
    let original = entries[2]["actor"].as_str().unwrap();
    sql(
        &dir,
        &format!("UPDATE audit_log SET actor = '{original}' WHERE seq = 3"),
    )
    .await;
    assert_eq!(grantd(&dir, &["audit", "verify"]).0, 0);
    sql(&dir, "DELETE FROM audit_log WHERE seq = 5").await;
    let (status, _, err) = grantd(&dir, &["audit", "verify"]);
    assert_eq!(status, 1);
    assert!(err.contains("entry 5 is missing"), "{err}");
}
