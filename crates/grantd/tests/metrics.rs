//! Prometheus `/metrics` on the admin listener: scraped and parsed after a
//! small load, each family present with the values the load implies.

mod common;

use common::Server;
use serde_json::json;
use std::collections::HashMap;

/// `name{labels}` → value, from the Prometheus text format.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        out.insert(series.to_string(), value);
    }
    out
}

/// The sum over the series of `family` whose labels include every one of `labels`.
fn sum(samples: &HashMap<String, f64>, family: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let (name, rest) = series.split_once('{').unwrap_or((series, ""));
            name == family
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_are_served_on_the_admin_listener_only() {
    let admin = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(&["--admin-listen", &admin], &[]);
    let app = server.server_only_app(json!({})).await;
    for _ in 0..5 {
        let r = server
            .post_form(
                "/oauth/token",
                Some((&app.client_id, &app.secret)),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for _ in 0..3 {
        let r = server
            .post_form(
                "/restapi/oauth/token",
                Some((&app.client_id, "wrong-secret")),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(r.code(), "OAU-146");
    }
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            "grant_type=jwt",
        )
        .await;
    assert_eq!(r.code(), "OAU-250");
    // Guessed client ids and paths must not add series of their own.
    let r = server
        .post_form(
            "/oauth/token",
            Some(("guessed-id-123", "x")),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.code(), "OAU-153");
    let r = server
        .http
        .get(server.url("/no/such/path"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Opaque tokens are stored through group commit.
    let opaque = server
        .server_only_app(json!({"access_token_format": "opaque"}))
        .await;
    for _ in 0..3 {
        let r = server
            .post_form(
                "/oauth/token",
                Some((&opaque.client_id, &opaque.secret)),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // Not on the public port.
    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);

    let res = server
        .http
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain")));
    let text = res.text().await.unwrap();
    let m = parse(&text);
    let id = app.client_id.as_str();
    assert_eq!(
        sum(
            &m,
            "grantd_http_requests_total",
            &[("endpoint", "/oauth/token"), ("status", "200")]
        ),
        8.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "grantd_http_requests_total",
            &[("endpoint", "/oauth/token"), ("status", "401")]
        ),
        4.0,
        "RingCentral paths count under the canonical endpoint:\n{text}"
    );
    // /no/such/path and the public /metrics.
    assert_eq!(
        sum(&m, "grantd_http_requests_total", &[("endpoint", "other")]),
        2.0
    );
    assert_eq!(
        sum(
            &m,
            "grantd_tokens_issued_total",
            &[("grant", "client_credentials"), ("client_id", id)]
        ),
        5.0
    );
    assert_eq!(
        sum(&m, "grantd_rejections_total", &[("code", "OAU-146")]),
        3.0
    );
    assert_eq!(
        sum(&m, "grantd_rejections_total", &[("code", "OAU-250")]),
        1.0
    );
    assert_eq!(
        sum(&m, "grantd_rejections_total", &[("code", "GRD-109")]),
        2.0
    );
    assert_eq!(
        sum(
            &m,
            "grantd_token_rejections_total",
            &[("code", "OAU-146"), ("client_id", id)]
        ),
        3.0
    );
    assert_eq!(
        sum(
            &m,
            "grantd_token_rejections_total",
            &[("code", "OAU-153"), ("client_id", "unknown")]
        ),
        1.0
    );
    assert!(!text.contains("guessed-id-123"), "{text}");
    // Latency histogram: every request in a bucket, +Inf holds them all.
    let count = sum(
        &m,
        "grantd_http_request_duration_seconds_count",
        &[("endpoint", "/oauth/token")],
    );
    assert!(count >= 10.0, "{text}");
    assert_eq!(
        sum(
            &m,
            "grantd_http_request_duration_seconds_bucket",
            &[("endpoint", "/oauth/token"), ("le", "+Inf")]
        ),
        count
    );
    assert!(
        sum(
            &m,
            "grantd_http_request_duration_seconds_sum",
            &[("endpoint", "/oauth/token")]
        ) > 0.0
    );
    // Group commit: batch sizes and the store's time per commit.
    let batches = sum(&m, "grantd_store_batch_size_count", &[]);
    assert!(batches >= 1.0, "{text}");
    assert_eq!(
        sum(&m, "grantd_store_batch_size_sum", &[]),
        3.0,
        "three token inserts in all, the only writes of the load"
    );
    assert_eq!(
        sum(
            &m,
            "grantd_store_duration_seconds_count",
            &[("operation", "write_batch")]
        ),
        batches
    );
    // Store latency per operation (every operation through one wrapper).
    for (operation, at_least) in [("get_app", 1.0), ("insert_token", 3.0)] {
        let count = sum(
            &m,
            "grantd_store_duration_seconds_count",
            &[("operation", operation)],
        );
        assert!(count >= at_least, "{operation}: {count}\n{text}");
        assert_eq!(
            sum(
                &m,
                "grantd_store_duration_seconds_bucket",
                &[("operation", operation), ("le", "+Inf")]
            ),
            count
        );
    }
    // Active sessions: counted by the store from start on (none opened here).
    let mut gauge = m.get("grantd_active_sessions").copied();
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while gauge.is_none() && std::time::Instant::now() < give_up {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let text = server
            .http
            .get(format!("http://{admin}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        gauge = parse(&text).get("grantd_active_sessions").copied();
    }
    assert_eq!(gauge, Some(0.0), "the active sessions gauge");
    // The app cache: the first lookup misses, the rest hit.
    assert!(
        sum(
            &m,
            "grantd_cache_lookups_total",
            &[("cache", "apps"), ("result", "hit")]
        ) >= 5.0,
        "{text}"
    );
    assert!(
        sum(
            &m,
            "grantd_cache_lookups_total",
            &[("cache", "apps"), ("result", "miss")]
        ) >= 1.0
    );
}
