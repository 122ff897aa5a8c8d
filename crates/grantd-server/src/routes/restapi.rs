//! The RingCentral API resources the SDKs call: the token's user
//! (`GET /restapi/v1.0/account/~/extension/~`, right after login) and the
//! WebSocket token (`POST /restapi/oauth/wstoken`).

use crate::extract::{deprecate_query_token, ApiToken, BearerToken};
use crate::quota::Metering;
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

pub async fn current_extension(
    State(s): State<AppState>,
    metering: Metering,
    token: ApiToken,
) -> Result<Response, Rejection> {
    let bearer = s.grantd.authenticate_bearer(token.token.as_deref()).await?;
    metering
        .check_client(&s, Some(&bearer.client_id), Some(&bearer.user.id))
        .await?;
    let u = &bearer.user;
    let base = format!("{}/restapi/v1.0/account/{}", s.issuer(), u.account_id);
    let (first, last) = u.name.split_once(' ').unwrap_or((u.name.as_str(), ""));
    let body = Json(json!({
        "uri": format!("{base}/extension/{}", u.id),
        "id": u.id.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(u.id.clone())),
        "extensionNumber": u.extension_number,
        "name": u.name,
        "type": "User",
        "status": "Enabled",
        "permissions": {"admin": {"enabled": u.role.as_str() == "admin"}},
        "contact": {
            "firstName": first,
            "lastName": last,
            "email": u.email,
            "businessPhone": u.phone,
        },
        "account": {"uri": base, "id": u.account_id},
    }));
    let mut res = body.into_response();
    if token.from_query {
        deprecate_query_token(res.headers_mut());
    }
    Ok(res)
}

/// `POST /restapi/oauth/wstoken`: a short-lived token for the platform's
/// WebSocket gateway and where the gateway is (`ws.uri`).
pub async fn ws_token(
    State(s): State<AppState>,
    metering: Metering,
    BearerToken(token): BearerToken,
) -> Result<Json<Value>, Rejection> {
    let bearer = s.grantd.authenticate_bearer(token.as_deref()).await?;
    metering
        .check_client(&s, Some(&bearer.client_id), Some(&bearer.user.id))
        .await?;
    let Some(uri) = s.ws_uri.as_deref() else {
        return Err(grantd_protocol::OAuthError::ws_not_configured().into());
    };
    let ws = s.grantd.ws_token(&bearer, uri).await?;
    Ok(Json(json!({
        "uri": uri,
        "ws_access_token": ws.value,
        "expires_in": ws.expires_in,
    })))
}
