//! The one place rejections become HTTP responses: the RFC 6749 §5.2 shape
//! plus RingCentral's `errors[]`, with `error_uri` pointing at grantd's own
//! page for the code, and the catalog's status and headers.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use grantd_protocol::{Challenge, OAuthError};
use serde_json::json;

/// A handler's rejection. It travels as a response extension and is rendered
/// by [`render`], which knows the issuer.
#[derive(Debug)]
pub struct Rejection(pub OAuthError);

impl From<OAuthError> for Rejection {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::empty());
        res.extensions_mut().insert(RenderMe(self.0));
        res
    }
}

#[derive(Clone)]
struct RenderMe(OAuthError);

/// The JSON body of an error.
pub fn error_body(issuer: &str, e: &OAuthError) -> serde_json::Value {
    error_body_for(issuer, e, None)
}

/// The JSON body of an error of the request `request_id` (in `errors[0]`
/// as `requestId`, so it can be looked up: `grantd explain <request-id>`).
pub fn error_body_for(issuer: &str, e: &OAuthError, request_id: Option<&str>) -> serde_json::Value {
    let entry = e.entry();
    let mut item = json!({"errorCode": entry.code, "message": entry.message});
    if let Some(p) = e.parameter {
        item["parameterName"] = json!(p);
    }
    if let Some(id) = request_id {
        item["requestId"] = json!(id);
    }
    json!({
        "error": entry.error.as_str(),
        "error_description": e.description,
        "error_uri": format!("{issuer}/docs/errors/{}", entry.code),
        "errors": [item],
    })
}

/// Renders an error into a full response.
pub fn error_response(issuer: &str, e: &OAuthError) -> Response {
    error_response_for(issuer, e, None)
}

/// Renders an error of the request `request_id` into a full response.
pub fn error_response_for(issuer: &str, e: &OAuthError, request_id: Option<&str>) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = error_body_for(issuer, e, request_id).to_string();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(allow) = e.allow {
        h.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    let challenge = match e.challenge {
        Some(Challenge::Basic) => Some(format!(
            "Basic realm=\"grantd\", error=\"{}\"",
            e.entry().error
        )),
        Some(Challenge::Bearer) => Some(format!(
            "Bearer realm=\"grantd\", error=\"{}\"",
            e.entry().error
        )),
        Some(Challenge::DPoP) => Some(format!(
            "DPoP algs=\"{}\", error=\"{}\"",
            grantd_protocol::dpop::SIGNING_ALGS.join(" "),
            e.entry().error
        )),
        None => None,
    };
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::WWW_AUTHENTICATE, c);
    }
    h.insert("x-error-code", HeaderValue::from_static(e.entry().code));
    res
}

/// The rejection a handler left in a response, before [`render`].
pub fn rejection_of(res: &Response) -> Option<&OAuthError> {
    res.extensions().get::<RenderMe>().map(|r| &r.0)
}

/// Turns a [`Rejection`] left in a response into its body (called by the
/// edge layer, which knows the issuer and the request id).
pub fn render(issuer: &str, res: Response, request_id: Option<&str>) -> Response {
    match res.extensions().get::<RenderMe>() {
        Some(RenderMe(e)) => {
            if e.status() >= 500 {
                tracing::warn!(code = e.entry().code, "request failed");
            } else {
                tracing::info!(code = e.entry().code, "request rejected");
            }
            let mut out = error_response_for(issuer, e, request_id);
            for (k, v) in res.headers() {
                out.headers_mut().entry(k).or_insert_with(|| v.clone());
            }
            out
        }
        None => res,
    }
}
