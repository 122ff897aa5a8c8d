//! The device authorization grant (RFC 8628) over HTTP: the device
//! authorization endpoint, the verification page driven with a cookie jar,
//! every answer of polling (time moved with the test clock, never slept),
//! the `oauth2` crate's device flow against grantd, discovery, and the
//! failure limit on guessed codes.

mod common;

use common::{App, Reply, Server};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, DeviceCodeErrorResponseType, RequestTokenError,
    Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use serde_json::{json, Value};
use std::time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ALICE: (&str, &str) = ("alice@example.com", "correct horse battery");

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the form posting to `action` on the page.
fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let form = html
        .split(&format!("action=\"{action}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no form posting to {action}: {html}"));
    let form = form.split("</form>").next().unwrap_or("");
    let mut out = Vec::new();
    for part in form.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap().to_string();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("");
        out.push((name, unescape(value)));
    }
    out
}

/// A browser: a cookie jar, no redirects followed, asking for HTML.
struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, url: &str) -> Reply {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let res = self.http.get(url).header("accept", "text/html");
        Reply::from(res.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, fields: &[(String, String)]) -> Reply {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .form(fields)
            .send()
            .await
            .unwrap();
        Reply::from(res).await
    }

    /// Submits the form posting to `action` with its hidden fields and `extra`.
    async fn submit(&self, page: &Reply, action: &str, extra: &[(&str, &str)]) -> Reply {
        let mut fields = form_fields(&page.text, action);
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post(action, &fields).await
    }

    /// Signs in on the sign-in page and follows the way back to the page.
    async fn sign_in(&self, page: &Reply, (username, password): (&str, &str)) -> Reply {
        assert_eq!(page.status, 200, "{}", page.text);
        let r = self
            .submit(
                page,
                "/device/login",
                &[("username", username), ("password", password)],
            )
            .await;
        assert_eq!(r.status, 303, "signing in: {}", r.text);
        let back = r.header("location").expect("location").to_string();
        assert!(back.starts_with("/device"), "{back}");
        self.get(&back).await
    }

    /// From `verification_uri_complete` to the decision's page.
    async fn decide(&self, uri: &str, user: (&str, &str), decision: &str) -> Reply {
        let page = self.get(uri).await;
        let confirm = self.sign_in(&page, user).await;
        assert_eq!(confirm.status, 200, "{}", confirm.text);
        self.submit(&confirm, "/device/decision", &[("decision", decision)])
            .await
    }
}

async fn setup(server: &Server) -> Value {
    server
        .create_user(json!({"email": ALICE.0, "name": "Alice Smith", "password": ALICE.1}))
        .await
}

async fn device_app(server: &Server, name: &str) -> App {
    App::from(
        server
            .create_app(
                json!({"name": name, "platform_type": "device", "scopes": ["ReadAccounts", "SMS"]}),
            )
            .await,
    )
}

/// `POST /oauth/device_authorization` as a public client.
async fn authorize_device(server: &Server, app: &App, scope: Option<&str>) -> Reply {
    let mut body = format!("client_id={}", app.client_id);
    if let Some(s) = scope {
        body.push_str(&format!("&scope={}", s.replace(' ', "+")));
    }
    server
        .post_form("/oauth/device_authorization", None, &body)
        .await
}

/// A device authorization that must succeed: its JSON.
async fn start(server: &Server, app: &App, scope: Option<&str>) -> Value {
    let r = authorize_device(server, app, scope).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn poll(server: &Server, app: &App, device_code: &str) -> Reply {
    server
        .post_form(
            "/oauth/token",
            None,
            &format!(
                "grant_type={DEVICE_GRANT}&client_id={}&device_code={device_code}",
                app.client_id
            ),
        )
        .await
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn assert_no_script(page: &Reply) {
    assert!(!page.text.contains("<script"), "{}", page.text);
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self';"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn the_whole_flow_with_the_page_in_a_browser() {
    let server = Server::start();
    let user = setup(&server).await;
    let app = device_app(&server, "Acme TV").await;
    assert!(app.secret.is_empty(), "device apps are public");
    assert_eq!(app.json["grants"], json!(["refresh_token", "device_code"]));

    let r = authorize_device(&server, &app, Some("ReadAccounts openid")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let started = r.json;
    let user_code = s(&started, "user_code");
    assert!(
        user_code.len() == 11
            && user_code.chars().enumerate().all(|(i, c)| if i == 5 {
                c == '-'
            } else {
                "BCDFGHJKLMNPQRSTVWXZ".contains(c)
            }),
        "{user_code}"
    );
    assert_eq!(s(&started, "verification_uri"), server.url("/device"));
    assert_eq!(
        s(&started, "verification_uri_complete"),
        format!("{}?user_code={user_code}", server.url("/device"))
    );
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    let device_code = s(&started, "device_code");
    assert!(device_code.len() >= 43);

    // Before the user decides: keep polling.
    let r = poll(&server, &app, device_code).await;
    r.assert_error(
        400,
        "authorization_pending",
        "GRD-370",
        &["Keep polling every 5 seconds"],
    );

    // The user opens verification_uri_complete: sign in first, with the code kept.
    let b = Browser::new(&server.base);
    let page = b.get(s(&started, "verification_uri_complete")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("action=\"/device/login\""));
    assert!(page.text.contains(user_code), "the code is shown to check");
    assert_no_script(&page);
    let confirm = b.sign_in(&page, ALICE).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert_no_script(&confirm);
    for shown in [
        "Acme TV",
        "ReadAccounts",
        "openid",
        "Alice Smith",
        user_code,
    ] {
        assert!(confirm.text.contains(shown), "{shown}: {}", confirm.text);
    }
    assert!(
        !confirm.text.contains("<code>SMS</code>"),
        "only the scopes asked for"
    );
    let done = b
        .submit(&confirm, "/device/decision", &[("decision", "allow")])
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Device connected"), "{}", done.text);

    // The device's next poll, an interval later, gets the tokens.
    server.advance(5);
    let r = poll(&server, &app, device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let tokens = r.json;
    assert_eq!(s(&tokens, "scope"), "ReadAccounts openid");
    assert_eq!(s(&tokens, "owner_id"), s(&user, "id"));
    assert!(tokens["id_token"].is_string(), "openid was approved");
    let access = s(&tokens, "access_token");
    let me = server
        .get_bearer("/restapi/v1.0/account/~/extension/~", access)
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    let info = server.get_bearer("/oauth/userinfo", access).await;
    assert_eq!(info.json["sub"], user["id"]);

    // The code is single-use; the device refreshes instead.
    server.advance(5);
    poll(&server, &app, device_code).await.assert_error(
        400,
        "invalid_grant",
        "GRD-376",
        &["already exchanged"],
    );
    let refreshed = server
        .post_form(
            "/oauth/token",
            None,
            &format!(
                "grant_type=refresh_token&client_id={}&refresh_token={}",
                app.client_id,
                s(&tokens, "refresh_token")
            ),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(s(&refreshed.json, "session_id"), s(&tokens, "session_id"));

    // The page does not take a code twice.
    let again = b.get(s(&started, "verification_uri_complete")).await;
    assert_eq!(again.status, 401, "{}", again.text);
    assert_eq!(again.header("x-error-code"), Some("GRD-379"));
    assert!(again.text.contains("already used"), "{}", again.text);
}

#[tokio::test]
async fn the_code_can_be_typed_and_every_form_checks_csrf() {
    let server = Server::start();
    setup(&server).await;
    let app = device_app(&server, "Acme CLI").await;
    let started = start(&server, &app, None).await;
    let b = Browser::new(&server.base);

    // No code in the link: sign in, then type it (lower case, spaces: forgiven).
    let page = b.get("/device").await;
    assert!(page.text.contains("action=\"/device/login\""));
    let code_page = b.sign_in(&page, ALICE).await;
    assert!(
        code_page.text.contains("action=\"/device\""),
        "{}",
        code_page.text
    );
    assert_no_script(&code_page);
    let wrong = b
        .submit(&code_page, "/device", &[("user_code", "BCDFG-BCDFG")])
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(wrong.header("x-error-code"), Some("GRD-377"));
    assert!(wrong.text.contains("No device is waiting for this code"));
    let typo = b
        .submit(&code_page, "/device", &[("user_code", "BCDFG-HJKLA")])
        .await;
    assert_eq!(typo.header("x-error-code"), Some("GRD-377"));
    assert!(typo.text.contains("consonants only"), "{}", typo.text);
    let typed = s(&started, "user_code").to_lowercase().replace('-', " ");
    let confirm = b
        .submit(&code_page, "/device", &[("user_code", &typed)])
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert!(confirm.text.contains("Acme CLI"));
    // Every scope of the app when none was asked for.
    assert!(confirm.text.contains("<code>SMS</code>"));

    // The app is private to its account: a user of another account may not approve it.
    let (status, other) = server
        .admin(
            reqwest::Method::POST,
            "/admin/v1/accounts",
            Some(json!({"name": "Other Co"})),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    server
        .create_user(json!({"email": "bob@other.example", "name": "Bob", "password": "another long password", "account_id": s(&other, "id")}))
        .await;
    let b2 = Browser::new(&server.base);
    let refused = b2
        .decide(
            s(&started, "verification_uri_complete"),
            ("bob@other.example", "another long password"),
            "allow",
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.header("x-error-code"), Some("GRD-358"));
    assert!(refused.text.contains("private"), "{}", refused.text);

    // A forged decision (no CSRF token) decides nothing.
    let forged = b
        .post(
            "/device/decision",
            &[
                ("user_code".into(), s(&started, "user_code").into()),
                ("decision".into(), "allow".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 400, "{}", forged.text);
    assert!(forged.text.contains("anti-forgery"), "{}", forged.text);
    poll(&server, &app, s(&started, "device_code"))
        .await
        .assert_error(400, "authorization_pending", "GRD-370", &[]);

    // "Not you?": signed out, the sign-in form comes back with the code.
    let out = b.submit(&confirm, "/device/signout", &[]).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(out.text.contains("action=\"/device/login\""));
    let confirm = b.sign_in(&out, ALICE).await;
    assert!(confirm.text.contains("Acme CLI"), "{}", confirm.text);
    let done = b
        .submit(&confirm, "/device/decision", &[("decision", "allow")])
        .await;
    assert!(done.text.contains("Device connected"), "{}", done.text);
    let r = poll(&server, &app, s(&started, "device_code")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s(&r.json, "scope"), "ReadAccounts SMS");
}

#[tokio::test]
async fn every_polling_error_says_what_to_do() {
    let server = Server::start();
    setup(&server).await;
    let app = device_app(&server, "Acme TV").await;

    // Too fast: slow_down, with the interval raised for this and later polls.
    let started = start(&server, &app, None).await;
    let device_code = s(&started, "device_code");
    poll(&server, &app, device_code).await.assert_error(
        400,
        "authorization_pending",
        "GRD-370",
        &["every 5 seconds"],
    );
    poll(&server, &app, device_code).await.assert_error(
        400,
        "slow_down",
        "GRD-371",
        &["Poll slower", "now 10 seconds"],
    );
    server.advance(5);
    poll(&server, &app, device_code).await.assert_error(
        400,
        "slow_down",
        "GRD-371",
        &["now 15 seconds"],
    );
    server.advance(15);
    poll(&server, &app, device_code).await.assert_error(
        400,
        "authorization_pending",
        "GRD-370",
        &["every 15 seconds"],
    );

    // The user denies: access_denied, and the code is finished.
    let denied = start(&server, &app, None).await;
    let b = Browser::new(&server.base);
    let done = b
        .decide(s(&denied, "verification_uri_complete"), ALICE, "deny")
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Device not connected"), "{}", done.text);
    poll(&server, &app, s(&denied, "device_code"))
        .await
        .assert_error(
            400,
            "access_denied",
            "GRD-372",
            &["declined", "restart the flow"],
        );

    // Nobody decides in time: expired_token, and the page says so too.
    let late = start(&server, &app, None).await;
    server.advance(601);
    poll(&server, &app, s(&late, "device_code"))
        .await
        .assert_error(
            400,
            "expired_token",
            "GRD-373",
            &["expired at", "restart the flow"],
        );
    let page = b.get(s(&late, "verification_uri_complete")).await;
    assert_eq!(page.status, 401, "{}", page.text);
    assert_eq!(page.header("x-error-code"), Some("GRD-378"));

    // Codes that are not this app's, or nobody's.
    let other = device_app(&server, "Other TV").await;
    let mine = start(&server, &app, None).await;
    poll(&server, &other, s(&mine, "device_code"))
        .await
        .assert_error(400, "invalid_grant", "GRD-375", &[&other.client_id]);
    poll(&server, &app, "not-a-device-code").await.assert_error(
        400,
        "invalid_grant",
        "GRD-374",
        &[],
    );
    server
        .post_form(
            "/oauth/token",
            None,
            &format!("grant_type={DEVICE_GRANT}&client_id={}", app.client_id),
        )
        .await
        .assert_error(400, "invalid_request", "GRD-105", &["device_code"]);
}

#[tokio::test]
async fn the_device_authorization_endpoint_checks_the_client_like_the_token_endpoint() {
    let server = Server::start();
    let device = device_app(&server, "Acme TV").await;
    let desktop = App::from(
        server
            .create_app(json!({"name": "Acme Desktop", "platform_type": "desktop", "scopes": ["ReadAccounts"]}))
            .await,
    );
    authorize_device(&server, &desktop, None)
        .await
        .assert_error(
            400,
            "unauthorized_client",
            "OAU-251",
            &["device_code", "--grants"],
        );
    let opted_in = App::from(
        server
            .create_app(json!({"name": "Acme Desktop", "platform_type": "desktop", "grants": ["authorization_code", "device_code"], "scopes": ["ReadAccounts"]}))
            .await,
    );
    start(&server, &opted_in, Some("ReadAccounts")).await;
    let (status, body) = server
        .admin(
            reqwest::Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "Phone", "platform_type": "mobile", "grants": ["device_code"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        s(&body, "error_description").contains("'device_code' is allowed for: desktop, device"),
        "{body}"
    );

    authorize_device(&server, &device, Some("ReadAccounts Admin"))
        .await
        .assert_error(400, "invalid_scope", "GRD-301", &["'Admin'"]);
    server
        .post_form("/oauth/device_authorization", None, "scope=ReadAccounts")
        .await
        .assert_error(401, "invalid_client", "OAU-123", &[]);
    server
        .post_form("/oauth/device_authorization", None, "client_id=nope")
        .await
        .assert_error(401, "invalid_client", "OAU-153", &[]);
    let r = server
        .http
        .get(server.url("/oauth/device_authorization"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = server
        .post_form(
            &format!(
                "/oauth/device_authorization?client_id={}&client_secret=x",
                device.client_id
            ),
            None,
            "",
        )
        .await;
    r.assert_error(400, "invalid_request", "GRD-102", &["client_secret"]);
}

#[tokio::test]
async fn discovery_lists_the_grant_and_the_endpoint() {
    let server = Server::start();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc: Value = server
            .http
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["device_authorization_endpoint"],
            server.url("/oauth/device_authorization"),
            "{doc}"
        );
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(DEVICE_GRANT)),
            "{doc}"
        );
    }
}

/// Approves (or denies) in a browser of its own, as a person with a phone would.
async fn person(base: String, uri: String, decision: &'static str) {
    let done = Browser::new(&base).decide(&uri, ALICE, decision).await;
    assert_eq!(done.status, 200, "{}", done.text);
}

#[tokio::test]
async fn the_oauth2_crate_completes_the_device_flow() {
    let server = Server::start();
    let user = setup(&server).await;
    let app = device_app(&server, "Acme TV").await;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(server.url("/oauth/device_authorization")).unwrap(),
        );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Waiting an interval moves the server's clock instead of sleeping it.
    let wait = |interval: Duration| {
        server.advance(interval.as_secs() as i64);
        tokio::time::sleep(Duration::from_millis(200))
    };

    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("ReadAccounts".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    assert_eq!(details.interval(), Duration::from_secs(5));
    let uri = details
        .verification_uri_complete()
        .expect("verification_uri_complete")
        .secret()
        .clone();
    assert!(uri.contains(details.user_code().secret()));
    let approver = tokio::spawn(person(server.base.clone(), uri, "allow"));
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, wait, None)
        .await
        .expect("the device gets its tokens once the person approves");
    approver.await.expect("the person approved");
    assert_eq!(token.scopes().unwrap()[0].as_str(), "ReadAccounts");
    assert!(token.refresh_token().is_some());
    let me = server
        .get_bearer(
            "/restapi/v1.0/account/~/extension/~",
            token.access_token().secret(),
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["id"].to_string().trim_matches('"'), s(&user, "id"));

    // A person who denies: the crate stops with access_denied.
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .request_async(&http)
        .await
        .expect("device authorization");
    let uri = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    let denier = tokio::spawn(person(server.base.clone(), uri, "deny"));
    let refused = client
        .exchange_device_access_token(&details)
        .request_async(&http, wait, None)
        .await;
    denier.await.expect("the person denied");
    match refused {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(
                *e.error(),
                DeviceCodeErrorResponseType::AccessDenied,
                "{e:?}"
            )
        }
        other => panic!("expected access_denied, got {other:?}"),
    }
}

/// Wrong codes count in the failure limit per address: a guesser is paused
/// even for a right code, with the catalog's CMN-301.
#[tokio::test]
async fn guessing_codes_pauses_the_address() {
    let server = Server::start_with(&["--auth-failure-limit", "3"], &[]);
    setup(&server).await;
    let app = device_app(&server, "Acme TV").await;
    let started = start(&server, &app, None).await;
    let b = Browser::new(&server.base);
    let page = b.get("/device").await;
    let code_page = b.sign_in(&page, ALICE).await;
    let mut remaining = Vec::new();
    for guess in ["BCDFG-BCDFG", "BCDFG-BCDFH", "BCDFG-BCDFJ"] {
        let r = b
            .submit(&code_page, "/device", &[("user_code", guess)])
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.header("x-error-code"), Some("GRD-377"));
        remaining.push(r.header("x-rate-limit-remaining").unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let right = s(&started, "user_code");
    let r = b
        .submit(&code_page, "/device", &[("user_code", right)])
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.header("x-error-code"), Some("CMN-301"));
    assert!(r.header("retry-after").is_some());
    // Approving with a guessed code is refused the same way.
    let mut fields = form_fields(&code_page.text, "/device");
    fields.push(("user_code".into(), right.into()));
    fields.push(("decision".into(), "allow".into()));
    let r = b.post("/device/decision", &fields).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.header("x-error-code"), Some("CMN-301"));
    poll(&server, &app, s(&started, "device_code"))
        .await
        .assert_error(400, "authorization_pending", "GRD-370", &[]);
}
