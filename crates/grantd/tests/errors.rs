//! Every diagnosis of the token endpoint, asserted on the exact error JSON.

mod common;

use common::{basic_header, Reply, Server};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_seed_causes_and_the_rest() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));

    // Unknown grant type: the supported ones are listed.
    let r = server
        .post_form("/oauth/token", auth, "grant_type=passwd")
        .await;
    r.assert_error(
        400,
        "unsupported_grant_type",
        "OAU-250",
        &["'passwd' is not supported", "client_credentials"],
    );
    assert_eq!(r.json["errors"][0]["parameterName"], "grant_type");
    assert_eq!(r.json["errors"][0]["message"], "Unsupported grant type");
    let r = server
        .post_form("/oauth/token", auth, "grant_type=jwt")
        .await;
    r.assert_error(
        400,
        "unsupported_grant_type",
        "OAU-250",
        &["urn:ietf:params:oauth:grant-type:jwt-bearer"],
    );

    // A grant the app is not enabled for: names app, platform, enabled grants, fix.
    let jwt_only = server
        .server_only_app(json!({"name": "Acme JWT", "grants": ["jwt_bearer"]}))
        .await;
    let r = server
        .post_form(
            "/oauth/token",
            Some((&jwt_only.client_id, &jwt_only.secret)),
            "grant_type=client_credentials",
        )
        .await;
    r.assert_error(
        400,
        "unauthorized_client",
        "OAU-251",
        &[
            "App 'Acme JWT' (server-only) is not enabled for grant_type 'client_credentials'",
            "Its enabled grants: jwt_bearer",
            "grantd app update",
        ],
    );
    assert_eq!(
        r.json["errors"][0]["message"],
        "Unauthorized for this grant type"
    );

    // Method other than POST.
    let res = server
        .http
        .get(server.url("/oauth/token?grant_type=client_credentials"))
        .send()
        .await
        .unwrap();
    let r = common::Reply::from(res).await;
    r.assert_error(
        405,
        "invalid_request",
        "GRD-101",
        &["accepts POST only", "used GET"],
    );
    assert_eq!(r.header("allow"), Some("POST"));
    let res = server
        .http
        .put(server.url("/restapi/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    // Credentials in the query: named, never echoed, never logged.
    let res = server
        .http
        .post(server.url("/restapi/oauth/token?username=16505550100&password=Sup3rS3cretPw&extension=101&grant_type=password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic_header(&app.client_id, &app.secret))
        .send()
        .await
        .unwrap();
    let r = common::Reply::from(res).await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-102",
        &["username, password, extension, grant_type", "POST body"],
    );
    assert!(!r.text.contains("Sup3rS3cretPw") && !r.text.contains("16505550100"));

    // A JSON body (the seed's third example), with and without the JSON content type.
    let body = r#"{"grant_type": "authorization_code", "code": "xyz", "client_id": "", "redirect_uri": ""}"#;
    for ct in ["application/json", "application/x-www-form-urlencoded"] {
        let res = server
            .http
            .post(server.url("/oauth/token"))
            .header("content-type", ct)
            .header("authorization", basic_header(&app.client_id, &app.secret))
            .body(body)
            .send()
            .await
            .unwrap();
        common::Reply::from(res).await.assert_error(
            400,
            "invalid_request",
            "GRD-103",
            &["application/x-www-form-urlencoded"],
        );
    }
    // A form without its content type.
    for ct in [
        None,
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut req = server
            .http
            .post(server.url("/oauth/token"))
            .body("grant_type=client_credentials");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = common::Reply::from(req.send().await.unwrap()).await;
        r.assert_error(
            400,
            "invalid_request",
            "GRD-104",
            &["Content-Type: application/x-www-form-urlencoded"],
        );
    }

    // No client authentication.
    let r = server
        .post_form("/oauth/token", None, "grant_type=client_credentials")
        .await;
    r.assert_error(
        401,
        "invalid_client",
        "OAU-123",
        &["Basic base64(client_id:client_secret)"],
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));

    // Malformed Authorization headers each say what is wrong.
    for (header, says) in [
        ("Basic not-base64!!", "not valid base64"),
        ("Bearer abc.def.ghi", "Bearer scheme"),
        ("Digest x", "not Basic"),
        (
            &*format!("Basic {}", base64_of("no-colon-here")),
            "no colon",
        ),
    ] {
        let res = server
            .http
            .post(server.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", header)
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        let r = common::Reply::from(res).await;
        r.assert_error(401, "invalid_client", "OAU-134", &[says]);
        assert!(r.header("www-authenticate").is_some());
    }

    // Unknown client, wrong secret (never echoed).
    let r = server
        .post_form(
            "/oauth/token",
            Some(("nosuchclient", "x")),
            "grant_type=client_credentials",
        )
        .await;
    r.assert_error(
        401,
        "invalid_client",
        "OAU-153",
        &["'nos…' (12 characters)"],
    );
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, "WrongSecretValue123")),
            "grant_type=client_credentials",
        )
        .await;
    r.assert_error(
        401,
        "invalid_client",
        "OAU-146",
        &["Acme Sync", "rotate-secret"],
    );
    assert!(!r.text.contains("WrongSecretValue123"));
    assert!(!r.text.contains(&app.secret));

    // Basic and body client_id disagree; or two authentication methods.
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            "grant_type=client_credentials&client_id=someone-else",
        )
        .await;
    r.assert_error(
        401,
        "invalid_client",
        "GRD-201",
        &["'som…' (12 characters)"],
    );
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            &format!("grant_type=client_credentials&client_secret={}", app.secret),
        )
        .await;
    r.assert_error(400, "invalid_request", "GRD-202", &["authenticated twice"]);
    assert!(!r.text.contains(&app.secret));
    // A confidential app with only its client id.
    let r = server
        .post_form(
            "/oauth/token",
            None,
            &format!("grant_type=client_credentials&client_id={}", app.client_id),
        )
        .await;
    r.assert_error(401, "invalid_client", "GRD-203", &["confidential"]);

    // The same parameter twice; empty parameters count as absent.
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            "grant_type=client_credentials&scope=SMS&scope=SMS",
        )
        .await;
    r.assert_error(
        400,
        "invalid_request",
        "OAU-111",
        &["'scope' appears more than once"],
    );
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            "grant_type=client_credentials&scope=&state=&brand_id=",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server
        .post_form("/oauth/token", auth, "grant_type=&scope=SMS")
        .await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-105",
        &["'grant_type' is required"],
    );

    // A scope the app does not have.
    let r = server
        .post_form(
            "/oauth/token",
            auth,
            "grant_type=client_credentials&scope=SMS+EditAccounts",
        )
        .await;
    r.assert_error(
        400,
        "invalid_scope",
        "GRD-301",
        &["'EditAccounts'", "ReadAccounts, SMS"],
    );

    // Oversized body and headers.
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(20_000));
    let r = server.post_form("/oauth/token", auth, &big).await;
    r.assert_error(413, "invalid_request", "GRD-107", &["16384 bytes"]);
    let res = server
        .http
        .post(server.url("/oauth/token"))
        .header("x-padding", "b".repeat(20_000))
        .send()
        .await
        .unwrap();
    common::Reply::from(res).await.assert_error(
        431,
        "invalid_request",
        "GRD-108",
        &["16384 bytes"],
    );

    // Unknown paths suggest the closest endpoint.
    let r = server
        .post_form("/oauth/tokens", auth, "grant_type=client_credentials")
        .await;
    r.assert_error(404, "not_found", "GRD-109", &["Did you mean /oauth/token?"]);

    // The log never holds a secret or the query string.
    let log = server.log();
    for secret in ["Sup3rS3cretPw", "WrongSecretValue123", app.secret.as_str()] {
        assert!(!log.contains(secret), "log leaks {secret}");
    }
    assert!(
        log.contains("GRD-102"),
        "rejections are logged with their code"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn error_pages_explain_each_code() {
    let server = Server::start();
    let res = server
        .http
        .get(server.url("/docs/errors/OAU-251"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.headers().contains_key("content-security-policy"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Unauthorized for this grant type") && html.contains("How to fix it"));
    let index = server
        .http
        .get(server.url("/docs/errors"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for code in ["OAU-250", "OAU-123", "GRD-102"] {
        assert!(index.contains(code));
    }
    let res = server
        .http
        .get(server.url("/docs/errors/XYZ-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn admin_api_rejections() {
    let server = Server::start();
    let res = server
        .http
        .get(server.url("/admin/v1/apps"))
        .send()
        .await
        .unwrap();
    let r = common::Reply::from(res).await;
    r.assert_error(401, "invalid_token", "GRD-401", &["Bearer"]);
    let res = server
        .http
        .get(server.url("/admin/v1/apps"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    common::Reply::from(res)
        .await
        .assert_error(401, "invalid_token", "GRD-402", &[]);

    let (status, body) = server
        .admin(Method::POST, "/admin/v1/apps", Some(json!({"name": "Web", "platform_type": "server-web", "grants": ["authorization_code", "password"]})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["errorCode"], "GRD-411");
    let d = body["error_description"].as_str().unwrap();
    assert!(
        d.contains("A server-web app cannot enable 'password'")
            && d.contains("'password' is allowed for: desktop, mobile, server-only"),
        "{d}"
    );

    for (uris, says) in [
        (json!(["https://*.example.com/cb"]), "wildcard"),
        (json!(["http://app.example.com/cb"]), "loopback"),
        (json!(["https://app.example.com/cb#x"]), "fragment"),
        (json!(["/cb"]), "absolute"),
    ] {
        let (status, body) = server
            .admin(
                Method::POST,
                "/admin/v1/apps",
                Some(json!({"name": "Web", "platform_type": "server-web", "redirect_uris": uris})),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"][0]["errorCode"], "GRD-412");
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    let (_, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Web", "platform_type": "server-web", "redirect_uris": many})),
        )
        .await;
    assert_eq!(body["errors"][0]["errorCode"], "GRD-413");
    let (status, body) = server
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "X", "platform_type": "web-server"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("server-web, browser, desktop, mobile, server-only"));
    let res = server
        .http
        .post(server.url("/admin/v1/apps"))
        .bearer_auth(common::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    common::Reply::from(res)
        .await
        .assert_error(400, "invalid_request", "GRD-403", &[]);
}

/// Hostile and odd inputs never produce a 5xx.
#[tokio::test]
async fn no_input_produces_a_server_error() {
    let server = Server::start();
    let app = server.server_only_app(json!({})).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"=".to_vec(),
        b"&&&&".to_vec(),
        b"grant_type=%".to_vec(),
        b"grant_type=%ZZ".to_vec(),
        b"grant_type=%FF%FE".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        b"grant_type=client_credentials&scope=%00".to_vec(),
        b"grant_type=client_credentials&scope=a%22b".to_vec(),
        b"grant_type=client_credentials&access_token_ttl=99999999999999999999999".to_vec(),
        b"grant_type=client_credentials&endpoint_id=%3Cscript%3E".to_vec(),
        "grant_type=\u{1F600}".as_bytes().to_vec(),
        b"[1,2,3]".to_vec(),
        b"token=".to_vec(),
    ];
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        for body in &bodies {
            for auth in [
                None,
                Some(basic_header(&app.client_id, &app.secret)),
                Some("Basic".to_string()),
                Some("Basic Og==".into()),
            ] {
                let mut req = server
                    .http
                    .post(server.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone());
                if let Some(a) = &auth {
                    req = req.header("authorization", a);
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                assert!(status < 500, "{path} {body:?} {auth:?} → {status} {text}");
                if status >= 400 {
                    let v: serde_json::Value =
                        serde_json::from_str(&text).expect("JSON error body");
                    assert!(v["errors"][0]["errorCode"].is_string(), "{text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn repeated_failed_authentication_is_paused_per_address() {
    let server = Server::start_with(&["--auth-failure-limit", "3"], &[]);
    let app = server.server_only_app(json!({})).await;
    let good = Some((app.client_id.as_str(), app.secret.as_str()));
    let bad = Some((app.client_id.as_str(), "guess"));
    // Successes never count.
    for _ in 0..5 {
        let r = server
            .post_form("/oauth/token", good, "grant_type=client_credentials")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-rate-limit-remaining"), Some("3"));
    }
    for left in ["2", "1", "0"] {
        let r = server
            .post_form("/oauth/token", bad, "grant_type=client_credentials")
            .await;
        assert_eq!(r.code(), "OAU-146");
        assert_eq!(r.header("x-rate-limit-group"), Some("auth-failures"));
        assert_eq!(r.header("x-rate-limit-limit"), Some("3"));
        assert_eq!(r.header("x-rate-limit-window"), Some("60"));
        assert_eq!(r.header("x-rate-limit-remaining"), Some(left));
    }
    // Paused: even the right secret waits until the window ends.
    let r = server
        .post_form(
            "/restapi/oauth/token",
            good,
            "grant_type=client_credentials",
        )
        .await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &["More than 3 requests", "Retry after"],
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Other endpoints are not paused.
    assert_eq!(
        server
            .http
            .get(server.url("/oauth/jwks"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// Behind a reverse proxy every request comes from one address. Guessing
/// with an invented client id pauses that id (for that forwarded client
/// address), not every app behind the proxy.
#[tokio::test]
async fn failures_behind_a_trusted_proxy_pause_only_the_identity_under_attack() {
    let server = Server::start_with(
        &["--auth-failure-limit", "30", "--trusted-proxy", "127.0.0.1"],
        &[],
    );
    let app = server.server_only_app(json!({})).await;
    let token = |id: &str, secret: &str, forwarded: &str| {
        server
            .http
            .post(server.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic_header(id, secret))
            .header("x-forwarded-for", forwarded)
            .body("grant_type=client_credentials")
            .send()
    };
    let attacker = "6.6.6.6, 203.0.113.7";
    let mut codes = Vec::new();
    for _ in 0..40 {
        let r = Reply::from(token("invented-client", "guess", attacker).await.unwrap()).await;
        codes.push(r.code().to_string());
    }
    assert!(codes[..30].iter().all(|c| c == "OAU-153"), "{codes:?}");
    assert!(codes[30..].iter().all(|c| c == "CMN-301"), "{codes:?}");
    // The real client gets its token, from the same address and from others.
    for from in [attacker, "198.51.100.20", "198.51.100.20, 10.0.0.1"] {
        let r = Reply::from(token(&app.client_id, &app.secret, from).await.unwrap()).await;
        assert_eq!(r.status, 200, "from {from}: {}", r.text);
    }
    let r = Reply::from(token("invented-client", "guess", attacker).await.unwrap()).await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &["for client id 'inv…' (15 characters)", "from this address"],
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.json["errors"][0]["parameterName"], "client_id");
    // The same id from another client of the proxy is not paused.
    let r = Reply::from(
        token("invented-client", "guess", "198.51.100.20")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.code(), "OAU-153");
}

/// Forwarding headers from a peer that is not a trusted proxy are ignored,
/// so a client cannot escape the limit by inventing addresses; and one
/// address trying many client ids reaches the looser per-address ceiling.
#[tokio::test]
async fn forwarded_addresses_need_a_trusted_peer_and_addresses_have_a_ceiling() {
    let server = Server::start_with(&["--auth-failure-limit", "2"], &[]);
    for i in 0..3 {
        let r = Reply::from(
            server
                .http
                .post(server.url("/oauth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", basic_header("invented", "guess"))
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap(),
        )
        .await;
        let want = if i < 2 { "OAU-153" } else { "CMN-301" };
        assert_eq!(r.code(), want, "attempt {i}: {}", r.text);
    }
    // 2 × 10 failures from one address, whatever the ids, pause the address.
    for i in 0..18 {
        let r = server
            .post_form(
                "/oauth/token",
                Some((&format!("other-{i}"), "guess")),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(r.code(), "OAU-153", "{i}: {}", r.text);
    }
    let r = server
        .post_form(
            "/oauth/token",
            Some(("fresh", "guess")),
            "grant_type=client_credentials",
        )
        .await;
    r.assert_error(
        429,
        "temporarily_unavailable",
        "CMN-301",
        &["More than 20 requests for any client or user"],
    );
}

/// The authorization endpoint and its forms never answer 5xx either, and
/// never redirect to a URI that is not registered.
#[tokio::test]
async fn odd_authorization_requests_never_fail_the_server() {
    let server = Server::start();
    let app = server
        .create_app(json!({"name": "Web", "platform_type": "server-web", "redirect_uris": ["https://app.example.com/cb"]}))
        .await;
    let id = app["client_id"].as_str().unwrap();
    let queries = [
        String::new(),
        "response_type=code".into(),
        format!("client_id={id}"),
        format!("client_id={id}&response_type=code&redirect_uri=%00"),
        format!("client_id={id}&response_type=code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%0D%0ALocation%3A%20x"),
        format!("client_id={id}&response_type=code&scope=%22%5C"),
        format!("client_id={id}&response_type=code&prompt=none+login"),
        format!("client_id={id}&response_type=code&max_age=-1"),
        format!("client_id={id}&response_type=code&code_challenge=%E2%82%AC&code_challenge_method=S256"),
        format!("client_id={id}&response_type=code+token"),
        format!("client_id={id}&response_type=code&state={}", "s".repeat(5000)),
        format!("client_id={id}&client_id={id}"),
        "client_id=%FF%FE".into(),
        "code=abc".into(),
    ];
    for q in &queries {
        for path in [
            "/oauth/authorize",
            "/oauth/authorize/login",
            "/oauth/authorize/consent",
        ] {
            let get = server
                .http
                .get(server.url(&format!("{path}?{q}")))
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            let post = server
                .http
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(q.clone())
                .send()
                .await
                .unwrap();
            for res in [get, post] {
                let status = res.status().as_u16();
                assert!(status < 500, "{path}?{q} → {status}");
                if let Some(loc) = res.headers().get("location") {
                    let loc = loc.to_str().unwrap();
                    assert!(
                        loc.starts_with("https://app.example.com/cb?"),
                        "{path}?{q} redirected to {loc}"
                    );
                }
            }
        }
    }
}
