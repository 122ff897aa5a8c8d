//! The console's account pages for administrators (`/console/users`): the
//! users of their account and each user's JWT credentials. The rules are
//! core's (`grantd-core/src/console_admin.rs`); here, the forms: CSRF on
//! each, a ticked confirmation for the destructive ones, a flash message
//! after each action, an error beside its field.

use super::authorize::{check_csrf, csrf_for, redirect};
use super::console::{
    console_error, credential_apps, credential_form, credential_rows, page, status_of,
    with_error_code, CredentialRow, PageRequest, EXPIRIES,
};
use crate::reject::Rejection;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use grantd_core::console_admin::{check_console_admin, UserForm};
use grantd_core::crypto::rfc3339;
use grantd_core::model::{User, UserStatus};
use grantd_protocol::OAuthError;

/// The roles, in plain words.
const ROLES: &[(&str, &str)] = &[
    ("user", "signs in to the account's apps; no console"),
    (
        "developer",
        "uses the console: registers and manages the account's apps",
    ),
    (
        "admin",
        "a developer who also manages the account's users and their credentials",
    ),
];

/// How a user signs in, as shown.
fn login_of(u: &User) -> String {
    let phone = u.phone.as_ref().map(|p| match &u.extension_number {
        Some(x) => format!("{p}*{x}"),
        None => p.clone(),
    });
    match (&u.email, phone) {
        (Some(e), Some(p)) => format!("{e} or {p}"),
        (Some(e), None) => e.clone(),
        (None, Some(p)) => p,
        (None, None) => "-".into(),
    }
}

struct UserRow {
    id: String,
    name: String,
    login: String,
    role: &'static str,
    status: &'static str,
    created: String,
}

/// The new-user form's values as posted (never the password).
#[derive(Default)]
struct UserFormView {
    name: String,
    email: String,
    phone: String,
    extension_number: String,
    role: String,
}

#[derive(Template)]
#[template(path = "console_users.html")]
struct UsersPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    flash: Option<&'a str>,
    /// A password grantd just made: shown this once.
    password: Option<&'a str>,
    users: Vec<UserRow>,
    form: UserFormView,
    roles: &'static [(&'static str, &'static str)],
    error: Option<&'a str>,
    error_code: Option<&'static str>,
    error_field: &'a str,
}

/// The signed-in administrator, or the answer to give: the sign-in form,
/// or the page naming the role needed.
async fn signed_in_admin(s: &AppState, r: &PageRequest) -> Result<User, Response> {
    let user = r.user(s).await?;
    check_console_admin(&user).map_err(|e| console_error(s, r, &user, &e))?;
    Ok(user)
}

#[allow(clippy::too_many_arguments)]
async fn users_page(
    s: &AppState,
    r: &PageRequest,
    admin: &User,
    status: StatusCode,
    flash: Option<&str>,
    password: Option<&str>,
    form: UserFormView,
    error: Option<&OAuthError>,
) -> Response {
    let users = match s.grantd.console_users(admin).await {
        Ok(u) => u,
        Err(e) => return Rejection(e).into_response(),
    };
    let csrf = csrf_for(s, &r.headers);
    let html = UsersPage {
        csrf: &csrf,
        user_name: &admin.name,
        role: admin.role.as_str(),
        flash,
        password,
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id.clone(),
                name: u.name.clone(),
                login: login_of(u),
                role: u.role.as_str(),
                status: u.status.as_str(),
                created: rfc3339(u.created_at),
            })
            .collect(),
        form,
        roles: ROLES,
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
        error_field: error.and_then(|e| e.parameter).unwrap_or(""),
    }
    .render();
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

/// `GET /console/users`: the users of the administrator's account and the
/// new-user form. `POST`: creates a user (a password grantd makes is shown
/// once).
pub async fn users(State(s): State<AppState>, req: Request) -> Response {
    let posted = req.method() == Method::POST;
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let admin = match signed_in_admin(&s, &r).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let get = |n: &str| r.params.get(n).unwrap_or_default().to_string();
    if !posted {
        let form = UserFormView {
            role: "developer".into(),
            ..Default::default()
        };
        return users_page(&s, &r, &admin, StatusCode::OK, None, None, form, None).await;
    }
    let view = UserFormView {
        name: get("name"),
        email: get("email"),
        phone: get("phone"),
        extension_number: get("extension_number"),
        role: get("role"),
    };
    if let Err(e) = check_csrf(&s, &r.headers, &r.params) {
        return users_page(
            &s,
            &r,
            &admin,
            StatusCode::BAD_REQUEST,
            None,
            None,
            view,
            Some(&e),
        )
        .await;
    }
    let form = UserForm {
        name: view.name.clone(),
        email: view.email.clone(),
        phone: view.phone.clone(),
        extension_number: view.extension_number.clone(),
        role: view.role.clone(),
        password: r.params.secret("password"),
    };
    match s.grantd.console_create_user(&admin, &r.source, form).await {
        Ok((user, made)) => {
            tracing::info!(user_id = %user.id, "user created in the console");
            let flash = format!("User {} created as {}.", user.name, user.role.as_str());
            let form = UserFormView {
                role: "developer".into(),
                ..Default::default()
            };
            users_page(
                &s,
                &r,
                &admin,
                StatusCode::CREATED,
                Some(&flash),
                made.as_ref().map(|p| p.expose()),
                form,
                None,
            )
            .await
        }
        Err(e) => {
            tracing::info!(code = e.entry().code, "console user creation refused");
            users_page(&s, &r, &admin, status_of(&e), None, None, view, Some(&e)).await
        }
    }
}

#[derive(Template)]
#[template(path = "console_user.html")]
struct UserPage<'a> {
    csrf: &'a str,
    user_name: &'a str,
    role: &'static str,
    name: &'a str,
    user_id: &'a str,
    login: String,
    user_role: &'static str,
    status: &'static str,
    enabled: bool,
    created_at: String,
    /// The administrator's own page: no role change, no disabling.
    own: bool,
    flash: Option<&'a str>,
    /// A password grantd just made: shown this once.
    password: Option<&'a str>,
    /// A JWT just made: shown this once.
    created: Option<&'a str>,
    /// The form that was refused (`action`), its error beside its field.
    action: &'a str,
    error: Option<&'a str>,
    error_code: Option<&'static str>,
    error_field: &'a str,
    roles: &'static [(&'static str, &'static str)],
    credentials: Vec<CredentialRow>,
    label: &'a str,
    apps: Vec<(String, String, bool)>,
    expires: &'a str,
    expiries: &'static [(&'static str, &'static str)],
}

/// What the user page shows besides the user: the outcome of a form.
#[derive(Default)]
struct Outcome<'a> {
    status: Option<StatusCode>,
    flash: Option<&'a str>,
    password: Option<&'a str>,
    created: Option<&'a str>,
    action: &'a str,
    form: Option<&'a grantd_core::console::CredentialForm>,
    error: Option<&'a OAuthError>,
}

async fn user_page(
    s: &AppState,
    r: &PageRequest,
    admin: &User,
    id: &str,
    outcome: Outcome<'_>,
) -> Response {
    let (user, list) = match s.grantd.console_user_credentials(admin, id).await {
        Ok(found) => found,
        Err(e) => return console_error(s, r, admin, &e),
    };
    let apps = match s.grantd.console_apps(admin).await {
        Ok(a) => a,
        Err(e) => return Rejection(e).into_response(),
    };
    let csrf = csrf_for(s, &r.headers);
    let error = outcome.error;
    let form = outcome.form;
    let html = UserPage {
        csrf: &csrf,
        user_name: &admin.name,
        role: admin.role.as_str(),
        name: &user.name,
        user_id: &user.id,
        login: login_of(&user),
        user_role: user.role.as_str(),
        status: user.status.as_str(),
        enabled: user.status == UserStatus::Enabled,
        created_at: rfc3339(user.created_at),
        own: user.id == admin.id,
        flash: outcome.flash,
        password: outcome.password,
        created: outcome.created,
        action: outcome.action,
        error: error.map(|e| e.description.as_str()),
        error_code: error.map(|e| e.entry().code),
        error_field: error.and_then(|e| e.parameter).unwrap_or(""),
        roles: ROLES,
        credentials: credential_rows(&list, &apps, s.grantd.now()),
        label: form.map_or("", |f| f.label.as_str()),
        apps: credential_apps(&apps, form),
        expires: form.map_or("90", |f| f.expires.as_str()),
        expiries: EXPIRIES,
    }
    .render();
    let status = outcome.status.unwrap_or(StatusCode::OK);
    with_error_code(page(s, status, html, None, Some(&csrf)), error)
}

fn confirmed(r: &PageRequest, consequence: &str) -> Result<(), OAuthError> {
    if r.params.get("confirm") == Some("yes") {
        Ok(())
    } else {
        Err(OAuthError::invalid_parameter(
            "confirm",
            format!("tick the box to confirm: {consequence}"),
        ))
    }
}

/// `GET /console/users/{id}`: a user of the administrator's account, their
/// access and JWT credentials. `POST` with `action`: `role`, `status`
/// (disabling needs `confirm`), `password` (needs `confirm`; empty: grantd
/// makes one, shown once), `credential` (create one, shown once), `revoke`
/// (a credential, needs `confirm`).
pub async fn user(State(s): State<AppState>, req: Request) -> Response {
    let posted = req.method() == Method::POST;
    let id = req
        .uri()
        .path()
        .trim_start_matches("/console/users/")
        .to_string();
    let r = match PageRequest::read(&s, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let admin = match signed_in_admin(&s, &r).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    if !posted {
        let flash = match r.params.get("done") {
            Some("role") => Some("Role changed."),
            Some("disabled") => {
                Some("User disabled: they can no longer sign in, and their sessions have ended.")
            }
            Some("enabled") => Some("User enabled: they can sign in again."),
            Some("revoked") => Some("Credential revoked; the sessions it opened have ended."),
            _ => None,
        };
        return user_page(
            &s,
            &r,
            &admin,
            &id,
            Outcome {
                flash,
                ..Default::default()
            },
        )
        .await;
    }
    // Another account's user is refused before any form is read.
    if let Err(e) = s.grantd.console_user(&admin, &id).await {
        return console_error(&s, &r, &admin, &e);
    }
    let action = r.params.get("action").unwrap_or_default().to_string();
    let g = &s.grantd;
    let src = r.source.as_str();
    let refused = |e: OAuthError| (e, None);
    let done: Result<Response, (OAuthError, Option<grantd_core::console::CredentialForm>)> =
        match check_csrf(&s, &r.headers, &r.params) {
            Err(e) => Err(refused(e)),
            Ok(()) => match action.as_str() {
                "role" => g
                    .console_set_role(&admin, src, &id, r.params.get("role").unwrap_or_default())
                    .await
                    .map(|u| redirect(&format!("/console/users/{}?done=role", u.id)))
                    .map_err(refused),
                "status" => {
                    let status = r.params.get("status").unwrap_or_default();
                    let checked = if status == "disabled" {
                        confirmed(
                            &r,
                            "the user can no longer sign in, and their sessions end",
                        )
                    } else {
                        Ok(())
                    };
                    match checked {
                        Ok(()) => g
                            .console_set_user_status(&admin, src, &id, status)
                            .await
                            .map(|u| {
                                redirect(&format!(
                                    "/console/users/{}?done={}",
                                    u.id,
                                    u.status.as_str()
                                ))
                            })
                            .map_err(refused),
                        Err(e) => Err(refused(e)),
                    }
                }
                "password" => match confirmed(&r, "the user's sessions end") {
                    Ok(()) => match g
                        .console_reset_password(&admin, src, &id, r.params.secret("password"))
                        .await
                    {
                        Ok((ended, made)) => {
                            let flash = format!(
                                "Password reset; {ended} session{} of the user ended.",
                                if ended == 1 { "" } else { "s" }
                            );
                            Ok(user_page(
                                &s,
                                &r,
                                &admin,
                                &id,
                                Outcome {
                                    flash: Some(&flash),
                                    password: made.as_ref().map(|p| p.expose()),
                                    ..Default::default()
                                },
                            )
                            .await)
                        }
                        Err(e) => Err(refused(e)),
                    },
                    Err(e) => Err(refused(e)),
                },
                "credential" => {
                    let form = credential_form(&r.params);
                    match g
                        .console_create_credential_for(&admin, src, &id, &form)
                        .await
                    {
                        Ok(issued) => Ok(user_page(
                            &s,
                            &r,
                            &admin,
                            &id,
                            Outcome {
                                status: Some(StatusCode::CREATED),
                                flash: Some("Credential created."),
                                created: Some(&issued.jwt),
                                ..Default::default()
                            },
                        )
                        .await),
                        Err(e) => Err((e, Some(form))),
                    }
                }
                "revoke" => match confirmed(&r, "servers using the credential stop working") {
                    Ok(()) => g
                        .console_revoke_account_credential(
                            &admin,
                            src,
                            r.params.get("id").unwrap_or_default(),
                        )
                        .await
                        .map(|user_id| redirect(&format!("/console/users/{user_id}?done=revoked")))
                        .map_err(refused),
                    Err(e) => Err(refused(e)),
                },
                _ => Err(refused(OAuthError::invalid_parameter(
                    "action",
                    "use role, status, password, credential or revoke; reload the page and use one of its forms",
                ))),
            },
        };
    match done {
        Ok(res) => res,
        Err((e, form)) => {
            tracing::info!(code = e.entry().code, action, "console user action refused");
            user_page(
                &s,
                &r,
                &admin,
                &id,
                Outcome {
                    status: Some(status_of(&e)),
                    action: &action,
                    form: form.as_ref(),
                    error: Some(&e),
                    ..Default::default()
                },
            )
            .await
        }
    }
}
