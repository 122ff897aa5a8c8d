//! Growing out of SQLite: `grantd store copy` moves a store with every kind
//! of record to PostgreSQL, and a node on the copy honours every token,
//! credential, session and waiting device; `grantd backup` copies a live SQLite store.

mod common;

use common::Server;
use grantd_store::postgres::testing::EmptyDatabase;
use serde_json::{json, Value};
use std::process::Command;

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const MASTER_KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const ISSUER: &str = "http://grantd.copy.test";

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

fn grantd(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .args(args)
        .env("GRANTD_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("run grantd")
}

async fn introspect(node: &Server, app: &common::App, token: &str) -> bool {
    let r = node
        .post_form(
            "/oauth/introspect",
            Some((&app.client_id, &app.secret)),
            &format!("token={token}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["active"] == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_copied_to_postgres_keeps_every_token_credential_and_session() {
    let Some(db) = EmptyDatabase::create().await else {
        return;
    };
    let env = [("GRANTD_MASTER_KEY", MASTER_KEY)];
    let old = Server::start_with(&["--issuer", ISSUER], &env);
    let opaque = old
        .server_only_app(json!({"name": "Opaque", "access_token_format": "opaque"}))
        .await;
    let cc = old
        .post_form(
            "/oauth/token",
            Some((&opaque.client_id, &opaque.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(cc.status, 200, "{}", cc.json);
    let jwt_app = old
        .server_only_app(json!({"name": "JWT", "grants": ["jwt_bearer", "refresh_token"]}))
        .await;
    let user = old
        .create_user(json!({"email": "carol@example.com", "name": "Carol", "password": "correct horse battery"}))
        .await;
    let (_, jwt) = old
        .create_credential(user["id"].as_str().unwrap(), json!({"label": "copy"}))
        .await;
    let login = |node: &Server| {
        let body = format!("grant_type={JWT_GRANT}&assertion={jwt}");
        let app = jwt_app.clone();
        let url = node.url("/restapi/oauth/token");
        let http = node.http.clone();
        async move {
            let res = http
                .post(url)
                .header(
                    "authorization",
                    common::basic_header(&app.client_id, &app.secret),
                )
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, session) = login(&old).await;
    assert_eq!(status, 200, "{session}");
    // A second session, logged out: its access token must stay dead.
    let (_, ended) = login(&old).await;
    let revoked = old
        .post_form(
            "/restapi/oauth/revoke",
            Some((&jwt_app.client_id, &jwt_app.secret)),
            &format!("token={}", s(&ended, "access_token")),
        )
        .await;
    assert_eq!(revoked.status, 200);
    // A device waiting for its user (RFC 8628): its code must still be waiting.
    let tv = common::App::from(
        old.create_app(json!({"name": "TV", "platform_type": "device"}))
            .await,
    );
    let device = old
        .post_form(
            "/oauth/device_authorization",
            None,
            &format!("client_id={}", tv.client_id),
        )
        .await;
    assert_eq!(device.status, 200, "{}", device.json);
    let dir = old.dir.clone();
    let tmp = old.stop();

    let from = format!("sqlite://{}", dir.join("grantd.db").display());
    let out = grantd(&["store", "copy", "--from", &from, "--to", db.url()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("counts verified"), "{stdout}");
    // A second copy into the same database is refused: it is not empty.
    let again = grantd(&["store", "copy", "--from", &from, "--to", db.url()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    let new = Server::start_with(&["--database-url", db.url(), "--issuer", ISSUER], &env);
    assert!(introspect(&new, &opaque, &s(&cc.json, "access_token")).await);
    assert!(introspect(&new, &jwt_app, &s(&session, "access_token")).await);
    assert!(!introspect(&new, &jwt_app, &s(&ended, "access_token")).await);
    let refreshed = new
        .post_form(
            "/restapi/oauth/token",
            Some((&jwt_app.client_id, &jwt_app.secret)),
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                s(&session, "refresh_token")
            ),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(refreshed.json["session_id"], session["session_id"]);
    let (status, body) = login(&new).await;
    assert_eq!(status, 200, "the JWT credential no longer works: {body}");
    new.post_form(
        "/oauth/token",
        None,
        &format!(
            "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={}&device_code={}",
            tv.client_id,
            s(&device.json, "device_code")
        ),
    )
    .await
    .assert_error(400, "authorization_pending", "GRD-370", &[]);
    drop(tmp);
}

#[tokio::test]
async fn backup_of_a_running_server_serves_the_same_apps() {
    let env = [("GRANTD_MASTER_KEY", MASTER_KEY)];
    let live = Server::start_with(&[], &env);
    let app = live.server_only_app(json!({})).await;
    let file = live.dir.parent().unwrap().join("backup.db");
    let db = format!("sqlite://{}", live.dir.join("grantd.db").display());
    let out = grantd(&["--database-url", &db, "backup", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "backup readable by others: {mode:o}");
    }
    // An existing file is not overwritten.
    let again = grantd(&["--database-url", &db, "backup", file.to_str().unwrap()]);
    assert!(!again.status.success());

    let restored_url = format!("sqlite://{}", file.display());
    let restored = Server::start_with(&["--database-url", &restored_url], &env);
    let r = restored
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // PostgreSQL is pg_dump's business.
    let pg = grantd(&[
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "backup",
        "x.db",
    ]);
    assert!(String::from_utf8_lossy(&pg.stderr).contains("pg_dump"));
    drop(live);
}
