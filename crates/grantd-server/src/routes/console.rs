//! The developer console (`/console`): for signed-in developers and
//! administrators, their account's apps and, per app, the troubleshooter
//! (rejected requests with cause, fix and decision trace). Server-rendered,
//! no JavaScript; the authorization pages' browser session, CSRF cookies,
//! CSP and headers.

use super::authorize::{
    check_csrf, cookie, csrf_for, names, page_with_scripts, redirect, secure, set_cookie,
};
use crate::extract::read_form;
use crate::ratelimit::{Attempt, Identity};
use crate::reject::Rejection;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use grantd_core::authorize::BROWSER_SESSION_TTL;
use grantd_core::console::check_console_user;
use grantd_core::crypto::rfc3339;
use grantd_core::model::{App, User};
use grantd_core::rejections::read_filter;
use grantd_core::users::Login;
use grantd_protocol::{Code, OAuthError, Params};

/// The OAuth endpoints the troubleshooter filters by.
const ENDPOINTS: &[&str] = &[
    "/oauth/token",
    "/oauth/authorize",
    "/oauth/revoke",
    "/oauth/introspect",
    "/oauth/device_authorization",
    "/oauth/userinfo",
];

#[derive(Template)]
#[template(path = "console_signin.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    error_code: Option<&'static str>,
}

struct AppRow {
    client_id: String,
    name: String,
    platform: &'static str,
    grants: String,
}

#[derive(Template)]
#[template(path = "console_apps.html")]
struct AppsPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    flash: Option<&'a str>,
    apps: Vec<AppRow>,
}

struct RejectionRow {
    time: String,
    endpoint: String,
    grant: String,
    code: String,
    description: String,
    fix: &'static str,
    client_ip: String,
    user_agent: String,
    request_id: String,
}

#[derive(Template)]
#[template(path = "console_app.html")]
struct AppPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    name: &'a str,
    client_id: &'a str,
    platform: &'static str,
    client_type: &'static str,
    /// How a self-registered app registered (RFC 7591); none for the others.
    registered: Option<String>,
    grants: String,
    scopes: String,
    redirect_uris: Vec<String>,
    code: &'a str,
    endpoint: &'a str,
    endpoints: &'static [&'static str],
    error: Option<&'a str>,
    error_code: Option<&'static str>,
    rejections: Vec<RejectionRow>,
    snippets: Vec<super::console_snippets::Snippet>,
    days: Vec<grantd_core::usage::UsageDay>,
    distribution: &'static str,
    confidential: bool,
    flash: Option<&'a str>,
    /// A secret just made by rotation: shown this once.
    secret: Option<&'a str>,
    settings: SettingsView,
    /// The settings form's or the rotation's refusal, beside its field.
    settings_error: Option<&'a str>,
    settings_error_code: Option<&'static str>,
    settings_error_field: &'a str,
}

/// The app settings form's values: the app's, or those just posted.
struct SettingsView {
    name: String,
    /// (grant, why, checked): only the platform type's grants.
    grants: Vec<(&'static str, &'static str, bool)>,
    redirect_uris: String,
    scopes: String,
    allowed_origins: String,
    access_token_ttl: String,
    refresh_token_ttl: String,
    issue_refresh_tokens: String,
    access_token_format: String,
    jwks: String,
    jwks_uri: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    resource_uris: String,
    /// `none` or `fapi2`.
    profile: String,
    require_par: bool,
    require_dpop: bool,
    require_signed_request_object: bool,
    /// The app's revision as loaded: a refused form keeps the one it was
    /// loaded at, so saving it again is refused too once the app changed.
    revision: String,
}

impl SettingsView {
    fn new(app: &App, form: Option<&grantd_core::console::AppForm>) -> SettingsView {
        use grantd_core::console::grant_words;
        let grants = app
            .platform_type
            .allowed_grants()
            .iter()
            .map(|g| {
                let checked = match form {
                    Some(f) => f.grants.iter().any(|x| x == g.as_str()),
                    None => app.has_grant(*g),
                };
                (g.as_str(), grant_words(*g), checked)
            })
            .collect();
        match form {
            Some(f) => SettingsView {
                name: f.name.clone(),
                grants,
                redirect_uris: f.redirect_uris.clone(),
                scopes: f.scopes.clone(),
                allowed_origins: f.allowed_origins.clone(),
                access_token_ttl: f.access_token_ttl.clone(),
                refresh_token_ttl: f.refresh_token_ttl.clone(),
                issue_refresh_tokens: f.issue_refresh_tokens.clone(),
                access_token_format: f.access_token_format.clone(),
                jwks: f.jwks.clone(),
                jwks_uri: f.jwks_uri.clone(),
                post_logout_redirect_uris: f.post_logout_redirect_uris.clone(),
                backchannel_logout_uri: f.backchannel_logout_uri.clone(),
                resource_uris: f.resource_uris.clone(),
                profile: f
                    .security
                    .as_ref()
                    .map(|s| s.profile.clone())
                    .unwrap_or_default(),
                require_par: f.security.as_ref().is_some_and(|s| s.require_par),
                require_dpop: f.security.as_ref().is_some_and(|s| s.require_dpop),
                require_signed_request_object: f
                    .security
                    .as_ref()
                    .is_some_and(|s| s.require_signed_request_object),
                revision: f.revision.clone(),
            },
            None => SettingsView {
                name: app.name.clone(),
                grants,
                redirect_uris: app
                    .redirect_uris
                    .iter()
                    .map(|u| u.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                scopes: app.scopes.to_string(),
                allowed_origins: app.allowed_origins.join("\n"),
                access_token_ttl: app.access_token_ttl.to_string(),
                refresh_token_ttl: app.refresh_token_ttl.to_string(),
                issue_refresh_tokens: if app.issue_refresh_tokens {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                access_token_format: app.access_token_format.as_str().into(),
                jwks: app
                    .jwks
                    .as_ref()
                    .and_then(|k| serde_json::to_string_pretty(k).ok())
                    .unwrap_or_default(),
                jwks_uri: app.jwks_uri.clone().unwrap_or_default(),
                post_logout_redirect_uris: app.links.post_logout_redirect_uris.join("\n"),
                backchannel_logout_uri: app
                    .links
                    .backchannel_logout_uri
                    .clone()
                    .unwrap_or_default(),
                resource_uris: app.links.resource_uris.join("\n"),
                profile: app
                    .security
                    .profile
                    .map(|p| p.as_str())
                    .unwrap_or("none")
                    .into(),
                require_par: app.security.require_par,
                require_dpop: app.security.require_dpop,
                require_signed_request_object: app.security.require_signed_request_object,
                revision: app.revision.to_string(),
            },
        }
    }
}

/// The app forms' fields as posted (register and edit).
fn app_form(params: &Params) -> grantd_core::console::AppForm {
    let get = |n: &str| params.get(n).unwrap_or_default().to_string();
    grantd_core::console::AppForm {
        platform: get("platform"),
        name: get("name"),
        grants: params
            .names()
            .filter_map(|n| n.strip_prefix("grant."))
            .map(str::to_string)
            .collect(),
        redirect_uris: get("redirect_uris"),
        scopes: get("scopes"),
        distribution: get("distribution"),
        issue_refresh_tokens: get("issue_refresh_tokens"),
        access_token_ttl: get("access_token_ttl"),
        refresh_token_ttl: get("refresh_token_ttl"),
        access_token_format: get("access_token_format"),
        allowed_origins: get("allowed_origins"),
        jwks: get("jwks"),
        jwks_uri: get("jwks_uri"),
        post_logout_redirect_uris: get("post_logout_redirect_uris"),
        backchannel_logout_uri: get("backchannel_logout_uri"),
        resource_uris: get("resource_uris"),
        // The settings form says it carries the security fields, since an
        // unticked checkbox sends nothing.
        security: params
            .contains("security")
            .then(|| grantd_core::console::SecurityForm {
                profile: get("profile"),
                require_par: params.contains("require_par"),
                require_dpop: params.contains("require_dpop"),
                require_signed_request_object: params.contains("require_signed_request_object"),
            }),
        revision: get("revision"),
    }
}

#[derive(Template)]
#[template(path = "console_request.html")]
struct RequestPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    app_name: &'a str,
    client_id: &'a str,
    request_id: &'a str,
    time: String,
    endpoint: &'a str,
    grant: &'a str,
    code: &'a str,
    message: &'static str,
    description: &'a str,
    fix: &'static str,
    client_ip: &'a str,
    user_agent: &'a str,
    steps: &'a [grantd_core::trace::Step],
}

/// A console request: headers and parameters (query for GET, form for POST).
pub(super) struct PageRequest {
    pub(super) headers: HeaderMap,
    pub(super) params: Params,
    attempt: Option<Attempt>,
    /// The client's address (behind trusted proxies, the forwarded one),
    /// for the audit log.
    pub(super) source: String,
}

impl PageRequest {
    pub(super) async fn read(s: &AppState, req: Request) -> Result<PageRequest, Response> {
        let attempt = req.extensions().get::<Attempt>().cloned();
        let source = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| s.proxies.client_ip(c.0, req.headers()).to_string())
            .unwrap_or_default();
        let (parts, body) = req.into_parts();
        let params = if parts.method == Method::POST {
            read_form(&parts.headers, body, s.body_read_timeout)
                .await
                .map_err(|r| r.0)
        } else {
            Params::parse_query(parts.uri.query())
        };
        match params {
            Ok(params) => Ok(PageRequest {
                headers: parts.headers,
                params,
                attempt,
                source,
            }),
            Err(e) => Err(Rejection(e).into_response()),
        }
    }

    /// The signed-in console user; otherwise the answer to give (the
    /// sign-in form, or the role's refusal).
    pub(super) async fn user(&self, s: &AppState) -> Result<User, Response> {
        let signed_in = s
            .grantd
            .browser_user(cookie(&self.headers, names(s).session))
            .await
            .map_err(|e| Rejection(e).into_response())?;
        let Some((user, _)) = signed_in else {
            return Err(sign_in_page(s, self, StatusCode::OK, None));
        };
        if let Err(e) = check_console_user(&user) {
            return Err(sign_in_page(s, self, StatusCode::FORBIDDEN, Some(&e)));
        }
        Ok(user)
    }
}

/// A console page: the authorization pages' headers, and a CSP that admits
/// the console's own script (copy buttons).
pub(super) fn page(
    s: &AppState,
    status: StatusCode,
    html: Result<String, askama::Error>,
    redirect: Option<&str>,
    csrf: Option<&str>,
) -> Response {
    page_with_scripts(s, status, html, redirect, csrf, true)
}

pub(super) fn with_error_code(mut res: Response, e: Option<&OAuthError>) -> Response {
    if let Some(e) = e {
        res.headers_mut()
            .insert("x-error-code", HeaderValue::from_static(e.entry().code));
    }
    res
}

pub(super) fn status_of(e: &OAuthError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
}

fn sign_in_page(
    s: &AppState,
    r: &PageRequest,
    status: StatusCode,
    error: Option<&OAuthError>,
) -> Response {
    let csrf = csrf_for(s, &r.headers);
    let html = SignInPage {
        csrf: &csrf,
        username: r.params.get("username").unwrap_or_default(),
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

fn grants_of(app: &App) -> String {
    grantd_protocol::grant::join(&app.grants)
}

/// `GET /console`: the apps of the signed-in user's account.
pub async fn apps(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let apps = match s.grantd.console_apps(&user).await {
        Ok(a) => a,
        Err(e) => return Rejection(e).into_response(),
    };
    let flash = match r.params.get("done") {
        Some("signed-in") => Some("Signed in."),
        _ => None,
    };
    let csrf = csrf_for(&s, &r.headers);
    let html = AppsPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        flash,
        apps: apps
            .iter()
            .map(|a| AppRow {
                client_id: a.client_id.clone(),
                name: a.name.clone(),
                platform: a.platform_type.as_str(),
                grants: grants_of(a),
            })
            .collect(),
    }
    .render();
    page(&s, StatusCode::OK, html, None, Some(&csrf))
}

/// What the app page shows besides the app: the outcome of a form.
#[derive(Default)]
struct AppOutcome<'a> {
    status: Option<StatusCode>,
    flash: Option<&'a str>,
    secret: Option<&'a str>,
    form: Option<&'a grantd_core::console::AppForm>,
    error: Option<&'a OAuthError>,
}

/// `GET /console/apps/{client_id}`: an app's settings and its troubleshooter
/// (filter with `code` and `endpoint`). `POST`: saves the settings form.
pub async fn app(State(s): State<AppState>, req: Request) -> Response {
    let posted = req.method() == Method::POST;
    let client_id = req
        .uri()
        .path()
        .trim_start_matches("/console/apps/")
        .to_string();
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let app = match s.grantd.console_app(&user, &client_id).await {
        Ok(a) => a,
        Err(e) => return console_error(&s, &r, &user, &e),
    };
    if !posted {
        let flash = match r.params.get("done") {
            Some("saved") => Some("Settings saved."),
            _ => None,
        };
        return app_page(
            &s,
            &r,
            &user,
            &app,
            AppOutcome {
                flash,
                ..Default::default()
            },
        )
        .await;
    }
    let form = app_form(&r.params);
    let saved = match check_csrf(&s, &r.headers, &r.params) {
        Ok(()) => s.grantd.console_update_app(&user, &client_id, &form).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => redirect(&format!("/console/apps/{client_id}?done=saved")),
        Err(e) => {
            tracing::info!(
                code = e.entry().code,
                client_id,
                "console app settings refused"
            );
            app_page(
                &s,
                &r,
                &user,
                &app,
                AppOutcome {
                    status: Some(status_of(&e)),
                    form: Some(&form),
                    error: Some(&e),
                    ..Default::default()
                },
            )
            .await
        }
    }
}

/// `POST /console/apps/{client_id}/secret`: a new client secret for a
/// confidential app, once the confirmation box is ticked; shown this once.
pub async fn rotate_secret(State(s): State<AppState>, req: Request) -> Response {
    let client_id = req
        .uri()
        .path()
        .trim_start_matches("/console/apps/")
        .trim_end_matches("/secret")
        .to_string();
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let app = match s.grantd.console_app(&user, &client_id).await {
        Ok(a) => a,
        Err(e) => return console_error(&s, &r, &user, &e),
    };
    let checked = check_csrf(&s, &r.headers, &r.params).and_then(|()| {
        if r.params.get("confirm") == Some("yes") {
            Ok(())
        } else {
            Err(OAuthError::invalid_parameter(
                "confirm",
                "tick the box to confirm: the current client secret stops working at once",
            ))
        }
    });
    let rotated = match checked {
        Ok(()) => s.grantd.console_rotate_secret(&user, &client_id).await,
        Err(e) => Err(e),
    };
    match rotated {
        Ok((app, secret)) => {
            app_page(
                &s,
                &r,
                &user,
                &app,
                AppOutcome {
                    flash: Some("Client secret rotated: the old one no longer works."),
                    secret: Some(secret.expose()),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => {
            tracing::info!(
                code = e.entry().code,
                client_id,
                "console secret rotation refused"
            );
            app_page(
                &s,
                &r,
                &user,
                &app,
                AppOutcome {
                    status: Some(status_of(&e)),
                    error: Some(&e),
                    ..Default::default()
                },
            )
            .await
        }
    }
}

async fn app_page(
    s: &AppState,
    r: &PageRequest,
    user: &User,
    app: &App,
    outcome: AppOutcome<'_>,
) -> Response {
    let client_id = app.client_id.as_str();
    let code = r.params.get("code").unwrap_or_default().trim();
    let endpoint = r.params.get("endpoint").unwrap_or_default();
    let filter = read_filter(
        [("code", code), ("endpoint", endpoint)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty()),
    );
    let (list, error) = match filter {
        Ok(f) => match s.grantd.console_rejections(user, client_id, &f).await {
            Ok((_, list)) => (list, None),
            Err(e) => return Rejection(e).into_response(),
        },
        Err(e) => (Vec::new(), Some(e)),
    };
    let days = match s.grantd.app_usage(client_id).await {
        Ok(d) => d,
        Err(e) => return Rejection(e).into_response(),
    };
    let registered = match s.grantd.registration_of(client_id).await {
        Ok(r) => r.map(|r| match r.initial_token_label {
            Some(label) => {
                format!("registered dynamically (RFC 7591) with the initial access token '{label}'")
            }
            None => "registered dynamically (RFC 7591), by open registration".to_string(),
        }),
        Err(e) => return Rejection(e).into_response(),
    };
    let csrf = csrf_for(s, &r.headers);
    let settings_error = outcome.error;
    let html = AppPage {
        registered,
        snippets: super::console_snippets::snippets(s.issuer(), app),
        days,
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        name: &app.name,
        client_id,
        platform: app.platform_type.as_str(),
        client_type: if app.is_confidential() {
            "confidential: it has a client secret"
        } else {
            "public: no client secret"
        },
        grants: grants_of(app),
        scopes: app.scopes.to_string(),
        redirect_uris: app.redirect_uris.iter().map(|u| u.to_string()).collect(),
        code,
        endpoint,
        endpoints: ENDPOINTS,
        error: error.as_ref().map(|e| e.description.as_str()),
        error_code: error.as_ref().map(|e| e.entry().code),
        rejections: list
            .iter()
            .map(|x| RejectionRow {
                time: rfc3339(x.at),
                endpoint: x.endpoint.clone(),
                grant: x.grant.clone().unwrap_or_else(|| "-".into()),
                code: x.code.clone(),
                description: x.description.clone(),
                fix: x.fix(),
                client_ip: x.client_ip.clone().unwrap_or_else(|| "-".into()),
                user_agent: x.user_agent.clone().unwrap_or_default(),
                request_id: x.request_id.clone(),
            })
            .collect(),
        distribution: app.distribution.as_str(),
        confidential: app.is_confidential(),
        flash: outcome.flash,
        secret: outcome.secret,
        settings: SettingsView::new(app, outcome.form),
        settings_error: settings_error.map(|e| e.description.as_str()),
        settings_error_code: settings_error.map(|e| e.entry().code),
        settings_error_field: settings_error.and_then(|e| e.parameter).unwrap_or(""),
    }
    .render();
    let status = match (outcome.status, &error) {
        (Some(st), _) => st,
        (None, Some(_)) => StatusCode::BAD_REQUEST,
        (None, None) => StatusCode::OK,
    };
    with_error_code(
        page(s, status, html, None, Some(&csrf)),
        settings_error.or(error.as_ref()),
    )
}

/// `GET /console/requests/{request_id}`: one rejected request and its trace.
pub async fn request(State(s): State<AppState>, req: Request) -> Response {
    let request_id = req
        .uri()
        .path()
        .trim_start_matches("/console/requests/")
        .to_string();
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let (app, x) = match s.grantd.console_rejection(&user, &request_id).await {
        Ok(found) => found,
        Err(e) => return console_error(&s, &r, &user, &e),
    };
    let csrf = csrf_for(&s, &r.headers);
    let html = RequestPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        app_name: &app.name,
        client_id: &app.client_id,
        request_id: &x.request_id,
        time: rfc3339(x.at),
        endpoint: &x.endpoint,
        grant: x.grant.as_deref().unwrap_or("-"),
        code: &x.code,
        message: x.message(),
        description: &x.description,
        fix: x.fix(),
        client_ip: x.client_ip.as_deref().unwrap_or("-"),
        user_agent: x.user_agent.as_deref().unwrap_or("-"),
        steps: &x.trace.steps,
    }
    .render();
    page(&s, StatusCode::OK, html, None, Some(&csrf))
}

/// A refusal inside the console: the app list with the error above it.
pub(super) fn console_error(
    s: &AppState,
    r: &PageRequest,
    user: &User,
    e: &OAuthError,
) -> Response {
    tracing::info!(code = e.entry().code, "console request refused");
    let csrf = csrf_for(s, &r.headers);
    let html = AppsPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        flash: None,
        apps: Vec::new(),
    }
    .render()
    .map(|body| {
        body.replacen(
            "<h1>Apps</h1>",
            &format!(
                "<div class=\"error\" role=\"alert\"><p>{}</p><p class=\"note\"><a href=\"/docs/errors/{code}\">{code}</a> · <a href=\"/console\">Back to your apps</a></p></div>",
                askama_escape(&e.description),
                code = e.entry().code
            ),
            1,
        )
    });
    with_error_code(page(s, status_of(e), html, None, Some(&csrf)), Some(e))
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// `POST /console/login`: the console's sign-in form (the same browser
/// session as the authorization pages).
pub async fn login(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return sign_in_page(&s, &r, StatusCode::BAD_REQUEST, Some(&e));
    }
    let user = async {
        let username = r.params.require("username", "to sign in")?;
        if let Some(a) = &r.attempt {
            a.identify(Identity::Login(username))?;
        }
        let password = r
            .params
            .secret("password")
            .ok_or_else(|| OAuthError::missing_parameter("password", "to sign in"))?;
        let login = Login::parse(username, r.params.get("extension"))?;
        let user = s.grantd.authenticate_user(&login, password).await?;
        check_console_user(&user)?;
        Ok::<_, OAuthError>(user)
    }
    .await;
    let user = match user {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(code = e.entry().code, "console sign-in failed");
            let status = match e.code {
                Code::RateExceeded => StatusCode::TOO_MANY_REQUESTS,
                Code::ConsoleRoleRequired => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            return sign_in_page(&s, &r, status, Some(&e));
        }
    };
    let session = match s.grantd.open_browser_session(&user).await {
        Ok(c) => c,
        Err(e) => return Rejection(e).into_response(),
    };
    tracing::info!(user_id = %user.id, "signed in to the console");
    let mut res = redirect("/console?done=signed-in");
    set_cookie(
        &mut res,
        secure(&s),
        names(&s).session,
        &session,
        "/",
        BROWSER_SESSION_TTL,
    );
    res
}

/// `POST /console/signout`: ends the browser's sign-in.
pub async fn signout(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return sign_in_page(&s, &r, StatusCode::BAD_REQUEST, Some(&e));
    }
    if let Some(c) = cookie(&r.headers, names(&s).session) {
        if let Err(e) = s.grantd.close_browser_session(c).await {
            return Rejection(e).into_response();
        }
    }
    let mut res = sign_in_page(&s, &r, StatusCode::OK, None);
    set_cookie(&mut res, secure(&s), names(&s).session, "", "/", 0);
    res
}

pub(super) struct CredentialRow {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) apps: String,
    pub(super) created: String,
    pub(super) expires: String,
    pub(super) status: &'static str,
    pub(super) active: bool,
}

/// A credential list's rows: apps by name, times in UTC, the status.
pub(super) fn credential_rows(
    list: &[grantd_core::model::JwtCredential],
    apps: &[App],
    now: i64,
) -> Vec<CredentialRow> {
    let name_of = |id: &str| {
        apps.iter()
            .find(|a| a.client_id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    list.iter()
        .map(|c| {
            let expired = c.expires_at.is_some_and(|t| t <= now);
            CredentialRow {
                id: c.id.clone(),
                label: c.label.clone(),
                apps: c.allowed_apps.as_ref().map_or_else(
                    || "every app of the account".to_string(),
                    |a| {
                        a.iter()
                            .map(|id| name_of(id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ),
                created: rfc3339(c.created_at),
                expires: c.expires_at.map_or_else(|| "never".into(), rfc3339),
                status: if c.revoked_at.is_some() {
                    "revoked"
                } else if expired {
                    "expired"
                } else {
                    "active"
                },
                active: c.revoked_at.is_none() && !expired,
            }
        })
        .collect()
}

/// The apps a credential form offers: those with the JWT flow enabled,
/// ticked if the form ticked them.
pub(super) fn credential_apps(
    apps: &[App],
    form: Option<&grantd_core::console::CredentialForm>,
) -> Vec<(String, String, bool)> {
    apps.iter()
        .filter(|a| a.has_grant(grantd_protocol::Grant::JwtBearer))
        .map(|a| {
            let checked = form.is_some_and(|f| f.apps.contains(&a.client_id));
            (a.client_id.clone(), a.name.clone(), checked)
        })
        .collect()
}

/// The credential form's fields as posted.
pub(super) fn credential_form(params: &Params) -> grantd_core::console::CredentialForm {
    grantd_core::console::CredentialForm {
        label: params.get("label").unwrap_or_default().to_string(),
        apps: params
            .names()
            .filter_map(|n| n.strip_prefix("app."))
            .map(str::to_string)
            .collect(),
        expires: params.get("expires").unwrap_or("90").to_string(),
    }
}

#[derive(Template)]
#[template(path = "console_credentials.html")]
struct CredentialsPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    flash: Option<&'a str>,
    created: Option<&'a str>,
    credentials: Vec<CredentialRow>,
    label: &'a str,
    /// (client id, name, checked)
    apps: Vec<(String, String, bool)>,
    expires: &'a str,
    expiries: &'static [(&'static str, &'static str)],
    error: Option<&'a str>,
    error_code: Option<&'static str>,
    error_field: &'a str,
}

pub(super) const EXPIRIES: &[(&str, &str)] = &[
    ("90", "in 90 days"),
    ("30", "in 30 days"),
    ("365", "in a year"),
    ("never", "never"),
];

/// The credentials page: the list, the create form (with the form's values
/// and its error beside the field), and a JWT just made (shown once).
#[allow(clippy::too_many_arguments)]
async fn credentials_page(
    s: &AppState,
    r: &PageRequest,
    user: &User,
    status: StatusCode,
    flash: Option<&str>,
    created: Option<&str>,
    form: Option<&grantd_core::console::CredentialForm>,
    error: Option<&OAuthError>,
) -> Response {
    let (list, apps) = match (
        s.grantd.console_credentials(user).await,
        s.grantd.console_apps(user).await,
    ) {
        (Ok(l), Ok(a)) => (l, a),
        (Err(e), _) | (_, Err(e)) => return Rejection(e).into_response(),
    };
    let now = s.grantd.now();
    let csrf = csrf_for(s, &r.headers);
    let html = CredentialsPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        flash,
        created,
        credentials: credential_rows(&list, &apps, now),
        label: form.map_or("", |f| f.label.as_str()),
        apps: credential_apps(&apps, form),
        expires: form.map_or("90", |f| f.expires.as_str()),
        expiries: EXPIRIES,
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
        error_field: error.and_then(|e| e.parameter).unwrap_or(""),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

/// `GET /console/credentials`: the signed-in user's JWT credentials.
/// `POST`: creates one from the form; its JWT is shown this once.
pub async fn credentials(State(s): State<AppState>, req: Request) -> Response {
    let posted = req.method() == Method::POST;
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if !posted {
        let flash = match r.params.get("done") {
            Some("revoked") => Some("Credential revoked; the sessions it opened have ended."),
            _ => None,
        };
        return credentials_page(&s, &r, &user, StatusCode::OK, flash, None, None, None).await;
    }
    let form = credential_form(&r.params);
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return credentials_page(
            &s,
            &r,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            None,
            Some(&form),
            Some(&e),
        )
        .await;
    }
    match s
        .grantd
        .console_create_credential(&user, &r.source, &form)
        .await
    {
        Ok(issued) => {
            credentials_page(
                &s,
                &r,
                &user,
                StatusCode::CREATED,
                Some("Credential created."),
                Some(&issued.jwt),
                None,
                None,
            )
            .await
        }
        Err(e) => {
            let status = status_of(&e);
            credentials_page(&s, &r, &user, status, None, None, Some(&form), Some(&e)).await
        }
    }
}

/// `POST /console/credentials/revoke`: revokes one of the user's
/// credentials, once the confirmation box is ticked.
pub async fn revoke_credential(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let checked = check_csrf(&s, &r.headers, &r.params).and_then(|()| {
        if r.params.get("confirm") == Some("yes") {
            Ok(())
        } else {
            Err(OAuthError::invalid_parameter(
                "confirm",
                "tick the box to confirm: servers using the credential stop working",
            ))
        }
    });
    let revoked = match checked {
        Ok(()) => {
            s.grantd
                .console_revoke_credential(&user, &r.source, r.params.get("id").unwrap_or_default())
                .await
        }
        Err(e) => Err(e),
    };
    match revoked {
        Ok(()) => redirect("/console/credentials?done=revoked"),
        Err(e) => {
            let status = status_of(&e);
            credentials_page(&s, &r, &user, status, None, None, None, Some(&e)).await
        }
    }
}

struct PlatformRow {
    name: &'static str,
    words: &'static str,
    grants: String,
}

#[derive(Template)]
#[template(path = "console_new_app.html")]
struct NewAppPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    platforms: Vec<PlatformRow>,
    /// Empty: the chooser.
    platform: &'a str,
    words: &'static str,
    name: &'a str,
    /// (grant, why, checked): only the platform type's grants.
    grants: Vec<(&'static str, &'static str, bool)>,
    redirect_uris: &'a str,
    scopes: &'a str,
    distribution: &'a str,
    issue_refresh_tokens: &'a str,
    access_token_ttl: &'a str,
    refresh_token_ttl: &'a str,
    access_token_format: &'a str,
    allowed_origins: &'a str,
    jwks: &'a str,
    jwks_uri: &'a str,
    access_ttl_range: (u64, u64),
    refresh_ttl_range: (u64, u64),
    error: Option<&'a str>,
    error_code: Option<&'static str>,
    error_field: &'a str,
}

#[derive(Template)]
#[template(path = "console_created.html")]
struct CreatedPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    name: &'a str,
    client_id: &'a str,
    secret: Option<&'a str>,
}

fn new_app_page(
    s: &AppState,
    r: &PageRequest,
    user: &User,
    status: StatusCode,
    form: &grantd_core::console::AppForm,
    posted: bool,
    error: Option<&OAuthError>,
) -> Response {
    use grantd_core::console::{grant_words, platform_words};
    use grantd_protocol::PlatformType;
    let platform: Option<PlatformType> = form.platform.parse().ok();
    let csrf = csrf_for(s, &r.headers);
    let html = NewAppPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        platforms: PlatformType::ALL
            .iter()
            .map(|p| PlatformRow {
                name: p.as_str(),
                words: platform_words(*p),
                grants: grantd_protocol::grant::join(p.allowed_grants()),
            })
            .collect(),
        platform: platform.map_or("", PlatformType::as_str),
        words: platform.map_or("", platform_words),
        name: &form.name,
        grants: platform
            .map(|p| {
                p.allowed_grants()
                    .iter()
                    .map(|g| {
                        let checked = if posted {
                            form.grants.iter().any(|x| x == g.as_str())
                        } else {
                            g.on_by_default()
                        };
                        (g.as_str(), grant_words(*g), checked)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        redirect_uris: &form.redirect_uris,
        scopes: &form.scopes,
        distribution: &form.distribution,
        issue_refresh_tokens: &form.issue_refresh_tokens,
        access_token_ttl: &form.access_token_ttl,
        refresh_token_ttl: &form.refresh_token_ttl,
        access_token_format: &form.access_token_format,
        allowed_origins: &form.allowed_origins,
        jwks: &form.jwks,
        jwks_uri: &form.jwks_uri,
        access_ttl_range: grantd_core::apps::ACCESS_TTL_RANGE,
        refresh_ttl_range: grantd_core::apps::REFRESH_TTL_RANGE,
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
        error_field: error.and_then(|e| e.parameter).unwrap_or(""),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

/// `GET /console/apps/new`: the platform types in plain words, then the
/// form for one (`?platform=`), offering only the grants it allows.
/// `POST`: registers the app in the user's account; the secret is shown once.
pub async fn new_app(State(s): State<AppState>, req: Request) -> Response {
    let posted = req.method() == Method::POST;
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user = match r.user(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let form = app_form(&r.params);
    if !posted {
        return new_app_page(&s, &r, &user, StatusCode::OK, &form, false, None);
    }
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return new_app_page(
            &s,
            &r,
            &user,
            StatusCode::BAD_REQUEST,
            &form,
            true,
            Some(&e),
        );
    }
    match s.grantd.console_create_app(&user, &form).await {
        Ok(created) => {
            let csrf = csrf_for(&s, &r.headers);
            let html = CreatedPage {
                csrf: &csrf,
                user_name: &user.name,
                role: user.role.as_str(),
                name: &created.app.name,
                client_id: &created.app.client_id,
                secret: created.client_secret.as_ref().map(|s| s.expose()),
            }
            .render();
            page(&s, StatusCode::CREATED, html, None, Some(&csrf))
        }
        Err(e) => {
            let status = status_of(&e);
            new_app_page(&s, &r, &user, status, &form, true, Some(&e))
        }
    }
}
