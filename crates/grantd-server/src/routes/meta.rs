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
    // client_secret_jwt is not offered: secrets are stored hashed, so an
    // HMAC keyed with one cannot be checked.
    let auth_methods = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none"
    ]);
    let signing_algs = json!(grantd_core::client_assertion::SIGNING_ALGS);
    for endpoint in ["token", "introspection", "revocation"] {
        doc.insert(
            format!("{endpoint}_endpoint_auth_methods_supported"),
            auth_methods.clone(),
        );
        doc.insert(
            format!("{endpoint}_endpoint_auth_signing_alg_values_supported"),
            signing_algs.clone(),
        );
    }
    let response_types = s.grantd.response_types_supported();
    let mut grants = s.grantd.supported_grant_types();
    let mut modes = vec!["query"];
    if response_types.contains(&"token") {
        grants.push("implicit");
        modes.push("fragment");
    }
    doc.insert("grant_types_supported".into(), json!(grants));
    doc.insert("response_types_supported".into(), json!(response_types));
    doc.insert("response_modes_supported".into(), json!(modes));
    doc.insert(
        "code_challenge_methods_supported".into(),
        json!(["S256", "plain"]),
    );
    doc.insert(
        "scopes_supported".into(),
        json!(grantd_core::tokens::OIDC_SCOPES),
    );
    doc.insert("subject_types_supported".into(), json!(["public"]));
    doc.insert(
        "dpop_signing_alg_values_supported".into(),
        json!(grantd_protocol::dpop::SIGNING_ALGS),
    );
    // RFC 9101: request objects by value, signed by the app's key; by
    // reference only as PAR's request_uri (grantd fetches no URLs).
    doc.insert("request_parameter_supported".into(), json!(true));
    doc.insert("request_uri_parameter_supported".into(), json!(false));
    doc.insert(
        "request_object_signing_alg_values_supported".into(),
        signing_algs.clone(),
    );
    doc.insert("require_signed_request_object".into(), json!(false));

    doc.insert(
        "id_token_signing_alg_values_supported".into(),
        json!(s.grantd.keys.algs()),
    );
    doc.insert(
        "prompt_values_supported".into(),
        json!(["none", "login", "consent"]),
    );
    doc.insert(
        "claims_supported".into(),
        json!([
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "azp",
            "sid",
            "name",
            "given_name",
            "family_name",
            "email",
            "email_verified"
        ]),
    );
    doc.insert(
        "authorization_response_iss_parameter_supported".into(),
        json!(true),
    );
    // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry sid.
    doc.insert("backchannel_logout_supported".into(), json!(true));
    doc.insert("backchannel_logout_session_supported".into(), json!(true));
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
