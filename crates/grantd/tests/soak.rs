//! Soak: a bounded, steady, mixed load on loopback for `SOAK_SECONDS`
//! (default 8): client credentials (JWT and opaque), jwt-bearer logins,
//! refreshes, introspection and revocation. Every second the server's
//! resident memory (VmRSS), open descriptors and SQLite files are sampled.
//! Every request must succeed, descriptors must stay flat after warm-up, and
//! memory must not grow without bound.

mod common;

use common::{basic_header, App, Server};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent clients, each a closed loop (next request after the answer).
const WORKERS: usize = 4;
/// Descriptors the server may open beyond its post-warm-up count (the
/// clients' keep-alive connections coming and going, a WAL file).
const FD_SLACK: usize = 16;
/// The last memory sample may be at most this multiple of the post-warm-up one.
const RSS_GROWTH: f64 = 1.5;

struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    store_bytes: u64,
    requests: u64,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn store_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("grantd.db"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// What one worker does, over and over.
struct Worker {
    base: String,
    http: reqwest::Client,
    app: App,
    opaque: App,
    credential: String,
    requests: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    async fn post(&self, path: &str, app: &App, body: &str) -> Option<Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("authorization", basic_header(&app.client_id, &app.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let failure = match res {
            Ok(r) if r.status().is_success() => {
                let text = r.text().await.unwrap_or_default();
                if text.is_empty() {
                    return Some(Value::Null); // revocation answers 200 with no body
                }
                match serde_json::from_str(&text) {
                    Ok(v) => return Some(v),
                    Err(e) => format!("{path}: not JSON ({e}): {text}"),
                }
            }
            Ok(r) => format!(
                "{path}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(e) => format!("{path}: {e}"),
        };
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 20 {
            errors.push(failure);
        }
        None
    }

    async fn active(&self, app: &App, token: &str, want: bool) {
        if let Some(v) = self
            .post("/oauth/introspect", app, &format!("token={token}"))
            .await
        {
            if v["active"] != json!(want) {
                self.errors
                    .lock()
                    .unwrap()
                    .push(format!("introspection said {v}, expected active={want}"));
            }
        }
    }

    /// One round of the mix; `None` as soon as a step failed.
    async fn round(&self) -> Option<()> {
        let jwt = self
            .post("/oauth/token", &self.app, "grant_type=client_credentials")
            .await?;
        self.active(&self.app, jwt["access_token"].as_str()?, true)
            .await;
        let opaque = self
            .post(
                "/oauth/token",
                &self.opaque,
                "grant_type=client_credentials",
            )
            .await?;
        let opaque = opaque["access_token"].as_str()?.to_string();
        self.active(&self.opaque, &opaque, true).await;
        self.post("/oauth/revoke", &self.opaque, &format!("token={opaque}"))
            .await?;
        self.active(&self.opaque, &opaque, false).await;

        let login = self
            .post(
                "/oauth/token",
                &self.app,
                &format!(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
                    self.credential
                ),
            )
            .await?;
        let refresh = login["refresh_token"].as_str()?;
        let pair = self
            .post(
                "/oauth/token",
                &self.app,
                &format!("grant_type=refresh_token&refresh_token={refresh}"),
            )
            .await?;
        let access = pair["access_token"].as_str()?;
        self.active(&self.app, access, true).await;
        // Logging out with the new refresh token ends the session.
        let refresh = pair["refresh_token"].as_str()?;
        self.post("/oauth/revoke", &self.app, &format!("token={refresh}"))
            .await?;
        self.active(&self.app, access, false).await;
        Some(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_mixed_load_leaks_neither_descriptors_nor_memory() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let server = Server::start();
    let pid = server.pid();
    let app = server
        .server_only_app(json!({"name": "Soak Sync",
            "grants": ["jwt_bearer", "client_credentials", "refresh_token"]}))
        .await;
    let opaque = server
        .server_only_app(json!({"name": "Soak Opaque", "access_token_format": "opaque"}))
        .await;
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::new();
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        // One user per worker, so no worker's login evicts another's session.
        let user = server
            .create_user(
                json!({"email": format!("soak{i}@example.com"), "name": format!("Soak {i}")}),
            )
            .await;
        let (_, credential) = server
            .create_credential(user["id"].as_str().unwrap(), json!({}))
            .await;
        workers.push(Arc::new(Worker {
            base: server.base.clone(),
            http: http.clone(),
            app: app.clone(),
            opaque: opaque.clone(),
            credential,
            requests: requests.clone(),
            errors: errors.clone(),
        }));
    }

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for w in &workers {
        let w = w.clone();
        tasks.spawn(async move {
            let mut rounds = 0u64;
            while Instant::now() < deadline {
                if w.round().await.is_none() {
                    break;
                }
                rounds += 1;
            }
            rounds
        });
    }
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < deadline {
        tick.tick().await;
        samples.push(Sample {
            at: started.elapsed(),
            rss_kib: rss_kib(pid),
            fds: fds(pid),
            store_bytes: store_bytes(&server.dir),
            requests: requests.load(Ordering::Relaxed),
        });
    }
    let mut rounds = 0;
    while let Some(r) = tasks.join_next().await {
        rounds += r.expect("worker");
    }
    samples.push(Sample {
        at: started.elapsed(),
        rss_kib: rss_kib(pid),
        fds: fds(pid),
        store_bytes: store_bytes(&server.dir),
        requests: requests.load(Ordering::Relaxed),
    });

    let total = requests.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    // Warm-up: the first quarter of the run (at least two samples).
    let warm = (samples.len() / 4).max(2).min(samples.len() - 1);
    let base = &samples[warm];
    let last = samples.last().unwrap();
    let max_fds = samples[warm..].iter().map(|s| s.fds).max().unwrap_or(0);
    let max_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    eprintln!(
        "soak: {seconds} s, {WORKERS} clients, {total} requests ({:.0}/s), {rounds} rounds",
        total as f64 / elapsed
    );
    eprintln!(
        "soak: RSS {} KiB after warm-up (t={:.0?}), {} KiB at the end, {max_rss} KiB at most",
        base.rss_kib, base.at, last.rss_kib
    );
    eprintln!(
        "soak: descriptors {} after warm-up, {} at the end, {max_fds} at most",
        base.fds, last.fds
    );
    eprintln!(
        "soak: SQLite files {} KiB after warm-up, {} KiB at the end ({} requests later)",
        base.store_bytes / 1024,
        last.store_bytes / 1024,
        last.requests - base.requests
    );
    if std::env::var("SOAK_SAMPLES").is_ok() {
        for s in &samples {
            eprintln!(
                "soak sample: t={:.0?} rss_kib={} fds={} store_bytes={} requests={}",
                s.at, s.rss_kib, s.fds, s.store_bytes, s.requests
            );
        }
    }

    let errors = errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "requests failed:\n{}", errors.join("\n"));
    assert!(rounds > 0 && total > 0, "no load was applied");
    assert!(
        max_fds <= base.fds + FD_SLACK,
        "descriptors grew from {} to {max_fds}",
        base.fds
    );
    assert!(
        last.rss_kib as f64 <= base.rss_kib as f64 * RSS_GROWTH,
        "memory grew from {} KiB to {} KiB",
        base.rss_kib,
        last.rss_kib
    );
    // Still serving afterwards.
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
