//! Extractors that read OAuth requests once, at the edge, into typed values,
//! diagnosing how a request was sent before anything else looks at it.

use crate::ratelimit::{self, Identity};
use crate::reject::Rejection;
use crate::state::AppState;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use grantd_protocol::form::forbidden_in_query;
use grantd_protocol::{ClientAuth, OAuthError, Params};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Most an OAuth form body may be.
pub const FORM_LIMIT: usize = 16 * 1024;
/// Most an admin JSON body may be.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Which parameters may not appear in the URL of an endpoint.
pub trait QueryRule {
    const FORBIDDEN: &'static [&'static str];
}

pub struct TokenRule;
impl QueryRule for TokenRule {
    const FORBIDDEN: &'static [&'static str] = grantd_protocol::form::TOKEN_QUERY_FORBIDDEN;
}

pub struct TokenParamRule;
impl QueryRule for TokenParamRule {
    const FORBIDDEN: &'static [&'static str] = grantd_protocol::form::TOKEN_PARAM_QUERY_FORBIDDEN;
}

/// A form-encoded OAuth request with the client's claimed identity.
pub struct OAuthForm<R> {
    pub params: Params,
    pub client: ClientAuth,
    _rule: std::marker::PhantomData<R>,
}

impl<R: QueryRule> FromRequest<AppState> for OAuthForm<R> {
    type Rejection = Rejection;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Rejection> {
        let (parts, body) = req.into_parts();
        let found = forbidden_in_query(parts.uri.query(), R::FORBIDDEN);
        if !found.is_empty() {
            return Err(OAuthError::credentials_in_query(&found).into());
        }
        let params = read_form(&parts.headers, body, s.body_read_timeout).await?;
        let client = ClientAuth::read(
            parts
                .headers
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            &params,
        );
        // Whose credentials are tried, for the failure limit: before any
        // secret is checked, and even when the header is malformed.
        let claimed = match &client {
            Ok(c) => c.client_id(),
            Err(_) => params.get("client_id"),
        };
        ratelimit::identify(
            &parts.extensions,
            claimed.map_or(Identity::Anonymous, Identity::Client),
        )?;
        let client = client?;
        Ok(Self {
            params,
            client,
            _rule: std::marker::PhantomData,
        })
    }
}

/// Reads a request body of at most `limit` bytes that must arrive within
/// `timeout`: past the limit 413 (GRD-107), stalled 408 (GRD-110), cut short
/// by the client 400 (GRD-111), so each is logged as what it was.
pub async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, Rejection> {
    if body.size_hint().lower() > limit as u64 {
        return Err(OAuthError::body_too_large(limit).into());
    }
    let read = async {
        let mut body = body;
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| OAuthError::body_incomplete())?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(OAuthError::body_too_large(limit));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(read) => Ok(read?),
        Err(_) => Err(OAuthError::body_timeout(timeout.as_secs()).into()),
    }
}

/// Reads and parses a form body, explaining JSON and wrong content types.
pub async fn read_form(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
) -> Result<Params, Rejection> {
    let bytes = read_body(body, FORM_LIMIT, timeout).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
    Ok(grantd_protocol::form::read_form_body(
        content_type.as_deref(),
        &bytes,
    )?)
}

/// A JSON body for the admin API; errors say what is wrong with it.
pub struct AdminJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AdminJson<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Rejection> {
        let bytes = read_body(req.into_body(), JSON_LIMIT, s.body_read_timeout).await?;
        let bytes = if bytes.is_empty() {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes)
            .map(AdminJson)
            .map_err(|e| OAuthError::admin_body_invalid(&describe_json_error(&e)).into())
    }
}

/// serde's message without any quoted input value (it could be a password).
fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut in_quote = false;
    for c in msg.chars() {
        match c {
            '"' if !in_quote => {
                in_quote = true;
                out.push_str("\"…");
            }
            '"' => {
                in_quote = false;
                out.push('"');
            }
            _ if in_quote => {}
            c => out.push(c),
        }
    }
    out
}

/// Path parameters. A segment that does not decode (percent-encoded bytes
/// that are not UTF-8) names nothing, so it is answered as an unknown
/// endpoint, from the catalog like any other path.
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => {
                Err(
                    OAuthError::unknown_endpoint(parts.method.as_str(), parts.uri.path(), None)
                        .into(),
                )
            }
        }
    }
}

/// The bearer token of a request, if any (scheme case-insensitive).
pub struct BearerToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_string())
            })
            .filter(|t| !t.is_empty());
        Ok(Self(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_hide_values() {
        let e =
            serde_json::from_str::<std::collections::HashMap<String, u32>>(r#"{"a":"hunter2"}"#)
                .unwrap_err();
        let d = describe_json_error(&e);
        assert!(!d.contains("hunter2"), "{d}");
    }
}
