//! The authorization endpoint and its pages: sign-in and consent, with a
//! browser session cookie and CSRF tokens on every form.

use crate::extract::{read_form_allowing_repeats, BearerToken};
use crate::quota::Metering;
use crate::ratelimit::{Attempt, Identity};
use crate::reject::Rejection;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use grantd_core::authorize::{AuthorizeContext, AuthorizeError, Next, BROWSER_SESSION_TTL};
use grantd_core::crypto::{constant_time_eq, random_token};
use grantd_core::model::User;
use grantd_core::oidc::user_claims;
use grantd_core::users::Login;
use grantd_protocol::authorize::ResponseType;
use grantd_protocol::{Code, Grant, OAuthError, Params, RedirectUri, Scopes};
use serde_json::Value;

/// The browser-session and CSRF cookies. Over https they carry the
/// `__Host-` prefix, so a sibling subdomain cannot set or shadow them.
pub(super) struct CookieNames {
    pub(super) session: &'static str,
    pub(super) csrf: &'static str,
}

pub(super) fn names(s: &AppState) -> CookieNames {
    if secure(s) {
        CookieNames {
            session: "__Host-grantd_session",
            csrf: "__Host-grantd_csrf",
        }
    } else {
        CookieNames {
            session: "grantd_session",
            csrf: "grantd_csrf",
        }
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    app_name: &'a str,
    csrf: &'a str,
    hidden: Vec<(&'static str, String)>,
    username: String,
    error: Option<String>,
    error_code: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    app_name: &'a str,
    user_name: &'a str,
    user_email: Option<&'a str>,
    scopes: Vec<String>,
    redirect_host: String,
    csrf: &'a str,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "authorize_error.html")]
struct ErrorPage<'a> {
    code: &'static str,
    message: &'static str,
    description: &'a str,
}

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

pub(super) fn set_cookie(
    res: &mut Response,
    secure: bool,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) {
    let secure = if secure { "; Secure" } else { "" };
    let c =
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(super) fn secure(s: &AppState) -> bool {
    s.issuer().starts_with("https://")
}

/// Where a redirect URI sends the browser, as a CSP source (from the parsed
/// URI, never raw text, so nothing can inject a directive).
fn origin(uri: &str) -> String {
    RedirectUri::parse(uri).map_or_else(|_| "'none'".to_string(), |u| u.csp_source())
}

pub(super) fn page(
    s: &AppState,
    status: StatusCode,
    html: Result<String, askama::Error>,
    redirect: Option<&str>,
    csrf: Option<&str>,
) -> Response {
    page_with_scripts(s, status, html, redirect, csrf, false)
}

/// A page; with `scripts`, its CSP admits grantd's own script files
/// (`script-src 'self'`: never inline code). Only the console has one.
pub(super) fn page_with_scripts(
    s: &AppState,
    status: StatusCode,
    html: Result<String, askama::Error>,
    redirect: Option<&str>,
    csrf: Option<&str>,
    scripts: bool,
) -> Response {
    let mut res = match html {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return Rejection(OAuthError::server_error()).into_response();
        }
    };
    // Forms post here and then redirect to the app: CSP form-action must allow both.
    let form_action = match redirect {
        Some(r) => format!("'self' {}", origin(r)),
        None => "'self'".to_string(),
    };
    let script = if scripts { " script-src 'self';" } else { "" };
    let csp = format!("default-src 'none';{script} style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'");
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = csrf {
        set_cookie(
            &mut res,
            secure(s),
            names(s).csrf,
            c,
            "/",
            BROWSER_SESSION_TTL,
        );
    }
    res
}

pub(super) fn redirect(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(v) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            res.headers_mut().insert(header::LOCATION, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => Rejection(OAuthError::server_error()).into_response(),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// An error that must not be redirected: a page for browsers, JSON otherwise.
pub(super) fn error_page(s: &AppState, headers: &HeaderMap, e: &OAuthError) -> Response {
    tracing::info!(code = e.entry().code, "authorization request rejected");
    grantd_core::trace::rejected("authorize_request", e);
    if !wants_html(headers) {
        // Rendered by the edge, which adds the request id.
        return Rejection(e.clone()).into_response();
    }
    let html = ErrorPage {
        code: e.entry().code,
        message: e.entry().message,
        description: &e.description,
    }
    .render();
    let mut res = page(
        s,
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        html,
        None,
        None,
    );
    res.headers_mut()
        .insert("x-error-code", HeaderValue::from_static(e.entry().code));
    res
}

fn rejected(s: &AppState, headers: &HeaderMap, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(e) => error_page(s, headers, &e),
        AuthorizeError::Redirect(url, e) => {
            tracing::info!(
                code = e.entry().code,
                "authorization request rejected (redirected to the app)"
            );
            redirect(&url)
        }
    }
}

/// The request's authorization parameters: the query for GET, the form for POST.
pub(super) async fn read_params(
    s: &AppState,
    req: Request,
) -> Result<(HeaderMap, Params), (HeaderMap, OAuthError)> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let ui = grantd_protocol::authorize::REPEATABLE_UI_PARAMETERS;
    let params = if parts.method == Method::POST {
        read_form_allowing_repeats(&headers, body, s.body_read_timeout, ui)
            .await
            .map_err(|r| r.0)
    } else {
        Params::parse_query_allowing_repeats(parts.uri.query(), ui)
    };
    match params {
        Ok(p) => Ok((headers, p)),
        Err(e) => Err((headers, e)),
    }
}

/// The OIDC `sid` of the browser's sign-in (from its session cookie).
fn browser_sid(s: &AppState, headers: &HeaderMap) -> Option<String> {
    cookie(headers, names(s).session).map(grantd_core::logout::sid_of_cookie)
}

pub(super) fn csrf_for(s: &AppState, headers: &HeaderMap) -> String {
    cookie(headers, names(s).csrf)
        .map(str::to_string)
        .unwrap_or_else(random_token)
}

pub(super) fn check_csrf(
    s: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    match (cookie(headers, names(s).csrf), params.get("csrf")) {
        (Some(c), Some(f)) if constant_time_eq(c.as_bytes(), f.as_bytes()) => Ok(()),
        _ => Err(OAuthError::invalid_parameter(
            "csrf",
            "the form's anti-forgery token is missing or does not match this browser (the page may be stale, or cookies are blocked); go back to the app and start again",
        )),
    }
}

fn render_next(s: &AppState, headers: &HeaderMap, next: Next) -> Response {
    match next {
        Next::Redirect(url) => redirect(&url),
        Next::SignIn(ctx) => sign_in_page(s, headers, &ctx, StatusCode::OK, None, None),
        Next::Consent(ctx, user) => consent_page(s, headers, &ctx, &user),
    }
}

/// The sign-in page; after a failed attempt the username stays filled in.
fn sign_in_page(
    s: &AppState,
    headers: &HeaderMap,
    ctx: &AuthorizeContext,
    status: StatusCode,
    error: Option<&OAuthError>,
    username: Option<&str>,
) -> Response {
    let csrf = csrf_for(s, headers);
    let html = SignInPage {
        app_name: &ctx.app.name,
        csrf: &csrf,
        hidden: ctx.request.to_pairs(),
        username: username
            .map(str::to_string)
            .or_else(|| ctx.request.login_hint.clone())
            .unwrap_or_default(),
        error: error.map(|e| e.description.clone()),
        error_code: error.map(|e| e.entry().code),
    }
    .render();
    page(s, status, html, Some(&ctx.redirect_uri), Some(&csrf))
}

fn consent_page(
    s: &AppState,
    headers: &HeaderMap,
    ctx: &AuthorizeContext,
    user: &User,
) -> Response {
    let csrf = csrf_for(s, headers);
    let html = ConsentPage {
        app_name: &ctx.app.name,
        user_name: &user.name,
        user_email: user.email.as_deref(),
        scopes: ctx.scopes.iter().map(str::to_string).collect(),
        redirect_host: origin(&ctx.redirect_uri),
        csrf: &csrf,
        hidden: ctx.request.to_pairs(),
    }
    .render();
    page(
        s,
        StatusCode::OK,
        html,
        Some(&ctx.redirect_uri),
        Some(&csrf),
    )
}

/// The implicit flow before its sunset: the answer carries the same
/// Deprecation and Sunset headers as the password grant's.
fn implicit_deprecation(s: &AppState, implicit: bool, mut res: Response) -> Response {
    if implicit {
        if let Ok(Some(d)) = s.grantd.check_legacy_policy(Grant::Implicit) {
            crate::routes::token::deprecation_headers(&mut res, s.issuer(), d);
        }
    }
    res
}

/// What every step of the flow starts with: the parameters (query or form),
/// the validated request, and the browser's signed-in user. An early answer
/// (an error page or redirect) comes back as `Err`.
struct Step {
    headers: HeaderMap,
    params: Params,
    ctx: AuthorizeContext,
    implicit: bool,
}

impl Step {
    async fn begin(s: &AppState, req: Request) -> Result<Step, Response> {
        let (headers, params) = read_params(s, req)
            .await
            .map_err(|(headers, e)| error_page(s, &headers, &e))?;
        let ctx = match s.grantd.authorize_context(&params).await {
            Ok(ctx) => ctx,
            Err(e) => return Err(rejected(s, &headers, e)),
        };
        let implicit = ctx.response_type == ResponseType::Token;
        Ok(Step {
            headers,
            params,
            ctx,
            implicit,
        })
    }

    async fn signed_in(&self, s: &AppState) -> Result<Option<(User, i64)>, Response> {
        s.grantd
            .browser_user(cookie(&self.headers, names(s).session))
            .await
            .map_err(|e| error_page(s, &self.headers, &e))
    }
}

/// `GET|POST /oauth/authorize`. The Auth quota counts per app and signed-in
/// user; past it the user sees a page (429 with Retry-After) rather than a
/// redirect the app might follow straight back here.
pub async fn authorize(State(s): State<AppState>, metering: Metering, req: Request) -> Response {
    let step = match Step::begin(&s, req).await {
        Ok(step) => step,
        Err(res) => return res,
    };
    let signed_in = match step.signed_in(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let user = signed_in.as_ref().map(|(u, _)| u.id.as_str());
    if let Err(e) = metering.check(&step.ctx.app, user) {
        return error_page(&s, &step.headers, &e);
    }
    let Step {
        headers,
        mut ctx,
        implicit,
        ..
    } = step;
    ctx.sid = browser_sid(&s, &headers);
    match s.grantd.authorize_next(ctx, signed_in, false).await {
        Ok(next) => implicit_deprecation(&s, implicit, render_next(&s, &headers, next)),
        Err(e) => rejected(&s, &headers, e),
    }
}

/// `POST /oauth/authorize/login`: the sign-in form.
pub async fn login(State(s): State<AppState>, req: Request) -> Response {
    let attempt = req.extensions().get::<Attempt>().cloned();
    let Step {
        headers,
        params,
        mut ctx,
        implicit,
    } = match Step::begin(&s, req).await {
        Ok(step) => step,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&s, &headers, &params) {
        return sign_in_page(&s, &headers, &ctx, StatusCode::BAD_REQUEST, Some(&e), None);
    }
    let user = async {
        let username = params.require("username", "to sign in")?;
        if let Some(a) = &attempt {
            a.identify(Identity::Login(username))?;
        }
        let password = params
            .secret("password")
            .ok_or_else(|| OAuthError::missing_parameter("password", "to sign in"))?;
        let login = Login::parse(username, params.get("extension"))?;
        s.grantd.authenticate_user(&login, password).await
    }
    .await;
    let user = match user {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(code = e.entry().code, client_id = %ctx.app.client_id, "sign-in failed");
            let status = match e.code {
                Code::RateExceeded => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            return sign_in_page(&s, &headers, &ctx, status, Some(&e), params.get("username"));
        }
    };
    let cookie_value = match s.grantd.open_browser_session(&user).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, &headers, &e),
    };
    tracing::info!(user_id = %user.id, "signed in");
    ctx.sid = Some(grantd_core::logout::sid_of_cookie(&cookie_value));
    let now = s.grantd.now();
    let mut res = match s.grantd.authorize_next(ctx, Some((user, now)), true).await {
        Ok(next) => implicit_deprecation(&s, implicit, render_next(&s, &headers, next)),
        Err(e) => rejected(&s, &headers, e),
    };
    set_cookie(
        &mut res,
        secure(&s),
        names(&s).session,
        &cookie_value,
        "/",
        BROWSER_SESSION_TTL,
    );
    res
}

/// `POST /oauth/authorize/consent`: allow or deny.
pub async fn consent(State(s): State<AppState>, req: Request) -> Response {
    let step = match Step::begin(&s, req).await {
        Ok(step) => step,
        Err(res) => return res,
    };
    let signed_in = match step.signed_in(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let Step {
        headers,
        params,
        mut ctx,
        implicit,
    } = step;
    ctx.sid = browser_sid(&s, &headers);
    let Some((user, auth_time)) = signed_in else {
        return sign_in_page(&s, &headers, &ctx, StatusCode::OK, None, None);
    };
    if let Err(e) = check_csrf(&s, &headers, &params) {
        return error_page(&s, &headers, &e);
    }
    // prompt=login and max_age hold here too, not only on the way in.
    if s.grantd.sign_in_too_old(&ctx, auth_time) {
        return sign_in_page(&s, &headers, &ctx, StatusCode::OK, None, None);
    }
    if params.get("decision") != Some("allow") {
        tracing::info!(user_id = %user.id, client_id = %ctx.app.client_id, "consent denied");
        return redirect(&s.grantd.authorize_deny(&ctx));
    }
    match s.grantd.authorize_consent(&ctx, &user, auth_time).await {
        Ok(url) => implicit_deprecation(&s, implicit, redirect(&url)),
        Err(e) => rejected(&s, &headers, e),
    }
}

/// `POST /oauth/authorize/signout`: "not you?" on the consent page. Ends the
/// browser's sign-in and shows the sign-in page for the same request.
pub async fn signout(State(s): State<AppState>, req: Request) -> Response {
    let Step {
        headers,
        params,
        ctx,
        ..
    } = match Step::begin(&s, req).await {
        Ok(step) => step,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&s, &headers, &params) {
        return error_page(&s, &headers, &e);
    }
    if let Some(c) = cookie(&headers, names(&s).session) {
        if let Err(e) = s.grantd.close_browser_session(c).await {
            return error_page(&s, &headers, &e);
        }
        tracing::info!("signed out");
    }
    let mut res = sign_in_page(&s, &headers, &ctx, StatusCode::OK, None, None);
    set_cookie(&mut res, secure(&s), names(&s).session, "", "/", 0);
    res
}

/// `GET|POST /oauth/userinfo` (OIDC Core §5.3).
pub async fn userinfo(
    State(s): State<AppState>,
    metering: Metering,
    crate::extract::ResourceDpop(proof): crate::extract::ResourceDpop,
    BearerToken(token): BearerToken,
) -> Result<Response, Rejection> {
    let bearer = s
        .grantd
        .authenticate_bearer(token.as_deref(), &proof)
        .await?;
    grantd_core::trace::client(&bearer.client_id);
    metering
        .check_client(&s, Some(&bearer.client_id), Some(&bearer.user.id))
        .await?;
    let scopes = Scopes::parse(&bearer.scope)?;
    grantd_core::trace::check(
        "check_openid_scope",
        &[("token's scope", &bearer.scope), ("required", "openid")],
        if scopes.contains("openid") {
            Ok(())
        } else {
            Err(OAuthError::openid_scope_missing())
        },
    )?;
    let mut res = Json(Value::Object(user_claims(&bearer.user, &scopes))).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
