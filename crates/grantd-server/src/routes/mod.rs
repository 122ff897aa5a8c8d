//! Handlers, one module per group of endpoints.

pub mod authorize;
pub mod console;
pub mod console_admin;
pub mod console_snippets;
pub mod device;
pub mod docs;
pub mod logout;
pub mod meta;
pub mod register;
pub mod restapi;
pub mod token;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer that must not be cached (RFC 6749 §5.1).
pub fn no_store_json<T: Serialize>(value: &T) -> Response {
    let mut res = axum::Json(value).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}
