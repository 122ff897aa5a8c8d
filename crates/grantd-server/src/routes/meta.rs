//! Discovery, JWKS and health.

use crate::endpoints::ENDPOINTS;
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use grantd_protocol::OAuthError;
use serde_json::{json, Map, Value};

/// The metadata document (RFC 8414; also served as OIDC discovery): the
/// endpoints come from the endpoint table, the rest from what is implemented.
pub fn metadata_document(s: &AppState) -> Value {
    let issuer = s.issuer();
    let mut doc = Map::new();
    doc.insert("issuer".into(), json!(issuer));
    for e in ENDPOINTS {
        if let Some(key) = e.metadata {
            doc.insert(key.into(), json!(format!("{issuer}{}", e.path)));
        }
    }
    let auth_methods = json!(["client_secret_basic", "client_secret_post", "none"]);
    doc.insert(
        "grant_types_supported".into(),
        json!(s.grantd.supported_grant_types()),
    );
    doc.insert(
        "token_endpoint_auth_methods_supported".into(),
        auth_methods.clone(),
    );
    doc.insert(
        "introspection_endpoint_auth_methods_supported".into(),
        auth_methods.clone(),
    );
    doc.insert(
        "revocation_endpoint_auth_methods_supported".into(),
        auth_methods,
    );
    doc.insert("response_types_supported".into(), json!([]));
    Value::Object(doc)
}

pub async fn metadata(State(s): State<AppState>) -> Response {
    cacheable(Json(metadata_document(&s)).into_response())
}

pub async fn jwks(State(s): State<AppState>) -> Response {
    let mut res = cacheable(Json(&*s.grantd.keys.jwks()).into_response());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    res
}

fn cacheable(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(s): State<AppState>) -> Result<Json<Value>, Rejection> {
    if s.grantd.ready().await {
        Ok(Json(json!({"status": "ready"})))
    } else {
        Err(OAuthError::store_unavailable().into())
    }
}
