//! Extractors that read OAuth requests once, at the edge, into typed values,
//! diagnosing how a request was sent before anything else looks at it.

use crate::ratelimit::{self, Identity};
use crate::reject::Rejection;
use crate::state::AppState;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use grantd_protocol::form::{carries_credential, query_names};
use grantd_protocol::{ClientAuth, OAuthError, Params};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Most an OAuth form body may be.
pub const FORM_LIMIT: usize = 16 * 1024;
/// Most an admin JSON body may be.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Which parameters an endpoint reads from its URL: none for the token,
/// revocation and introspection endpoints (RFC 6749 §3.2), where every
/// query parameter is named and refused, but for RingCentral's documented
/// `POST /restapi/oauth/revoke?token=…`.
pub trait QueryRule {
    /// A path on which `token` may come in the query, and only that.
    const TOKEN_IN_QUERY_AT: Option<&'static str> = None;
}

pub struct TokenRule;
impl QueryRule for TokenRule {}

pub struct TokenParamRule;
impl QueryRule for TokenParamRule {}

pub struct RevokeRule;
impl QueryRule for RevokeRule {
    const TOKEN_IN_QUERY_AT: Option<&'static str> = Some("/restapi/oauth/revoke");
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
        let token_in_query = R::TOKEN_IN_QUERY_AT.is_some_and(|p| p == parts.uri.path());
        let refused: Vec<String> = query_names(parts.uri.query())
            .into_iter()
            .filter(|n| !(token_in_query && n == "token"))
            .collect();
        if !refused.is_empty() {
            let credentials = refused.iter().any(|n| carries_credential(n));
            return Err(OAuthError::credentials_in_query(&refused, credentials).into());
        }
        // RFC 8707 §2: resource may repeat (PAR; the token endpoint says
        // which one it takes).
        let mut params =
            read_form_allowing_repeats(&parts.headers, body, s.body_read_timeout, &["resource"])
                .await?;
        if token_in_query {
            let query = Params::parse_query(parts.uri.query())?;
            if let Some(token) = query.get("token") {
                params.add("token", token)?;
            }
        }
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
        if let Some(id) = claimed {
            grantd_core::trace::client(id);
        }
        if let Some(g) = params.get("grant_type") {
            grantd_core::trace::grant(g);
        }
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
    read_form_allowing_repeats(headers, body, timeout, &[]).await
}

/// [`read_form`] where the names in `repeatable` may repeat (joined into one list).
pub async fn read_form_allowing_repeats(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    repeatable: &[&str],
) -> Result<Params, Rejection> {
    let bytes = read_body(body, FORM_LIMIT, timeout).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
    let essence = content_type.as_deref().map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let trimmed = bytes.trim_ascii_start();
    if essence.as_deref() == Some("application/json")
        || trimmed.starts_with(b"{")
        || trimmed.starts_with(b"[")
    {
        return Err(OAuthError::json_body().into());
    }
    if bytes.is_empty() {
        return Ok(Params::default());
    }
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::wrong_content_type(content_type.as_deref()).into());
    }
    Ok(Params::parse_allowing_repeats(&bytes, repeatable)?)
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

/// The JSON object of a client registration request (RFC 7591 §3.1) or
/// update (RFC 7592 §2.2): `application/json`, at most [`JSON_LIMIT`].
pub struct RegistrationJson(pub serde_json::Value);

impl FromRequest<AppState> for RegistrationJson {
    type Rejection = Rejection;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = read_body(req.into_body(), JSON_LIMIT, s.body_read_timeout).await?;
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" {
            let sent = if content_type.is_empty() {
                "no Content-Type".to_string()
            } else {
                format!(
                    "Content-Type '{}'",
                    grantd_protocol::error::sanitize(&content_type, 60)
                )
            };
            return Err(OAuthError::registration_body(&format!("the request has {sent}")).into());
        }
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v @ serde_json::Value::Object(_)) => Ok(Self(v)),
            Ok(_) => Err(OAuthError::registration_body("the JSON is not an object").into()),
            Err(e) => Err(OAuthError::registration_body(&format!(
                "it is not valid JSON ({})",
                describe_json_error(&e)
            ))
            .into()),
        }
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
                // DPoP-bound tokens come with the DPoP scheme (RFC 9449 §7.1).
                (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
                    .then(|| rest.trim().to_string())
            })
            .filter(|t| !t.is_empty());
        Ok(Self(token))
    }
}

/// The access token of a request to grantd's API resources: `Authorization:
/// Bearer`, or RingCentral's documented `?access_token=` (the JS SDK's
/// `signUrl()`, for links and `<img>` sources that cannot carry a header).
/// A token in the query travels in URLs, so the answer carries a
/// `Deprecation` header; the URL is logged without its query as always.
pub struct ApiToken {
    pub token: Option<String>,
    /// It came in the query (answer with `Deprecation`).
    pub from_query: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let BearerToken(header) = BearerToken::from_request_parts(parts, state).await?;
        let in_query = Params::parse_query(parts.uri.query())
            .ok()
            .and_then(|p| p.get("access_token").map(str::to_string));
        match (header, in_query) {
            (Some(_), Some(_)) => Err(OAuthError::access_token_sent_twice().into()),
            (Some(t), None) => Ok(Self {
                token: Some(t),
                from_query: false,
            }),
            (None, q) => Ok(Self {
                from_query: q.is_some(),
                token: q,
            }),
        }
    }
}

/// `Deprecation` (RFC 9745: since RFC 6750 §2.3 advised against it, October
/// 2012) and a link to why, for a token sent in the URL.
pub fn deprecate_query_token(h: &mut HeaderMap) {
    h.insert("deprecation", HeaderValue::from_static("@1350864000"));
    h.insert(
        header::LINK,
        HeaderValue::from_static(
            "<https://www.rfc-editor.org/rfc/rfc6750#section-2.3>; rel=\"deprecation\"",
        ),
    );
}

/// The request's DPoP proof (RFC 9449), if it sent a `DPoP` header, with
/// the method and the URL it was sent to (the issuer's origin and the
/// request's path), which the proof must name.
pub struct DpopHeader(pub Option<grantd_core::dpop::Presented>);

impl FromRequestParts<AppState> for DpopHeader {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Rejection> {
        let proofs: Vec<String> = parts
            .headers
            .get_all(grantd_protocol::dpop::PROOF_HEADER)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect();
        if proofs.is_empty() {
            return Ok(Self(None));
        }
        let origin = match s.issuer().find("://") {
            Some(i) => {
                let rest = &s.issuer()[i + 3..];
                &s.issuer()[..i + 3 + rest.find('/').unwrap_or(rest.len())]
            }
            None => s.issuer(),
        };
        Ok(Self(Some(grantd_core::dpop::Presented {
            proofs,
            method: parts.method.as_str().to_string(),
            url: format!("{origin}{}", parts.uri.path()),
        })))
    }
}

/// Whether the request's Authorization header uses the DPoP scheme.
pub fn dpop_scheme(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
}

/// How a request to one of grantd's resources presented its token: the
/// scheme (Bearer or DPoP) and the DPoP proof.
pub struct ResourceDpop(pub grantd_core::resource::ResourceProof);

impl FromRequestParts<AppState> for ResourceDpop {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Rejection> {
        let DpopHeader(presented) = DpopHeader::from_request_parts(parts, s).await?;
        Ok(Self(grantd_core::resource::ResourceProof {
            dpop_scheme: dpop_scheme(&parts.headers),
            presented,
        }))
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
