//! What grantd acknowledged survives the process being killed: sessions
//! opened and refresh tokens rotated under a concurrent load, then SIGKILL
//! in the middle of it, then a restart on the same data directory.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CHAINS: usize = 8;

/// One user's session, refreshed over and over; `last` is the refresh token
/// of the last answer the client received.
struct Chain {
    last: String,
    acknowledged: usize,
}

#[tokio::test]
async fn every_acknowledged_rotation_survives_sigkill() {
    let mut server = Server::start();
    let app = server
        .server_only_app(json!({"grants": ["jwt_bearer", "refresh_token"],
                                "access_token_format": "opaque"}))
        .await;
    let mut assertions = Vec::new();
    for i in 0..CHAINS {
        let user = server
            .create_user(
                json!({"email": format!("worker{i}@example.com"), "name": format!("Worker {i}")}),
            )
            .await;
        let (_, jwt) = server
            .create_credential(user["id"].as_str().unwrap(), json!({}))
            .await;
        assertions.push(jwt);
    }

    // Each chain: open a session, then rotate as fast as answers come.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let rotated = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for jwt in assertions {
        let rotated = rotated.clone();
        let http = server.http.clone();
        let url = server.url("/oauth/token");
        let basic = common::basic_header(&app.client_id, &app.secret);
        tasks.push(tokio::spawn(async move {
            let send = |body: String| {
                http.post(&url)
                    .header("authorization", &basic)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
            };
            let first: Value = send(format!("grant_type={JWT_GRANT}&assertion={jwt}"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut chain = Chain {
                last: first["refresh_token"].as_str().unwrap().to_string(),
                acknowledged: 1,
            };
            while Instant::now() < deadline {
                let body = format!("grant_type=refresh_token&refresh_token={}", chain.last);
                // The server may be killed mid-request: no answer, no acknowledgement.
                let Ok(res) = send(body).await else { break };
                let Ok(v) = res.json::<Value>().await else {
                    break;
                };
                let next = v["refresh_token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("a rotation refused under load: {v}"));
                chain.last = next.to_string();
                chain.acknowledged += 1;
                rotated.fetch_add(1, Ordering::Relaxed);
            }
            chain
        }));
    }
    // Kill it while the chains are still rotating: once every chain has
    // had a few rotations acknowledged, well before the deadline.
    while rotated.load(Ordering::Relaxed) < CHAINS * 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    let mut chains = Vec::new();
    for t in tasks {
        chains.push(t.await.unwrap());
    }
    let total: usize = chains.iter().map(|c| c.acknowledged).sum();
    assert!(
        total > CHAINS * 2,
        "too few rotations before the kill to test anything: {total}"
    );

    // On restart every chain's last acknowledged refresh token still works:
    // its rotation was committed before it was answered. (A request in
    // flight at the kill may have rotated it once more without an answer;
    // the grace window then answers the retry with that same pair.)
    let restarted = Server::start_in(&server.dir, &[], &[]);
    for (i, chain) in chains.iter().enumerate() {
        let r = restarted
            .post_form(
                "/oauth/token",
                Some((&app.client_id, &app.secret)),
                &format!("grant_type=refresh_token&refresh_token={}", chain.last),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "chain {i}: its last acknowledged refresh token (after {} acknowledged answers) was lost: {}",
            chain.acknowledged, r.text
        );
        let access = r.json["access_token"].as_str().unwrap();
        let intro = restarted
            .post_form(
                "/oauth/introspect",
                Some((&app.client_id, &app.secret)),
                &format!("token={access}"),
            )
            .await;
        assert_eq!(
            intro.json["active"],
            json!(true),
            "chain {i}: {}",
            intro.text
        );
    }
    drop(restarted);
    drop(server);
}
