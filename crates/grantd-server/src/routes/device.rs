//! The device flow over HTTP (RFC 8628): the device authorization endpoint,
//! and the verification page where a signed-in user types the code their
//! device shows (or arrives with it from `verification_uri_complete`), sees
//! the app and its scopes, and approves or denies. The pages share the
//! authorization pages' cookies, CSRF tokens and CSP; no JavaScript.
//!
//! A code is looked at only for a signed-in user, and every answer to a code
//! that is not waiting for a decision is a 401, which the edge counts as a
//! failed authentication of the address (`ratelimit.rs`): guessing codes
//! pauses the guesser.

use super::authorize::{check_csrf, cookie, csrf_for, names, page, redirect, secure, set_cookie};
use super::no_store_json;
use crate::extract::{read_form, OAuthForm, TokenRule};
use crate::ratelimit::{Attempt, Identity};
use crate::reject::Rejection;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use grantd_core::authorize::{redirect_with, BROWSER_SESSION_TTL};
use grantd_core::device::{DeviceRequest, VERIFICATION_PATH};
use grantd_core::model::User;
use grantd_core::users::Login;
use grantd_protocol::device::UserCode;
use grantd_protocol::{Code, OAuthError, Params};

#[derive(Template)]
#[template(path = "device_signin.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    /// Carried through the sign-in, as typed.
    user_code: Option<&'a str>,
    /// Shown only when it is a well-formed code (a link cannot put other text here).
    shown_code: Option<String>,
    username: &'a str,
    error: Option<&'a str>,
    error_code: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "device_code.html")]
struct CodePage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    user_code: &'a str,
    error: Option<&'a str>,
    error_code: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    app_name: &'a str,
    user_name: &'a str,
    user_email: Option<&'a str>,
    user_code: String,
    scopes: Vec<&'a str>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DonePage<'a> {
    app_name: &'a str,
    approved: bool,
}

/// `POST /oauth/device_authorization` (RFC 8628 §3.1): client authentication
/// as at the token endpoint; answers the device code and the user code.
pub async fn device_authorization(
    State(s): State<AppState>,
    form: OAuthForm<TokenRule>,
) -> Result<Response, Rejection> {
    let answer = s
        .grantd
        .device_authorization(&form.client, &form.params)
        .await?;
    Ok(no_store_json(&answer))
}

/// A page request: its headers and parameters (the query for GET, the
/// form for POST), and the failure-limit attempt the edge gave it.
struct PageRequest {
    headers: HeaderMap,
    params: Params,
    posted: bool,
    attempt: Option<Attempt>,
}

impl PageRequest {
    async fn read(s: &AppState, req: Request) -> Result<PageRequest, Response> {
        let attempt = req.extensions().get::<Attempt>().cloned();
        let (parts, body) = req.into_parts();
        let posted = parts.method == Method::POST;
        let params = if posted {
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
                posted,
                attempt,
            }),
            Err(e) => Err(Rejection(e).into_response()),
        }
    }

    fn user_code(&self) -> Option<&str> {
        self.params.get("user_code")
    }

    async fn signed_in(&self, s: &AppState) -> Result<Option<(User, i64)>, Response> {
        s.grantd
            .browser_user(cookie(&self.headers, names(s).session))
            .await
            .map_err(|e| Rejection(e).into_response())
    }

    /// The request a typed code stands for. The address must not be paused
    /// for guessing; a code that is not waiting answers 401 (counted).
    async fn device_request(
        &self,
        s: &AppState,
        typed: &str,
    ) -> Result<DeviceRequest, (StatusCode, OAuthError)> {
        if let Some(a) = &self.attempt {
            a.identify(Identity::Anonymous)
                .map_err(|e| (StatusCode::TOO_MANY_REQUESTS, e))?;
        }
        s.grantd
            .device_request(typed)
            .await
            .map_err(|e| (code_status(&e), e))
    }
}

/// The status of a page that shows `e`: 401 for a code that is not
/// waiting (so the edge counts it), the catalog's otherwise.
fn code_status(e: &OAuthError) -> StatusCode {
    match e.code {
        Code::UserCodeUnknown | Code::UserCodeExpired | Code::UserCodeDecided => {
            StatusCode::UNAUTHORIZED
        }
        _ => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
    }
}

fn with_error_code(mut res: Response, e: Option<&OAuthError>) -> Response {
    if let Some(e) = e {
        res.headers_mut().insert(
            "x-error-code",
            axum::http::HeaderValue::from_static(e.entry().code),
        );
    }
    res
}

fn sign_in_page(
    s: &AppState,
    r: &PageRequest,
    status: StatusCode,
    error: Option<&OAuthError>,
) -> Response {
    let csrf = csrf_for(s, &r.headers);
    let typed = r.user_code();
    let html = SignInPage {
        csrf: &csrf,
        user_code: typed,
        shown_code: typed
            .and_then(|t| UserCode::parse(t).ok())
            .map(|c| c.to_string()),
        username: r.params.get("username").unwrap_or_default(),
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

fn code_page(
    s: &AppState,
    r: &PageRequest,
    user: &User,
    status: StatusCode,
    error: Option<&OAuthError>,
) -> Response {
    if let Some(e) = error {
        tracing::info!(code = e.entry().code, "device verification refused");
    }
    let csrf = csrf_for(s, &r.headers);
    let html = CodePage {
        csrf: &csrf,
        user_name: &user.name,
        user_code: r.user_code().unwrap_or_default(),
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

fn confirm_page(s: &AppState, r: &PageRequest, user: &User, request: &DeviceRequest) -> Response {
    let csrf = csrf_for(s, &r.headers);
    let html = ConfirmPage {
        csrf: &csrf,
        app_name: &request.app.name,
        user_name: &user.name,
        user_email: user.email.as_deref(),
        user_code: request.user_code.to_string(),
        scopes: request.scopes.iter().collect(),
    }
    .render();
    page(s, StatusCode::OK, html, None, Some(&csrf))
}

/// `GET|POST /device`: the verification page. Signed out: the sign-in form
/// (carrying the code); signed in: the code form, or for a code waiting
/// for a decision, the app and its scopes with Allow and Deny.
pub async fn verify(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let Some((user, _)) = (match r.signed_in(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    }) else {
        return sign_in_page(&s, &r, StatusCode::OK, None);
    };
    if r.posted {
        if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
            return code_page(&s, &r, &user, StatusCode::BAD_REQUEST, Some(&e));
        }
    }
    let Some(typed) = r.user_code() else {
        return code_page(&s, &r, &user, StatusCode::OK, None);
    };
    match r.device_request(&s, typed).await {
        Ok(request) => confirm_page(&s, &r, &user, &request),
        Err((status, e)) => code_page(&s, &r, &user, status, Some(&e)),
    }
}

/// `POST /device/login`: the sign-in form. Signed in, the browser goes back
/// to the verification page with the code it carried.
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
        s.grantd.authenticate_user(&login, password).await
    }
    .await;
    let user = match user {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(code = e.entry().code, "sign-in for a device failed");
            let status = match e.code {
                Code::RateExceeded => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            return sign_in_page(&s, &r, status, Some(&e));
        }
    };
    let session = match s.grantd.open_browser_session(&user).await {
        Ok(c) => c,
        Err(e) => return Rejection(e).into_response(),
    };
    tracing::info!(user_id = %user.id, "signed in");
    let next = match r.user_code() {
        Some(code) => redirect_with(VERIFICATION_PATH, &[("user_code", code)], false),
        None => VERIFICATION_PATH.to_string(),
    };
    let mut res = redirect(&next);
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

/// `POST /device/decision`: Allow or Deny (anything but `allow` denies).
pub async fn decision(State(s): State<AppState>, req: Request) -> Response {
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let Some((user, auth_time)) = (match r.signed_in(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    }) else {
        return sign_in_page(&s, &r, StatusCode::OK, None);
    };
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return code_page(&s, &r, &user, StatusCode::BAD_REQUEST, Some(&e));
    }
    let Some(typed) = r.user_code() else {
        let e = OAuthError::missing_parameter("user_code", "to approve or deny a device");
        return code_page(&s, &r, &user, StatusCode::BAD_REQUEST, Some(&e));
    };
    let request = match r.device_request(&s, typed).await {
        Ok(request) => request,
        Err((status, e)) => return code_page(&s, &r, &user, status, Some(&e)),
    };
    let approved = r.params.get("decision") == Some("allow");
    let decided = if approved {
        s.grantd.approve_device(&request, &user, auth_time).await
    } else {
        s.grantd.deny_device(&request, &user).await
    };
    if let Err(e) = decided {
        return code_page(&s, &r, &user, code_status(&e), Some(&e));
    }
    let html = DonePage {
        app_name: &request.app.name,
        approved,
    }
    .render();
    page(&s, StatusCode::OK, html, None, None)
}

/// `POST /device/signout`: "not you?" on the verification page. Ends the
/// browser's sign-in and shows the sign-in form, still carrying the code.
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
        tracing::info!("signed out");
    }
    let mut res = sign_in_page(&s, &r, StatusCode::OK, None);
    set_cookie(&mut res, secure(&s), names(&s).session, "", "/", 0);
    res
}
