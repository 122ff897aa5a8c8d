//! Connections that misbehave: headers or bodies that never finish, more
//! connections than allowed, and a shutdown with such connections open.

mod common;

use common::Server;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn connect(server: &Server) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    s
}

/// Reads until the server closes the connection; `None` if it did not
/// within the read timeout.
fn read_to_close(s: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&out).into_owned())
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn half_sent_headers_are_closed_after_the_header_timeout() {
    let server = Server::start_with(&[], &[("GRANTD_HEADER_READ_TIMEOUT", "1")]);
    let started = Instant::now();
    let mut half = connect(&server);
    half.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: grantd\r\n")
        .unwrap();
    let mut silent = connect(&server);
    assert!(
        read_to_close(&mut half).is_some(),
        "half-sent request kept open"
    );
    assert!(
        read_to_close(&mut silent).is_some(),
        "silent connection kept open"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_stalled_body_is_answered_408_and_a_cut_one_is_logged_as_incomplete() {
    let server = Server::start_with(&[], &[("GRANTD_BODY_READ_TIMEOUT", "1")]);
    let head = "POST /oauth/token HTTP/1.1\r\nHost: grantd\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type";
    let mut stalled = connect(&server);
    stalled.write_all(head.as_bytes()).unwrap();
    let answer = read_to_close(&mut stalled).expect("an answer, then close");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("GRD-110"), "{answer}");
    assert!(answer.contains("within 1 seconds"), "{answer}");

    let mut cut = connect(&server);
    cut.write_all(head.as_bytes()).unwrap();
    drop(cut);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("GRD-111") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    assert!(log.contains("GRD-111"), "{log}");
    assert!(
        !log.contains("GRD-107"),
        "a hang-up logged as too large: {log}"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let server = Server::start_with(&["--max-connections", "2"], &[]);
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_millis(1500))
            .build()
            .unwrap()
    };
    assert_eq!(
        fresh()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let first = connect(&server);
    let _second = connect(&server);
    // Both slots taken: a third client is not served…
    assert!(fresh().get(server.url("/healthz")).send().await.is_err());
    // …until one of them goes away.
    drop(first);
    let res = fresh().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(server.log().contains("connection limit reached"));
}

#[test]
fn sigterm_with_a_stuck_connection_still_exits_within_the_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("grantd.toml");
    std::fs::write(
        &config,
        "[server]\nshutdown_timeout = 1\nheader_read_timeout = 60\nbody_read_timeout = 60\n",
    )
    .unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()], &[]);
    let mut half = connect(&server);
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: grantd\r\n")
        .unwrap();
    let mut body = connect(&server);
    body.write_all(
        b"POST /oauth/token HTTP/1.1\r\nHost: grantd\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\ngrant",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let dir = server.dir.clone();
    let started = Instant::now();
    let (clean, _tmp) = server.stop_status();
    assert!(clean, "grantd did not exit by itself after SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(4));
    let log = std::fs::read_to_string(dir.with_extension("log")).unwrap_or_default();
    assert!(log.contains("shutdown deadline passed"), "{log}");
    assert!(read_to_close(&mut half).is_some());
}
