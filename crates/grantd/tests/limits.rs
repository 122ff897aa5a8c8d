//! The admin token's hardening: a minimum length, and a keyed hash that
//! survives restarts and replaces an older plain SHA-256.

mod common;

use common::{Reply, Server, ADMIN_TOKEN};
use std::process::Command;

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
