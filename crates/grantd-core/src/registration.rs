//! Dynamic client registration (RFC 7591) and its management (RFC 7592):
//! the policy on what a self-registered client may be, the operator's
//! initial access tokens, and each client's registration access token.
//!
//! A self-registered client is an ordinary app, built by `apps::apply`
//! like any other; this module only decides the settings it asks for:
//! its platform type from its authentication method and redirect URIs,
//! and grants limited to the code flow (client_credentials only with an
//! initial access token).

use crate::apps::{apply, blank_app, AppSpec, UPDATE_ATTEMPTS};
use crate::clock::UnixTime;
use crate::crypto::{constant_time_eq, random_id, random_token, rfc3339, sha256};
use crate::model::{App, Registration, RegistrationToken};
use crate::store::Cas;
use crate::Grantd;
use grantd_protocol::registration::{info_url, redirect_uri};
use grantd_protocol::{Grant, OAuthError, PlatformType, Secret};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// A client secret is issued (and shown once) for these methods.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// The grants a self-registered client may ask for.
const OPEN_GRANTS: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

/// Most redirect URIs (as for any app) and contacts a registration lists.
const MAX_REDIRECT_URIS: usize = grantd_protocol::redirect_uri::MAX_REDIRECT_URIS;
const MAX_CONTACTS: usize = 10;

/// Metadata kept beside the app (the rest lives in the app itself).
const KEPT: &[&str] = &[
    "contacts",
    "logo_uri",
    "client_uri",
    "policy_uri",
    "tos_uri",
    "software_id",
    "software_version",
];

/// A registration request checked against the policy: the app settings it
/// asks for and the metadata kept beside them.
#[derive(Debug)]
struct Checked {
    spec: AppSpec,
    method: AuthMethod,
    /// `token_endpoint_auth_method` and the fields of [`KEPT`] that were sent.
    kept: Map<String, Value>,
}

fn string(meta: &Map<String, Value>, field: &'static str) -> Result<Option<String>, OAuthError> {
    match meta.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OAuthError::registration_metadata(
            field,
            "send a JSON string",
        )),
    }
}

fn strings(
    meta: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Vec<String>>, OAuthError> {
    match meta.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(OAuthError::registration_metadata(
                    field,
                    "send a JSON array of strings",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(OAuthError::registration_metadata(
            field,
            "send a JSON array of strings",
        )),
    }
}

/// A short printable string (software_id, software_version, a contact).
fn short(field: &'static str, value: &str, max: usize) -> Result<(), OAuthError> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(OAuthError::registration_metadata(
            field,
            format!("give 1 to {max} printable characters"),
        ));
    }
    Ok(())
}

/// Reads a registration request (RFC 7591 §2) and applies grantd's policy.
/// `current` is the app an RFC 7592 update replaces the metadata of.
fn check(
    meta: &Map<String, Value>,
    with_initial_token: bool,
    current: Option<&App>,
) -> Result<Checked, OAuthError> {
    if meta.contains_key("software_statement") {
        return Err(OAuthError::software_statement_unsupported());
    }
    let method = match string(meta, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(&m).ok_or_else(|| {
            OAuthError::registration_policy(
                "token_endpoint_auth_method",
                format!(
                    "'{}' is not a method grantd takes; use none (a public client with PKCE), client_secret_basic, client_secret_post or private_key_jwt",
                    grantd_protocol::error::sanitize(&m, 60)
                ),
            )
        })?,
    };
    let public = method == AuthMethod::None;

    let grant_types =
        strings(meta, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grants: Vec<Grant> = Vec::new();
    for g in &grant_types {
        if !OPEN_GRANTS.contains(&g.as_str()) {
            return Err(OAuthError::registration_policy(
                "grant_types",
                format!(
                    "'{}' is not open to self-registered clients; they may use authorization_code and refresh_token (client_credentials with an initial access token); ask the operator to register an app that needs more",
                    grantd_protocol::error::sanitize(g, 80)
                ),
            ));
        }
        let grant: Grant = g
            .parse()
            .map_err(|_| OAuthError::registration_metadata("grant_types", "an unknown grant"))?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let code = grants.contains(&Grant::AuthorizationCode);
    let client_credentials = grants.contains(&Grant::ClientCredentials);
    if client_credentials {
        if !with_initial_token {
            return Err(OAuthError::registration_policy(
                "grant_types",
                "client_credentials is granted only to a client registered with an initial access token from the operator; register without it, or send the token as Authorization: Bearer",
            ));
        }
        if public {
            return Err(OAuthError::registration_policy(
                "grant_types",
                "client_credentials needs a confidential client; use token_endpoint_auth_method client_secret_basic, client_secret_post or private_key_jwt",
            ));
        }
        if code {
            return Err(OAuthError::registration_policy(
                "grant_types",
                "client_credentials and authorization_code cannot be one client here (a server-only app and a web app are kept apart); register two clients",
            ));
        }
    }
    if !code && !client_credentials {
        return Err(OAuthError::registration_policy(
            "grant_types",
            "refresh_token alone issues nothing; add authorization_code",
        ));
    }

    let response_types = strings(meta, "response_types")?.unwrap_or_else(|| {
        if code {
            vec!["code".into()]
        } else {
            Vec::new()
        }
    });
    for r in &response_types {
        if r != "code" {
            return Err(OAuthError::registration_policy(
                "response_types",
                format!(
                    "'{}' is not open to self-registered clients; use code (with PKCE)",
                    grantd_protocol::error::sanitize(r, 40)
                ),
            ));
        }
    }
    if code != response_types.iter().any(|r| r == "code") {
        return Err(OAuthError::registration_policy(
            "response_types",
            if code {
                "grant_types has authorization_code, so response_types must include code (RFC 7591 §2.1)"
            } else {
                "response_types has code, so grant_types must include authorization_code (RFC 7591 §2.1)"
            },
        ));
    }

    let uris = strings(meta, "redirect_uris")?.unwrap_or_default();
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::registration_metadata(
            "redirect_uris",
            format!(
                "{} URIs sent; a client registers at most {MAX_REDIRECT_URIS}",
                uris.len()
            ),
        ));
    }
    if code && uris.is_empty() {
        return Err(OAuthError::registration_metadata(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    let mut native = false;
    for u in &uris {
        let (_, kind) = redirect_uri(u, public)?;
        native |= kind.is_native();
    }

    let derived = if public {
        if native {
            PlatformType::Desktop
        } else {
            PlatformType::Browser
        }
    } else if code {
        PlatformType::ServerWeb
    } else {
        PlatformType::ServerOnly
    };
    let platform = match current {
        None => derived,
        Some(app) if app.platform_type == derived => derived,
        // A native app may list https URIs too.
        Some(app) if app.platform_type == PlatformType::Desktop && derived == PlatformType::Browser => {
            PlatformType::Desktop
        }
        Some(app) => {
            return Err(OAuthError::registration_policy(
                "token_endpoint_auth_method",
                format!(
                    "this client was registered as a {} app; the metadata sent would make it a {derived} app (from token_endpoint_auth_method and redirect_uris), and an app's kind cannot change; keep the method and kind of redirect URI, or register a new client",
                    app.platform_type
                ),
            ))
        }
    };

    let jwks = match meta.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| {
            OAuthError::registration_metadata(
                "jwks",
                "send a JSON Web Key Set: {\"keys\": [{\"kty\": …}]}",
            )
        })?),
    };
    let jwks_uri = string(meta, "jwks_uri")?;
    if method == AuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(OAuthError::registration_policy(
            "token_endpoint_auth_method",
            "private_key_jwt needs the client's public keys: send jwks (a JSON Web Key Set) or jwks_uri",
        ));
    }
    if public && (jwks.is_some() || jwks_uri.is_some()) {
        return Err(OAuthError::registration_policy(
            "token_endpoint_auth_method",
            "jwks and jwks_uri are for private_key_jwt; a client with method none has no keys to register",
        ));
    }

    let name = match string(meta, "client_name")? {
        Some(n) => {
            let n = n.trim().to_string();
            if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
                return Err(OAuthError::registration_metadata(
                    "client_name",
                    "give 1 to 100 printable characters",
                ));
            }
            n
        }
        None => current
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "Registered client".into()),
    };
    let scopes = string(meta, "scope")?
        .map(|s| {
            let names: Vec<String> = s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            grantd_protocol::Scopes::from_names(names.iter().map(String::as_str))
                .map(|_| names)
                .map_err(|why| OAuthError::registration_metadata("scope", why))
        })
        .transpose()?;

    let mut kept = Map::new();
    kept.insert("token_endpoint_auth_method".into(), json!(method.as_str()));
    if let Some(contacts) = strings(meta, "contacts")? {
        if contacts.len() > MAX_CONTACTS {
            return Err(OAuthError::registration_metadata(
                "contacts",
                format!("list at most {MAX_CONTACTS} contacts"),
            ));
        }
        for c in &contacts {
            short("contacts", c, 254)?;
        }
        kept.insert("contacts".into(), json!(contacts));
    }
    for field in ["logo_uri", "client_uri", "policy_uri", "tos_uri"] {
        if let Some(u) = string(meta, field)? {
            kept.insert(field.into(), json!(info_url(field, &u)?));
        }
    }
    for field in ["software_id", "software_version"] {
        if let Some(v) = string(meta, field)? {
            short(field, &v, 200)?;
            kept.insert(field.into(), json!(v));
        }
    }
    debug_assert!(kept
        .keys()
        .all(|k| k == "token_endpoint_auth_method" || KEPT.contains(&k.as_str())));

    let spec = AppSpec {
        name: Some(name),
        platform_type: Some(platform.as_str().into()),
        grants: Some(grants.iter().map(|g| g.as_str().to_string()).collect()),
        redirect_uris: Some(uris),
        scopes,
        jwks: Some(jwks),
        jwks_uri: Some(jwks_uri),
        ..Default::default()
    };
    Ok(Checked { spec, method, kept })
}

/// A registration as the client sees it (RFC 7591 §3.2.1), with what was
/// issued this once: the client secret and the registration access token.
#[derive(Debug)]
pub struct ClientInformation {
    pub app: App,
    pub registration: Registration,
    pub client_secret: Option<Secret>,
    pub registration_access_token: Option<Secret>,
}

impl ClientInformation {
    /// The response body; `client_uri_base` is the registration endpoint's URL.
    pub fn to_json(&self, registration_endpoint: &str) -> Value {
        let app = &self.app;
        let kept: Map<String, Value> =
            serde_json::from_str(&self.registration.metadata).unwrap_or_default();
        let method = kept
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str)
            .unwrap_or("client_secret_basic");
        let code = app.has_grant(Grant::AuthorizationCode);
        let mut out = json!({
            "client_id": app.client_id,
            "client_id_issued_at": self.registration.created_at,
            "client_name": app.name,
            "redirect_uris": app.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "grant_types": app.grants.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "response_types": if code { vec!["code"] } else { Vec::new() },
            "token_endpoint_auth_method": method,
            "registration_client_uri": format!("{registration_endpoint}/{}", app.client_id),
        });
        if !app.scopes.as_slice().is_empty() {
            out["scope"] = json!(app.scopes.to_string());
        }
        for (k, v) in kept {
            out[k] = v;
        }
        if let Some(jwks) = &app.jwks {
            out["jwks"] = json!(jwks);
        }
        if let Some(uri) = &app.jwks_uri {
            out["jwks_uri"] = json!(uri);
        }
        if let Some(secret) = &self.client_secret {
            out["client_secret"] = json!(secret.expose());
            out["client_secret_expires_at"] = json!(0);
        }
        if let Some(token) = &self.registration_access_token {
            out["registration_access_token"] = json!(token.expose());
        }
        out
    }
}

/// An initial access token as the operator asks for it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationTokenSpec {
    pub label: Option<String>,
    /// Seconds from now; none: no expiry.
    pub expires_in: Option<i64>,
    /// Registrations it allows; none: no limit.
    pub max_uses: Option<i64>,
}

impl Grantd {
    /// RFC 7591 §3: registers a client from its metadata, with an initial
    /// access token (`initial_token`) or, when the operator allows it,
    /// without one.
    pub async fn register_client(
        &self,
        body: &Value,
        initial_token: Option<&str>,
    ) -> Result<ClientInformation, OAuthError> {
        let now = self.now();
        let token = match initial_token {
            Some(t) => Some(self.live_initial_token(t, now).await?),
            None if self.config.policy.registration_open => None,
            None => return Err(OAuthError::registration_closed()),
        };
        let Value::Object(meta) = body else {
            return Err(OAuthError::registration_body("the JSON is not an object"));
        };
        let checked = check(meta, token.is_some(), None)?;
        let mut app = apply(
            blank_app(self.default_account_id.clone(), now),
            checked.spec,
            true,
        )?;
        let secret = checked
            .method
            .uses_secret()
            .then(|| Secret::new(random_token()));
        app.secret_hash = match (&secret, app.is_confidential()) {
            (Some(s), _) => Some(sha256(s.expose().as_bytes())),
            // private_key_jwt: a confidential app whose secret nobody knows.
            (None, true) => Some(sha256(random_token().as_bytes())),
            (None, false) => None,
        };
        let access = Secret::new(random_token());
        let registration = Registration {
            client_id: app.client_id.clone(),
            token_hash: sha256(access.expose().as_bytes()),
            metadata: Value::Object(checked.kept).to_string(),
            initial_token_id: token.as_ref().map(|t| t.id.clone()),
            initial_token_label: token.as_ref().map(|t| t.label.clone()),
            created_at: now,
            updated_at: now,
        };
        let stored = self
            .store
            .register_app(
                &app,
                &registration,
                token.as_ref().map(|t| t.id.as_str()),
                now,
            )
            .await?;
        if !stored {
            // The token was used up, expired or revoked since it was read:
            // read it again to say which.
            let t = initial_token.unwrap_or_default();
            let again = self.live_initial_token(t, now).await?;
            return Err(OAuthError::initial_token_spent(
                &again.label,
                None,
                again.max_uses.unwrap_or(again.uses),
            ));
        }
        self.origins.set(&app);
        tracing::info!(client_id = %app.client_id, platform = %app.platform_type, "client registered itself");
        self.audit(
            crate::audit::kind::APP_CREATED,
            "registration",
            &app.client_id,
            "",
            json!({"name": app.name, "platform_type": app.platform_type.as_str(), "grants": app.grants, "initial_token": registration.initial_token_id}),
        )
        .await;
        Ok(ClientInformation {
            app,
            registration,
            client_secret: secret,
            registration_access_token: Some(access),
        })
    }

    /// The initial access token `token`, if it may register a client now.
    async fn live_initial_token(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<RegistrationToken, OAuthError> {
        let Some(t) = self
            .store
            .find_registration_token(&sha256(token.as_bytes()))
            .await?
        else {
            return Err(OAuthError::initial_token_invalid(false));
        };
        if t.revoked_at.is_some() {
            return Err(OAuthError::initial_token_invalid(true));
        }
        if let Some(at) = t.expires_at.filter(|at| *at <= now) {
            return Err(OAuthError::initial_token_spent(
                &t.label,
                Some(&rfc3339(at)),
                0,
            ));
        }
        if let Some(max) = t.max_uses.filter(|max| t.uses >= *max) {
            return Err(OAuthError::initial_token_spent(&t.label, None, max));
        }
        Ok(t)
    }

    /// RFC 7592 §2: the registration of `client_id`, if `token` is its
    /// registration access token (compared by hash, in constant time).
    /// Unknown clients and apps registered by the operator get the same
    /// answer as a wrong token.
    async fn registration_for(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<Registration, OAuthError> {
        let found = self.store.get_registration(client_id).await?;
        let Some(token) = token else {
            let shown = match &found {
                Some(_) => client_id.to_string(),
                None => grantd_protocol::hint::redacted(client_id),
            };
            return Err(OAuthError::registration_access_token_invalid(
                &shown,
                "no bearer token was sent",
            ));
        };
        let hash = sha256(token.as_bytes());
        match found {
            Some(r) if constant_time_eq(&hash, &r.token_hash) => Ok(r),
            Some(_) => Err(OAuthError::registration_access_token_invalid(
                client_id,
                "the token sent is not this client's registration access token",
            )),
            // A client id no registration has is not quoted in full.
            None => Err(OAuthError::registration_access_token_invalid(
                &grantd_protocol::hint::redacted(client_id),
                "the token sent is not this client's registration access token",
            )),
        }
    }

    /// RFC 7592 §2.1: read a registration.
    pub async fn read_registration(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<ClientInformation, OAuthError> {
        let registration = self.registration_for(client_id, token).await?;
        let app = self.get_app(client_id).await?;
        Ok(ClientInformation {
            app,
            registration,
            client_secret: None,
            registration_access_token: None,
        })
    }

    /// RFC 7592 §2.2: replace a registration's metadata, under the same
    /// policy as a registration (client_credentials stays with a client
    /// registered with an initial access token).
    pub async fn update_registration(
        &self,
        client_id: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<ClientInformation, OAuthError> {
        let mut registration = self.registration_for(client_id, token).await?;
        let Value::Object(meta) = body else {
            return Err(OAuthError::registration_body("the JSON is not an object"));
        };
        if let Some(sent) = meta.get("client_id") {
            if sent.as_str() != Some(client_id) {
                return Err(OAuthError::registration_metadata(
                    "client_id",
                    format!("an update names the client it changes; send \"client_id\": \"{client_id}\""),
                ));
            }
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_app(client_id).await?;
            let checked = check(
                meta,
                registration.initial_token_id.is_some(),
                Some(&current),
            )?;
            let was = serde_json::from_str::<Map<String, Value>>(&registration.metadata)
                .ok()
                .and_then(|m| m.get("token_endpoint_auth_method").cloned());
            let secret_method = |m: &Option<Value>| {
                m.as_ref()
                    .and_then(Value::as_str)
                    .and_then(AuthMethod::parse)
                    .is_some_and(AuthMethod::uses_secret)
            };
            if secret_method(&was) != checked.method.uses_secret() {
                return Err(OAuthError::registration_policy(
                    "token_endpoint_auth_method",
                    format!(
                        "this client registered with {}; switching between a client secret and private_key_jwt needs a new registration",
                        was.as_ref().and_then(Value::as_str).unwrap_or("client_secret_basic")
                    ),
                ));
            }
            let mut app = apply(current, checked.spec, false)?;
            app.updated_at = self.now();
            let metadata = Value::Object(checked.kept).to_string();
            match self
                .store
                .update_registration(&app, &metadata, app.updated_at)
                .await?
            {
                Cas::Done => {
                    app.revision += 1;
                    self.apps.forget(client_id);
                    self.origins.set(&app);
                    registration.metadata = metadata;
                    registration.updated_at = app.updated_at;
                    self.audit(
                        crate::audit::kind::APP_CHANGED,
                        "registration",
                        client_id,
                        "",
                        json!({"name": app.name, "grants": app.grants, "redirect_uris": app.redirect_uris, "scopes": app.scopes}),
                    )
                    .await;
                    return Ok(ClientInformation {
                        app,
                        registration,
                        client_secret: None,
                        registration_access_token: None,
                    });
                }
                Cas::Stale => continue,
                Cas::Missing => return Err(OAuthError::app_not_found(client_id)),
            }
        }
        Err(OAuthError::store_unavailable())
    }

    /// RFC 7592 §2.3: the client deletes itself; its tokens stop working.
    pub async fn delete_registration(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<(), OAuthError> {
        self.registration_for(client_id, token).await?;
        self.delete_app(client_id).await
    }

    /// The registration of an app that registered itself (the console).
    pub async fn registration_of(
        &self,
        client_id: &str,
    ) -> Result<Option<Registration>, OAuthError> {
        Ok(self.store.get_registration(client_id).await?)
    }

    /// A new initial access token; the token is shown this once.
    pub async fn create_registration_token(
        &self,
        spec: RegistrationTokenSpec,
    ) -> Result<(RegistrationToken, Secret), OAuthError> {
        let label = spec.label.unwrap_or_else(|| "initial access token".into());
        let label = label.trim().to_string();
        if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(OAuthError::registration_token_request(
                "label: give 1 to 100 printable characters",
            ));
        }
        if let Some(e) = spec.expires_in.filter(|e| *e < 60) {
            return Err(OAuthError::registration_token_request(format!(
                "expires_in is {e} s; give at least 60, or leave it out for no expiry"
            )));
        }
        if let Some(m) = spec.max_uses.filter(|m| *m < 1) {
            return Err(OAuthError::registration_token_request(format!(
                "max_uses is {m}; give at least 1, or leave it out for no limit"
            )));
        }
        let now = self.now();
        let secret = Secret::new(random_token());
        let token = RegistrationToken {
            id: random_id(16),
            label,
            hash: sha256(secret.expose().as_bytes()),
            created_at: now,
            expires_at: spec.expires_in.map(|e| now.saturating_add(e)),
            max_uses: spec.max_uses,
            uses: 0,
            revoked_at: None,
        };
        self.store.insert_registration_token(&token).await?;
        tracing::info!(id = %token.id, "initial access token created");
        self.audit(
            crate::audit::kind::REGISTRATION_TOKEN_CREATED,
            "admin",
            &token.id,
            "",
            json!({"label": token.label, "expires_at": token.expires_at, "max_uses": token.max_uses}),
        )
        .await;
        Ok((token, secret))
    }

    pub async fn list_registration_tokens(&self) -> Result<Vec<RegistrationToken>, OAuthError> {
        Ok(self.store.list_registration_tokens().await?)
    }

    /// Revokes an initial access token: it registers no more clients (those
    /// it registered stay).
    pub async fn revoke_registration_token(&self, id: &str) -> Result<(), OAuthError> {
        if !self.store.revoke_registration_token(id, self.now()).await? {
            return Err(OAuthError::registration_token_request(format!(
                "no live initial access token has id '{}' (grantd registration-token list shows them)",
                grantd_protocol::error::sanitize(id, 40)
            )));
        }
        tracing::info!(id, "initial access token revoked");
        self.audit(
            crate::audit::kind::REGISTRATION_TOKEN_REVOKED,
            "admin",
            id,
            "",
            json!({}),
        )
        .await;
        Ok(())
    }
}

/// An initial access token as the admin API and CLI show it (never the token).
pub fn registration_token_json(t: &RegistrationToken) -> Value {
    json!({
        "id": t.id,
        "label": t.label,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "max_uses": t.max_uses,
        "uses": t.uses,
        "revoked_at": t.revoked_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_protocol::Code;

    fn meta(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn platform_follows_method_and_redirect_uris() {
        let c = |v: Value| check(&meta(v), false, None).unwrap();
        let spa = c(
            json!({"token_endpoint_auth_method": "none", "redirect_uris": ["https://spa.example.com/cb"]}),
        );
        assert_eq!(spa.spec.platform_type.as_deref(), Some("browser"));
        let native = c(
            json!({"token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1/cb"]}),
        );
        assert_eq!(native.spec.platform_type.as_deref(), Some("desktop"));
        let web = c(json!({"redirect_uris": ["https://web.example.com/cb"]}));
        assert_eq!(web.spec.platform_type.as_deref(), Some("server-web"));
        assert_eq!(web.method, AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn client_credentials_needs_an_initial_token_and_a_confidential_client() {
        let body = meta(json!({"grant_types": ["client_credentials"]}));
        assert_eq!(
            check(&body, false, None).unwrap_err().code,
            Code::RegistrationPolicy
        );
        let ok = check(&body, true, None).unwrap();
        assert_eq!(ok.spec.platform_type.as_deref(), Some("server-only"));
    }
}
