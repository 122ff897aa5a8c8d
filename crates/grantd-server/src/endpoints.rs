//! The endpoint table: every route grantd serves, its RingCentral alias, its
//! methods and its metadata key. The router and the discovery documents are
//! both built from it, so they cannot drift apart.

use crate::reject::Rejection;
use crate::routes;
use crate::state::AppState;
use axum::extract::Request;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use grantd_core::rate_limits::Group;
use grantd_protocol::OAuthError;
use std::collections::HashMap;
use std::sync::OnceLock;

pub struct Endpoint {
    pub path: &'static str,
    /// The same endpoint at RingCentral's path.
    pub ringcentral: Option<&'static str>,
    /// The methods served (the `Allow` header of a 405).
    pub allow: &'static str,
    /// The key under which RFC 8414 / OIDC discovery publishes this endpoint.
    pub metadata: Option<&'static str>,
    pub router: fn() -> MethodRouter<AppState>,
    pub summary: &'static str,
    /// The RingCentral rate-limit group whose quota its requests count against.
    pub group: Option<Group>,
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/oauth/authorize",
        ringcentral: Some("/restapi/oauth/authorize"),
        allow: "GET, HEAD, POST",
        metadata: Some("authorization_endpoint"),
        router: || get(routes::authorize::authorize).post(routes::authorize::authorize),
        summary: "Authorization endpoint (RFC 6749 §3.1): sign-in and consent",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/oauth/authorize/login",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::authorize::login),
        summary: "The sign-in form",
        group: None,
    },
    Endpoint {
        path: "/oauth/authorize/consent",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::authorize::consent),
        summary: "The consent form",
        group: None,
    },
    Endpoint {
        path: "/oauth/authorize/signout",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::authorize::signout),
        summary: "Sign the browser out (\"not you?\" on the consent page)",
        group: None,
    },
    Endpoint {
        path: "/oauth/logout",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: Some("end_session_endpoint"),
        router: || get(routes::logout::logout).post(routes::logout::logout),
        summary: "End-session endpoint (OpenID Connect RP-Initiated Logout 1.0): ends the browser's sign-in and its apps' sessions, then back to the app's registered post_logout_redirect_uri",
        group: None,
    },
    Endpoint {
        path: "/oauth/device_authorization",
        ringcentral: None,
        allow: "POST",
        metadata: Some("device_authorization_endpoint"),
        router: || post(routes::device::device_authorization),
        summary: "Device authorization endpoint (RFC 8628 §3.1): a device code and a user code",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/device",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::device::verify).post(routes::device::verify),
        summary: "The device flow's verification page: type the code, sign in, approve or deny",
        group: None,
    },
    Endpoint {
        path: "/device/login",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::device::login),
        summary: "The verification page's sign-in form",
        group: None,
    },
    Endpoint {
        path: "/device/decision",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::device::decision),
        summary: "Approve or deny a device",
        group: None,
    },
    Endpoint {
        path: "/device/signout",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::device::signout),
        summary: "Sign the browser out (\"not you?\" on the verification page)",
        group: None,
    },
    Endpoint {
        path: "/console",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::console::apps),
        summary: "The developer console: the signed-in developer's apps",
        group: None,
    },
    Endpoint {
        path: "/console/login",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::console::login),
        summary: "The developer console's sign-in form",
        group: None,
    },
    Endpoint {
        path: "/console/signout",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::console::signout),
        summary: "Sign out of the developer console",
        group: None,
    },
    Endpoint {
        path: "/console/credentials",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::console::credentials).post(routes::console::credentials),
        summary: "The signed-in developer's JWT credentials: list, create (shown once)",
        group: None,
    },
    Endpoint {
        path: "/console/credentials/revoke",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::console::revoke_credential),
        summary: "Revoke one of the signed-in developer's JWT credentials",
        group: None,
    },
    Endpoint {
        path: "/console/apps/new",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::console::new_app).post(routes::console::new_app),
        summary: "Register an app in the console, starting from its platform type",
        group: None,
    },
    Endpoint {
        path: "/console/apps/{client_id}",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::console::app).post(routes::console::app),
        summary: "An app in the developer console: settings (edited with POST) and rejected requests (troubleshooter)",
        group: None,
    },
    Endpoint {
        path: "/console/apps/{client_id}/secret",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::console::rotate_secret),
        summary: "Rotate a confidential app's client secret from the console (the new one is shown once)",
        group: None,
    },
    Endpoint {
        path: "/console/users",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::console_admin::users).post(routes::console_admin::users),
        summary: "Administrators: the users of their account; create a user (POST)",
        group: None,
    },
    Endpoint {
        path: "/console/users/{id}",
        ringcentral: None,
        allow: "GET, HEAD, POST",
        metadata: None,
        router: || get(routes::console_admin::user).post(routes::console_admin::user),
        summary: "Administrators: one user of their account: role, disable/enable, password reset, JWT credentials (POST with action)",
        group: None,
    },
    Endpoint {
        path: "/console/requests/{request_id}",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::console::request),
        summary: "A rejected request's cause, fix and decision trace",
        group: None,
    },
    Endpoint {
        path: "/oauth/userinfo",
        ringcentral: Some("/restapi/oauth/userinfo"),
        allow: "GET, HEAD, POST",
        metadata: Some("userinfo_endpoint"),
        router: || get(routes::authorize::userinfo).post(routes::authorize::userinfo),
        summary: "OpenID Connect userinfo",
        group: Some(Group::Light),
    },
    Endpoint {
        path: "/oauth/token",
        ringcentral: Some("/restapi/oauth/token"),
        allow: "POST",
        metadata: Some("token_endpoint"),
        router: || post(routes::token::token),
        summary: "Token endpoint (RFC 6749 §3.2)",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/oauth/par",
        ringcentral: Some("/restapi/oauth/par"),
        allow: "POST",
        metadata: Some("pushed_authorization_request_endpoint"),
        router: || post(routes::token::par),
        summary: "Pushed authorization requests (RFC 9126): the authorization request's parameters, client-authenticated; answers a request_uri",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/oauth/register",
        ringcentral: Some("/restapi/oauth/register"),
        allow: "POST",
        metadata: Some("registration_endpoint"),
        router: || post(routes::register::register),
        summary: "Dynamic client registration (RFC 7591): a client registers itself with an initial access token, or without one when registration is open",
        group: None,
    },
    Endpoint {
        path: "/oauth/register/{client_id}",
        ringcentral: Some("/restapi/oauth/register/{client_id}"),
        allow: "GET, HEAD, PUT, DELETE",
        metadata: None,
        router: || {
            get(routes::register::read)
                .put(routes::register::update)
                .delete(routes::register::delete)
        },
        summary: "Client configuration endpoint (RFC 7592): read, replace or delete a registration with its registration access token",
        group: None,
    },
    Endpoint {
        path: "/oauth/introspect",
        ringcentral: Some("/restapi/oauth/introspect"),
        allow: "POST",
        metadata: Some("introspection_endpoint"),
        router: || post(routes::token::introspect),
        summary: "Token introspection (RFC 7662)",
        group: Some(Group::Light),
    },
    Endpoint {
        path: "/oauth/revoke",
        ringcentral: Some("/restapi/oauth/revoke"),
        allow: "POST",
        metadata: Some("revocation_endpoint"),
        router: || post(routes::token::revoke),
        summary: "Token revocation (RFC 7009)",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/oauth/jwks",
        ringcentral: Some("/restapi/oauth/jwks"),
        allow: "GET, HEAD",
        metadata: Some("jwks_uri"),
        router: || get(routes::meta::jwks),
        summary: "Signing keys (RFC 7517)",
        group: None,
    },
    Endpoint {
        path: "/restapi/v1.0/account/~/extension/~",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::restapi::current_extension),
        summary: "The token's user (RingCentral's smoke-test API)",
        group: Some(Group::Light),
    },
    Endpoint {
        path: "/restapi/v1.0/client-info",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::restapi::client_info),
        summary: "The app the token was issued to (the JS SDK's auth-proxy mode)",
        group: Some(Group::Light),
    },
    Endpoint {
        path: "/restapi/v1.0/interop/generate-code",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::restapi::interop_generate_code),
        summary: "An authorization code for another app of the same account (cross-app sign-in)",
        group: Some(Group::Medium),
    },
    Endpoint {
        path: "/restapi/oauth/wstoken",
        ringcentral: None,
        allow: "POST",
        metadata: None,
        router: || post(routes::restapi::ws_token),
        summary:
            "A short-lived token for the WebSocket gateway, and its URI (RingCentral's wstoken)",
        group: Some(Group::Auth),
    },
    Endpoint {
        path: "/.well-known/oauth-authorization-server",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::meta::metadata),
        summary: "Authorization server metadata (RFC 8414)",
        group: None,
    },
    Endpoint {
        path: "/.well-known/oauth-protected-resource",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::register::resource_metadata),
        summary: "Protected resource metadata (RFC 9728) of grantd's own API (userinfo)",
        group: None,
    },
    Endpoint {
        path: "/.well-known/oauth-protected-resource/restapi",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::register::restapi_resource_metadata),
        summary: "Protected resource metadata (RFC 9728) of the RingCentral-style API under /restapi",
        group: None,
    },
    Endpoint {
        path: "/.well-known/openid-configuration",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::meta::metadata),
        summary: "OpenID Connect discovery",
        group: None,
    },
    Endpoint {
        path: "/docs/errors",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: Some("service_documentation"),
        router: || get(routes::docs::index),
        summary: "The error catalog",
        group: None,
    },
    Endpoint {
        path: "/docs/errors/{code}",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::docs::page),
        summary: "One error code explained",
        group: None,
    },
    Endpoint {
        path: "/assets/grantd.css",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::docs::css),
        summary: "Style sheet of grantd's pages",
        group: None,
    },
    Endpoint {
        path: "/assets/console.js",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::docs::console_js),
        summary: "The developer console's script: copy buttons (the pages work without it)",
        group: None,
    },
    Endpoint {
        path: "/favicon.ico",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::docs::favicon),
        summary: "No icon (answers 204 so browsers stop asking)",
        group: None,
    },
    Endpoint {
        path: "/healthz",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::meta::healthz),
        summary: "The process is up",
        group: None,
    },
    Endpoint {
        path: "/readyz",
        ringcentral: None,
        allow: "GET, HEAD",
        metadata: None,
        router: || get(routes::meta::readyz),
        summary: "The store is reachable",
        group: None,
    },
];

/// Adds every endpoint of `table` (and its RingCentral alias) to `router`;
/// a wrong method gets the catalog's 405 with `Allow`.
pub fn mount(mut router: Router<AppState>, table: &'static [Endpoint]) -> Router<AppState> {
    for e in table {
        for path in std::iter::once(e.path).chain(e.ringcentral) {
            let allow = e.allow;
            let method_router = (e.router)().fallback(move |req: Request| async move {
                Rejection(OAuthError::method_not_allowed(
                    req.method().as_str(),
                    req.uri().path(),
                    allow,
                ))
            });
            router = router.route(path, method_router);
        }
    }
    router
}

/// The rate-limit group of the endpoint at `path` (or its RingCentral alias).
pub fn group_of(path: &str) -> Option<Group> {
    static GROUPS: OnceLock<HashMap<&'static str, Group>> = OnceLock::new();
    GROUPS
        .get_or_init(|| {
            ENDPOINTS
                .iter()
                .filter_map(|e| Some((e, e.group?)))
                .flat_map(|(e, g)| {
                    std::iter::once(e.path)
                        .chain(e.ringcentral)
                        .map(move |p| (p, g))
                })
                .collect()
        })
        .get(path)
        .copied()
}

/// The OAuth endpoint at `path` (or its RingCentral alias), by its own path:
/// the endpoints whose rejections the rejection log keeps.
pub fn oauth_endpoint(path: &str) -> Option<&'static str> {
    const OAUTH: &[&str] = &[
        "authorization_endpoint",
        "device_authorization_endpoint",
        "userinfo_endpoint",
        "token_endpoint",
        "pushed_authorization_request_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ];
    ENDPOINTS
        .iter()
        .filter(|e| e.metadata.is_some_and(|m| OAUTH.contains(&m)))
        .find(|e| e.path == path || e.ringcentral == Some(path))
        .map(|e| e.path)
}

/// Every concrete path served (templates excluded), for "did you mean".
pub fn known_paths() -> impl Iterator<Item = &'static str> {
    ENDPOINTS
        .iter()
        .chain(crate::admin::ADMIN_ENDPOINTS)
        .flat_map(|e| std::iter::once(e.path).chain(e.ringcentral))
        .filter(|p| !p.contains('{'))
}

/// The served path closest to `path`, if one is close enough to be a typo.
pub fn closest(path: &str) -> Option<&'static str> {
    known_paths()
        .map(|p| (distance(p, path), p))
        .filter(|(d, p)| *d <= (p.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, p)| p)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().take(200).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_aliases_share_their_group() {
        assert_eq!(group_of("/oauth/token"), Some(Group::Auth));
        assert_eq!(group_of("/restapi/oauth/token"), Some(Group::Auth));
        assert_eq!(group_of("/restapi/oauth/authorize"), Some(Group::Auth));
        assert_eq!(group_of("/oauth/revoke"), Some(Group::Auth));
        assert_eq!(group_of("/restapi/oauth/introspect"), Some(Group::Light));
        assert_eq!(
            group_of("/restapi/v1.0/account/~/extension/~"),
            Some(Group::Light)
        );
        assert_eq!(group_of("/oauth/jwks"), None);
        assert_eq!(group_of("/oauth/authorize/login"), None);
        assert_eq!(group_of("/admin/v1/apps"), None);
    }

    #[test]
    fn typos_find_their_endpoint() {
        assert_eq!(closest("/oauth/tokens"), Some("/oauth/token"));
        assert_eq!(
            closest("/restapi/oauth/tokne"),
            Some("/restapi/oauth/token")
        );
        assert_eq!(closest("/something/else/entirely"), None);
    }
}
