//! OpenTelemetry: a test collector (an HTTP server taking OTLP/HTTP
//! protobuf on `POST /v1/traces`) receives grantd's spans — one per
//! request, with the request id and the pipeline's checks as events — by
//! the time grantd has shut down, and nothing secret in any of them.

mod common;

use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the collector was sent: each request's path and body.
type Export = (String, Vec<u8>);

/// A collector on a free port: every request's path and body go to the
/// channel, each answered 200 with an empty protobuf response.
fn collector() -> (String, mpsc::Receiver<Export>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut length = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let _ = tx.send((path, body));
                    let _ = out.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                    );
                }
            });
        }
    });
    (url, rx)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn text<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attrs, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test]
async fn a_token_requests_span_and_its_checks_reach_the_collector() {
    let (url, exports) = collector();
    let server = Server::start_with(&["--otlp-endpoint", &url], &[]);
    let app = server.server_only_app(json!({})).await;
    let send = |secret: &str, id: &str| {
        server
            .http
            .post(server.url("/oauth/token"))
            .basic_auth(&app.client_id, Some(secret))
            .header("x-request-id", id)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let ok = send(&app.secret, "otel-ok-1").await.unwrap();
    assert_eq!(ok.status(), 200);
    let access_token = ok.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = send("wrong-secret-otel", "otel-refused-1").await.unwrap();
    assert_eq!(refused.status(), 401);
    // Shutting down exports what is still buffered.
    let (clean, _dir) = server.stop_status();
    assert!(clean, "grantd stopped cleanly");

    let mut spans: Vec<Span> = Vec::new();
    let mut raw: Vec<u8> = Vec::new();
    let mut service = None;
    let give_up = Instant::now() + Duration::from_secs(60);
    let has = |spans: &[Span], id: &str| {
        spans
            .iter()
            .any(|s| text(&s.attributes, "request_id") == Some(id))
    };
    while !(has(&spans, "otel-ok-1") && has(&spans, "otel-refused-1")) {
        let left = give_up.saturating_duration_since(Instant::now());
        let (path, body) = exports
            .recv_timeout(left)
            .expect("the collector received both requests' spans");
        assert_eq!(path, "/v1/traces");
        raw.extend_from_slice(&body);
        let export = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for rs in export.resource_spans {
            if let Some(r) = &rs.resource {
                service = text(&r.attributes, "service.name").map(String::from);
            }
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
    }
    assert_eq!(service.as_deref(), Some("grantd"));
    let span = |id: &str| {
        spans
            .iter()
            .find(|s| text(&s.attributes, "request_id") == Some(id))
            .unwrap()
    };

    let ok = span("otel-ok-1");
    assert_eq!(ok.name, "POST /oauth/token");
    assert_eq!(text(&ok.attributes, "url.path"), Some("/oauth/token"));
    assert_eq!(
        attr(&ok.attributes, "http.response.status_code"),
        Some(&any_value::Value::IntValue(200))
    );
    let checks: Vec<&str> = ok
        .events
        .iter()
        .filter_map(|e| text(&e.attributes, "check"))
        .collect();
    for c in [
        "read_request",
        "check_grant_enabled",
        "check_scopes",
        "grant client_credentials",
        "issue",
    ] {
        assert!(checks.contains(&c), "check {c} in {checks:?}");
    }
    assert!(ok
        .events
        .iter()
        .all(|e| attr(&e.attributes, "passed") == Some(&any_value::Value::BoolValue(true))));

    let refused = span("otel-refused-1");
    assert_eq!(text(&refused.attributes, "error.code"), Some("OAU-146"));
    let failed = refused
        .events
        .iter()
        .find(|e| attr(&e.attributes, "passed") == Some(&any_value::Value::BoolValue(false)))
        .expect("the failed check as an event");
    assert_eq!(text(&failed.attributes, "code"), Some("OAU-146"));

    // Nothing secret was exported.
    let raw = String::from_utf8_lossy(&raw);
    for secret in [
        app.secret.as_str(),
        "wrong-secret-otel",
        access_token.as_str(),
    ] {
        assert!(!raw.contains(secret), "a secret in the export");
    }
}
