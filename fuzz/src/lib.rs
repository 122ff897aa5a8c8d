//! What the fuzz targets share: checks every parser's output must pass, and a
//! grantd on an in-memory SQLite store (apps, a user, a JWT credential and a
//! token of each kind), built once per fuzzing process.

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use grantd_core::apps::AppSpec;
use grantd_core::clock::SystemClock;
use grantd_core::credentials::CredentialSpec;
use grantd_core::crypto::Kek;
use grantd_core::model::{App, SigningAlg};
use grantd_core::users::UserSpec;
use grantd_core::{CoreConfig, Grantd, Policy};
use grantd_protocol::{ClientAuth, OAuthError, Params};
use grantd_server::client_ip::TrustedProxies;
use grantd_server::{AppState, EdgeSettings};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

pub const ISSUER: &str = "http://127.0.0.1:8080";
pub const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789abcdef";

/// An error description may quote what the client sent, but never raw
/// markup or control characters: descriptions travel in redirects and pages.
pub fn check_error(e: &OAuthError) {
    check_description(&e.description);
}

/// The catalog's own placeholders are the only markup-like text allowed.
pub fn check_description(d: &str) {
    let mut rest = d.to_string();
    for placeholder in [
        "<access_token>",
        "<the credential>",
        "<admin token>",
        "<the JWT>",
        "<the signed JWT>",
        "<it>",
        "<token>",
        "<initial access token>",
        "<jkt>",
        "<request-id>",
        "<server host>",
    ] {
        rest = rest.replace(placeholder, "");
    }
    assert!(
        !rest.contains(['<', '>', '`']) && !rest.chars().any(|c| c.is_control()),
        "unescaped input in {d:?}"
    );
}

/// Checks either side of a parse result: `Ok` values are the caller's to
/// check, errors are checked here.
pub fn check<T>(r: Result<T, OAuthError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            check_error(&e);
            None
        }
    }
}

/// Splits `data` at the first `sep`: (before, after), or (all, None).
pub fn split(data: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|b| *b == sep) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// A token of each kind the fixture obtained, for targets to present and mutate.
pub struct Tokens {
    /// A JWT credential (the jwt-bearer assertion).
    pub credential: String,
    /// A JWT access token for the user, and its refresh token.
    pub access_jwt: String,
    pub refresh: String,
    /// An opaque access token (from the opaque app's client credentials).
    pub access_opaque: String,
    /// A JWT access token for the app itself (client credentials).
    pub app_jwt: String,
}

impl Tokens {
    pub fn all(&self) -> [&str; 5] {
        [
            &self.credential,
            &self.access_jwt,
            &self.refresh,
            &self.access_opaque,
            &self.app_jwt,
        ]
    }
}

pub struct Fixture {
    pub grantd: Arc<Grantd>,
    pub state: AppState,
    pub router: Router,
    /// Server-only, JWT access tokens: jwt_bearer, client_credentials, refresh_token.
    pub app: Arc<App>,
    pub app_secret: String,
    /// Server-only with opaque access tokens.
    pub opaque_app: Arc<App>,
    /// Server-web with a registered redirect URI (the browser pages).
    pub web_app: Arc<App>,
    /// Changed by the admin-JSON target; nothing else relies on it.
    pub scratch_app: Arc<App>,
    pub user_id: String,
    /// A signed-in browser's session cookie value for the user.
    pub browser_session: String,
    pub kid: String,
    pub tokens: Tokens,
}

/// The process's fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

fn spec(v: serde_json::Value) -> AppSpec {
    serde_json::from_value(v).expect("app spec")
}

/// The process's runtime: one thread, driven by each `block_on`.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn build() -> Fixture {
    rt().block_on(async {
        let store = Arc::new(
            grantd_store::SqliteStore::open("sqlite::memory:")
                .await
                .expect("in-memory store"),
        );
        let config = CoreConfig {
            issuer: ISSUER.into(),
            audience: ISSUER.into(),
            signing_alg: SigningAlg::ES256,
            admin_token: Some(ADMIN_TOKEN.into()),
            jwt_leeway: 60,
            policy: Policy::default(),
        };
        let (grantd, _) = Grantd::open(
            store,
            Arc::new(SystemClock),
            Kek::from_bytes(&[7u8; 32]).expect("kek"),
            config,
        )
        .await
        .expect("grantd");
        let grantd = Arc::new(grantd);
        let created = grantd
            .create_app(spec(serde_json::json!({
                "name": "Fuzz Sync", "platform_type": "server-only",
                "grants": ["jwt_bearer", "client_credentials", "refresh_token"],
                "scopes": ["ReadAccounts", "SMS"]})))
            .await
            .expect("app");
        let app_secret = created.client_secret.expect("secret").expose().to_string();
        let app = Arc::new(created.app);
        let opaque = grantd
            .create_app(spec(serde_json::json!({
                "name": "Fuzz Opaque", "platform_type": "server-only",
                "grants": ["client_credentials"], "access_token_format": "opaque",
                "scopes": ["ReadAccounts"]})))
            .await
            .expect("opaque app");
        let opaque_secret = opaque.client_secret.expect("secret").expose().to_string();
        let web_app = grantd
            .create_app(spec(serde_json::json!({
                "name": "Fuzz Web", "platform_type": "server-web",
                "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:9000/cb"],
                "scopes": ["openid", "profile", "ReadAccounts"]})))
            .await
            .expect("web app")
            .app;
        let scratch_app = grantd
            .create_app(spec(serde_json::json!({
                "name": "Fuzz Scratch", "platform_type": "server-web",
                "redirect_uris": ["https://scratch.example.com/cb"]})))
            .await
            .expect("scratch app")
            .app;
        let user: UserSpec = serde_json::from_value(serde_json::json!({
            "email": "fuzz@example.com", "name": "Fuzz User", "extension_number": "101"}))
        .expect("user spec");
        let user = grantd.create_user(user).await.expect("user");
        let credential = grantd
            .create_credential(&user.id, CredentialSpec::default())
            .await
            .expect("credential")
            .jwt;
        let basic = |id: &str, secret: &str| ClientAuth::Basic {
            client_id: id.to_string(),
            secret: grantd_protocol::Secret::new(secret),
        };
        let token = |auth: ClientAuth, body: String| {
            let grantd = grantd.clone();
            async move {
                let params = Params::parse(body.as_bytes()).expect("params");
                grantd.token(&auth, &params).await.expect("token").response
            }
        };
        let auth = basic(&app.client_id, &app_secret);
        let pair = token(
            auth.clone(),
            form(&[
                ("grant_type", grantd_protocol::grant::JWT_BEARER_URN),
                ("assertion", &credential),
            ]),
        )
        .await;
        let app_jwt = token(auth, "grant_type=client_credentials".into())
            .await
            .access_token;
        let access_opaque = token(
            basic(&opaque.app.client_id, &opaque_secret),
            "grant_type=client_credentials".into(),
        )
        .await
        .access_token;
        let browser_session = grantd
            .open_browser_session(&user)
            .await
            .expect("browser session");
        let kid = jsonwebtoken::decode_header(&credential)
            .expect("header")
            .kid
            .expect("kid");
        let state = AppState::new(
            grantd.clone(),
            EdgeSettings {
                // High enough never to pause anyone, so the limiter and the
                // forwarded-address parsing run on every request.
                auth_failure_limit: 1_000_000,
                trusted_proxies: TrustedProxies::parse(&["127.0.0.0/8", "::1"]).expect("proxies"),
                body_read_timeout: Duration::from_secs(1),
                ..EdgeSettings::default()
            },
        );
        Fixture {
            router: grantd_server::router(state.clone()),
            state,
            grantd,
            app,
            app_secret,
            opaque_app: Arc::new(opaque.app),
            web_app: Arc::new(web_app),
            scratch_app: Arc::new(scratch_app),
            user_id: user.id,
            browser_session,
            kid,
            tokens: Tokens {
                credential,
                access_jwt: pair.access_token,
                refresh: pair.refresh_token.expect("refresh token"),
                access_opaque,
                app_jwt,
            },
        }
    })
}

impl Fixture {
    /// Replaces the placeholders seeds use with this process's values:
    /// `$CLIENT`, `$SECRET`, `$BASIC` (the app's Basic header value),
    /// `$WEB` (the web app's client id), `$SESSION` (a browser session),
    /// `$CREDENTIAL`, `$ACCESS`, `$REFRESH`, `$OPAQUE`, `$APPJWT`, `$USER`.
    pub fn fill(&self, s: &str) -> String {
        use base64::Engine;
        if !s.contains('$') {
            return s.to_string();
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.app.client_id, self.app_secret));
        s.replace("$CLIENT", &self.app.client_id)
            .replace("$SECRET", &self.app_secret)
            .replace("$BASIC", &format!("Basic {basic}"))
            .replace("$WEB", &self.web_app.client_id)
            .replace("$SESSION", &self.browser_session)
            .replace("$CREDENTIAL", &self.tokens.credential)
            .replace("$ACCESS", &self.tokens.access_jwt)
            .replace("$REFRESH", &self.tokens.refresh)
            .replace("$OPAQUE", &self.tokens.access_opaque)
            .replace("$APPJWT", &self.tokens.app_jwt)
            .replace("$USER", &self.user_id)
    }
}

/// Encodes pairs as a form body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// What came back from the router.
pub struct Answer {
    /// The request was HEAD: no body to judge.
    pub head: bool,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Fixture {
    /// Sends one request through the whole HTTP application, as if from a
    /// loopback peer, and reads the answer.
    pub fn send(&self, mut req: Request<Body>) -> Answer {
        let head = req.method() == axum::http::Method::HEAD;
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))));
        rt().block_on(async {
            let res = self
                .router
                .clone()
                .oneshot(req)
                .await
                .expect("the router is infallible");
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            Answer {
                head,
                status,
                content_type,
                body,
            }
        })
    }
}

impl Answer {
    /// What every answer must be: no server error, errors from the catalog
    /// (JSON with `error` and `errors[0].errorCode`, or an HTML page), and
    /// no markup from the request reflected.
    pub fn check(&self) {
        let text = String::from_utf8_lossy(&self.body);
        assert!(self.status < 500, "{}: {text}", self.status);
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.contains("<script") && !lower.contains("<svg") && !lower.contains("<img"),
            "markup reflected: {text}"
        );
        if self.head {
            return;
        }
        if self.status >= 400 && self.content_type.starts_with("application/json") {
            let v: serde_json::Value = serde_json::from_slice(&self.body).expect("error JSON");
            assert!(v["error"].is_string(), "{text}");
            assert!(v["errors"][0]["errorCode"].is_string(), "{text}");
            check_description(v["error_description"].as_str().unwrap_or(""));
        } else if self.status >= 400 {
            assert!(
                self.content_type.starts_with("text/html"),
                "{} with content type {:?}",
                self.status,
                self.content_type
            );
        }
    }
}
