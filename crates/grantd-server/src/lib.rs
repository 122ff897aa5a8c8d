//! grantd over HTTP: the router built from the endpoint table, the layers every
//! request passes through, and the handlers.

pub mod admin;
pub mod client_ip;
pub mod cors;
pub mod counters;
pub mod endpoints;
pub mod extract;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod quota;
pub mod ratelimit;
pub mod reject;
pub mod routes;
pub mod state;
pub mod tls;

pub use state::{AppState, EdgeSettings};

use crate::cors::Cors;
use crate::quota::{Metered, Report};
use crate::ratelimit::Attempt;
use crate::reject::{error_response_for, Rejection};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use grantd_protocol::OAuthError;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;

/// Most the request headers may add up to.
pub const HEADER_LIMIT: usize = 16 * 1024;

use tracing::Instrument;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The request id under RingCentral's name (its SDKs log it).
static RC_REQUEST_ID: HeaderName = HeaderName::from_static("rcrequestid");

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let admin = endpoints::mount(Router::new(), admin::ADMIN_ENDPOINTS);
    let admin = endpoints::mount(admin, admin::OPENAPI_ENDPOINT).route_layer(
        middleware::from_fn_with_state(state.clone(), admin::require_admin),
    );
    endpoints::mount(Router::new(), endpoints::ENDPOINTS)
        .merge(admin)
        .fallback(unknown_endpoint)
        .layer(CatchPanicLayer::custom(|_| {
            Rejection(OAuthError::server_error()).into_response()
        }))
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

fn quota_headers(res: &mut Response, r: Report) {
    let h = res.headers_mut();
    if let Some(retry) = r.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    h.insert(
        "x-rate-limit-group",
        HeaderValue::from_static(r.group.name()),
    );
    h.insert("x-rate-limit-limit", HeaderValue::from(r.quota.requests));
    h.insert("x-rate-limit-remaining", HeaderValue::from(r.remaining));
    h.insert("x-rate-limit-window", HeaderValue::from(r.quota.seconds));
}

/// RFC 9728 §5.1: a 401 of one of grantd's own resources names the
/// resource's metadata in its challenge, so a client learns from it where
/// to get a token.
fn resource_challenge(issuer: &str, path: &str, res: &mut Response) {
    let resource = path.starts_with("/restapi/v1.0/")
        || path == "/oauth/userinfo"
        || path == "/restapi/oauth/userinfo"
        || path == "/restapi/oauth/wstoken";
    if !resource {
        return;
    }
    let Some(challenge) = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let url = routes::register::resource_metadata_url(issuer, path);
    if let Ok(v) = HeaderValue::from_str(&format!("{challenge}, resource_metadata=\"{url}\"")) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

async fn unknown_endpoint(req: Request) -> Rejection {
    let path = req.uri().path();
    Rejection(OAuthError::unknown_endpoint(
        req.method().as_str(),
        path,
        endpoints::closest(path),
    ))
}

/// A request id: the client's own if it sent a sane one, else a per-process
/// random prefix and a counter (unique, and no system call per request).
fn request_id(req: &Request) -> HeaderValue {
    if let Some(v) = req.headers().get(&REQUEST_ID) {
        let ok = v.len() <= 64
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
        if ok && !v.is_empty() {
            return v.clone();
        }
    }
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| grantd_core::crypto::random_id(10));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}-{n:x}")).unwrap_or(HeaderValue::from_static("-"))
}

/// The one layer every request passes: request id, the header-size limit
/// (431 with the catalog's body; hyper's own limit is far higher), the
/// failed-authentication limit (`ratelimit.rs`), the rate-limit groups'
/// quotas (`quota.rs`), rendering of rejections, secure headers, and one log
/// line with method, path (never the query: it may carry credentials),
/// status and time.
async fn edge(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let began = Instant::now();
    let metered_path = req.uri().path().to_string();
    // CORS: a preflight is answered here; a page of an origin no app allows,
    // or any other origin's page calling the admin API, is refused before
    // the request does anything.
    let cross = cors::classify(&s, &req);
    let cors_path = cors::applies(req.uri().path());
    let early = match &cross {
        Cors::Preflight {
            origin,
            allowed: true,
        } => Some(cors::preflight(origin.clone(), req.headers())),
        Cors::Preflight {
            origin,
            allowed: false,
        }
        | Cors::Actual {
            origin,
            allowed: false,
        } => Some(error_response_for(
            s.issuer(),
            &OAuthError::origin_not_allowed(origin.to_str().unwrap_or(""), req.uri().path()),
            id.to_str().ok(),
        )),
        Cors::Admin { origin } => Some(error_response_for(
            s.issuer(),
            &OAuthError::admin_cross_origin(origin),
            id.to_str().ok(),
        )),
        _ => None,
    };
    let log = tracing::enabled!(target: "grantd::http", tracing::Level::INFO);
    let started = log.then(|| {
        (
            Instant::now(),
            req.method().clone(),
            req.uri().path().to_string(),
        )
    });
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    // Failed authentications, on the authentication endpoints and the admin
    // API: the address is checked here, the identity by the extractor or
    // handler that reads it.
    let attempt = match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer))
            if s.failures.limit > 0 && ratelimit::counts_failures(req.uri().path()) =>
        {
            let ip = s.proxies.client_ip(*peer, req.headers());
            Some(Attempt::new(s.failures.clone(), ip))
        }
        _ => None,
    };
    // Quotas: the handler that learns the app checks; counted below.
    let metered = endpoints::group_of(req.uri().path()).map(|g| Metered::new(s.quotas.clone(), g));
    // The OAuth endpoints' rejections are recorded with their trace.
    let recorded = endpoints::oauth_endpoint(req.uri().path()).map(|endpoint| Recorded {
        endpoint,
        client_ip: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| s.proxies.client_ip(*peer, req.headers()).to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(grantd_core::rejections::Rejection::clip_user_agent),
    });
    let paused = attempt.as_ref().and_then(Attempt::address_paused);
    let id_str = id.to_str().ok();
    let mut res = if size > HEADER_LIMIT {
        error_response_for(
            s.issuer(),
            &OAuthError::headers_too_large(HEADER_LIMIT),
            id_str,
        )
    } else if let Some(r) = early {
        r
    } else if let Some((e, retry)) = paused {
        let mut r = error_response_for(s.issuer(), &e, id_str);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        r
    } else {
        if let Some(a) = &attempt {
            req.extensions_mut().insert(a.clone());
        }
        if let Some(m) = &metered {
            req.extensions_mut().insert(m.clone());
        }
        // Every line logged while the request is handled carries its id
        // (as a span field; in JSON logs under "span").
        // With OpenTelemetry on, the span is exported; its name and fields
        // follow the HTTP conventions (the path without the query).
        let span = tracing::info_span!(
            "request",
            request_id = id.to_str().unwrap_or("-"),
            otel.name = format!("{} {}", req.method(), metrics::endpoint_label(req.uri().path())),
            otel.kind = "server",
            http.request.method = %req.method(),
            url.path = req.uri().path(),
            http.response.status_code = tracing::field::Empty,
            error.code = tracing::field::Empty,
        );
        let handled = span.clone();
        let res = match recorded {
            Some(rec) => {
                let (res, trace) = grantd_core::trace::traced(next.run(req).instrument(span)).await;
                rec.record(&s, &res, trace, id_str.unwrap_or("-"));
                reject::render(s.issuer(), res, id_str)
            }
            None => reject::render(s.issuer(), next.run(req).instrument(span).await, id_str),
        };
        handled.record(
            "http.response.status_code",
            i64::from(res.status().as_u16()),
        );
        if let Some(code) = res
            .headers()
            .get("x-error-code")
            .and_then(|v| v.to_str().ok())
        {
            handled.record("error.code", code);
        }
        res
    };
    if res.status() == StatusCode::UNAUTHORIZED {
        resource_challenge(s.issuer(), &metered_path, &mut res);
    }
    let failed = res.status() == StatusCode::UNAUTHORIZED
        || matches!(
            res.headers().get("x-error-code").map(|v| v.as_bytes()),
            Some(b"OAU-140" | b"OAU-147")
        );
    if let Some(a) = attempt {
        let st = if failed {
            a.record_failure()
        } else {
            a.standing()
        };
        let h = res.headers_mut();
        if let Some(retry) = a.retry_after() {
            h.entry(header::RETRY_AFTER)
                .or_insert(HeaderValue::from(retry));
        }
        h.insert(
            "x-rate-limit-group",
            HeaderValue::from_static("auth-failures"),
        );
        h.insert("x-rate-limit-limit", HeaderValue::from(s.failures.limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(st.remaining));
        h.insert("x-rate-limit-window", HeaderValue::from(s.failures.window));
    }
    // A quota's headers replace the failure limit's: they are what the
    // RingCentral SDKs pace themselves by.
    if let Some(report) = metered.and_then(|m| m.finish(!failed)) {
        quota_headers(&mut res, report);
    }
    let h = res.headers_mut();
    // A refused page may read why (the request did nothing); a refused
    // preflight is not echoed, so the browser stops there.
    if let Cors::Actual { origin, .. } = cross {
        cors::allow(h, origin);
    }
    if cors_path {
        cors::vary(h);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if s.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Pages with forms set their own policy (form-action includes the app's redirect origin).
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    if let Some((t, method, path)) = started {
        let status = res.status().as_u16();
        let code = res
            .headers()
            .get("x-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info!(
            target: "grantd::http",
            %method,
            path = %path,
                        status,
            error_code = code,
            micros = t.elapsed().as_micros() as u64,
            request_id = id.to_str().unwrap_or("-"),
            "request"
        );
    }
    metrics::request(
        &metered_path,
        res.status().as_u16(),
        res.headers()
            .get("x-error-code")
            .and_then(|v| v.to_str().ok()),
        began.elapsed(),
    );
    res.headers_mut().insert(RC_REQUEST_ID.clone(), id.clone());
    res.headers_mut().insert(REQUEST_ID.clone(), id);
    res
}

/// What the edge knows of a request to an OAuth endpoint, for the rejection log.
struct Recorded {
    endpoint: &'static str,
    client_ip: Option<String>,
    user_agent: Option<String>,
}

impl Recorded {
    /// Queues the rejection, if the response is one and names an app (the
    /// writer keeps it only if the app is registered). Never waits.
    fn record(self, s: &AppState, res: &Response, trace: grantd_core::trace::Trace, id: &str) {
        let Some(client_id) = trace.client_id.clone() else {
            return;
        };
        let (code, description) = match reject::rejection_of(res) {
            Some(e) => (e.entry().code.to_string(), e.description.clone()),
            None => match &trace.rejected {
                Some(r) => r.clone(),
                None => return,
            },
        };
        s.rejections.record(grantd_core::rejections::Rejection {
            client_id,
            seq: 0,
            request_id: id.to_string(),
            at: s.grantd.now(),
            endpoint: self.endpoint.to_string(),
            grant: trace.grant.clone(),
            code,
            description,
            client_ip: self.client_ip,
            user_agent: self.user_agent,
            trace,
        });
    }
}
