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
    crate::extract::ResourceDpop(proof): crate::extract::ResourceDpop,
    token: ApiToken,
) -> Result<Response, Rejection> {
    let bearer = s
        .grantd
        .authenticate_bearer(token.token.as_deref(), &proof)
        .await?;
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
    crate::extract::ResourceDpop(proof): crate::extract::ResourceDpop,
    BearerToken(token): BearerToken,
) -> Result<Json<Value>, Rejection> {
    let bearer = s
        .grantd
        .authenticate_bearer(token.as_deref(), &proof)
        .await?;
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

/// `GET /restapi/v1.0/client-info`: the app the token was issued to (the JS
/// SDK's auth-proxy mode asks it to tell whether it is signed in).
pub async fn client_info(
    State(s): State<AppState>,
    metering: Metering,
    crate::extract::ResourceDpop(proof): crate::extract::ResourceDpop,
    token: ApiToken,
) -> Result<Response, Rejection> {
    let bearer = s
        .grantd
        .authenticate_bearer(token.token.as_deref(), &proof)
        .await?;
    metering
        .check_client(&s, Some(&bearer.client_id), Some(&bearer.user.id))
        .await?;
    let app =
        s.grantd.find_app(&bearer.client_id).await?.ok_or_else(|| {
            grantd_protocol::OAuthError::access_token_revoked("its app was deleted")
        })?;
    let mut res = Json(json!({
        "uri": format!("{}/restapi/v1.0/client-info", s.issuer()),
        "client": {
            "appId": app.client_id,
            "appName": app.name,
            "appVersion": env!("CARGO_PKG_VERSION"),
            "platformType": app.platform_type.to_string(),
        },
        "scope": bearer.scope,
    }))
    .into_response();
    if token.from_query {
        deprecate_query_token(res.headers_mut());
    }
    Ok(res)
}

/// `POST /restapi/v1.0/interop/generate-code` with `{"clientId": "…"}`: an
/// authorization code for another app of the same account, for the token's
/// user (RingCentral's cross-app sign-in; the token needs Interoperability).
pub async fn interop_generate_code(
    State(s): State<AppState>,
    metering: Metering,
    crate::extract::ResourceDpop(proof): crate::extract::ResourceDpop,
    BearerToken(token): BearerToken,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Rejection> {
    let bearer = s
        .grantd
        .authenticate_bearer(token.as_deref(), &proof)
        .await?;
    metering
        .check_client(&s, Some(&bearer.client_id), Some(&bearer.user.id))
        .await?;
    let target = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("clientId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            grantd_protocol::OAuthError::missing_parameter(
                "clientId",
                "in the JSON body ({\"clientId\": \"…\"}), naming the app the code is for",
            )
        })?;
    let issued = s.grantd.interop_code(&bearer, &target).await?;
    Ok(Json(json!({
        "code": issued.code,
        "expires_in": issued.expires_in,
    })))
}
