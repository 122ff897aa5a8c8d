//! What only the PostgreSQL backend has: connection errors an operator can
//! act on, migrations shared by nodes, change notifications, the purge lock,
//! and units of work that hold across stores (nodes) on one database.
//!
//! Each test creates its own database on the server `GRANTD_TEST_DATABASE_URL`
//! names, and skips when it is unset (except under CI).

use grantd_core::model::{
    AccessTokenFormat, Account, App, Distribution, Session, TokenKind, TokenRecord,
};
use grantd_core::store::{Cas, Change, NewSession, SessionCap, SessionOpened, Store, StoreError};
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};
use grantd_store::postgres::testing::{self, EmptyDatabase, TestDatabase};
use grantd_store::postgres::PURGE_LOCK;
use grantd_store::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::broadcast;

const T: i64 = 1_700_000_000;

fn account(id: &str) -> Account {
    Account {
        id: id.into(),
        name: "Account".into(),
        created_at: T,
    }
}

fn app(client_id: &str, account_id: &str) -> App {
    App {
        client_id: client_id.into(),
        account_id: account_id.into(),
        name: "App".into(),
        platform_type: PlatformType::ServerWeb,
        grants: vec![Grant::AuthorizationCode, Grant::RefreshToken],
        redirect_uris: vec![RedirectUri::parse("https://app.example/cb").expect("a URI")],
        scopes: Scopes::parse("a b").expect("scopes"),
        distribution: Distribution::Private,
        issue_refresh_tokens: true,
        access_token_ttl: 3600,
        refresh_token_ttl: 86_400,
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
        secret_hash: Some([7; 32]),
        created_at: T,
        updated_at: T,
        revision: 1,
    }
}

fn session(id: &str, created_at: i64) -> Session {
    Session {
        id: id.into(),
        user_id: "user".into(),
        client_id: "client".into(),
        account_id: "acct".into(),
        scope: "a".into(),
        created_at,
        ended_at: None,
        end_reason: None,
        credential_id: None,
        endpoint_id: None,
        sid: None,
        resources: vec![],
    }
}

fn refresh_token(id: &str, session_id: &str, expires_at: i64) -> TokenRecord {
    TokenRecord {
        hash: grantd_core::crypto::sha256(id.as_bytes()),
        kind: TokenKind::Refresh,
        id: id.into(),
        client_id: "client".into(),
        subject: "user".into(),
        account_id: Some("acct".into()),
        session_id: Some(session_id.into()),
        scope: "a".into(),
        issued_at: T,
        expires_at,
        revoked_at: None,
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
        exchange: None,
    }
}

/// The server the tests run on, as options (to build URLs that must fail).
fn server() -> Option<PgConnectOptions> {
    let url = testing::server_url()?;
    Some(PgConnectOptions::from_str(&url).expect("a valid GRANTD_TEST_DATABASE_URL"))
}

fn unavailable(result: Result<PgStore, StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(message)) => message,
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("expected Unavailable, the store opened"),
    }
}

/// The next change other than `Resync`, within a few seconds.
async fn next_change(changes: &mut broadcast::Receiver<Change>) -> Change {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), changes.recv()).await {
            Ok(Ok(Change::Resync)) => continue,
            Ok(Ok(change)) => return change,
            Ok(Err(e)) => panic!("change channel: {e}"),
            Err(_) => panic!("no change within 10s"),
        }
    }
}

async fn next_resync(changes: &mut broadcast::Receiver<Change>) {
    match tokio::time::timeout(Duration::from_secs(10), changes.recv()).await {
        Ok(Ok(Change::Resync)) => {}
        other => panic!("expected Resync, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_errors_say_what_to_do() {
    let Some(server) = server() else { return };
    let host = server.get_host().to_string();
    let port = server.get_port();

    let message = unavailable(PgStore::open("postgres://u:s3cret@h:notaport/db").await);
    assert!(message.contains("invalid PostgreSQL URL"), "{message}");
    assert!(
        !message.contains("s3cret"),
        "the password leaked: {message}"
    );

    let message = unavailable(PgStore::open("sqlite://grantd.db").await);
    assert!(message.contains("invalid PostgreSQL URL"), "{message}");

    // Port 1 on the test server's host: nothing listens there.
    let message = unavailable(PgStore::open(&format!("postgres://u:s3cret@{host}:1/db")).await);
    assert!(message.contains("cannot reach PostgreSQL"), "{message}");
    assert!(
        !message.contains("s3cret"),
        "the password leaked: {message}"
    );

    let message = unavailable(
        PgStore::open(&format!(
            "postgres://grantd_no_such_role:s3cret@{host}:{port}/postgres"
        ))
        .await,
    );
    assert!(message.contains("refused user"), "{message}");
    assert!(message.contains("check the user and password"), "{message}");
    assert!(
        !message.contains("s3cret"),
        "the password leaked: {message}"
    );

    let user = server.get_username();
    let message = unavailable(
        PgStore::open(&format!(
            "postgres://{user}@{host}:{port}/grantd_no_such_database"
        ))
        .await,
    );
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("grantd_no_such_database"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = EmptyDatabase::create().await else {
        return;
    };
    let opens: Vec<_> = (0..4).map(|_| PgStore::open(db.url())).collect();
    let mut stores = Vec::new();
    for result in futures_join(opens).await {
        stores.push(result.expect("every node opens"));
    }
    stores[0]
        .insert_account(&account("acct"))
        .await
        .expect("the schema is there");
    // Migrating again (`grantd migrate`) is a no-op.
    PgStore::migrate_only(db.url())
        .await
        .expect("migrate again");
    for store in &stores {
        store.close().await;
    }
}

/// Polls every future on this task until all are done (so they may borrow;
/// the stores still run them concurrently).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *output = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut conn = PgConnectOptions::from_str(db.url())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("pretend a newer grantd migrated");
    conn.close().await.expect("close");
    let message = unavailable(PgStore::open(db.url()).await);
    assert!(message.contains("upgrade grantd"), "{message}");
    assert!(message.contains("9999"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    match PgStore::migrate_only(db.url()).await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("upgrade grantd"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_other_nodes() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let other = PgStore::open(db.url()).await.expect("a second node");
    let mut changes = other.changes().expect("PostgreSQL tells changes");
    // Listening starts with a Resync (anything before it may have been missed).
    next_resync(&mut changes).await;

    db.insert_account(&account("acct")).await.expect("account");
    let mut a = app("app-1", "acct");
    db.insert_app(&a).await.expect("insert");
    assert_eq!(next_change(&mut changes).await, Change::App("app-1".into()));
    a.name = "Renamed".into();
    assert_eq!(db.update_app(&a).await.expect("update"), Cas::Done);
    assert_eq!(next_change(&mut changes).await, Change::App("app-1".into()));
    // A stale update changes nothing and tells nothing.
    assert_eq!(db.update_app(&a).await.expect("stale"), Cas::Stale);
    assert!(db
        .set_app_secret("app-1", &[9; 32], T + 5)
        .await
        .expect("secret"));
    assert_eq!(next_change(&mut changes).await, Change::App("app-1".into()));
    assert_eq!(
        db.get_app("app-1")
            .await
            .expect("get")
            .expect("app")
            .revision,
        3
    );
    db.retire_keys_except("none", T).await.expect("retire");
    assert_eq!(next_change(&mut changes).await, Change::Keys);
    assert!(db.delete_app("app-1", T + 6).await.expect("delete"));
    assert_eq!(next_change(&mut changes).await, Change::App("app-1".into()));
    // The writer's own node hears its changes too.
    let mut own = db.changes().expect("changes");
    next_resync(&mut own).await;
    db.insert_app(&app("app-2", "acct")).await.expect("insert");
    assert_eq!(next_change(&mut own).await, Change::App("app-2".into()));
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_reconnects_and_resyncs() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    db.insert_account(&account("acct")).await.expect("account");
    let mut changes = db.changes().expect("changes");
    next_resync(&mut changes).await;

    let mut admin = PgConnectOptions::from_str(db.url())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'grantd-listener'",
    )
    .bind(db.name())
    .fetch_one(&mut admin)
    .await
    .expect("terminate the listener");
    assert_eq!(killed, 1);
    // Caches hear that they may have missed something...
    next_resync(&mut changes).await;
    // ...and changes flow again once the listener is back (a change made
    // while it reconnects is covered by the Resync that follows reconnecting).
    for i in 0.. {
        assert!(i < 50, "no change arrived after the listener reconnected");
        let client_id = format!("after-{i}");
        db.insert_app(&app(&client_id, "acct"))
            .await
            .expect("insert");
        match tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match changes.recv().await {
                    Ok(Change::Resync) => continue,
                    other => return other,
                }
            }
        })
        .await
        {
            Ok(Ok(Change::App(id))) if id.starts_with("after-") => break,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => continue,
        }
    }
    admin.close().await.expect("close");
}

#[tokio::test]
async fn purging_is_bounded_and_runs_on_one_node_at_a_time() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    for i in 0..5 {
        db.insert_token(&refresh_token(&format!("old-{i}"), "s", 100))
            .await
            .expect("token");
    }
    db.insert_token(&refresh_token("live", "s", T))
        .await
        .expect("token");

    // Another node purging holds the lock: this one skips the round.
    let mut other_node = PgConnectOptions::from_str(db.url())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(PURGE_LOCK)
        .execute(&mut other_node)
        .await
        .expect("lock");
    assert_eq!(db.purge_expired(1000, 100).await.expect("purge"), 0);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(PURGE_LOCK)
        .execute(&mut other_node)
        .await
        .expect("unlock");
    other_node.close().await.expect("close");

    assert_eq!(db.purge_expired(1000, 2).await.expect("purge"), 2);
    assert_eq!(db.purge_expired(1000, 2).await.expect("purge"), 2);
    assert_eq!(db.purge_expired(1000, 2).await.expect("purge"), 1);
    assert_eq!(db.purge_expired(1000, 2).await.expect("purge"), 0);
    let live = grantd_core::crypto::sha256(b"live");
    assert!(db.get_token(&live).await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cap_holds_across_nodes() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let other = PgStore::open(db.url()).await.expect("a second node");
    let cap = SessionCap { max_active: 3 };
    let opens: Vec<_> = (0..20)
        .map(|i| {
            let store: &PgStore = if i % 2 == 0 { &db } else { &other };
            let new = NewSession {
                session: session(&format!("s{i:02}"), T + i),
                tokens: vec![refresh_token(
                    &format!("r{i:02}"),
                    &format!("s{i:02}"),
                    T + 9999,
                )],
                code: None,
                device_code: None,
            };
            async move { store.open_session(&new, &cap, T + 100).await }
        })
        .collect();
    for result in futures_join(opens).await {
        assert!(matches!(
            result.expect("open"),
            SessionOpened::Opened { .. }
        ));
    }
    let mut conn = PgConnectOptions::from_str(db.url())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE user_id = 'user' AND ended_at IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(active, 3);
    // Every ended session's refresh token was revoked with it.
    let live_tokens: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tokens t JOIN sessions s ON s.id = t.session_id \
         WHERE s.ended_at IS NOT NULL AND t.revoked_at IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(live_tokens, 0);
    conn.close().await.expect("close");
    other.close().await;
}

#[tokio::test]
async fn corrupt_rows_are_reported_as_corrupt() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    db.insert_account(&account("acct")).await.expect("account");
    db.insert_app(&app("app", "acct")).await.expect("app");
    let mut conn = PgConnectOptions::from_str(db.url())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    sqlx::query("UPDATE apps SET grants = '[\"nope\"]' WHERE client_id = 'app'")
        .execute(&mut conn)
        .await
        .expect("hand-edit");
    conn.close().await.expect("close");
    match db.get_app("app").await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("grants"), "{message}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn open_picks_the_backend_by_scheme() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = grantd_store::open(db.url()).await.expect("open by URL");
    store.put_setting("k", "v").await.expect("put");
    assert_eq!(
        db.get_setting("k").await.expect("get").as_deref(),
        Some("v")
    );
    let postgresql = db.url().replacen("postgres://", "postgresql://", 1);
    grantd_store::open::migrate(&postgresql)
        .await
        .expect("migrate by postgresql:// URL");
}
