//! grantd over HTTP: the router built from the endpoint table, the layers every
//! request passes through, and the handlers.

pub mod admin;
pub mod endpoints;
pub mod extract;
pub mod openapi;
pub mod reject;
pub mod routes;
pub mod state;

pub use state::AppState;

use crate::reject::{error_response, Rejection};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use grantd_protocol::OAuthError;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// Most the request headers may add up to.
pub const HEADER_LIMIT: usize = 16 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let admin = endpoints::mount(Router::new(), admin::ADMIN_ENDPOINTS)
        .route("/admin/v1/openapi.json", get(admin::openapi))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            admin::require_admin,
        ));
    endpoints::mount(Router::new(), endpoints::ENDPOINTS)
        .merge(admin)
        .fallback(unknown_endpoint)
        .layer(CatchPanicLayer::custom(|_| {
            Rejection(OAuthError::server_error()).into_response()
        }))
        .layer(middleware::map_response_with_state(
            state.clone(),
            reject::render,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), limit_headers))
        .layer(middleware::from_fn(secure_headers))
        .layer(middleware::from_fn(log_request))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

async fn unknown_endpoint(req: Request) -> Rejection {
    let path = req.uri().path();
    Rejection(OAuthError::unknown_endpoint(
        req.method().as_str(),
        path,
        endpoints::closest(path),
    ))
}

/// 431 with the catalog's body when the headers are too large (hyper's own
/// limit, far higher, answers without one).
async fn limit_headers(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > HEADER_LIMIT {
        return error_response(s.issuer(), &OAuthError::headers_too_large(HEADER_LIMIT));
    }
    next.run(req).await
}

/// Headers every response carries.
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Pages with forms set their own policy (form-action includes the app's redirect origin).
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    res
}

/// One log line per request: method, path (never the query: it may carry
/// credentials), status, time, request id.
async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let res = next.run(req).await;
    let elapsed: Duration = start.elapsed();
    let code = res
        .headers()
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info!(
        target: "grantd::http",
        %method,
        path = %path,
        status = res.status().as_u16(),
        error_code = code,
        micros = elapsed.as_micros() as u64,
        request_id = %id,
        "request"
    );
    res
}
