//! The SQLite backend against the conformance suite, plus what only SQLite has:
//! file and URL opening, persistence, corrupt rows, many tasks at once.

use grantd_core::store::{Store, StoreError};
use grantd_store::{conformance, SqliteStore};
use std::path::PathBuf;
use std::sync::Arc;

/// A path in the temp dir, removed (with its WAL files) on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "grantd-store-test-{name}-{}-{}.db",
            std::process::id(),
            grantd_core::crypto::random_id(8)
        )))
    }

    fn as_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::test]
async fn conformance_on_a_temp_file() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    conformance::run_all(&store).await;
    // Every record is prefixed, so the suite also passes on a used store.
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_path_multi_threaded() {
    let path = TempPath::new("path");
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    conformance::run_all(&store).await;
    store.close().await;
}

#[tokio::test]
async fn conformance_on_a_url() {
    let path = TempPath::new("url");
    let store = SqliteStore::open(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn conformance_on_sqlite_memory_url() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn data_survives_reopening() {
    let path = TempPath::new("reopen");
    {
        let store = SqliteStore::open(path.as_str()).await.unwrap();
        assert_eq!(store.put_setting_if_absent("k", "v1").await.unwrap(), "v1");
        store.close().await;
    }
    // Reopening runs the migrations again, which must be a no-op.
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v1"));
    assert_eq!(store.put_setting_if_absent("k", "v2").await.unwrap(), "v1");

    // The file is in WAL mode (a persistent property of the database).
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn open_refuses_a_bad_location() {
    let dir = TempPath::new("dir");
    let bad = dir.0.join("missing-dir").join("db.sqlite");
    match SqliteStore::open(bad.to_str().unwrap()).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn corrupt_rows_are_reported_as_corrupt() {
    let path = TempPath::new("corrupt");
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    store
        .insert_account(&grantd_core::model::Account {
            id: "acct".into(),
            name: "A".into(),
            created_at: 1,
        })
        .await
        .unwrap();

    // Hand-edit the file behind the store's back.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO apps (client_id, account_id, name, platform_type, grants, redirect_uris, \
         scopes, distribution, issue_refresh_tokens, access_token_ttl, refresh_token_ttl, \
         access_token_format, secret_hash, created_at, updated_at) VALUES \
         ('bad-platform', 'acct', 'n', 'mainframe', '[]', '[]', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1), \
         ('bad-grants', 'acct', 'n', 'browser', '[\"telepathy\"]', '[]', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1), \
         ('bad-json', 'acct', 'n', 'browser', '[]', 'not json', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1)",
    )
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tokens (hash, kind, id, client_id, subject, scope, issued_at, expires_at) \
         VALUES (zeroblob(32), 'sideways', 't1', 'c', 's', '', 1, 2)",
    )
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private, created_at) \
         VALUES ('k', 'HS256', '{}', x'00', 1)",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;

    for id in ["bad-platform", "bad-grants", "bad-json"] {
        match store.get_app(id).await {
            Err(StoreError::Corrupt(msg)) => assert!(msg.contains(id), "{msg}"),
            other => panic!("{id}: expected Corrupt, got {other:?}"),
        }
    }
    assert!(matches!(
        store.list_apps().await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_token(&[0; 32]).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.list_keys().await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn an_app_needs_an_existing_account() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let app = grantd_core::model::App {
        client_id: "c".into(),
        account_id: "nobody".into(),
        name: "n".into(),
        platform_type: grantd_protocol::PlatformType::Browser,
        grants: vec![],
        redirect_uris: vec![],
        scopes: Default::default(),
        distribution: grantd_core::model::Distribution::Public,
        issue_refresh_tokens: false,
        access_token_ttl: 1,
        refresh_token_ttl: 1,
        access_token_format: grantd_core::model::AccessTokenFormat::Jwt,
        secret_hash: None,
        created_at: 1,
        updated_at: 1,
    };
    assert!(matches!(
        store.insert_app(&app).await,
        Err(StoreError::Unavailable(_))
    ));
    let too_long = grantd_core::model::App {
        account_id: "a".into(),
        access_token_ttl: u64::MAX,
        ..app
    };
    store
        .insert_account(&grantd_core::model::Account {
            id: "a".into(),
            name: "A".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    assert!(store.insert_app(&too_long).await.is_err());
}

/// Many tasks on many threads writing at once: the single writer queues them,
/// none fails with SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_spawned_writers_never_see_busy() {
    let path = TempPath::new("busy");
    let store = Arc::new(SqliteStore::open(path.as_str()).await.unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .put_setting(&format!("key-{}", i % 20), &i.to_string())
                .await?;
            store.get_setting(&format!("key-{}", i % 20)).await?;
            store.revoke_jti(&format!("jti-{i}"), 10_000, 1).await?;
            store.is_jti_revoked(&format!("jti-{i}")).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap().unwrap());
    }
}
