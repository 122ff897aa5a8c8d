//! The admin API (`/admin/v1`), authenticated with the admin bearer token.

use crate::endpoints::Endpoint;
use crate::extract::{AdminJson, BearerToken, PathParams};
use crate::ratelimit::Identity;
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use grantd_core::apps::AppSpec;
use grantd_core::credentials::CredentialSpec;
use grantd_core::model::{App, UserStatus};
use grantd_core::store::LogoutOf;
use grantd_core::users::UserSpec;
use grantd_protocol::OAuthError;
use serde::Deserialize;
use serde_json::{json, Value};

pub const ADMIN_ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/admin/v1/audit",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(list_audit),
        summary: "The audit log of security events, oldest first (?after=SEQ&limit=N), each entry chained to the one before it by hash",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/accounts",
        ringcentral: None,
        allow: "GET, POST",
        metadata: None,
        router: || get(list_accounts).post(create_account),
        summary: "List or create accounts",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/accounts/{id}",
        ringcentral: None,
        allow: "PATCH",
        metadata: None,
        router: || axum::routing::patch(set_session_policy),
        summary: "Set the account's session policy (session_expires_in, session_idle_timeout)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps",
        ringcentral: None,
        allow: "GET, POST",
        metadata: None,
        router: || get(list_apps).post(create_app),
        summary: "List or register apps",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}",
        ringcentral: None,
        allow: "GET, PATCH, DELETE",
        metadata: None,
        router: || get(show_app).patch(update_app).delete(delete_app),
        summary: "Show, change or delete an app",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users",
        ringcentral: None,
        allow: "GET, POST",
        metadata: None,
        router: || get(list_users).post(create_user),
        summary: "List or create users",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users/{id}",
        ringcentral: None,
        allow: "GET, PATCH",
        metadata: None,
        router: || get(show_user).patch(update_user),
        summary: "Show a user, or enable/disable them",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users/{id}/jwt-credentials",
        ringcentral: None,
        allow: "GET, POST",
        metadata: None,
        router: || get(list_credentials).post(create_credential),
        summary: "List a user's JWT credentials, or create one (the JWT is shown once)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users/{id}/consents",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(list_consents),
        summary: "The apps a user has granted access, and the scopes",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users/{id}/consents/{client_id}",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(revoke_consent),
        summary: "Withdraw a user's consent to an app: the next sign-in asks again, and the user's sessions with the app end",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/keys/{kid}",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(revoke_key),
        summary: "Revoke a signing key at once (it leaked): it leaves the JWKS and what it signed stops verifying; a new key takes over if it was signing",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/users/{id}/sessions",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(end_user_sessions),
        summary: "End every session of a user (their tokens stop working at once)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}/sessions",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(end_app_sessions),
        summary: "End every session of an app (its users' tokens stop working at once)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/jwt-credentials/{id}",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(revoke_credential),
        summary: "Revoke a JWT credential",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/registration-tokens",
        ringcentral: None,
        allow: "GET, POST",
        metadata: None,
        router: || get(list_registration_tokens).post(create_registration_token),
        summary: "List or issue initial access tokens for dynamic client registration (RFC 7591 §3; the token is shown once)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/registration-tokens/{id}",
        ringcentral: None,
        allow: "DELETE",
        metadata: None,
        router: || axum::routing::delete(revoke_registration_token),
        summary: "Revoke an initial access token (the clients it registered stay)",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}/secret",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(rotate_secret),
        summary: "Rotate an app's client secret",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}/rejections",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(list_rejections),
        summary: "An app's rejected requests at the OAuth endpoints, newest first (the last 1,000): cause, fix, client address, user agent, request id and decision trace; filter with code, endpoint and limit",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}/logout-deliveries",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(logout_deliveries),
        summary: "An app's back-channel logout deliveries, newest first (the last 100): status (pending, delivered, failed), attempts, last error and next attempt",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/apps/{client_id}/usage",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(app_usage),
        summary: "An app's usage over the last 14 days (UTC), newest first: tokens issued at the token endpoint and rejected requests (from the kept rejection log), every day listed",
        group: None,
    },
    Endpoint {
        path: "/admin/v1/rejections/{request_id}",
        ringcentral: None,
        allow: "GET",
        metadata: None,
        router: || get(show_rejection),
        summary: "One rejected request by its request id (X-Request-Id, errors[0].requestId): its cause, fix and decision trace",
        group: None,
    },
];

/// The admin API's own description; outside [`ADMIN_ENDPOINTS`], which it
/// documents, but mounted the same way, so a wrong method gets the catalog's 405.
pub const OPENAPI_ENDPOINT: &[Endpoint] = &[Endpoint {
    path: "/admin/v1/openapi.json",
    ringcentral: None,
    allow: "GET",
    metadata: None,
    router: || get(openapi),
    summary: "The admin API's OpenAPI document",
    group: None,
}];

/// Middleware: every admin route needs the admin token.
pub async fn require_admin(
    State(s): State<AppState>,
    BearerToken(token): BearerToken,
    req: Request,
    next: Next,
) -> Response {
    // Wrong tokens count against the failure limit, and guessing is
    // refused before the token is even compared.
    let checked = crate::ratelimit::identify(req.extensions(), Identity::Admin)
        .and_then(|()| s.grantd.check_admin_token(token.as_deref()));
    match checked {
        Ok(()) => {
            let source = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| s.proxies.client_ip(c.0, req.headers()).to_string())
                .unwrap_or_default();
            let what = format!("{} {}", req.method(), req.uri().path());
            s.grantd
                .audit(
                    grantd_core::audit::kind::ADMIN_TOKEN_USED,
                    "admin",
                    &what,
                    &source,
                    json!({}),
                )
                .await;
            next.run(req).await
        }
        Err(e) => Rejection(e).into_response(),
    }
}

async fn list_audit(
    State(s): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, Rejection> {
    let q = grantd_protocol::Params::parse_query(query.as_deref())?;
    let after = q.number("after").unwrap_or(0).min(i64::MAX as u64) as i64;
    let limit = q.number("limit").unwrap_or(100).clamp(1, 1000) as u32;
    let entries = s
        .grantd
        .store
        .list_audit(after, limit)
        .await
        .map_err(OAuthError::from)?;
    let next = entries.last().map(|e| e.seq);
    Ok(Json(json!({"entries": entries, "next_after": next})).into_response())
}

/// The JSON form of an app, plus its secret when one was just made.
pub fn app_json(app: &App, secret: Option<&grantd_protocol::Secret>) -> Value {
    let mut v = serde_json::to_value(app).unwrap_or_else(|_| json!({}));
    v["client_type"] = json!(if app.is_confidential() {
        "confidential"
    } else {
        "public"
    });
    if let Some(s) = secret {
        v["client_secret"] = json!(s.expose());
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
}

async fn set_session_policy(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
    AdminJson(policy): AdminJson<grantd_core::session_policy::SessionPolicy>,
) -> Result<Response, Rejection> {
    let policy = s.grantd.set_session_policy(&id, policy).await?;
    Ok(Json(json!({"account_id": id, "session_policy": policy})).into_response())
}

async fn create_account(
    State(s): State<AppState>,
    AdminJson(body): AdminJson<NewAccount>,
) -> Result<Response, Rejection> {
    let account = s.grantd.create_account(&body.name).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

async fn list_accounts(State(s): State<AppState>) -> Result<Response, Rejection> {
    let accounts = s
        .grantd
        .store
        .list_accounts()
        .await
        .map_err(grantd_protocol::OAuthError::from)?;
    Ok(Json(json!({"accounts": accounts})).into_response())
}

async fn create_app(
    State(s): State<AppState>,
    AdminJson(spec): AdminJson<AppSpec>,
) -> Result<Response, Rejection> {
    let created = s.grantd.create_app(spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(app_json(&created.app, created.client_secret.as_ref())),
    )
        .into_response())
}

async fn list_apps(State(s): State<AppState>) -> Result<Response, Rejection> {
    let apps: Vec<Value> = s
        .grantd
        .list_apps()
        .await?
        .iter()
        .map(|a| app_json(a, None))
        .collect();
    Ok(Json(json!({"apps": apps})).into_response())
}

async fn show_app(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    Ok(Json(app_json(&s.grantd.get_app(&id).await?, None)).into_response())
}

async fn update_app(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
    AdminJson(spec): AdminJson<AppSpec>,
) -> Result<Response, Rejection> {
    Ok(Json(app_json(&s.grantd.update_app(&id, spec).await?, None)).into_response())
}

async fn delete_app(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.delete_app(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    let (app, secret) = s.grantd.rotate_secret(&id).await?;
    Ok(Json(app_json(&app, Some(&secret))).into_response())
}

async fn create_user(
    State(s): State<AppState>,
    AdminJson(spec): AdminJson<UserSpec>,
) -> Result<Response, Rejection> {
    let user = s.grantd.create_user(spec).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// `?account_id=`, read by grantd's own parser so a repeat or a value that
/// is not UTF-8 gets a catalog error.
async fn list_users(
    State(s): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, Rejection> {
    let filter = grantd_protocol::Params::parse_query(uri.query())?;
    let users = s
        .grantd
        .store
        .list_users(filter.get("account_id"))
        .await
        .map_err(OAuthError::from)?;
    Ok(Json(json!({"users": users})).into_response())
}

async fn show_user(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    Ok(Json(s.grantd.get_user(&id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub status: Option<String>,
    /// A new password: the user's sessions end.
    pub password: Option<grantd_protocol::Secret>,
}

async fn update_user(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
    AdminJson(patch): AdminJson<UserPatch>,
) -> Result<Response, Rejection> {
    if patch.status.is_none() && patch.password.is_none() {
        return Err(OAuthError::invalid_user_field(
            "status",
            "send status (enabled or disabled), password, or both",
        )
        .into());
    }
    let mut ended = None;
    if let Some(password) = patch.password {
        ended = Some(s.grantd.set_password(&id, password).await?);
    }
    let user = match patch.status {
        Some(status) => {
            let status = UserStatus::parse(&status).ok_or_else(|| {
                OAuthError::invalid_user_field("status", "use enabled or disabled")
            })?;
            s.grantd.set_user_status(&id, status).await?
        }
        None => s.grantd.get_user(&id).await?,
    };
    let mut body = serde_json::to_value(&user).unwrap_or_else(|_| json!({}));
    if let Some(n) = ended {
        body["sessions_ended"] = json!(n);
    }
    Ok(Json(body).into_response())
}

async fn create_credential(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
    AdminJson(spec): AdminJson<CredentialSpec>,
) -> Result<Response, Rejection> {
    let issued = s.grantd.create_credential(&id, spec).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn list_credentials(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.get_user(&id).await?;
    let list = s
        .grantd
        .store
        .list_jwt_credentials(&id)
        .await
        .map_err(OAuthError::from)?;
    Ok(Json(json!({"jwt_credentials": list})).into_response())
}

async fn list_consents(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.get_user(&id).await?;
    let list = s
        .grantd
        .store
        .list_consents(&id)
        .await
        .map_err(OAuthError::from)?;
    Ok(Json(json!({"consents": list})).into_response())
}

async fn revoke_consent(
    State(s): State<AppState>,
    PathParams((id, client_id)): PathParams<(String, String)>,
) -> Result<Response, Rejection> {
    s.grantd.withdraw_consent(&id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke_key(
    State(s): State<AppState>,
    PathParams(kid): PathParams<String>,
) -> Result<Response, Rejection> {
    let g = &s.grantd;
    let replacement = g
        .keys
        .revoke(&*g.store, &kid, g.now())
        .await
        .map_err(|e| match e {
            grantd_core::keys::KeyError::NotFound(kid) => OAuthError::key_not_found(&kid),
            other => {
                tracing::error!(error = %other, "revoking a signing key failed");
                OAuthError::server_error()
            }
        })?;
    tracing::warn!(kid = %kid, replacement = ?replacement, "signing key revoked");
    Ok(Json(json!({"revoked": kid, "signing_kid": replacement})).into_response())
}

async fn end_user_sessions(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.get_user(&id).await?;
    let out = s
        .grantd
        .logout(LogoutOf::User(id), None, "ended by an administrator")
        .await?;
    Ok(Json(json!({"ended": out.ended.len()})).into_response())
}

async fn end_app_sessions(
    State(s): State<AppState>,
    PathParams(client_id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.get_app(&client_id).await?;
    let out = s
        .grantd
        .logout(LogoutOf::App(client_id), None, "ended by an administrator")
        .await?;
    Ok(Json(json!({"ended": out.ended.len()})).into_response())
}

async fn revoke_credential(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.revoke_credential(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_registration_token(
    State(s): State<AppState>,
    AdminJson(spec): AdminJson<grantd_core::registration::RegistrationTokenSpec>,
) -> Result<Response, Rejection> {
    let (token, secret) = s.grantd.create_registration_token(spec).await?;
    let mut body = grantd_core::registration::registration_token_json(&token);
    body["token"] = json!(secret.expose());
    let mut res = crate::routes::no_store_json(&body);
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

async fn list_registration_tokens(State(s): State<AppState>) -> Result<Response, Rejection> {
    let tokens: Vec<Value> = s
        .grantd
        .list_registration_tokens()
        .await?
        .iter()
        .map(grantd_core::registration::registration_token_json)
        .collect();
    Ok(Json(json!({"registration_tokens": tokens})).into_response())
}

async fn revoke_registration_token(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    s.grantd.revoke_registration_token(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/v1/openapi.json`.
pub async fn openapi(State(s): State<AppState>) -> Json<Value> {
    Json(crate::openapi::document(s.issuer()))
}

/// The JSON form of a rejection: the record, the catalog's words for its
/// code and the link to the error reference.
pub fn rejection_json(issuer: &str, r: &grantd_core::rejections::Rejection) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert("time".into(), json!(grantd_core::crypto::rfc3339(r.at)));
        o.insert("message".into(), json!(r.message()));
        o.insert("fix".into(), json!(r.fix()));
        o.insert(
            "error_uri".into(),
            json!(format!("{issuer}/docs/errors/{}", r.code)),
        );
    }
    v
}

async fn list_rejections(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, Rejection> {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let filter =
        grantd_core::rejections::read_filter(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let list = s.grantd.app_rejections(&id, &filter).await?;
    let items: Vec<Value> = list.iter().map(|r| rejection_json(s.issuer(), r)).collect();
    Ok(Json(json!({"client_id": id, "rejections": items})).into_response())
}

async fn show_rejection(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    let r = s.grantd.rejection(&id).await?;
    Ok(Json(rejection_json(s.issuer(), &r)).into_response())
}

async fn logout_deliveries(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    let deliveries = s.grantd.logout_deliveries(&id).await?;
    Ok(Json(json!({"client_id": id, "deliveries": deliveries})).into_response())
}

async fn app_usage(
    State(s): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, Rejection> {
    let days = s.grantd.app_usage(&id).await?;
    Ok(Json(json!({"client_id": id, "days": days})).into_response())
}
