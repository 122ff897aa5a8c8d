//! `--log-format json`: every line is JSON, every line logged while a
//! request is handled carries its request id, and no line holds a secret.

mod common;

use common::Server;
use serde_json::{json, Value};

/// The request id a log line belongs to, wherever the line carries it.
fn request_id(line: &Value) -> Option<&str> {
    line["span"]["request_id"]
        .as_str()
        .or_else(|| line["fields"]["request_id"].as_str())
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_no_secret() {
    let server = Server::start_with(&["--log-format", "json"], &[]);
    // An admin request that logs inside its handler ("app created").
    let res = server
        .http
        .post(server.url("/admin/v1/apps"))
        .bearer_auth(common::ADMIN_TOKEN)
        .header("x-request-id", "create-app-1")
        .json(&json!({"name": "Acme Sync", "platform_type": "server-only", "grants": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let app: Value = res.json().await.unwrap();
    let id = app["client_id"].as_str().unwrap().to_string();
    let secret = app["client_secret"].as_str().unwrap().to_string();
    // A secret rotation (logged inside), a token, and a request with a
    // password in its URL; their ids are grantd's own.
    let rotated = server
        .http
        .post(server.url(&format!("/admin/v1/apps/{id}/secret")))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let rotation_id = rotated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let new_secret = rotated.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let token = server
        .post_form(
            "/oauth/token",
            Some((&id, &new_secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(token.status, 200);
    let access_token = token.json["access_token"].as_str().unwrap().to_string();
    let leaked =
        server
            .http
            .post(server.url(
                "/oauth/token?grant_type=password&username=a%40b.c&password=Hunter2-in-the-url",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(leaked.status(), 400);
    let leaked_id = leaked.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    // The log is written as requests finish: wait for the last one's line.
    let mut log = server.log();
    for _ in 0..100 {
        if log.contains(&leaked_id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = server.log();
    }
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 5, "{log}");
    for l in &lines {
        assert!(
            l["timestamp"].is_string()
                && l["level"].is_string()
                && l["fields"]["message"].is_string(),
            "{l}"
        );
    }
    let of = |rid: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| request_id(l) == Some(rid))
            .collect()
    };
    // The app creation: the event inside the handler and the request line.
    let create = of("create-app-1");
    let messages: Vec<&str> = create
        .iter()
        .map(|l| l["fields"]["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"app created") && messages.contains(&"request"),
        "{messages:?}"
    );
    assert!(create
        .iter()
        .any(|l| l["fields"]["client_id"] == id.as_str()));
    let rotation: Vec<&str> = of(&rotation_id)
        .iter()
        .map(|l| l["fields"]["message"].as_str().unwrap())
        .collect();
    assert!(
        rotation.contains(&"client secret rotated") && rotation.contains(&"request"),
        "{rotation:?}"
    );
    // The rejected request: logged with its code, its path without the query.
    let rejected = of(&leaked_id);
    let line = rejected
        .iter()
        .find(|l| l["fields"]["message"] == "request")
        .expect("request line");
    assert_eq!(line["fields"]["error_code"], "GRD-102");
    assert_eq!(line["fields"]["path"], "/oauth/token");
    // Every request line has an id; no two requests share one.
    let ids: Vec<&str> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .map(|l| request_id(l).expect("request line without an id"))
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    for s in [
        secret.as_str(),
        new_secret.as_str(),
        access_token.as_str(),
        "Hunter2-in-the-url",
        common::ADMIN_TOKEN,
    ] {
        assert!(!log.contains(s), "a secret reached the log:\n{log}");
    }
}
