//! RingCentral clients beyond the server SDKs' happy paths: browser apps
//! (CORS), request ids under RingCentral's name.

mod common;

use common::{Reply, Server};
use reqwest::Method;
use serde_json::json;

const SPA_ORIGIN: &str = "http://localhost:5173";
const SPA_CALLBACK: &str = "http://localhost:5173/callback";
const OTHER_ORIGIN: &str = "http://evil.example:4000";

async fn browser_app(s: &Server) -> common::App {
    common::App::from(
        s.create_app(json!({
            "name": "Acme SPA",
            "platform_type": "browser",
            "grants": ["authorization_code", "refresh_token"],
            "redirect_uris": [SPA_CALLBACK],
            "scopes": ["ReadAccounts"],
            "issue_refresh_tokens": true,
        }))
        .await,
    )
}

/// A preflight as Chromium sends one for the JS SDK's token request.
async fn preflight(s: &Server, path: &str, origin: &str) -> Reply {
    let res = s
        .http
        .request(Method::OPTIONS, s.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-user-agent",
        )
        .send()
        .await
        .expect("preflight");
    Reply::from(res).await
}

async fn post_from(s: &Server, path: &str, origin: &str, body: &str) -> Reply {
    let res = s
        .http
        .post(s.url(path))
        .header("origin", origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    Reply::from(res).await
}

#[tokio::test]
async fn a_browser_apps_redirect_origin_may_call_the_token_endpoint() {
    let s = Server::start();
    let app = browser_app(&s).await;
    for path in [
        "/restapi/oauth/token",
        "/oauth/token",
        "/restapi/oauth/revoke",
        "/restapi/v1.0/account/~/extension/~",
    ] {
        let r = preflight(&s, path, SPA_ORIGIN).await;
        assert_eq!(r.status, 204, "{path}: {}", r.text);
        assert_eq!(r.header("access-control-allow-origin"), Some(SPA_ORIGIN));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization,content-type,x-user-agent")
        );
        assert!(r.header("access-control-max-age").is_some());
    }
    // The request itself: its answer (here a refusal) is readable by the page,
    // with the headers the SDKs read.
    let r = post_from(
        &s,
        "/restapi/oauth/token",
        SPA_ORIGIN,
        &format!(
            "grant_type=authorization_code&client_id={}&code=made-up",
            app.client_id
        ),
    )
    .await;
    assert_eq!(r.json["error"], "invalid_grant", "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA_ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let exposed = r.header("access-control-expose-headers").unwrap_or("");
    for h in [
        "Retry-After",
        "X-Rate-Limit-Remaining",
        "RCRequestId",
        "X-Request-Id",
    ] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    assert!(r.header("vary").unwrap_or("").contains("Origin"));
    assert_eq!(r.header("rcrequestid"), r.header("x-request-id"));
    assert!(r.header("rcrequestid").is_some());
}

#[tokio::test]
async fn an_origin_no_app_allows_is_refused_with_the_setting_to_change() {
    let s = Server::start();
    let app = browser_app(&s).await;
    let r = preflight(&s, "/restapi/oauth/token", OTHER_ORIGIN).await;
    r.assert_error(
        403,
        "invalid_request",
        "GRD-140",
        &[OTHER_ORIGIN, "allowed_origins", "cors.allowed_origins"],
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    // A request the browser sends without a preflight is refused before it
    // does anything; the page may read why.
    let r = post_from(
        &s,
        "/oauth/token",
        OTHER_ORIGIN,
        &format!(
            "grant_type=authorization_code&client_id={}&code=made-up",
            app.client_id
        ),
    )
    .await;
    r.assert_error(403, "invalid_request", "GRD-140", &[OTHER_ORIGIN]);
    assert_eq!(r.header("access-control-allow-origin"), Some(OTHER_ORIGIN));
    assert_ne!(r.header("access-control-allow-origin"), Some("*"));

    // The app lists the origin: allowed at once (the index follows the
    // change); taken off again: refused.
    let path = format!("/admin/v1/apps/{}", app.client_id);
    let (status, body) = s
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"allowed_origins": [OTHER_ORIGIN]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allowed_origins"], json!([OTHER_ORIGIN]));
    assert_eq!(
        preflight(&s, "/restapi/oauth/token", OTHER_ORIGIN)
            .await
            .status,
        204
    );
    s.admin(Method::PATCH, &path, Some(json!({"allowed_origins": []})))
        .await;
    assert_eq!(
        preflight(&s, "/restapi/oauth/token", OTHER_ORIGIN)
            .await
            .status,
        403
    );
    // A deleted app's origins go with it.
    s.admin(Method::DELETE, &path, None).await;
    assert_eq!(
        preflight(&s, "/restapi/oauth/token", SPA_ORIGIN)
            .await
            .status,
        403
    );
    // A malformed origin is refused at registration, naming the field.
    let (status, body) = s
        .admin(
            Method::POST,
            "/admin/v1/apps",
            Some(json!({"name": "x", "platform_type": "browser",
                        "allowed_origins": ["https://app.example.com/path"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap_or("")
        .contains("allowed_origins"));
}

#[tokio::test]
async fn server_wide_origins_public_documents_and_same_origin_pages() {
    let s = Server::start_with(
        &["--cors-allowed-origin", "https://console.example.com"],
        &[],
    );
    assert_eq!(
        preflight(&s, "/restapi/oauth/token", "https://console.example.com")
            .await
            .status,
        204
    );
    // Keys and metadata are public documents: any origin may read them.
    let r = Reply::from(
        s.http
            .get(s.url("/.well-known/openid-configuration"))
            .header("origin", OTHER_ORIGIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(OTHER_ORIGIN));
    // grantd's own pages send Origin too: same origin, not CORS.
    let r = post_from(&s, "/oauth/token", &s.base, "grant_type=password").await;
    assert_ne!(r.code(), "GRD-140", "{}", r.text);
}

#[tokio::test]
async fn the_admin_api_never_answers_another_origin() {
    let s = Server::start_with(&["--cors-allowed-origin", SPA_ORIGIN], &[]);
    let r = Reply::from(
        s.http
            .get(s.url("/admin/v1/apps"))
            .bearer_auth(common::ADMIN_TOKEN)
            .header("origin", SPA_ORIGIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(403, "invalid_request", "GRD-141", &[SPA_ORIGIN]);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = preflight(&s, "/admin/v1/apps", SPA_ORIGIN).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A server-only app issuing refresh tokens, a user and a JWT credential.
async fn jwt_app(s: &Server) -> (common::App, String) {
    let app = s
        .server_only_app(
            json!({"name": "Acme Phone", "grants": ["jwt_bearer", "refresh_token"],
                                 "issue_refresh_tokens": true}),
        )
        .await;
    let user = s
        .create_user(json!({"email": "alice@example.com", "name": "Alice Smith",
                            "password": "correct horse battery"}))
        .await;
    let (_, jwt) = s
        .create_credential(user["id"].as_str().unwrap(), json!({"label": "phone"}))
        .await;
    (app, jwt)
}

async fn refresh(s: &Server, app: &common::App, rt: &str, extra: &str) -> Reply {
    s.post_form(
        "/restapi/oauth/token",
        Some((&app.client_id, &app.secret)),
        &format!("grant_type=refresh_token&refresh_token={rt}{extra}"),
    )
    .await
}

#[tokio::test]
async fn endpoint_id_is_the_sessions_for_every_refresh() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    // Made by grantd when the client sends none; kept by every refresh
    // (neither SDK resends it).
    let login = s
        .post_form(
            "/restapi/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let endpoint = login.json["endpoint_id"].as_str().unwrap().to_string();
    let mut rt = login.json["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let r = refresh(&s, &app, &rt, "").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["endpoint_id"], endpoint.as_str());
        assert_eq!(r.json["session_id"], login.json["session_id"]);
        rt = r.json["refresh_token"].as_str().unwrap().to_string();
    }
    // The client's own value is the session's, even if a refresh sends another.
    let login = s
        .post_form(
            "/restapi/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={jwt}&endpoint_id=web-phone-1"),
        )
        .await;
    assert_eq!(login.json["endpoint_id"], "web-phone-1", "{}", login.text);
    let rt = login.json["refresh_token"].as_str().unwrap();
    let r = refresh(&s, &app, rt, "&endpoint_id=another").await;
    assert_eq!(r.json["endpoint_id"], "web-phone-1", "{}", r.text);
}

/// The pair a client holds: (app, how to log in again, how to refresh).
enum Client {
    /// A server-only app: Basic with its secret, the JWT grant.
    Confidential(common::App, String),
    /// A desktop app: Basic with an empty secret (the Python SDK), the password grant.
    Public(common::App),
}

impl Client {
    async fn new(s: &Server, confidential: bool) -> Self {
        if confidential {
            let (app, jwt) = jwt_app(s).await;
            return Client::Confidential(app, jwt);
        }
        let app = common::App::from(
            s.create_app(json!({"name": "Acme Desk", "platform_type": "desktop",
                                "grants": ["authorization_code", "refresh_token", "password"],
                                "issue_refresh_tokens": true}))
                .await,
        );
        s.create_user(json!({"email": "carol@example.com", "name": "Carol",
                             "password": "correct horse battery"}))
            .await;
        Client::Public(app)
    }

    fn auth(&self) -> (&str, &str) {
        match self {
            Client::Confidential(app, _) => (&app.client_id, &app.secret),
            Client::Public(app) => (&app.client_id, ""),
        }
    }

    async fn login(&self, s: &Server) -> serde_json::Value {
        let body = match self {
            Client::Confidential(_, jwt) => format!("grant_type={JWT_GRANT}&assertion={jwt}"),
            Client::Public(_) => {
                "grant_type=password&username=carol%40example.com&password=correct+horse+battery"
                    .to_string()
            }
        };
        let r = s
            .post_form("/restapi/oauth/token", Some(self.auth()), &body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }

    async fn refresh(&self, s: &Server, rt: &serde_json::Value) -> Reply {
        s.post_form(
            "/restapi/oauth/token",
            Some(self.auth()),
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                rt.as_str().unwrap()
            ),
        )
        .await
    }
}

/// Two workers share a session; one refreshes, the other presents the old
/// refresh token after the grace window. Answers whether the session lived on.
async fn stale_refresh(policy: Option<&str>, confidential: bool) -> bool {
    let mut args = vec!["--password-grant-sunset", "2099-12-31"];
    if let Some(p) = policy {
        args.extend(["--refresh-reuse", p]);
    }
    let s = Server::start_with(&args, &[]);
    let client = Client::new(&s, confidential).await;
    let t1 = client.login(&s).await;
    let t2 = client.refresh(&s, &t1["refresh_token"]).await;
    assert_eq!(t2.status, 200, "{}", t2.text);
    s.advance(30);
    let stale = client.refresh(&s, &t1["refresh_token"]).await;
    let lives = stale.code() == "OAU-213";
    if lives {
        stale.assert_error(
            400,
            "invalid_grant",
            "OAU-213",
            &["already exchanged at", "The session lives on", "newest"],
        );
        // The winner's pair goes on working.
        let me = s
            .get_bearer(
                "/restapi/v1.0/account/~/extension/~",
                t2.json["access_token"].as_str().unwrap(),
            )
            .await;
        assert_eq!(me.status, 200, "{}", me.text);
        let t3 = client.refresh(&s, &t2.json["refresh_token"]).await;
        assert_eq!(t3.status, 200, "{}", t3.text);
        assert_eq!(t3.json["session_id"], t1["session_id"]);
    } else {
        stale.assert_error(
            400,
            "invalid_grant",
            "GRD-331",
            &["already exchanged", "ended"],
        );
        let t3 = client.refresh(&s, &t2.json["refresh_token"]).await;
        t3.assert_error(400, "invalid_grant", "OAU-211", &["refresh token reuse"]);
    }
    lives
}

#[tokio::test]
async fn a_stale_refresh_token_by_default_ends_a_public_clients_session_only() {
    assert!(
        stale_refresh(None, true).await,
        "a confidential client's session ended"
    );
    assert!(
        !stale_refresh(None, false).await,
        "a public client's session lived on"
    );
}

#[tokio::test]
async fn refresh_reuse_reject_keeps_every_session() {
    assert!(stale_refresh(Some("reject"), true).await);
    assert!(stale_refresh(Some("reject"), false).await);
}

#[tokio::test]
async fn refresh_reuse_end_session_ends_every_session() {
    assert!(!stale_refresh(Some("end-session"), true).await);
    assert!(!stale_refresh(Some("end-session"), false).await);
}

async fn jwt_login(s: &Server, app: &common::App, jwt: &str) -> serde_json::Value {
    let r = s
        .post_form(
            "/restapi/oauth/token",
            Some((&app.client_id, &app.secret)),
            &format!("grant_type={JWT_GRANT}&assertion={jwt}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn post_bearer(s: &Server, path: &str, token: Option<&str>) -> Reply {
    let mut req = s
        .http
        .post(s.url(path))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(t) = token {
        req = req.header("authorization", format!("bearer {t}"));
    }
    Reply::from(req.send().await.unwrap()).await
}

#[tokio::test]
async fn wstoken_names_the_gateway_and_ends_with_the_session() {
    let gateway = "wss://ws.example.com/ws";
    let s = Server::start_with(&["--ws-uri", gateway], &[]);
    let (app, jwt) = jwt_app(&s).await;
    let t = jwt_login(&s, &app, &jwt).await;
    let at = t["access_token"].as_str().unwrap();
    let r = post_bearer(&s, "/restapi/oauth/wstoken", Some(at)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["uri"], gateway);
    assert_eq!(r.json["expires_in"], 60);
    let ws = r.json["ws_access_token"].as_str().unwrap();
    // A JWT for the gateway, verifiable with the JWKS; introspection by the
    // app tells the gateway it is live and its session's.
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(ws.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], gateway);
    assert_eq!(claims["session_id"], t["session_id"]);
    let auth = Some((app.client_id.as_str(), app.secret.as_str()));
    let live = s
        .post_form("/oauth/introspect", auth, &format!("token={ws}"))
        .await;
    assert_eq!(live.json["active"], true, "{}", live.text);
    // Not an access token for grantd's own API.
    let me = s
        .get_bearer("/restapi/v1.0/account/~/extension/~", ws)
        .await;
    assert_eq!(me.status, 401, "{}", me.text);
    // Logging out ends it too.
    s.post_form("/restapi/oauth/revoke", auth, &format!("token={at}"))
        .await;
    let dead = s
        .post_form("/oauth/introspect", auth, &format!("token={ws}"))
        .await;
    assert_eq!(dead.json["active"], false, "{}", dead.text);
    // No token, no wstoken.
    let r = post_bearer(&s, "/restapi/oauth/wstoken", None).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn wstoken_without_a_gateway_names_the_setting() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    let t = jwt_login(&s, &app, &jwt).await;
    let r = post_bearer(&s, "/restapi/oauth/wstoken", t["access_token"].as_str()).await;
    r.assert_error(404, "not_found", "GRD-600", &["ws.uri", "--ws-uri"]);
}

#[tokio::test]
async fn ringcentral_ui_parameters_may_repeat_at_authorize_oauth_ones_may_not() {
    let s = Server::start();
    let app = browser_app(&s).await;
    let base = format!(
        "/restapi/oauth/authorize?response_type=code&client_id={}&redirect_uri={}\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        app.client_id,
        form_urlencoded::byte_serialize(SPA_CALLBACK.as_bytes()).collect::<String>()
    );
    // As the JS SDK sends array options, plus its empty ones.
    let ui = "&ui_options=hide_logo&ui_options=hide_tos&response_hint=token&response_hint=id_token\
              &login_hint=alice&login_hint=alice%40example.com&ui_locales=en-US&ui_locales=fr-FR\
              &display=page&display=touch&brand_id=1210&brand_id=1210&localeId=en-US&localeId=en-US\
              &state=&prompt=";
    let get = |q: String| {
        let http = s.http.clone();
        let url = s.url(&q);
        async move {
            Reply::from(
                http.get(url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let r = get(format!("{base}{ui}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains("/oauth/authorize/login"),
        "not the sign-in page"
    );
    for dup in [
        "&state=a&state=b",
        "&scope=ReadAccounts&scope=ReadAccounts",
        "&nonce=1&nonce=2",
    ] {
        let r = get(format!("{base}{ui}{dup}")).await;
        assert_eq!(
            r.header("x-error-code"),
            Some("OAU-111"),
            "{dup}: {}",
            r.status
        );
    }
}

#[tokio::test]
async fn access_token_in_the_query_works_on_the_api_with_a_deprecation_header() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    let t = jwt_login(&s, &app, &jwt).await;
    let at = t["access_token"].as_str().unwrap();
    let path = "/restapi/v1.0/account/~/extension/~";
    // As the JS SDK's signUrl() builds it.
    let r = Reply::from(
        s.http
            .get(s.url(&format!("{path}?access_token={at}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["contact"]["email"], "alice@example.com");
    assert!(r.header("deprecation").is_some_and(|d| d.starts_with('@')));
    assert!(r
        .header("link")
        .unwrap_or("")
        .contains("rel=\"deprecation\""));
    // In the header: no Deprecation.
    let r = s.get_bearer(path, at).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("deprecation"), None);
    // Both: which one is meant is not guessed.
    let r = Reply::from(
        s.http
            .get(s.url(&format!("{path}?access_token={at}")))
            .header("authorization", format!("bearer {at}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(
        400,
        "invalid_request",
        "GRD-142",
        &["Authorization header", "once"],
    );
    // A bad token in the query is refused like one in the header, and the
    // URL never reaches the log with it.
    let r = Reply::from(
        s.http
            .get(s.url(&format!("{path}?access_token=not-a-token")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(!s.log().contains(at), "the token reached the log");
}

#[tokio::test]
async fn changing_a_users_password_ends_their_sessions() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    let t = jwt_login(&s, &app, &jwt).await;
    let at = t["access_token"].as_str().unwrap();
    let path = "/restapi/v1.0/account/~/extension/~";
    assert_eq!(s.get_bearer(path, at).await.status, 200);
    let (_, users) = s.admin(Method::GET, "/admin/v1/users", None).await;
    let id = users["users"][0]["id"]
        .as_str()
        .or(users[0]["id"].as_str())
        .unwrap()
        .to_string();
    let (status, body) = s
        .admin(
            Method::PATCH,
            &format!("/admin/v1/users/{id}"),
            Some(json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    let r = s.get_bearer(path, at).await;
    r.assert_error(401, "invalid_token", "GRD-341", &["session has ended"]);
    let r = refresh(&s, &app, t["refresh_token"].as_str().unwrap(), "").await;
    r.assert_error(400, "invalid_grant", "OAU-211", &["password changed"]);
    // Too short: refused, nothing ends.
    let (status, body) = s
        .admin(
            Method::PATCH,
            &format!("/admin/v1/users/{id}"),
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn client_info_names_the_tokens_app() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    let t = jwt_login(&s, &app, &jwt).await;
    let r = s
        .get_bearer(
            "/restapi/v1.0/client-info",
            t["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["client"]["appId"], app.client_id.as_str());
    assert_eq!(r.json["client"]["appName"], "Acme Phone");
    assert!(r.header("rcrequestid").is_some());
    let r = Reply::from(
        s.http
            .get(s.url("/restapi/v1.0/client-info"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

async fn generate_code(s: &Server, token: &str, body: serde_json::Value) -> Reply {
    Reply::from(
        s.http
            .post(s.url("/restapi/v1.0/interop/generate-code"))
            .header("authorization", format!("bearer {token}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn interop_generate_code_signs_the_user_in_to_another_app_of_the_account() {
    let s = Server::start();
    let source = s
        .server_only_app(json!({"name": "Acme Phone", "grants": ["jwt_bearer"],
                                 "scopes": ["ReadAccounts", "Interoperability"]}))
        .await;
    let plain = s
        .server_only_app(json!({"name": "Acme Plain", "grants": ["jwt_bearer"]}))
        .await;
    let user = s
        .create_user(json!({"email": "alice@example.com", "name": "Alice Smith",
                            "password": "correct horse battery"}))
        .await;
    let (_, jwt) = s
        .create_credential(user["id"].as_str().unwrap(), json!({"label": "x"}))
        .await;
    let web_cb = "https://web.example.com/callback";
    let web = common::App::from(
        s.create_app(json!({"name": "Acme Web", "platform_type": "server-web",
                            "redirect_uris": [web_cb], "scopes": ["ReadAccounts"]}))
            .await,
    );
    let token = jwt_login(&s, &source, &jwt).await;
    let at = token["access_token"].as_str().unwrap();

    let r = generate_code(&s, at, json!({"clientId": web.client_id})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["expires_in"], 60);
    let code = r.json["code"].as_str().unwrap();
    // The target app exchanges it as any code, and gets the same user.
    let t = s
        .post_form(
            "/restapi/oauth/token",
            Some((&web.client_id, &web.secret)),
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.json["owner_id"], user["id"]);
    assert_eq!(t.json["scope"], "ReadAccounts");

    // Each refusal names its cause.
    let r = generate_code(&s, at, json!({"clientId": "no-such-app"})).await;
    r.assert_error(400, "invalid_request", "GRD-602", &["no-such-app"]);
    let r = generate_code(&s, at, json!({"clientId": plain.client_id})).await;
    r.assert_error(
        400,
        "unauthorized_client",
        "GRD-603",
        &["authorization_code"],
    );
    let r = generate_code(&s, at, json!({})).await;
    r.assert_error(400, "invalid_request", "GRD-105", &["clientId"]);
    let without = jwt_login(&s, &plain, &jwt).await;
    let r = generate_code(
        &s,
        without["access_token"].as_str().unwrap(),
        json!({"clientId": web.client_id}),
    )
    .await;
    r.assert_error(403, "insufficient_scope", "GRD-601", &["Interoperability"]);
}

#[tokio::test]
async fn an_accounts_session_policy_is_told_and_enforced() {
    let s = Server::start();
    let (app, jwt) = jwt_app(&s).await;
    let account = app.json["account_id"].as_str().unwrap().to_string();
    let (status, body) = s
        .admin(
            Method::PATCH,
            &format!("/admin/v1/accounts/{account}"),
            Some(json!({"session_expires_in": 3600, "session_idle_timeout": 600})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let t = jwt_login(&s, &app, &jwt).await;
    assert_eq!(t["session_expires_in"], 3600);
    assert_eq!(t["session_idle_timeout"], 600);
    assert!(t["session_expiration_time"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // Refreshed in time: goes on, counting down to the same end.
    s.advance(500);
    let r = refresh(&s, &app, t["refresh_token"].as_str().unwrap(), "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let left = r.json["session_expires_in"].as_u64().unwrap();
    assert!((3090..=3100).contains(&left), "{left}");
    assert_eq!(
        r.json["session_expiration_time"],
        t["session_expiration_time"]
    );
    // Idle too long: the session ends, and says why.
    s.advance(700);
    let stale = refresh(&s, &app, r.json["refresh_token"].as_str().unwrap(), "").await;
    stale.assert_error(400, "invalid_grant", "OAU-211", &["session_idle_timeout"]);

    // However often refreshed, the session ends at its absolute end.
    let t = jwt_login(&s, &app, &jwt).await;
    let mut rt = t["refresh_token"].as_str().unwrap().to_string();
    let mut last = None;
    for _ in 0..8 {
        s.advance(500);
        let r = refresh(&s, &app, &rt, "").await;
        if r.status != 200 {
            last = Some(r);
            break;
        }
        rt = r.json["refresh_token"].as_str().unwrap().to_string();
    }
    let last = last.expect("the session outlived session_expires_in");
    last.assert_error(400, "invalid_grant", "OAU-211", &["session_expires_in"]);

    // Cleared: no fields; out of range: refused, naming the field.
    let path = format!("/admin/v1/accounts/{account}");
    s.admin(Method::PATCH, &path, Some(json!({}))).await;
    let t = jwt_login(&s, &app, &jwt).await;
    assert!(t.get("session_expires_in").is_none() && t.get("session_idle_timeout").is_none());
    let (status, body) = s
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"session_idle_timeout": 5})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("session_idle_timeout"));
}
