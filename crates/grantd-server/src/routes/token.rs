//! The token, introspection and revocation endpoints.

use super::no_store_json;
use crate::extract::{OAuthForm, TokenParamRule, TokenRule};
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use grantd_protocol::OAuthError;

/// `POST /oauth/token`: every grant.
pub async fn token(
    State(s): State<AppState>,
    form: OAuthForm<TokenRule>,
) -> Result<Response, Rejection> {
    let issued = s.grantd.token(&form.client, &form.params).await?;
    Ok(no_store_json(&issued))
}

/// `POST /oauth/introspect` (RFC 7662), client-authenticated.
pub async fn introspect(
    State(s): State<AppState>,
    form: OAuthForm<TokenParamRule>,
) -> Result<Response, Rejection> {
    let app = s.grantd.authenticate_client(&form.client).await?;
    let token = form
        .params
        .require("token", "to say which token to introspect")?;
    let answer = s.grantd.introspect(&app, token).await?;
    Ok(no_store_json(&answer))
}

/// `POST /oauth/revoke` (RFC 7009): 200 with an empty body whether or not the
/// token was known, as RingCentral answers.
pub async fn revoke(
    State(s): State<AppState>,
    form: OAuthForm<TokenParamRule>,
) -> Result<Response, Rejection> {
    let app = s.grantd.authenticate_client(&form.client).await?;
    let token = form
        .params
        .get("token")
        .ok_or_else(|| OAuthError::missing_parameter("token", "to say which token to revoke"))?;
    s.grantd.revoke(&app, token).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
