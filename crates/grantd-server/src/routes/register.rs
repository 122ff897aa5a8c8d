//! Dynamic client registration (RFC 7591), the client configuration
//! endpoint (RFC 7592), and the protected resource metadata of grantd's
//! own APIs (RFC 9728).

use crate::extract::{BearerToken, PathParams, RegistrationJson};
use crate::ratelimit::{identify, Identity};
use crate::reject::Rejection;
use crate::routes::no_store_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The registration endpoint's URL, the base of every registration_client_uri.
fn registration_endpoint(s: &AppState) -> String {
    format!("{}/oauth/register", s.issuer())
}

/// `POST /oauth/register`: a client registers itself.
pub async fn register(
    State(s): State<AppState>,
    ext: Extensions,
    BearerToken(initial): BearerToken,
    RegistrationJson(body): RegistrationJson,
) -> Result<Response, Rejection> {
    identify(&ext, Identity::Anonymous)?;
    let info = s.grantd.register_client(&body, initial.as_deref()).await?;
    let mut res = no_store_json(&info.to_json(&registration_endpoint(&s)));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// `GET /oauth/register/{client_id}` (RFC 7592 §2.1).
pub async fn read(
    State(s): State<AppState>,
    ext: Extensions,
    PathParams(client_id): PathParams<String>,
    BearerToken(token): BearerToken,
) -> Result<Response, Rejection> {
    identify(&ext, Identity::Client(&client_id))?;
    let info = s
        .grantd
        .read_registration(&client_id, token.as_deref())
        .await?;
    Ok(no_store_json(&info.to_json(&registration_endpoint(&s))))
}

/// `PUT /oauth/register/{client_id}` (RFC 7592 §2.2).
pub async fn update(
    State(s): State<AppState>,
    ext: Extensions,
    PathParams(client_id): PathParams<String>,
    BearerToken(token): BearerToken,
    RegistrationJson(body): RegistrationJson,
) -> Result<Response, Rejection> {
    identify(&ext, Identity::Client(&client_id))?;
    let info = s
        .grantd
        .update_registration(&client_id, token.as_deref(), &body)
        .await?;
    Ok(no_store_json(&info.to_json(&registration_endpoint(&s))))
}

/// `DELETE /oauth/register/{client_id}` (RFC 7592 §2.3).
pub async fn delete(
    State(s): State<AppState>,
    ext: Extensions,
    PathParams(client_id): PathParams<String>,
    BearerToken(token): BearerToken,
) -> Result<Response, Rejection> {
    identify(&ext, Identity::Client(&client_id))?;
    s.grantd
        .delete_registration(&client_id, token.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The protected resource metadata (RFC 9728 §2) of the resource at
/// `{issuer}{path}`: grantd's own APIs, whose tokens grantd issues.
pub fn resource_metadata_document(s: &AppState, path: &str) -> Value {
    let issuer = s.issuer();
    json!({
        "resource": format!("{issuer}{path}"),
        "authorization_servers": [issuer],
        "scopes_supported": grantd_core::tokens::OIDC_SCOPES,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": grantd_protocol::dpop::SIGNING_ALGS,
        "dpop_bound_access_tokens_required": false,
        "resource_name": "grantd",
        "resource_documentation": format!("{issuer}/docs/errors"),
    })
}

/// Where the metadata of the resource a request at `path` reached lives
/// (RFC 9728 §3.1: the well-known name before the resource's path):
/// `/.well-known/oauth-protected-resource/restapi` for RingCentral's API,
/// the bare name for the rest (userinfo).
pub fn resource_metadata_url(issuer: &str, path: &str) -> String {
    if path.starts_with("/restapi/") {
        format!("{issuer}/.well-known/oauth-protected-resource/restapi")
    } else {
        format!("{issuer}/.well-known/oauth-protected-resource")
    }
}

/// `GET /.well-known/oauth-protected-resource`.
pub async fn resource_metadata(State(s): State<AppState>) -> Response {
    cacheable(Json(resource_metadata_document(&s, "")).into_response())
}

/// `GET /.well-known/oauth-protected-resource/restapi`.
pub async fn restapi_resource_metadata(State(s): State<AppState>) -> Response {
    cacheable(Json(resource_metadata_document(&s, "/restapi")).into_response())
}

fn cacheable(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    res
}
