//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0): the
//! confirmation page, ending the browser's sign-in, and the way back to the
//! app; with the sign-in pages' cookies, CSRF tokens and CSP.

use super::authorize::{
    check_csrf, cookie, csrf_for, error_page, names, page, read_params, redirect, secure,
    set_cookie,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use grantd_core::logout::{sid_of_cookie, LogoutContext, LogoutRequest};

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage<'a> {
    app_name: Option<&'a str>,
    user_name: Option<&'a str>,
    csrf: &'a str,
    hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "logout_done.html")]
struct DonePage<'a> {
    app_name: Option<&'a str>,
}

/// `GET|POST /oauth/logout`. The request is checked first (a refusal is a
/// page, never a redirect); then, unless the hint names this browser's
/// sign-in or the confirmation form was posted, the user is asked.
pub async fn logout(State(s): State<AppState>, req: Request) -> Response {
    let (headers, params) = match read_params(&s, req).await {
        Ok(p) => p,
        Err((headers, e)) => return error_page(&s, &headers, &e),
    };
    let ctx = match s.grantd.logout_context(LogoutRequest::read(&params)).await {
        Ok(ctx) => ctx,
        Err(e) => return error_page(&s, &headers, &e),
    };
    let session = cookie(&headers, names(&s).session);
    let confirmed = if params.contains("csrf") {
        // The confirmation form: it must come from this browser's page.
        if let Err(e) = check_csrf(&s, &headers, &params) {
            return error_page(&s, &headers, &e);
        }
        true
    } else {
        ctx.hint_is_browser(session.map(sid_of_cookie).as_deref())
    };
    let signed_in = match s.grantd.browser_user(session).await {
        Ok(u) => u,
        Err(e) => return error_page(&s, &headers, &e),
    };
    let hint_sid = ctx.hint.as_ref().and_then(|h| h.sid.as_deref());
    let anything_to_end = signed_in.is_some() || hint_sid.is_some();
    if anything_to_end && !confirmed {
        let csrf = csrf_for(&s, &headers);
        let html = ConfirmPage {
            app_name: ctx.app.as_ref().map(|a| a.name.as_str()),
            user_name: signed_in.as_ref().map(|(u, _)| u.name.as_str()),
            csrf: &csrf,
            hidden: ctx.request.to_pairs(),
        }
        .render();
        return page(
            &s,
            StatusCode::OK,
            html,
            ctx.redirect.as_deref(),
            Some(&csrf),
        );
    }
    if anything_to_end {
        if let Err(e) = s.grantd.logout_browser(session, hint_sid).await {
            return error_page(&s, &headers, &e);
        }
    }
    let mut res = done(&s, &ctx);
    if session.is_some() {
        set_cookie(&mut res, secure(&s), names(&s).session, "", "/", 0);
    }
    res
}

/// The registered URI (with `state`), or the signed-out page.
fn done(s: &AppState, ctx: &LogoutContext) -> Response {
    match ctx.after() {
        Some(url) => redirect(&url),
        None => {
            let html = DonePage {
                app_name: ctx.app.as_ref().map(|a| a.name.as_str()),
            }
            .render();
            page(s, StatusCode::OK, html, None, None)
        }
    }
}
