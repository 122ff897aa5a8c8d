//! The error catalog as pages: `/docs/errors` and `/docs/errors/{code}`, the
//! target of every `error_uri`.

use crate::extract::PathParams;
use crate::reject::Rejection;
use askama::Template;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use grantd_protocol::{Code, Entry, OAuthError};

#[derive(Template)]
#[template(path = "error_index.html")]
struct IndexPage {
    entries: Vec<&'static Entry>,
}

#[derive(Template)]
#[template(path = "error_page.html")]
struct ErrorPage {
    entry: &'static Entry,
}

fn html(rendered: Result<String, askama::Error>) -> Result<Response, Rejection> {
    rendered
        .map(|body| Html(body).into_response())
        .map_err(|e| {
            tracing::error!(error = %e, "template failed");
            Rejection(OAuthError::server_error())
        })
}

pub async fn index() -> Result<Response, Rejection> {
    let mut entries: Vec<&'static Entry> = Code::ALL.iter().map(|c| c.entry()).collect();
    entries.sort_by_key(|e| e.code);
    html(IndexPage { entries }.render())
}

pub async fn page(PathParams(code): PathParams<String>) -> Result<Response, Rejection> {
    let entry = Code::find(&code)
        .ok_or_else(|| {
            OAuthError::unknown_endpoint(
                "GET",
                &format!("/docs/errors/{code}"),
                Some("/docs/errors"),
            )
        })?
        .entry();
    html(ErrorPage { entry }.render())
}

pub async fn css() -> Response {
    let mut res = include_str!("../../assets/grantd.css").into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// The console's one script (copy buttons); the pages work without it.
pub async fn console_js() -> Response {
    let mut res = include_str!("../../assets/console.js").into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

pub async fn favicon() -> Response {
    let mut res = axum::http::StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}
