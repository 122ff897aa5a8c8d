//! The token, introspection and revocation endpoints.

use super::no_store_json;
use crate::extract::{OAuthForm, RevokeRule, TokenParamRule, TokenRule};
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
    form: OAuthForm<TokenRule>,
) -> Result<Response, Rejection> {
    metering
        .check_client(&s, form.client.client_id(), None)
        .await?;
    let issued = match s.grantd.token(&form.client, &form.params).await {
        Ok(issued) => issued,
        Err(e) => {
            let app = form
                .client
                .client_id()
                .filter(|id| s.grantd.is_known_app(id));
            crate::metrics::token_rejected(e.code.as_str(), app);
            return Err(e.into());
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
