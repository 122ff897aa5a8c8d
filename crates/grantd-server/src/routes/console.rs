//! The developer console (`/console`): for signed-in developers and
//! administrators, their account's apps and, per app, the troubleshooter
//! (rejected requests with cause, fix and decision trace). Server-rendered,
//! no JavaScript; the authorization pages' browser session, CSRF cookies,
//! CSP and headers.

use super::authorize::{check_csrf, cookie, csrf_for, names, page, redirect, secure, set_cookie};
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
    days: Vec<(String, u64)>,
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
struct PageRequest {
    headers: HeaderMap,
    params: Params,
    attempt: Option<Attempt>,
}

impl PageRequest {
    async fn read(s: &AppState, req: Request) -> Result<PageRequest, Response> {
        let attempt = req.extensions().get::<Attempt>().cloned();
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
            }),
            Err(e) => Err(Rejection(e).into_response()),
        }
    }

    /// The signed-in console user; otherwise the answer to give (the
    /// sign-in form, or the role's refusal).
    async fn user(&self, s: &AppState) -> Result<User, Response> {
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

fn with_error_code(mut res: Response, e: Option<&OAuthError>) -> Response {
    if let Some(e) = e {
        res.headers_mut()
            .insert("x-error-code", HeaderValue::from_static(e.entry().code));
    }
    res
}

fn status_of(e: &OAuthError) -> StatusCode {
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

/// `GET /console/apps/{client_id}`: an app's settings and its troubleshooter
/// (filter with `code` and `endpoint`).
pub async fn app(State(s): State<AppState>, req: Request) -> Response {
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
    let code = r.params.get("code").unwrap_or_default().trim();
    let endpoint = r.params.get("endpoint").unwrap_or_default();
    let filter = read_filter(
        [("code", code), ("endpoint", endpoint)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty()),
    );
    let (list, error) = match filter {
        Ok(f) => match s.grantd.console_rejections(&user, &client_id, &f).await {
            Ok((_, list)) => (list, None),
            Err(e) => return Rejection(e).into_response(),
        },
        Err(e) => (Vec::new(), Some(e)),
    };
    let days = match s
        .grantd
        .console_rejections(
            &user,
            &client_id,
            &grantd_core::rejections::RejectionFilter {
                limit: grantd_core::rejections::KEEP_PER_APP,
                ..Default::default()
            },
        )
        .await
    {
        Ok((_, all)) => per_day(&all),
        Err(e) => return Rejection(e).into_response(),
    };
    let csrf = csrf_for(&s, &r.headers);
    let html = AppPage {
        snippets: super::console_snippets::snippets(s.issuer(), &app),
        days,
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        name: &app.name,
        client_id: &app.client_id,
        platform: app.platform_type.as_str(),
        client_type: if app.is_confidential() {
            "confidential: it has a client secret"
        } else {
            "public: no client secret"
        },
        grants: grants_of(&app),
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
    }
    .render();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    with_error_code(page(&s, status, html, None, Some(&csrf)), error.as_ref())
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
fn console_error(s: &AppState, r: &PageRequest, user: &User, e: &OAuthError) -> Response {
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

/// Rejections per day (UTC), newest day first, from the kept log.
fn per_day(list: &[grantd_core::rejections::Rejection]) -> Vec<(String, u64)> {
    let mut days: Vec<(String, u64)> = Vec::new();
    for r in list {
        let day = rfc3339(r.at)[..10].to_string();
        match days.last_mut() {
            Some((d, n)) if *d == day => *n += 1,
            _ => days.push((day, 1)),
        }
    }
    days
}

struct CredentialRow {
    id: String,
    label: String,
    apps: String,
    created: String,
    expires: String,
    status: &'static str,
    active: bool,
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

const EXPIRIES: &[(&str, &str)] = &[
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
    let name_of = |id: &str| {
        apps.iter()
            .find(|a| a.client_id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    let csrf = csrf_for(s, &r.headers);
    let html = CredentialsPage {
        csrf: &csrf,
        user_name: &user.name,
        role: user.role.as_str(),
        flash,
        created,
        credentials: list
            .iter()
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
            .collect(),
        label: form.map_or("", |f| f.label.as_str()),
        apps: apps
            .iter()
            .filter(|a| a.has_grant(grantd_protocol::Grant::JwtBearer))
            .map(|a| {
                let checked = form.is_some_and(|f| f.apps.contains(&a.client_id));
                (a.client_id.clone(), a.name.clone(), checked)
            })
            .collect(),
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
    let form = grantd_core::console::CredentialForm {
        label: r.params.get("label").unwrap_or_default().to_string(),
        apps: r
            .params
            .names()
            .filter_map(|n| n.strip_prefix("app."))
            .map(str::to_string)
            .collect(),
        expires: r.params.get("expires").unwrap_or("90").to_string(),
    };
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
    match s.grantd.console_create_credential(&user, &form).await {
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
                .console_revoke_credential(&user, r.params.get("id").unwrap_or_default())
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
    let form = grantd_core::console::AppForm {
        platform: r.params.get("platform").unwrap_or_default().to_string(),
        name: r.params.get("name").unwrap_or_default().to_string(),
        grants: r
            .params
            .names()
            .filter_map(|n| n.strip_prefix("grant."))
            .map(str::to_string)
            .collect(),
        redirect_uris: r
            .params
            .get("redirect_uris")
            .unwrap_or_default()
            .to_string(),
        scopes: r.params.get("scopes").unwrap_or_default().to_string(),
    };
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
