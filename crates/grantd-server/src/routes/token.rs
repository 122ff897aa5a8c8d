//! The token, introspection and revocation endpoints.

use super::no_store_json;
use crate::extract::{DpopHeader, OAuthForm, RevokeRule, TokenParamRule, TokenRule};
use crate::quota::Metering;
use crate::reject::Rejection;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use grantd_core::tokens::Deprecation;
use grantd_protocol::{Code, OAuthError};

/// `POST /oauth/token`: every grant. The Auth quota counts per app: the
/// user is known only once the grant has run.
pub async fn token(
    State(s): State<AppState>,
    metering: Metering,
    DpopHeader(dpop): DpopHeader,
    form: OAuthForm<TokenRule>,
) -> Result<Response, Rejection> {
    metering
        .check_client(&s, form.client.client_id(), None)
        .await?;
    let issued = match s
        .grantd
        .token_with_dpop(&form.client, &form.params, dpop.as_ref())
        .await
    {
        Ok(issued) => issued,
        Err(e) => {
            let app = form
                .client
                .client_id()
                .filter(|id| s.grantd.is_known_app(id));
            crate::metrics::token_rejected(e.code.as_str(), app);
            return Ok(with_dpop_nonce(&s, dpop.is_some(), e));
        }
    };
    if let Some(id) = form.client.client_id() {
        crate::metrics::token_issued(form.params.get("grant_type").unwrap_or(""), id);
        s.usage.count(id, s.grantd.now());
    }
    let mut res = no_store_json(&issued.response);
    if let Some(d) = issued.deprecation {
        deprecation_headers(&mut res, s.issuer(), d);
    }
    if dpop.is_some() {
        set_dpop_nonce(&s, &mut res);
    }
    Ok(res)
}

/// The server's current DPoP nonce (RFC 9449 §8), on every answer to a
/// request that sent a proof, so clients keep theirs current.
pub fn set_dpop_nonce(s: &AppState, res: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&s.grantd.dpop_nonce()) {
        res.headers_mut()
            .insert(grantd_protocol::dpop::NONCE_HEADER, v);
    }
}

/// A rejection of a request that sent a DPoP proof, with the nonce.
pub fn with_dpop_nonce(s: &AppState, dpop: bool, e: OAuthError) -> Response {
    let nonce = dpop || e.code == Code::DpopNonceRequired;
    let mut res = Rejection(e).into_response();
    if nonce {
        set_dpop_nonce(s, &mut res);
    }
    res
}

/// `POST /oauth/par` (RFC 9126): the authorization request's parameters,
/// client-authenticated; answers 201 with the request_uri.
pub async fn par(
    State(s): State<AppState>,
    metering: Metering,
    DpopHeader(dpop): DpopHeader,
    form: OAuthForm<TokenRule>,
) -> Result<Response, Rejection> {
    metering
        .check_client(&s, form.client.client_id(), None)
        .await?;
    let pushed = s
        .grantd
        .push_authorization_request(&form.client, &form.params, dpop.as_ref())
        .await;
    let mut res = match pushed {
        Ok(p) => {
            let mut res = no_store_json(&serde_json::json!({
                "request_uri": p.request_uri,
                "expires_in": p.expires_in,
            }));
            *res.status_mut() = axum::http::StatusCode::CREATED;
            res
        }
        Err(e) => return Ok(with_dpop_nonce(&s, dpop.is_some(), e)),
    };
    if dpop.is_some() {
        set_dpop_nonce(&s, &mut res);
    }
    Ok(res)
}

/// RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and a link to the explanation.
pub fn deprecation_headers(res: &mut Response, issuer: &str, d: Deprecation) {
    let h = res.headers_mut();
    // Legacy grants are deprecated by RFC 9700 (January 2025).
    h.insert("deprecation", HeaderValue::from_static("@1736812800"));
    let sunset = time::OffsetDateTime::from_unix_timestamp(d.sunset)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .map(|s| s.replace("+0000", "GMT"));
    if let Some(v) = sunset.and_then(|s| HeaderValue::from_str(&s).ok()) {
        h.insert("sunset", v);
    }
    let link = format!(
        "<{issuer}/docs/errors/{}>; rel=\"deprecation\"; type=\"text/html\"",
        Code::LegacyGrantRetired
    );
    if let Ok(v) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, v);
    }
}

/// `POST /oauth/introspect` (RFC 7662), client-authenticated.
pub async fn introspect(
    State(s): State<AppState>,
    metering: Metering,
    form: OAuthForm<TokenParamRule>,
) -> Result<Response, Rejection> {
    let app = s.grantd.authenticate_client(&form.client).await?;
    metering.check(&app, None)?;
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
    metering: Metering,
    form: OAuthForm<RevokeRule>,
) -> Result<Response, Rejection> {
    let app = s.grantd.authenticate_client(&form.client).await?;
    metering.check(&app, None)?;
    let token = form
        .params
        .get("token")
        .ok_or_else(|| OAuthError::missing_parameter("token", "to say which token to revoke"))?;
    s.grantd.revoke(&app, token).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
