//! The SQLite backend against the conformance suite, plus what only SQLite has:
//! file and URL opening, persistence, corrupt rows, many tasks at once.

use grantd_core::model::{Account, TokenKind, TokenRecord};
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

/// A database made by the first release (only 0001) opens, gains the new
/// tables and columns, and keeps its tokens, whose new fields read as empty.
#[tokio::test]
async fn a_0001_database_is_upgraded() {
    let path = TempPath::new("upgrade");
    let only_first = std::env::temp_dir().join(format!(
        "grantd-store-test-migrations-{}-{}",
        std::process::id(),
        grantd_core::crypto::random_id(8)
    ));
    std::fs::create_dir_all(&only_first).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0001_init.sql"),
        only_first.join("0001_init.sql"),
    )
    .unwrap();
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path.0)
            .create_if_missing(true);
        let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(only_first.as_path())
            .await
            .unwrap()
            .run(&raw)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO tokens (hash, kind, id, client_id, subject, account_id, session_id, \
             scope, issued_at, expires_at) \
             VALUES (zeroblob(32), 'refresh', 'old', 'c', 'u', 'a', 's', 'x', 1, 2)",
        )
        .execute(&raw)
        .await
        .unwrap();
        raw.close().await;
    }
    std::fs::remove_dir_all(&only_first).unwrap();

    let store = SqliteStore::open(path.as_str()).await.unwrap();
    assert_eq!(
        store.get_token(&[0; 32]).await.unwrap(),
        Some(TokenRecord {
            hash: [0; 32],
            kind: TokenKind::Refresh,
            id: "old".into(),
            client_id: "c".into(),
            subject: "u".into(),
            account_id: Some("a".into()),
            session_id: Some("s".into()),
            scope: "x".into(),
            issued_at: 1,
            expires_at: 2,
            revoked_at: None,
            rotated_at: None,
            replay: None,
            pair_access_id: None,
            pair_access_expires_at: None,
        })
    );
    // Ending a session revokes tokens that predate the sessions table too.
    assert!(!store.end_session("s", "logout", 5).await.unwrap());
    assert_eq!(
        store.get_token(&[0; 32]).await.unwrap().unwrap().revoked_at,
        Some(5)
    );
    assert!(store.list_users(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn corrupt_user_rows_are_reported_as_corrupt() {
    let path = TempPath::new("corrupt-users");
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    store
        .insert_account(&Account {
            id: "acct".into(),
            name: "A".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap();
    for sql in [
        "INSERT INTO users (id, account_id, name, role, status, created_at) \
         VALUES ('bad-role', 'acct', 'n', 'root', 'enabled', 1), \
                ('bad-status', 'acct', 'n', 'user', 'asleep', 1)",
        "INSERT INTO login_failures (user_id, failures, window_started_at) \
         VALUES ('too-many', 4294967296, 1)",
        "INSERT INTO jwt_credentials (id, user_id, account_id, label, allowed_apps, created_at) \
         VALUES ('bad-apps', 'u', 'acct', 'l', 'not json', 1)",
    ] {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
    raw.close().await;

    for id in ["bad-role", "bad-status"] {
        match store.get_user(id).await {
            Err(StoreError::Corrupt(msg)) => assert!(msg.contains(id), "{msg}"),
            other => panic!("{id}: expected Corrupt, got {other:?}"),
        }
    }
    assert!(matches!(
        store.list_users(Some("acct")).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_login_state("too-many").await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.record_login_failure("too-many", 2, 60, 5, 60).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_jwt_credential("bad-apps").await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_user_needs_an_existing_account() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let user = grantd_core::model::User {
        id: "u".into(),
        account_id: "nobody".into(),
        email: None,
        phone: None,
        extension_number: None,
        name: "n".into(),
        role: grantd_core::model::Role::User,
        status: grantd_core::model::UserStatus::Enabled,
        password_hash: None,
        created_at: 1,
    };
    assert!(matches!(
        store.insert_user(&user).await,
        Err(StoreError::Unavailable(_))
    ));
}

/// Refreshes racing on many threads: one rotation wins, the others see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spawned_rotations_never_fork_a_session() {
    use grantd_core::model::RotateOutcome;
    let path = TempPath::new("rotate");
    let store = Arc::new(SqliteStore::open(path.as_str()).await.unwrap());
    let token = |id: &str| TokenRecord {
        hash: grantd_core::crypto::sha256(id.as_bytes()),
        kind: TokenKind::Refresh,
        id: id.into(),
        client_id: "c".into(),
        subject: "u".into(),
        account_id: None,
        session_id: Some("s".into()),
        scope: String::new(),
        issued_at: 1,
        expires_at: 10_000,
        revoked_at: None,
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
    };
    let old = token("old");
    store.insert_token(&old).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        let new = token(&format!("new-{i}"));
        tasks.spawn(async move {
            let outcome = store
                .rotate_refresh(&old.hash, &new, None, format!("{i}").as_bytes(), 5)
                .await
                .unwrap();
            (i, outcome)
        });
    }
    let mut winners = vec![];
    let mut replays = vec![];
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (i, RotateOutcome::Rotated) => winners.push(i),
            (_, RotateOutcome::AlreadyRotated(record)) => replays.push(record.replay),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner_replay = Some(winners[0].to_string().into_bytes());
    assert!(replays.iter().all(|r| *r == winner_replay));
    let mut stored = 0;
    for i in 0..40 {
        let hash = grantd_core::crypto::sha256(format!("new-{i}").as_bytes());
        stored += usize::from(store.get_token(&hash).await.unwrap().is_some());
    }
    assert_eq!(stored, 1);
}
