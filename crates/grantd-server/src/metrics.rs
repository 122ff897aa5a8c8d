//! What grantd counts for Prometheus: metric names and labels in one place,
//! recorded through the `metrics` facade (a no-op until the binary installs
//! the exporter, which it does only with an admin listener), and the admin
//! listener's router that serves `/metrics`.

use crate::endpoints::ENDPOINTS;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// A bounded label for a request path: the endpoint table's canonical path,
/// `admin` for the admin API, or `other` (unknown paths must not grow the
/// series without bound).
pub fn endpoint_label(path: &str) -> &'static str {
    if path.starts_with("/admin/") {
        return "/admin/v1";
    }
    for e in ENDPOINTS {
        if e.path == path || e.ringcentral == Some(path) {
            return e.path;
        }
        if let Some(prefix) = e.path.strip_suffix("{code}") {
            if path.starts_with(prefix) {
                return e.path;
            }
        }
    }
    "other"
}

/// One request, as the edge saw it.
pub fn request(path: &str, status: u16, error_code: Option<&str>, elapsed: Duration) {
    let endpoint = endpoint_label(path);
    metrics::counter!("grantd_http_requests_total", "endpoint" => endpoint, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("grantd_http_request_duration_seconds", "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
    if let Some(code) = error_code {
        metrics::counter!("grantd_rejections_total", "code" => code.to_string(), "endpoint" => endpoint)
            .increment(1);
    }
}

/// Sessions not ended, as the store last counted them.
pub fn active_sessions(count: u64) {
    metrics::gauge!("grantd_active_sessions").set(count as f64);
}

/// Tokens issued at the token endpoint, by grant and app.
pub fn token_issued(grant_type: &str, client_id: &str) {
    metrics::counter!("grantd_tokens_issued_total", "grant" => grant_label(grant_type), "client_id" => client_id.to_string())
        .increment(1);
}

/// A token request refused, by catalog code and app (`unknown` unless the
/// client id names a registered app, so guessed ids add no series).
pub fn token_rejected(code: &str, app: Option<&str>) {
    metrics::counter!("grantd_token_rejections_total", "code" => code.to_string(), "client_id" => app.unwrap_or("unknown").to_string())
        .increment(1);
}

fn grant_label(grant_type: &str) -> &'static str {
    grantd_protocol::GrantType::parse(grant_type)
        .map(|g| g.enabled_by().as_str())
        .unwrap_or("other")
}

/// The admin listener: `/metrics` in the Prometheus text format.
pub fn admin_router(render: Arc<dyn Fn() -> String + Send + Sync>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let render = render.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render(),
                )
            }
        }),
    )
}
