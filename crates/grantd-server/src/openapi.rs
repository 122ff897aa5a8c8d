//! The admin API's OpenAPI 3.1 document, built from the admin endpoint table.

use crate::admin::ADMIN_ENDPOINTS;
use serde_json::{json, Map, Value};

/// A rejected request in the rejection log.
fn rejection_schema() -> Value {
    json!({"type": "object", "properties": {
        "client_id": {"type": "string"}, "request_id": {"type": "string"},
        "at": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
        "seq": {"type": "integer"}, "endpoint": {"type": "string"},
        "grant": {"type": ["string", "null"]}, "code": {"type": "string"},
        "message": {"type": "string"}, "description": {"type": "string"}, "fix": {"type": "string"},
        "error_uri": {"type": "string"}, "client_ip": {"type": ["string", "null"]},
        "user_agent": {"type": ["string", "null"]},
        "trace": {"type": "object", "properties": {
            "client_id": {"type": "string"}, "grant": {"type": "string"},
            "steps": {"type": "array", "items": {"type": "object", "properties": {
                "check": {"type": "string"}, "passed": {"type": "boolean"}, "code": {"type": "string"},
                "values": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}
            }}}
        }}
    }})
}

fn operation(method: &str, path: &str, summary: &str) -> Value {
    let mut op = json!({
        "summary": summary,
        "security": [{"adminToken": []}],
        "responses": {
            "default": {"description": "An error from the catalog", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    let (ok_status, ok) = match (method, path) {
        ("post", "/admin/v1/users") => ("201", json!({"$ref": "#/components/schemas/User"})),
        ("get", "/admin/v1/users") => (
            "200",
            json!({"type": "object", "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}),
        ),
        ("get" | "patch", "/admin/v1/users/{id}") => {
            ("200", json!({"$ref": "#/components/schemas/User"}))
        }
        ("post", p) if p.ends_with("/jwt-credentials") => (
            "201",
            json!({"$ref": "#/components/schemas/IssuedCredential"}),
        ),
        ("get", p) if p.ends_with("/consents") => (
            "200",
            json!({"type": "object", "properties": {"consents": {"type": "array", "items": {"type": "object", "properties": {"user_id": {"type": "string"}, "client_id": {"type": "string"}, "scope": {"type": "string"}, "granted_at": {"type": "integer"}}}}}}),
        ),
        ("get", p) if p.ends_with("/jwt-credentials") => (
            "200",
            json!({"type": "object", "properties": {"jwt_credentials": {"type": "array", "items": {"$ref": "#/components/schemas/Credential"}}}}),
        ),
        ("post", "/admin/v1/apps") => {
            ("201", json!({"$ref": "#/components/schemas/AppWithSecret"}))
        }
        ("post", p) if p.ends_with("/secret") => {
            ("200", json!({"$ref": "#/components/schemas/AppWithSecret"}))
        }
        ("get", "/admin/v1/apps") => (
            "200",
            json!({"type": "object", "properties": {"apps": {"type": "array", "items": {"$ref": "#/components/schemas/App"}}}}),
        ),
        ("post", "/admin/v1/accounts") => ("201", json!({"$ref": "#/components/schemas/Account"})),
        ("get", "/admin/v1/accounts") => (
            "200",
            json!({"type": "object", "properties": {"accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}}),
        ),
        ("patch", "/admin/v1/accounts/{id}") => (
            "200",
            json!({"type": "object", "properties": {"account_id": {"type": "string"}, "session_policy": {"$ref": "#/components/schemas/SessionPolicy"}}}),
        ),
        ("get", p) if p.ends_with("/rejections") => (
            "200",
            json!({"type": "object", "properties": {"client_id": {"type": "string"}, "rejections": {"type": "array", "items": rejection_schema()}}}),
        ),
        ("get", "/admin/v1/rejections/{request_id}") => ("200", rejection_schema()),
        ("get", p) if p.ends_with("/usage") => (
            "200",
            json!({"type": "object", "properties": {
                "client_id": {"type": "string"},
                "days": {"type": "array", "description": "The last 14 days (UTC), newest first; every day listed, zeros included", "items": {"type": "object", "properties": {
                    "day": {"type": "string", "format": "date"},
                    "tokens_issued": {"type": "integer", "description": "Tokens issued at the token endpoint (counted in memory, stored within seconds)"},
                    "rejections": {"type": "integer", "description": "Rejected requests in the kept rejection log (its last 1,000 entries)"}
                }}}
            }}),
        ),
        ("get", p) if p.ends_with("/logout-deliveries") => (
            "200",
            json!({"type": "object", "properties": {
                "client_id": {"type": "string"},
                "deliveries": {"type": "array", "description": "Back-channel logout deliveries, newest first (the last 100)", "items": {"type": "object", "properties": {
                    "id": {"type": "string"},
                    "client_id": {"type": "string"},
                    "user_id": {"type": "string", "description": "The logout token's sub"},
                    "sid": {"type": "string", "description": "The logout token's sid: the browser sign-in, when the sessions came from one"},
                    "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                    "attempts": {"type": "integer", "description": "POSTs made so far (at most 5; retried after 1, 2, 4 and 8 s)"},
                    "last_error": {"type": "string", "description": "Why the last attempt failed, in words (never the token)"},
                    "next_attempt_at": {"type": "integer", "description": "Unix time of the next attempt, while pending"},
                    "created_at": {"type": "integer"},
                    "updated_at": {"type": "integer"}
                }}}
            }}),
        ),
        ("delete", _) => ("204", Value::Null),
        _ => ("200", json!({"$ref": "#/components/schemas/App"})),
    };
    op["responses"][ok_status] = if ok.is_null() {
        json!({"description": "Done"})
    } else {
        json!({"description": "Success", "content": {"application/json": {"schema": ok}}})
    };
    let body = match (method, path) {
        ("post", "/admin/v1/users") => Some("#/components/schemas/UserSpec"),
        ("patch", "/admin/v1/users/{id}") => Some("#/components/schemas/UserPatch"),
        ("patch", "/admin/v1/accounts/{id}") => Some("#/components/schemas/SessionPolicy"),
        ("post", p) if p.ends_with("/jwt-credentials") => {
            Some("#/components/schemas/CredentialSpec")
        }
        ("post", "/admin/v1/apps") | ("patch", _) => Some("#/components/schemas/AppSpec"),
        ("post", "/admin/v1/accounts") => Some("#/components/schemas/NewAccount"),
        _ => None,
    };
    if let Some(schema) = body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": schema}}}});
    }
    let params: Vec<Value> = ["id", "client_id"]
        .iter()
        .filter(|name| path.contains(&format!("{{{name}}}")))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

pub fn document(issuer: &str) -> Value {
    let mut paths = Map::new();
    for e in ADMIN_ENDPOINTS {
        let mut item = Map::new();
        for m in e.allow.split(", ") {
            let m = m.to_ascii_lowercase();
            item.insert(m.clone(), operation(&m, e.path, e.summary));
        }
        paths.insert(e.path.to_string(), Value::Object(item));
    }
    let platform_types = json!(grantd_protocol::PlatformType::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>());
    // The app settings, from the one list of grants.
    let grants = json!(grantd_protocol::Grant::ALL
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>());
    let spec_props = json!({
        "name": {"type": "string"},
        "account_id": {"type": "string"},
        "platform_type": {"type": "string", "enum": platform_types},
        "grants": {"type": "array", "items": {"type": "string", "enum": grants}},
        "redirect_uris": {"type": "array", "maxItems": 10, "items": {"type": "string", "format": "uri"}},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "distribution": {"type": "string", "enum": ["private", "public"]},
        "issue_refresh_tokens": {"type": "boolean"},
        "access_token_ttl": {"type": "integer", "minimum": 60, "maximum": 86400},
        "refresh_token_ttl": {"type": "integer", "minimum": 3600, "maximum": 7776000},
        "access_token_format": {"type": "string", "enum": ["jwt", "opaque"]},
                "allow_plain_pkce": {"type": "boolean"},
        "resource_server": {"type": "boolean", "description": "The app is one of the operator's APIs and may introspect tokens of every app"},
        "allowed_origins": {"type": "array", "maxItems": 20, "items": {"type": "string", "format": "uri", "pattern": "^https?://[^/?#]+$"},
            "description": "Origins (scheme://host[:port]) whose pages may call grantd's token endpoints and APIs from a browser (CORS), besides the origins of a browser app's redirect URIs. Replaces the list on update.",
            "examples": [["https://app.example.com"]]},
        "jwks": {"type": ["object", "null"], "required": ["keys"],
            "properties": {"keys": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "object", "required": ["kty"]}}},
            "description": "The app's public keys (a JSON Web Key Set, RFC 7517) for private_key_jwt client authentication: RSA, EC or OKP public keys, each with a kid when there are several. null removes them.",
            "examples": [{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "...", "y": "..."}]}]},
        "jwks_uri": {"type": ["string", "null"], "format": "uri", "maxLength": 2000,
            "description": "Where the app publishes its public keys (RFC 7591 jwks_uri) for private_key_jwt, instead of jwks: an https URL without a fragment (http only for 127.0.0.1, ::1 or localhost). grantd fetches the set (5 s timeout, at most 64 KiB), keeps it for its Cache-Control max-age (60 s to 24 h, 5 min without one) and fetches it again, at most every 30 s, when an assertion names a kid it lacks. Exclusive with jwks: send null for the other to switch. null removes it.",
            "examples": ["https://app.example.com/.well-known/jwks.json"]},
        "post_logout_redirect_uris": {"type": "array", "maxItems": 20, "items": {"type": "string", "format": "uri", "maxLength": 2000},
            "description": "Where /oauth/logout (OpenID Connect RP-Initiated Logout 1.0) may send the browser after the logout: absolute URIs without a fragment or user info, matched exactly. Replaces the list.",
            "examples": [["https://app.example.com/signed-out"]]},
        "backchannel_logout_uri": {"type": ["string", "null"], "format": "uri", "maxLength": 2000,
            "description": "Where grantd POSTs a logout token (OpenID Connect Back-Channel Logout 1.0, form field logout_token) when a sign-in with the app ends: https (http only for 127.0.0.1, ::1 or localhost), no fragment. Delivered in the background, 5 s timeout, no redirects followed, up to 5 attempts. null removes it.",
            "examples": ["https://app.example.com/backchannel-logout"]},
        "backchannel_logout_session_required": {"type": "boolean", "description": "The app needs sid in its logout tokens (grantd sends sid whenever the sessions came from a browser sign-in)."},
        "resource_uris": {"type": "array", "maxItems": 20, "items": {"type": "string", "format": "uri", "maxLength": 2000},
            "description": "Resources (RFC 8707: absolute URIs without a fragment) the app's access tokens may be restricted to with the resource parameter, besides grantd's own API; a resource server app lists its own URI here to introspect tokens restricted to it. Replaces the list.",
            "examples": [["https://api.example.com/"]]},
        "require_par": {"type": "boolean", "description": "Authorization requests only through pushed authorization requests (RFC 9126, POST /oauth/par)"},
        "require_dpop": {"type": "boolean", "description": "Tokens only with a DPoP proof (RFC 9449): sender-constrained access tokens"},
        "require_signed_request_object": {"type": "boolean", "description": "Authorization requests only as request objects signed by a key of the app's jwks or jwks_uri (RFC 9101), at the authorization endpoint or through PAR"},
        "profile": {"type": ["string", "null"], "enum": ["fapi2", null], "description": "A security profile: fapi2 (FAPI 2.0 Security Profile: PAR, PKCE S256, DPoP, private_key_jwt, short codes, no implicit or password). null removes it."},
        "rate_limits": {
            "type": "object",
            "description": "The app's own request quota per rate-limit group, replacing the server's: \"REQUESTS/SECONDS\" or \"off\". Replaces the whole set on update ({} clears it).",
            "propertyNames": {"enum": ["auth", "light", "medium", "heavy"]},
            "additionalProperties": {"type": "string", "pattern": "^(off|[0-9]+/[0-9]+)$"},
            "examples": [{"auth": "10/60", "light": "off"}]
        },
        "token_exchange": {"type": ["object", "null"], "additionalProperties": false,
            "description": "Token exchange policy (RFC 8693; needs the token_exchange grant). Fields left out stay as they are; null removes the policy: the app may then exchange only its own tokens, for grantd's own API, within their scope.",
            "properties": {
                "allowed_subject_apps": {"type": "array", "maxItems": 50, "items": {"type": "string"}, "description": "Client ids of the apps whose tokens this app may exchange, besides its own"},
                "audiences": {"type": "array", "maxItems": 50, "items": {"type": "string"}, "description": "Resource servers (apps with resource_server: true) its exchanged tokens may be for"},
                "max_scope": {"type": ["array", "null"], "items": {"type": "string"}, "description": "The widest scope of an exchanged token; null: the subject token's"}
            }}
    });
    let mut app_props = spec_props.clone();
    app_props["client_id"] = json!({"type": "string"});
    app_props["client_type"] = json!({"type": "string", "enum": ["confidential", "public"]});
    app_props["created_at"] = json!({"type": "integer"});
    app_props["updated_at"] = json!({"type": "integer"});
    let mut with_secret = app_props.clone();
    with_secret["client_secret"] =
        json!({"type": "string", "description": "Shown once; absent for public apps."});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "grantd admin API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "AppSpec": {"type": "object", "additionalProperties": false, "properties": spec_props},
                "App": {"type": "object", "properties": app_props},
                "AppWithSecret": {"type": "object", "properties": with_secret},
                "UserSpec": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
                    "account_id": {"type": "string"}, "email": {"type": "string", "format": "email"},
                    "phone": {"type": "string", "description": "E.164"}, "extension_number": {"type": "string"},
                    "name": {"type": "string"}, "role": {"type": "string", "enum": ["admin", "developer", "user"]},
                    "password": {"type": "string", "writeOnly": true, "minLength": 8}}},
                "UserPatch": {"type": "object", "minProperties": 1, "additionalProperties": false, "properties": {
                    "status": {"type": "string", "enum": ["enabled", "disabled"], "description": "disabled ends the user's sessions"},
                    "password": {"type": "string", "minLength": 8, "maxLength": 1024, "writeOnly": true, "description": "A new password; every session of the user ends (the answer's sessions_ended says how many)"}}},
                "User": {"type": "object", "properties": {
                    "id": {"type": "string"}, "account_id": {"type": "string"}, "email": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]}, "extension_number": {"type": ["string", "null"]}, "name": {"type": "string"},
                    "role": {"type": "string"}, "status": {"type": "string"}, "created_at": {"type": "integer"}}},
                "CredentialSpec": {"type": "object", "additionalProperties": false, "properties": {
                    "label": {"type": "string"}, "apps": {"type": "array", "items": {"type": "string"}, "description": "Client ids; absent = every app of the user's account"},
                    "expires_in": {"type": "integer", "minimum": 1}}},
                "Credential": {"type": "object", "properties": {
                    "id": {"type": "string"}, "user_id": {"type": "string"}, "account_id": {"type": "string"}, "label": {"type": "string"},
                    "allowed_apps": {"type": ["array", "null"], "items": {"type": "string"}}, "expires_at": {"type": ["integer", "null"]},
                    "created_at": {"type": "integer"}, "revoked_at": {"type": ["integer", "null"]}}},
                "IssuedCredential": {"allOf": [{"$ref": "#/components/schemas/Credential"}, {"type": "object", "properties": {"jwt": {"type": "string", "description": "Shown once"}}}]},
                "NewAccount": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "SessionPolicy": {"type": "object", "additionalProperties": false,
                    "description": "The account's session timeouts (RingCentral's session policy); null or absent clears one. Enforced at every refresh; told in token responses as session_expires_in, session_expiration_time and session_idle_timeout.",
                    "properties": {
                        "session_expires_in": {"type": ["integer", "null"], "minimum": 300, "maximum": 7776000, "description": "Seconds a session lasts from sign-in, however often refreshed"},
                        "session_idle_timeout": {"type": ["integer", "null"], "minimum": 300, "maximum": 7776000, "description": "Seconds a session may go without a refresh"}}},
                "Account": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "created_at": {"type": "integer"}}},
                "Error": {"type": "object", "properties": {
                    "error": {"type": "string"}, "error_description": {"type": "string"}, "error_uri": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {"errorCode": {"type": "string"}, "message": {"type": "string"}, "parameterName": {"type": "string"}}}}
                }}
            }
        }
    })
}
