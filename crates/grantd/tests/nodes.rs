//! Several grantd nodes on one PostgreSQL database act as one server: what
//! one node issues, changes or revokes holds on the other at once, a node
//! killed mid-refresh loses no refresh token a client received, and the
//! failure limit and request quotas count every node's requests.
//!
//! Needs PostgreSQL (`GRANTD_TEST_DATABASE_URL`); each test makes its own
//! database. Without the variable the tests are skipped, except under CI.

mod common;

use common::{Reply, Server};
use grantd_store::postgres::testing::EmptyDatabase;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Every node of one deployment shares the master key (it seals the signing keys).
const MASTER_KEY: &str = "8f2b1c9d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
/// …and the issuer, so a token from one node is valid on the other.
const ISSUER: &str = "http://grantd.nodes.test";
/// App caches live 5 s; anything seen within this bound came from the
/// change notification, not from the cache running out.
const AT_ONCE: Duration = Duration::from_millis(1500);

struct Cluster {
    a: Server,
    b: Server,
    db: EmptyDatabase,
}

async fn cluster() -> Option<Cluster> {
    cluster_with(&[], &[]).await
}

/// Two nodes with the same extra flags and environment.
async fn cluster_with(args: &[&str], env: &[(&str, &str)]) -> Option<Cluster> {
    let db = EmptyDatabase::create().await?;
    let node = |db: &EmptyDatabase| {
        let mut all_args = vec!["--database-url", db.url(), "--issuer", ISSUER];
        all_args.extend_from_slice(args);
        let mut all_env = vec![("GRANTD_MASTER_KEY", MASTER_KEY)];
        all_env.extend_from_slice(env);
        Server::start_with(&all_args, &all_env)
    };
    let a = node(&db);
    let b = node(&db);
    Some(Cluster { a, b, db })
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

struct Login {
    app: common::App,
    jwt: String,
}

/// An app enabled for the JWT grant and refresh, and a user's credential.
async fn jwt_login(node: &Server) -> Login {
    let app = node
        .server_only_app(json!({"name": "Acme JWT", "grants": ["jwt_bearer", "refresh_token"]}))
        .await;
    let user = node
        .create_user(json!({"email": format!("u{}@example.com", rand_suffix()), "name": "Alice"}))
        .await;
    let (_, jwt) = node
        .create_credential(user["id"].as_str().unwrap(), json!({"label": "nodes"}))
        .await;
    Login { app, jwt }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

async fn token(node: &Server, app: &common::App, body: &str) -> Reply {
    node.post_form(
        "/restapi/oauth/token",
        Some((&app.client_id, &app.secret)),
        body,
    )
    .await
}

async fn active(node: &Server, app: &common::App, access: &str) -> bool {
    let r = node
        .post_form(
            "/oauth/introspect",
            Some((&app.client_id, &app.secret)),
            &format!("token={access}"),
        )
        .await;
    assert_eq!(r.status, 200, "introspect: {}", r.json);
    r.json["active"] == json!(true)
}

/// Polls `check` until it holds or `within` passes; returns how long it took.
async fn within<F, Fut>(within: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_issued_on_one_node_refreshes_and_revokes_on_the_other() {
    let Some(c) = cluster().await else { return };
    let l = jwt_login(&c.a).await;
    let first = token(
        &c.a,
        &l.app,
        &format!("grant_type={JWT_GRANT}&assertion={}", l.jwt),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert!(active(&c.b, &l.app, &s(&first.json, "access_token")).await);

    let second = token(
        &c.b,
        &l.app,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            s(&first.json, "refresh_token")
        ),
    )
    .await;
    assert_eq!(second.status, 200, "refresh on B: {}", second.json);
    assert_eq!(second.json["session_id"], first.json["session_id"]);
    // The exchange on B ended A's access token, seen on A.
    assert!(!active(&c.a, &l.app, &s(&first.json, "access_token")).await);
    let access = s(&second.json, "access_token");
    assert!(active(&c.a, &l.app, &access).await);

    let revoked =
        c.a.post_form(
            "/restapi/oauth/revoke",
            Some((&l.app.client_id, &l.app.secret)),
            &format!("token={access}"),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.json);
    assert!(
        !active(&c.b, &l.app, &access).await,
        "revoked on A, still active on B"
    );
    let again = token(
        &c.b,
        &l.app,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            s(&second.json, "refresh_token")
        ),
    )
    .await;
    assert_eq!(again.status, 400, "{}", again.json);
    drop(c.db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_and_secrets_changed_on_one_node_hold_on_the_other_at_once() {
    let Some(c) = cluster().await else { return };
    let app = c.a.server_only_app(json!({})).await;
    let cc = "grant_type=client_credentials";
    // Created on A: B serves it on the first request.
    let on_b = token(&c.b, &app, cc).await;
    assert_eq!(on_b.status, 200, "{}", on_b.json);

    // B has the app cached now; the rotation on A must reach it.
    let (status, rotated) =
        c.a.admin(
            reqwest::Method::POST,
            &format!("/admin/v1/apps/{}/secret", app.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let took = within(AT_ONCE, || async {
        token(&c.b, &app, cc).await.status == 401
    })
    .await;
    assert!(
        took.is_some(),
        "B accepted the old secret after the rotation"
    );
    let new = common::App {
        secret: s(&rotated, "client_secret"),
        ..app.clone()
    };
    assert_eq!(token(&c.b, &new, cc).await.status, 200);

    // A settings change (scopes) on A narrows what B grants.
    let (status, body) =
        c.a.admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/apps/{}", app.client_id),
            Some(json!({"scopes": ["ReadAccounts"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let took = within(AT_ONCE, || async {
        token(&c.b, &new, &format!("{cc}&scope=SMS")).await.status == 400
    })
    .await;
    assert!(took.is_some(), "B still granted a scope A removed");
    // The secret survived the settings change (no lost update).
    assert_eq!(token(&c.b, &new, cc).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_on_one_node_is_published_by_the_other_before_it_signs() {
    let Some(c) = cluster().await else { return };
    let jwks = |node: &Server| {
        let url = node.url("/oauth/jwks");
        let http = node.http.clone();
        async move {
            let keys: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            keys["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| s(k, "kid"))
                .collect::<Vec<_>>()
        }
    };
    let before = jwks(&c.b).await;
    let out = std::process::Command::new(common::bin())
        .args(["--database-url", c.db.url(), "keys", "rotate"])
        .env("GRANTD_MASTER_KEY", MASTER_KEY)
        .env("GRANTD_ISSUER", ISSUER)
        .output()
        .expect("grantd keys rotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = within(AT_ONCE, || async { jwks(&c.b).await.len() > before.len() }).await;
    assert!(took.is_some(), "B's JWKS did not gain the new key at once");
    // Neither node signs with it yet (it is published five minutes first).
    let app = c.a.server_only_app(json!({})).await;
    for node in [&c.a, &c.b] {
        let r = token(node, &app, "grant_type=client_credentials").await;
        let header = s(&r.json, "access_token");
        let header = header.split('.').next().unwrap();
        use base64::Engine;
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        assert!(
            before.contains(&s(&header, "kid")),
            "signed with an unpublished key"
        );
    }
}

/// A client's refresh, sent to `first` and retried on `fallback` if the
/// connection fails (as a load balancer would).
async fn refresh_with_failover(
    http: &reqwest::Client,
    first: &str,
    fallback: &str,
    app: &common::App,
    refresh_token: &str,
) -> (u16, Value) {
    for base in [first, fallback] {
        let sent = http
            .post(format!("{base}/restapi/oauth/token"))
            .header(
                "authorization",
                common::basic_header(&app.client_id, &app.secret),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=refresh_token&refresh_token={refresh_token}"
            ))
            .send()
            .await;
        if let Ok(res) = sent {
            let status = res.status().as_u16();
            let body = res.json().await.unwrap_or(Value::Null);
            return (status, body);
        }
    }
    (0, Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_under_refresh_load_loses_and_forks_nothing() {
    let Some(c) = cluster().await else { return };
    let l = jwt_login(&c.a).await;
    // At most five sessions per user and app (the default cap).
    const CLIENTS: usize = 5;
    const ROUNDS: usize = 60;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut chains = Vec::new();
    for _ in 0..CLIENTS {
        let r = token(
            &c.a,
            &l.app,
            &format!("grant_type={JWT_GRANT}&assertion={}", l.jwt),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        chains.push((s(&r.json, "refresh_token"), s(&r.json, "session_id")));
    }
    let (a, b) = (c.a.base.clone(), c.b.base.clone());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let clients: Vec<_> = chains
        .into_iter()
        .enumerate()
        .map(|(i, (mut refresh, session))| {
            let (a, b, http, app) = (a.clone(), b.clone(), http.clone(), l.app.clone());
            let done = done.clone();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    // Alternate nodes; B is always the fallback once A is gone.
                    let (first, fallback) = if (i + round) % 2 == 0 {
                        (&a, &b)
                    } else {
                        (&b, &b)
                    };
                    let (status, body) =
                        refresh_with_failover(&http, first, fallback, &app, &refresh).await;
                    assert_eq!(status, 200, "client {i} round {round}: {body}");
                    assert_eq!(s(&body, "session_id"), session, "the session forked");
                    refresh = s(&body, "refresh_token");
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Kill A a third of the way through, with refreshes in flight on it.
    let third = CLIENTS * ROUNDS / 3;
    let started = Instant::now();
    while done.load(std::sync::atomic::Ordering::SeqCst) < third {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut a_node = c.a;
    a_node.kill();
    assert!(
        done.load(std::sync::atomic::Ordering::SeqCst) < CLIENTS * ROUNDS,
        "the load ended before A was killed"
    );
    for client in clients {
        client.await.expect("a client failed");
    }
    drop(c.b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_answering_gets_grd_503_and_the_server_recovers() {
    let Some(db) = EmptyDatabase::create().await else {
        return;
    };
    let node = Server::start_with(
        &["--database-url", db.url(), "--issuer", ISSUER],
        &[("GRANTD_MASTER_KEY", MASTER_KEY)],
    );
    let app = node
        .server_only_app(json!({"access_token_format": "opaque"}))
        .await;
    let cc = "grant_type=client_credentials";
    assert_eq!(token(&node, &app, cc).await.status, 200);
    let server = grantd_store::postgres::testing::server_url().expect("a server");
    let psql = |sql: String| {
        let out = std::process::Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", &server, "-c", &sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let name = db.name().to_string();
    psql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    psql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    let r = token(&node, &app, cc).await;
    r.assert_error(503, "temporarily_unavailable", "GRD-503", &["database"]);
    let ready = node.http.get(node.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "/readyz says the store is down");
    psql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let took = within(Duration::from_secs(10), || async {
        token(&node, &app, cc).await.status == 200
    })
    .await;
    assert!(took.is_some(), "the server did not recover");
}

/// Long enough for one node's counts to reach the database and the other
/// node to read them back (each syncs every 250 ms), with room for a busy
/// machine.
const SYNCED: Duration = Duration::from_millis(1000);
/// The most the limits may take to hold on every node.
const ACROSS_NODES: Duration = Duration::from_secs(2);

/// Sends with `send` (every 250 ms, for at most two seconds) until the
/// answer is 429; returns the statuses of the other answers. Each answer
/// that is not 429 counts against the limit under test, so callers first
/// give the nodes time to sync.
async fn until_refused<F, Fut>(send: F) -> (bool, Vec<u16>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let start = Instant::now();
    let mut other = Vec::new();
    loop {
        let r = send().await;
        if r.status == 429 {
            assert_eq!(r.code(), "CMN-301", "{}", r.text);
            assert!(r.header("retry-after").is_some());
            return (true, other);
        }
        other.push(r.status);
        if start.elapsed() > ACROSS_NODES {
            return (false, other);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Ten failures per identity and minute is the limit of the deployment,
/// not of each node: guessing on A and then on B is paused on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_limit_holds_across_nodes() {
    let Some(c) = cluster_with(&[], &[("GRANTD_AUTH_FAILURE_LIMIT", "10")]).await else {
        return;
    };
    let real = c.a.server_only_app(json!({})).await;
    let guess = common::App {
        client_id: "invented-client".into(),
        secret: "guess".into(),
        json: Value::Null,
    };
    let cc = "grant_type=client_credentials";
    let mut failed = 0;
    for i in 0..6 {
        let r = token(&c.a, &guess, cc).await;
        assert_eq!(r.code(), "OAU-153", "A, attempt {i}: {}", r.text);
        failed += 1;
    }
    tokio::time::sleep(SYNCED).await;
    let mut on_b = Vec::new();
    for _ in 0..6 {
        let r = token(&c.b, &guess, cc).await;
        if r.status == 401 {
            failed += 1;
        } else {
            r.assert_error(
                429,
                "temporarily_unavailable",
                "CMN-301",
                &["for client id 'inv…' (15 characters)", "More than 10"],
            );
        }
        on_b.push(r.status);
    }
    assert_eq!(
        on_b,
        [401, 401, 401, 401, 429, 429],
        "B counted A's six failures: the 11th and 12th are paused"
    );
    // A learns of B's four within the sync delay.
    tokio::time::sleep(SYNCED).await;
    let (paused, before) = until_refused(|| token(&c.a, &guess, cc)).await;
    failed += before.iter().filter(|s| **s == 401).count();
    assert!(paused, "A never paused the identity: {before:?}");
    assert!(
        failed <= 11,
        "{failed} failures got through two nodes with a limit of 10"
    );
    // The real client is not paused, on either node.
    for node in [&c.a, &c.b] {
        assert_eq!(token(node, &real, cc).await.status, 200);
    }
    drop(c.db);
}

/// A request quota counts every node's requests of the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_quotas_hold_across_nodes() {
    let Some(c) = cluster_with(&["--rate-limit", "auth=6/60"], &[]).await else {
        return;
    };
    let app = c.a.server_only_app(json!({})).await;
    let cc = "grant_type=client_credentials";
    let mut granted = 0;
    for left in ["5", "4", "3"] {
        let r = token(&c.a, &app, cc).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-rate-limit-group"), Some("Auth"));
        assert_eq!(r.header("x-rate-limit-remaining"), Some(left));
        granted += 1;
    }
    tokio::time::sleep(SYNCED).await;
    let mut on_b = Vec::new();
    for _ in 0..4 {
        let r = token(&c.b, &app, cc).await;
        if r.status == 200 {
            granted += 1;
        }
        on_b.push((
            r.status,
            r.header("x-rate-limit-remaining").map(String::from),
        ));
    }
    let rem = |s: &str| Some(s.to_string());
    assert_eq!(
        on_b,
        [
            (200, rem("2")),
            (200, rem("1")),
            (200, rem("0")),
            (429, rem("0"))
        ],
        "B counted A's three requests"
    );
    tokio::time::sleep(SYNCED).await;
    let (refused, before) = until_refused(|| token(&c.a, &app, cc)).await;
    granted += before.iter().filter(|s| **s == 200).count();
    assert!(refused, "A never applied the quota: {before:?}");
    assert!(granted <= 7, "{granted} requests granted with a quota of 6");
    drop(c.db);
}
