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
        allow_plain_pkce: false,
        resource_server: false,
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

/// A database at migration 0002 (the release before the authorization-code
/// flow) opens, gains 0003, and reads its apps back with `allow_plain_pkce` false.
#[tokio::test]
async fn a_0002_database_is_upgraded() {
    use grantd_core::model::{AccessTokenFormat, AuthCode, CodeUse, Distribution};
    use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};

    let path = TempPath::new("upgrade-0002");
    let up_to_0002 = std::env::temp_dir().join(format!(
        "grantd-store-test-migrations-0002-{}-{}",
        std::process::id(),
        grantd_core::crypto::random_id(8)
    ));
    std::fs::create_dir_all(&up_to_0002).unwrap();
    for name in ["0001_init.sql", "0002_users_sessions.sql"] {
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(name),
            up_to_0002.join(name),
        )
        .unwrap();
    }
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path.0)
            .create_if_missing(true);
        let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(up_to_0002.as_path())
            .await
            .unwrap()
            .run(&raw)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'A', 1)",
            "INSERT INTO apps (client_id, account_id, name, platform_type, grants, \
             redirect_uris, scopes, distribution, issue_refresh_tokens, access_token_ttl, \
             refresh_token_ttl, access_token_format, secret_hash, created_at, updated_at) VALUES \
             ('old-app', 'acct', 'Old', 'browser', '[\"authorization_code\"]', \
              '[\"https://old.example/cb\"]', '[\"ReadAccounts\"]', 'public', 1, 3600, 86400, \
              'jwt', NULL, 1, 2)",
        ] {
            sqlx::query(sql).execute(&raw).await.unwrap();
        }
        raw.close().await;
    }
    std::fs::remove_dir_all(&up_to_0002).unwrap();

    let store = SqliteStore::open(path.as_str()).await.unwrap();
    let expected = grantd_core::model::App {
        client_id: "old-app".into(),
        account_id: "acct".into(),
        name: "Old".into(),
        platform_type: PlatformType::Browser,
        grants: vec![Grant::AuthorizationCode],
        redirect_uris: vec![RedirectUri::parse("https://old.example/cb").unwrap()],
        scopes: Scopes::parse("ReadAccounts").unwrap(),
        distribution: Distribution::Public,
        issue_refresh_tokens: true,
        access_token_ttl: 3600,
        refresh_token_ttl: 86400,
        access_token_format: AccessTokenFormat::Jwt,
        allow_plain_pkce: false,
        resource_server: false,
        secret_hash: None,
        created_at: 1,
        updated_at: 2,
    };
    assert_eq!(
        store.get_app("old-app").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.list_apps().await.unwrap(), vec![expected.clone()]);

    // The new column and tables work on the upgraded file.
    let opted_in = grantd_core::model::App {
        allow_plain_pkce: true,
        resource_server: false,
        updated_at: 3,
        ..expected
    };
    assert!(store.update_app(&opted_in).await.unwrap());
    assert_eq!(store.get_app("old-app").await.unwrap(), Some(opted_in));
    let code = AuthCode {
        hash: [1; 32],
        client_id: "old-app".into(),
        user_id: "u".into(),
        account_id: "acct".into(),
        redirect_uri: "https://old.example/cb".into(),
        redirect_uri_sent: false,
        scope: "ReadAccounts".into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: 1,
        created_at: 1,
        expires_at: 100,
        used_at: None,
        session_id: None,
    };
    store.insert_code(&code).await.unwrap();
    assert!(matches!(
        store.consume_code(&code.hash, 5).await.unwrap(),
        CodeUse::Fresh(_)
    ));
    assert!(store.list_consents("u").await.unwrap().is_empty());
    assert_eq!(store.get_browser_session(&[1; 32]).await.unwrap(), None);
    store.close().await;

    // Reopening does not run 0003 again.
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    assert!(
        store
            .get_app("old-app")
            .await
            .unwrap()
            .unwrap()
            .allow_plain_pkce
    );
}

/// The schema refuses what the model cannot hold: a hash that is not 32
/// bytes, a flag that is not 0 or 1.
#[tokio::test]
async fn authorize_tables_check_their_columns() {
    let path = TempPath::new("authorize-checks");
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    store.close().await;
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'A', 1)")
        .execute(&raw)
        .await
        .unwrap();
    for sql in [
        "INSERT INTO auth_codes (hash, client_id, user_id, account_id, redirect_uri, \
         redirect_uri_sent, scope, auth_time, created_at, expires_at) \
         VALUES (zeroblob(31), 'c', 'u', 'a', 'r', 0, '', 1, 1, 2)",
        "INSERT INTO auth_codes (hash, client_id, user_id, account_id, redirect_uri, \
         redirect_uri_sent, scope, auth_time, created_at, expires_at) \
         VALUES (zeroblob(32), 'c', 'u', 'a', 'r', 2, '', 1, 1, 2)",
        "INSERT INTO browser_sessions (hash, user_id, auth_time, created_at, expires_at) \
         VALUES (x'00', 'u', 1, 1, 2)",
        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ('u', 'c', '', 'soon')",
        "INSERT INTO apps (client_id, account_id, name, platform_type, grants, redirect_uris, \
         scopes, distribution, issue_refresh_tokens, access_token_ttl, refresh_token_ttl, \
         access_token_format, allow_plain_pkce, created_at, updated_at) VALUES \
         ('c', 'acct', 'n', 'browser', '[]', '[]', '[]', 'public', 0, 1, 1, 'jwt', 2, 1, 1)",
    ] {
        assert!(
            sqlx::query(sql).execute(&raw).await.is_err(),
            "refused: {sql}"
        );
    }
}

/// Token requests racing on many threads for one code: one exchange wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spawned_code_exchanges_use_a_code_once() {
    use grantd_core::model::{AuthCode, CodeUse};
    let path = TempPath::new("codes");
    let store = Arc::new(SqliteStore::open(path.as_str()).await.unwrap());
    let code = AuthCode {
        hash: grantd_core::crypto::sha256(b"the code"),
        client_id: "c".into(),
        user_id: "u".into(),
        account_id: "a".into(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_sent: true,
        scope: String::new(),
        nonce: None,
        code_challenge: Some("challenge".into()),
        code_challenge_method: Some("S256".into()),
        auth_time: 1,
        created_at: 1,
        expires_at: 10_000,
        used_at: None,
        session_id: None,
    };
    store.insert_code(&code).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        let hash = code.hash;
        tasks.spawn(async move { store.consume_code(&hash, 100 + i).await.unwrap() });
    }
    let mut fresh = vec![];
    let mut replayed = vec![];
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            CodeUse::Fresh(c) => fresh.push(c.used_at),
            CodeUse::Replayed(c) => replayed.push(c.used_at),
            CodeUse::Unknown => panic!("the code is stored"),
        }
    }
    assert_eq!(fresh.len(), 1);
    assert_eq!(replayed.len(), 39);
    assert!(replayed.iter().all(|at| *at == fresh[0]));
}
