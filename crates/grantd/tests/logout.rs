//! OpenID Connect logout over HTTP: the end-session endpoint (RP-Initiated
//! Logout 1.0) with its confirmation page, redirect and refusals, and
//! back-channel logout (Back-Channel Logout 1.0): logout tokens received by
//! a listener in the test and verified with grantd's JWKS, retries recorded.

mod common;

use common::{location, query_of, Browser, Reply, Server};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CB: &str = "http://127.0.0.1:8765/callback";
const BYE: &str = "https://rp.example.com/signed-out";
const PASSWORD: &str = "correct horse battery";

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A back-channel logout endpoint: records each POST's body and answers
/// with the status the test sets.
struct Listener {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    async fn start(status: u16) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
        let bodies: Arc<Mutex<Vec<String>>> = Default::default();
        let status = Arc::new(AtomicU16::new(status));
        let (b, st) = (bodies.clone(), status.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (bodies, status) = (b.clone(), st.clone());
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    let body = loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                        let text = String::from_utf8_lossy(&data).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len: usize = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse().ok())?
                                })
                                .unwrap_or(0);
                            if body.len() >= len {
                                break body.to_string();
                            }
                        }
                    };
                    bodies.lock().unwrap().push(body);
                    let code = status.load(Ordering::SeqCst);
                    let out = format!(
                        "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
                    );
                    let _ = conn.write_all(out.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self {
            url,
            bodies,
            status,
            task,
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) for `n` requests.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let b = self.bodies();
            if b.len() >= n {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the listener got {} requests, not {n}", self.bodies().len());
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn user(server: &Server) -> Value {
    server
        .create_user(
            json!({"email": "alice@example.com", "name": "Alice Smith", "password": PASSWORD}),
        )
        .await
}

async fn app(server: &Server, name: &str, extra: Value) -> common::App {
    let mut spec = json!({"name": name, "platform_type": "server-web", "redirect_uris": [CB],
                          "scopes": ["ReadAccounts"], "grants": ["authorization_code", "refresh_token"],
                          "post_logout_redirect_uris": [BYE]});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    common::App::from(server.create_app(spec).await)
}

/// What an app holds after a sign-in: the ID token and refresh token.
struct Signed {
    id_token: String,
    refresh_token: String,
}

/// The code flow with openid in browser `b`: sign-in (first time), consent, exchange.
async fn sign_in(server: &Server, b: &Browser<'_>, app: &common::App) -> Signed {
    let url = server.url(&format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid+ReadAccounts&state=s1",
        app.client_id,
        urlencode(CB)
    ));
    let loc = b.authorize(&url, "alice@example.com", PASSWORD).await;
    let code = query_of(&loc)["code"].clone();
    let r = server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                urlencode(CB)
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    Signed {
        id_token: r.json["id_token"].as_str().unwrap().to_string(),
        refresh_token: r.json["refresh_token"].as_str().unwrap().to_string(),
    }
}

async fn refresh(server: &Server, app: &common::App, token: &str) -> Reply {
    server
        .post_form(
            "/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type=refresh_token&refresh_token={token}"),
        )
        .await
}

async fn jwks(server: &Server) -> jsonwebtoken::jwk::JwkSet {
    server
        .http
        .get(server.url("/oauth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies a JWT of grantd's with its JWKS; returns (typ, claims).
async fn verify(server: &Server, jwt: &str, aud: &str) -> (String, Value) {
    let set = jwks(server).await;
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[server.base.as_str()]);
    v.validate_exp = false;
    let claims: Value = jsonwebtoken::decode(jwt, &key, &v).unwrap().claims;
    (header.typ.unwrap_or_default(), claims)
}

fn unverified_claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn deliveries(server: &Server, client_id: &str) -> Vec<Value> {
    let (status, body) = server
        .admin(
            reqwest::Method::GET,
            &format!("/admin/v1/apps/{client_id}/logout-deliveries"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// The app's deliveries once the first one satisfies `recorded` (its
/// outcome is written just after the listener answers): polled every 50 ms,
/// up to 10 s, then returned as they are for the caller's assertions.
async fn first_delivery_when(
    server: &Server,
    client_id: &str,
    recorded: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    for _ in 0..200 {
        let d = deliveries(server, client_id).await;
        if d.first().is_some_and(&recorded) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    deliveries(server, client_id).await
}

/// A logout request as JSON (the catalog's error body when refused).
async fn logout_json(server: &Server, query: &str) -> Reply {
    Reply::from(
        server
            .http
            .get(server.url(&format!("/oauth/logout?{query}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn discovery_names_the_end_session_endpoint_and_back_channel_support() {
    let server = Server::start();
    let doc: Value = server
        .http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["end_session_endpoint"], server.url("/oauth/logout"));
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    assert!(doc["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("sid")));
}

#[tokio::test]
async fn a_hint_for_the_signed_in_browser_logs_out_at_once_ending_the_apps_sessions() {
    let server = Server::start();
    let alice = user(&server).await;
    let app = app(&server, "Acme Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    let (_, claims) = verify(&server, &signed.id_token, &app.client_id).await;
    let sid = claims["sid"].as_str().expect("the ID token carries sid");
    assert_eq!(claims["sub"], alice["id"]);

    let r = b
        .get(&server.url(&format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}&state=back-to-7&ui_locales=en",
            signed.id_token,
            urlencode(BYE)
        )))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), format!("{BYE}?state=back-to-7"));
    let cleared = r
        .headers
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("grantd_session=;"));
    assert!(cleared, "the session cookie is cleared");

    // The app's refresh token stops working: the sign-in's sessions ended.
    let r = refresh(&server, &app, &signed.refresh_token).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_grant");
    // And the browser must sign in again.
    let page = b
        .get(&server.url(&format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid",
            app.client_id,
            urlencode(CB)
        )))
        .await;
    assert!(page.text.contains("action=\"/oauth/authorize/login\""));
    // A new sign-in is a new sid.
    let again = sign_in(&server, &b, &app).await;
    assert_ne!(unverified_claims(&again.id_token)["sid"], json!(sid));
}

#[tokio::test]
async fn without_a_matching_hint_the_user_confirms_on_a_csrf_protected_page() {
    let server = Server::start();
    user(&server).await;
    let app = app(&server, "Acme Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;

    let page = b
        .get(&server.url(&format!(
            "/oauth/logout?client_id={}&post_logout_redirect_uri={}&state=xyz",
            app.client_id,
            urlencode(BYE)
        )))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("action=\"/oauth/logout\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("Acme Web") && page.text.contains("Alice Smith"));
    // The sign-in pages' security headers, the form may post to the app's origin.
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://rp.example.com")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Nothing ended yet.
    let r = refresh(&server, &app, &signed.refresh_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh_token = r.json["refresh_token"].as_str().unwrap().to_string();

    // A forged confirmation (another CSRF token) is refused, nothing ends.
    let mut forged = common::hidden_fields(&page.text);
    for (n, v) in forged.iter_mut() {
        if n == "csrf" {
            *v = "forged".into();
        }
    }
    let r = b.post("/oauth/logout", &forged).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.header("location").is_none());
    assert!(r.text.contains("csrf"), "{}", r.text);
    let r = refresh(&server, &app, &refresh_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refresh_token = r.json["refresh_token"].as_str().unwrap().to_string();

    // The page's own form logs out and goes back to the app with state.
    let r = b
        .post("/oauth/logout", &common::hidden_fields(&page.text))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), format!("{BYE}?state=xyz"));
    let r = refresh(&server, &app, &refresh_token).await;
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
}

#[tokio::test]
async fn without_a_redirect_uri_the_user_sees_a_signed_out_page() {
    let server = Server::start();
    user(&server).await;
    let app = app(&server, "Acme Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    let r = b
        .get(&server.url(&format!("/oauth/logout?id_token_hint={}", signed.id_token)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Signed out"), "{}", r.text);
    assert!(r.header("content-security-policy").is_some());
    // Nobody signed in, no hint: nothing to confirm, the same page.
    let r = Browser::new(&server)
        .get(&server.url("/oauth/logout"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Signed out"));
}

#[tokio::test]
async fn an_expired_hint_is_accepted_for_logout() {
    let server = Server::start();
    user(&server).await;
    let app = app(&server, "Acme Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    // Past the ID token's exp (the access token's lifetime, an hour).
    server.advance(2 * 3600);
    let r = b
        .get(&server.url(&format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}",
            signed.id_token,
            urlencode(BYE)
        )))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), BYE);
}

#[tokio::test]
async fn each_refusal_is_a_catalog_error_never_a_redirect() {
    let server = Server::start();
    user(&server).await;
    let app_a = app(&server, "Acme Web", json!({})).await;
    let app_b = app(&server, "Other Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app_a).await;

    // A post_logout_redirect_uri the app did not register.
    let evil = "https://evil.example.com/steal";
    let r = logout_json(
        &server,
        &format!(
            "client_id={}&post_logout_redirect_uri={}",
            app_a.client_id,
            urlencode(evil)
        ),
    )
    .await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-974",
        &[evil, BYE, &app_a.client_id, "post_logout_redirect_uris"],
    );
    assert!(r.header("location").is_none());
    // Near misses are not matches either.
    let r = logout_json(
        &server,
        &format!(
            "client_id={}&post_logout_redirect_uri={}",
            app_a.client_id,
            urlencode(&format!("{BYE}/"))
        ),
    )
    .await;
    assert_eq!(r.code(), "GRD-974");

    // The hint was issued to another app than client_id.
    let r = logout_json(
        &server,
        &format!(
            "client_id={}&id_token_hint={}&post_logout_redirect_uri={}",
            app_b.client_id,
            signed.id_token,
            urlencode(BYE)
        ),
    )
    .await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-971",
        &[&app_b.client_id, &app_a.client_id],
    );

    // A malformed hint, and a JWT that is not grantd's ID token.
    let r = logout_json(&server, "id_token_hint=not-a-jwt").await;
    r.assert_error(400, "invalid_request", "GRD-970", &["not a JWT"]);
    let mut parts: Vec<String> = signed.id_token.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    let r = logout_json(&server, &format!("id_token_hint={}", parts.join("."))).await;
    r.assert_error(400, "invalid_request", "GRD-970", &["signature"]);
    assert!(!r.text.contains(&signed.id_token));

    // A redirect URI with no app to check it against.
    let r = logout_json(
        &server,
        &format!("post_logout_redirect_uri={}", urlencode(BYE)),
    )
    .await;
    r.assert_error(400, "invalid_request", "GRD-973", &["client_id"]);

    // An unknown app.
    let r = logout_json(
        &server,
        &format!(
            "client_id=nobody&post_logout_redirect_uri={}",
            urlencode(BYE)
        ),
    )
    .await;
    r.assert_error(400, "invalid_request", "GRD-972", &["client_id"]);

    // In a browser the refusal is the error page, with its code.
    let r = b
        .get(&server.url(&format!(
            "/oauth/logout?client_id={}&post_logout_redirect_uri={}",
            app_a.client_id,
            urlencode(evil)
        )))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    assert_eq!(r.header("x-error-code"), Some("GRD-974"));
    assert!(r.text.contains("GRD-974"));
    // Nothing was ended by the refusals.
    let r = refresh(&server, &app_a, &signed.refresh_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn logout_uris_are_checked_when_registered() {
    let server = Server::start();
    for (field, value, says) in [
        (
            "post_logout_redirect_uris",
            json!(["/relative"]),
            "absolute",
        ),
        (
            "post_logout_redirect_uris",
            json!(["https://rp.example.com/#x"]),
            "fragment",
        ),
        (
            "backchannel_logout_uri",
            json!("http://rp.example.com/bc"),
            "loopback",
        ),
        (
            "backchannel_logout_uri",
            json!("ftp://rp.example.com/bc"),
            "https",
        ),
    ] {
        let mut spec = json!({"name": "Bad", "platform_type": "server-web", "redirect_uris": [CB]});
        spec[field] = value;
        let (status, body) = server
            .admin(reqwest::Method::POST, "/admin/v1/apps", Some(spec))
            .await;
        assert_eq!(status, 400, "{body}");
        let d = body["error_description"].as_str().unwrap();
        assert!(d.contains(field) && d.contains(says), "{d}");
    }
    // Set, shown, and removed with null.
    let app = app(
        &server,
        "Acme",
        json!({"backchannel_logout_uri": "https://rp.example.com/bc", "backchannel_logout_session_required": true}),
    )
    .await;
    assert_eq!(app.json["post_logout_redirect_uris"], json!([BYE]));
    assert_eq!(
        app.json["backchannel_logout_uri"],
        "https://rp.example.com/bc"
    );
    assert_eq!(app.json["backchannel_logout_session_required"], true);
    let (status, body) = server
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/apps/{}", app.client_id),
            Some(json!({"backchannel_logout_uri": null, "post_logout_redirect_uris": []})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("backchannel_logout_uri").is_none(), "{body}");
    assert_eq!(body["post_logout_redirect_uris"], json!([]));
}

#[tokio::test]
async fn back_channel_logout_token_reaches_the_app_and_verifies_with_the_jwks() {
    let server = Server::start();
    let alice = user(&server).await;
    let listener = Listener::start(200).await;
    let app = app(
        &server,
        "Acme Web",
        json!({"backchannel_logout_uri": listener.url}),
    )
    .await;
    let quiet = self::app(&server, "Quiet Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    sign_in(&server, &b, &quiet).await;
    let sid = unverified_claims(&signed.id_token)["sid"].clone();

    let r = b
        .get(&server.url(&format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}",
            signed.id_token,
            urlencode(BYE)
        )))
        .await;
    // The user is not held up by the delivery.
    assert_eq!(r.status, 303, "{}", r.text);

    let bodies = listener.wait_for(1).await;
    let form = common::form_pairs(&bodies[0]);
    let token = &form["logout_token"];
    let (typ, claims) = verify(&server, token, &app.client_id).await;
    assert_eq!(typ, "logout+jwt");
    assert_eq!(claims["iss"], server.base);
    assert_eq!(claims["aud"], app.client_id);
    assert_eq!(claims["sub"], alice["id"]);
    assert_eq!(claims["sid"], sid);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims.get("nonce").is_none());

    // Recorded as delivered; the app without a URI got none.
    let d = first_delivery_when(&server, &app.client_id, |d| d["status"] == "delivered").await;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["status"], "delivered");
    assert_eq!(d[0]["attempts"], 1);
    assert!(deliveries(&server, &quiet.client_id).await.is_empty());
    assert_eq!(listener.bodies().len(), 1);
    // Unknown app.
    let (status, _) = server
        .admin(
            reqwest::Method::GET,
            "/admin/v1/apps/nobody/logout-deliveries",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_failing_listener_gets_retries_with_backoff_until_marked_failed() {
    let server = Server::start();
    user(&server).await;
    let listener = Listener::start(500).await;
    let app = app(
        &server,
        "Acme Web",
        json!({"backchannel_logout_uri": listener.url}),
    )
    .await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    let r = b
        .get(&server.url(&format!("/oauth/logout?id_token_hint={}", signed.id_token)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    listener.wait_for(1).await;
    let d = first_delivery_when(&server, &app.client_id, |d| d["attempts"] == 1).await;
    assert_eq!(d[0]["status"], "pending", "{d:?}");
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(d[0]["last_error"], "answered HTTP 500");
    let first_next = d[0]["next_attempt_at"].as_i64().unwrap();
    assert_eq!(first_next - d[0]["updated_at"].as_i64().unwrap(), 1);

    // Each retry waits twice as long; after the fifth attempt it is failed.
    for n in 2..=5 {
        server.advance(1 << (n - 2));
        listener.wait_for(n).await;
    }
    let d = first_delivery_when(&server, &app.client_id, |d| d["status"] == "failed").await;
    assert_eq!(d[0]["status"], "failed", "{d:?}");
    assert_eq!(d[0]["attempts"], 5);
    assert!(d[0].get("next_attempt_at").is_none());
    server.advance(3600);
    // Proving that nothing more is sent needs the worker's ticks (once a
    // second) to pass on the real clock: the one wait on time left here.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(listener.bodies().len(), 5, "no attempt after failing");
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let server = Server::start();
    user(&server).await;
    let listener = Listener::start(503).await;
    let app = app(
        &server,
        "Acme Web",
        json!({"backchannel_logout_uri": listener.url}),
    )
    .await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app).await;
    b.get(&server.url(&format!("/oauth/logout?id_token_hint={}", signed.id_token)))
        .await;
    listener.wait_for(1).await;
    let dir = server.dir.clone();
    let tmp = server.stop();
    listener.status.store(200, Ordering::SeqCst);
    let server = Server::start_in(&dir, &[], &[]);
    server.advance(60);
    listener.wait_for(2).await;
    let d = first_delivery_when(&server, &app.client_id, |d| d["status"] == "delivered").await;
    assert_eq!(d[0]["status"], "delivered", "{d:?}");
    assert_eq!(d[0]["attempts"], 2);
    drop(tmp);
}

#[tokio::test]
async fn disabling_a_user_or_ending_sessions_sends_back_channel_logouts() {
    let server = Server::start();
    let alice = user(&server).await;
    let listener = Listener::start(200).await;
    let app = app(
        &server,
        "Acme Web",
        json!({"backchannel_logout_uri": listener.url}),
    )
    .await;
    let b = Browser::new(&server);
    sign_in(&server, &b, &app).await;
    let user_id = alice["id"].as_str().unwrap();
    let (status, body) = server
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/users/{user_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 1, "{body}");
    let bodies = listener.wait_for(1).await;
    let token = &common::form_pairs(&bodies[0])["logout_token"];
    let (_, claims) = verify(&server, token, &app.client_id).await;
    assert_eq!(claims["sub"], alice["id"]);

    let signed = sign_in(&server, &b, &app).await;
    let (status, body) = server
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/users/{user_id}"),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bodies = listener.wait_for(2).await;
    let token = &common::form_pairs(&bodies[1])["logout_token"];
    let (_, claims) = verify(&server, token, &app.client_id).await;
    assert_eq!(claims["sub"], alice["id"]);
    assert_eq!(claims["sid"], unverified_claims(&signed.id_token)["sid"]);
}

#[tokio::test]
async fn signing_the_browser_out_elsewhere_is_a_logout_of_its_sign_in() {
    let server = Server::start();
    user(&server).await;
    let listener = Listener::start(200).await;
    let app_a = app(
        &server,
        "Acme Web",
        json!({"backchannel_logout_uri": listener.url}),
    )
    .await;
    let app_b = app(&server, "Other Web", json!({})).await;
    let b = Browser::new(&server);
    let signed = sign_in(&server, &b, &app_a).await;
    // "Not you?" on another app's consent page.
    let consent = b
        .get(&server.url(&format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=ReadAccounts",
            app_b.client_id,
            urlencode(CB)
        )))
        .await;
    let form = consent
        .text
        .split("action=\"/oauth/authorize/signout\"")
        .nth(1)
        .expect("the not-you form");
    let r = b
        .post("/oauth/authorize/signout", &common::hidden_fields(form))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("action=\"/oauth/authorize/login\""));
    let bodies = listener.wait_for(1).await;
    let token = &common::form_pairs(&bodies[0])["logout_token"];
    let (_, claims) = verify(&server, token, &app_a.client_id).await;
    assert_eq!(claims["sid"], unverified_claims(&signed.id_token)["sid"]);
    let r = refresh(&server, &app_a, &signed.refresh_token).await;
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
}
