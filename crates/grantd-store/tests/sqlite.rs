//! The SQLite backend against the conformance suite, plus what only SQLite has:
//! file and URL opening, persistence, upgrades, schema checks, corrupt rows, many threads at once.

use grantd_core::model::{
    AccessTokenFormat, Account, App, AuthCode, CodeUse, Distribution, Role, Session, TokenKind,
    TokenRecord, User, UserStatus,
};
use grantd_core::store::{
    Cas, LockoutPolicy, NewSession, RotateOutcome, Rotation, SessionCap, Store, StoreError,
};
use grantd_store::SqliteStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fresh store in its own temporary file (the layout grantd runs with: one
/// writer connection, a pool of readers).
async fn fresh_file() -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open_in_memory()
            .await
            .expect("a fresh SQLite store"),
    )
}

mod conformance {
    use super::fresh_file;
    grantd_store_conformance::tests!(fresh_file);
}

/// The suite again on a `sqlite::memory:` store, where one connection serves
/// reads and writes (a factory in the other shape: an async closure, a `dyn Store`).
mod conformance_on_a_memory_url {
    use super::{SqliteStore, Store};
    use std::sync::Arc;
    grantd_store_conformance::tests!(async || {
        let store = SqliteStore::open("sqlite::memory:")
            .await
            .expect("an in-memory SQLite store");
        Arc::new(store) as Arc<dyn Store>
    });
}

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

/// A scratch directory holding the first `count` SQLite migrations, removed on drop.
struct FirstMigrations(PathBuf);

impl FirstMigrations {
    fn new(count: usize) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "grantd-store-test-migrations-{count}-{}-{}",
            std::process::id(),
            grantd_core::crypto::random_id(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut names: Vec<_> = std::fs::read_dir(&all)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for name in names.into_iter().take(count) {
            std::fs::copy(all.join(&name), dir.join(&name)).unwrap();
        }
        Self(dir)
    }

    /// Creates the database at `path` with only these migrations, then runs `sql` on it.
    async fn create(&self, path: &TempPath, sql: &[&str]) {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path.0)
            .create_if_missing(true);
        let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(self.0.as_path())
            .await
            .unwrap()
            .run(&raw)
            .await
            .unwrap();
        for sql in sql {
            sqlx::query(sql).execute(&raw).await.unwrap();
        }
        raw.close().await;
    }
}

impl Drop for FirstMigrations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection to the file behind the store's back (to hand-edit it).
async fn raw(path: &TempPath) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.as_str()))
        .await
        .unwrap()
}

fn app(client_id: &str, account_id: &str) -> App {
    App {
        client_id: client_id.into(),
        account_id: account_id.into(),
        name: "n".into(),
        platform_type: grantd_protocol::PlatformType::Browser,
        grants: vec![],
        redirect_uris: vec![],
        scopes: Default::default(),
        distribution: Distribution::Public,
        issue_refresh_tokens: false,
        access_token_ttl: 1,
        refresh_token_ttl: 1,
        access_token_format: AccessTokenFormat::Jwt,
        allow_plain_pkce: false,
        resource_server: false,
        rate_limits: Default::default(),
        token_exchange: None,
        allowed_origins: Vec::new(),
        jwks: None,
        jwks_uri: None,
        security: Default::default(),
        links: Default::default(),
        secret_hash: None,
        created_at: 1,
        updated_at: 1,
        revision: 1,
    }
}

fn account(id: &str) -> Account {
    Account {
        id: id.into(),
        name: "A".into(),
        created_at: 1,
    }
}

fn refresh_token(id: &str, session_id: &str) -> TokenRecord {
    TokenRecord {
        hash: grantd_core::crypto::sha256(id.as_bytes()),
        kind: TokenKind::Refresh,
        id: id.into(),
        client_id: "c".into(),
        subject: "u".into(),
        account_id: None,
        session_id: Some(session_id.into()),
        scope: String::new(),
        issued_at: 1,
        expires_at: 10_000,
        revoked_at: None,
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
        exchange: None,
    }
}

#[tokio::test]
async fn the_suite_runs_on_a_sqlite_url_and_a_plain_path() {
    let by_url = TempPath::new("url");
    let by_path = TempPath::new("path");
    for store in [
        SqliteStore::open(&format!("sqlite://{}", by_url.as_str()))
            .await
            .unwrap(),
        SqliteStore::open(by_path.as_str()).await.unwrap(),
    ] {
        // Checks called directly, on this test's runtime, as a backend may.
        grantd_store_conformance::settings::put_setting_if_absent_keeps_the_first_value(&store)
            .await;
        grantd_store_conformance::sessions::concurrent_opens_leave_exactly_the_cap_active(&store)
            .await;
        store.close().await;
    }
    assert!(by_url.0.exists() && by_path.0.exists());
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
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw(&path).await)
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
    store.insert_account(&account("acct")).await.unwrap();

    // Hand-edit the file behind the store's back.
    let raw = raw(&path).await;
    for sql in [
        "INSERT INTO apps (client_id, account_id, name, platform_type, grants, redirect_uris, \
         scopes, distribution, issue_refresh_tokens, access_token_ttl, refresh_token_ttl, \
         access_token_format, secret_hash, created_at, updated_at) VALUES \
         ('bad-platform', 'acct', 'n', 'mainframe', '[]', '[]', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1), \
         ('bad-grants', 'acct', 'n', 'browser', '[\"telepathy\"]', '[]', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1), \
         ('bad-json', 'acct', 'n', 'browser', '[]', 'not json', '[]', 'public', 0, 1, 1, 'jwt', NULL, 1, 1)",
        "INSERT INTO tokens (hash, kind, id, client_id, subject, scope, issued_at, expires_at) \
         VALUES (zeroblob(32), 'sideways', 't1', 'c', 's', '', 1, 2)",
        "INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private, created_at) \
         VALUES ('k', 'HS256', '{}', x'00', 1)",
    ] {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
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
async fn an_app_needs_an_existing_account_and_a_storable_ttl() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert!(matches!(
        store.insert_app(&app("c", "nobody")).await,
        Err(StoreError::Unavailable(_))
    ));
    store.insert_account(&account("a")).await.unwrap();
    let too_long = App {
        access_token_ttl: u64::MAX,
        ..app("c", "a")
    };
    assert!(store.insert_app(&too_long).await.is_err());
    assert_eq!(store.get_app("c").await.unwrap(), None);
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
    FirstMigrations::new(1)
        .create(
            &path,
            &[
                "INSERT INTO tokens (hash, kind, id, client_id, subject, account_id, session_id, \
               scope, issued_at, expires_at) \
               VALUES (zeroblob(32), 'refresh', 'old', 'c', 'u', 'a', 's', 'x', 1, 2)",
            ],
        )
        .await;

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
            exchange: None,
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
    store.insert_account(&account("acct")).await.unwrap();
    let raw = raw(&path).await;
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
    let policy = LockoutPolicy {
        window: 60,
        threshold: 5,
        lock_for: 60,
    };
    assert!(
        matches!(
            store.reserve_login_attempt("too-many", 2, &policy).await,
            Err(StoreError::Corrupt(_))
        ),
        "a corrupt count is reported, not reset"
    );
    assert!(matches!(
        store.get_jwt_credential("bad-apps").await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_user_needs_an_existing_account() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let user = User {
        id: "u".into(),
        account_id: "nobody".into(),
        email: None,
        phone: None,
        extension_number: None,
        name: "n".into(),
        role: Role::User,
        status: UserStatus::Enabled,
        password_hash: None,
        created_at: 1,
    };
    assert!(matches!(
        store.insert_user(&user).await,
        Err(StoreError::Unavailable(_))
    ));
}

/// Refreshes racing as spawned tasks on many threads: one rotation wins, the others see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spawned_rotations_never_fork_a_session() {
    let path = TempPath::new("rotate");
    let store = Arc::new(SqliteStore::open(path.as_str()).await.unwrap());
    let old = refresh_token("old", "s");
    let session = Session {
        id: "s".into(),
        user_id: "u".into(),
        client_id: "c".into(),
        account_id: "a".into(),
        scope: String::new(),
        created_at: 1,
        ended_at: None,
        end_reason: None,
        credential_id: None,
        endpoint_id: None,
        sid: None,
        resources: vec![],
    };
    let new = NewSession {
        session,
        tokens: vec![old.clone()],
        code: None,
        device_code: None,
    };
    store
        .open_session(&new, &SessionCap { max_active: 5 }, 1)
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        let rotation = Rotation {
            old_hash: old.hash,
            next: refresh_token(&format!("new-{i}"), "s"),
            access: None,
            replay: i.to_string().into_bytes(),
            revoke_jti: None,
        };
        tasks.spawn(async move { (i, store.rotate_refresh(&rotation, 5).await.unwrap()) });
    }
    let mut winners = vec![];
    let mut replays = vec![];
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (i, RotateOutcome::Rotated) => winners.push(i),
            (_, RotateOutcome::AlreadyRotated(record)) => replays.push(record.replay),
            (_, other) => panic!("a live token rotates or was rotated: {other:?}"),
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
/// flow) opens, gains the later migrations, and reads its apps back with
/// `allow_plain_pkce` and `resource_server` false, no token exchange
/// policy, at revision 1.
#[tokio::test]
async fn a_0002_database_is_upgraded() {
    use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};

    let path = TempPath::new("upgrade-0002");
    FirstMigrations::new(2)
        .create(
            &path,
            &[
                "INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'A', 1)",
                "INSERT INTO apps (client_id, account_id, name, platform_type, grants, \
                 redirect_uris, scopes, distribution, issue_refresh_tokens, access_token_ttl, \
                 refresh_token_ttl, access_token_format, secret_hash, created_at, updated_at) VALUES \
                 ('old-app', 'acct', 'Old', 'browser', '[\"authorization_code\"]', \
                  '[\"https://old.example/cb\"]', '[\"ReadAccounts\"]', 'public', 1, 3600, 86400, \
                  'jwt', NULL, 1, 2)",
            ],
        )
        .await;

    let store = SqliteStore::open(path.as_str()).await.unwrap();
    let expected = App {
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
        rate_limits: Default::default(),
        token_exchange: None,
        allowed_origins: Vec::new(),
        jwks: None,
        jwks_uri: None,
        security: Default::default(),
        links: Default::default(),
        secret_hash: None,
        created_at: 1,
        updated_at: 2,
        revision: 1,
    };
    assert_eq!(
        store.get_app("old-app").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.list_apps().await.unwrap(), vec![expected.clone()]);

    // The new columns and tables work on the upgraded file.
    let opted_in = App {
        allow_plain_pkce: true,
        updated_at: 3,
        ..expected
    };
    assert_eq!(store.update_app(&opted_in).await.unwrap(), Cas::Done);
    assert_eq!(
        store.get_app("old-app").await.unwrap(),
        Some(App {
            revision: 2,
            ..opted_in
        })
    );
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
        sid: None,
        resources: vec![],
    };
    store.insert_code(&code).await.unwrap();
    assert!(matches!(
        store.consume_code(&code.hash, 5).await.unwrap(),
        CodeUse::Fresh(_)
    ));
    assert!(store.list_consents("u").await.unwrap().is_empty());
    assert_eq!(store.get_browser_session(&[1; 32]).await.unwrap(), None);
    store.close().await;

    // Reopening does not run the migrations again.
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    let reopened = store.get_app("old-app").await.unwrap().unwrap();
    assert!(reopened.allow_plain_pkce);
    assert_eq!(reopened.revision, 2);
}

/// A database at migration 0005 (the release before units of work) keeps
/// its sessions across 0006, which drops a column of theirs.
#[tokio::test]
async fn a_0005_database_is_upgraded() {
    let path = TempPath::new("upgrade-0005");
    FirstMigrations::new(5)
        .create(
            &path,
            &[
                "INSERT INTO sessions (id, user_id, client_id, account_id, scope, created_at, \
                 pair_first_used_at) VALUES ('s', 'u', 'c', 'a', 'x', 1, 2)",
            ],
        )
        .await;
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    assert_eq!(
        store.get_session("s").await.unwrap(),
        Some(Session {
            id: "s".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            account_id: "a".into(),
            scope: "x".into(),
            created_at: 1,
            ended_at: None,
            end_reason: None,
            credential_id: None,
            endpoint_id: None,
            sid: None,
            resources: vec![],
        })
    );
}

/// A database at migration 0006 keeps its apps across 0007, which gives
/// them no rate limits of their own (the server's apply).
#[tokio::test]
async fn a_0006_database_is_upgraded() {
    let path = TempPath::new("upgrade-0006");
    FirstMigrations::new(6)
        .create(
            &path,
            &[
                "INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'A', 1)",
                "INSERT INTO apps (client_id, account_id, name, platform_type, grants, \
                 redirect_uris, scopes, distribution, issue_refresh_tokens, access_token_ttl, \
                 refresh_token_ttl, access_token_format, allow_plain_pkce, resource_server, \
                 created_at, updated_at, revision) VALUES ('c', 'acct', 'Old', 'server-only', \
                 '[\"client_credentials\"]', '[]', '[]', 'private', 0, 3600, 3600, 'jwt', 0, 0, 1, 1, 4)",
            ],
        )
        .await;
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    let app = store.get_app("c").await.unwrap().expect("the app survives");
    assert_eq!(app.name, "Old");
    assert_eq!(app.revision, 4);
    assert!(app.rate_limits.is_empty());
}

/// The schema refuses what the model cannot hold: a hash that is not 32
/// bytes, a flag that is not 0 or 1, a time that is not a number.
#[tokio::test]
async fn authorize_tables_check_their_columns() {
    let path = TempPath::new("authorize-checks");
    let store = SqliteStore::open(path.as_str()).await.unwrap();
    store.close().await;
    let raw = raw(&path).await;
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

/// Token requests racing as spawned tasks on many threads for one code: one exchange wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spawned_code_exchanges_use_a_code_once() {
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
        sid: None,
        resources: vec![],
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
