//! Registering and changing apps: the platform-type table, redirect-URI rules,
//! lifetimes, and client secrets (256 random bits, shown once, stored hashed).

use crate::crypto::{random_id, random_token, sha256};
use crate::model::{AccessTokenFormat, App, Distribution, ExchangePolicy};
use crate::rate_limits::AppRateLimits;
use crate::store::Cas;
use crate::Grantd;
use grantd_protocol::grant::join;
use grantd_protocol::{redirect_uri, Grant, OAuthError, PlatformType, Scopes, Secret};
use serde::Deserialize;
use std::sync::Arc;

pub const DEFAULT_ACCESS_TTL: u64 = 3600;
pub const DEFAULT_REFRESH_TTL: u64 = 604_800;
pub const ACCESS_TTL_RANGE: (u64, u64) = (60, 86_400);
pub const REFRESH_TTL_RANGE: (u64, u64) = (3_600, 7_776_000);

/// App settings as the admin API and CLI send them. Every field is optional so
/// the same type serves create (defaults fill the gaps) and update (absent =
/// unchanged). Values are strings here and checked below, so each mistake gets
/// a message naming the accepted values.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub platform_type: Option<String>,
    pub grants: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub distribution: Option<String>,
    pub issue_refresh_tokens: Option<bool>,
    pub access_token_ttl: Option<u64>,
    pub refresh_token_ttl: Option<u64>,
    pub access_token_format: Option<String>,
    pub allow_plain_pkce: Option<bool>,
    pub resource_server: Option<bool>,
    /// Origins whose pages may call grantd from a browser (CORS), besides a
    /// browser app's redirect URI origins; replaces the list.
    pub allowed_origins: Option<Vec<String>>,
    /// The app's public keys for `private_key_jwt` (a JSON Web Key Set).
    /// Absent: unchanged; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    pub jwks: Option<Option<crate::model::JwkSet>>,
    /// Where the app publishes those keys instead (RFC 7591 `jwks_uri`):
    /// an https URL (http for loopback hosts). Absent: unchanged; `null`:
    /// removed. Exclusive with `jwks`.
    #[serde(default, deserialize_with = "present")]
    pub jwks_uri: Option<Option<String>>,
    /// `{"auth": "10/60", "light": "off"}`: the app's own quotas per
    /// rate-limit group; replaces the whole set (`{}` clears it).
    pub rate_limits: Option<std::collections::BTreeMap<String, String>>,
    /// Absent: unchanged; `null`: no policy; an object: its fields change.
    #[serde(default, deserialize_with = "present")]
    pub token_exchange: Option<Option<ExchangePolicySpec>>,
    /// Authorization requests only through PAR (RFC 9126).
    pub require_par: Option<bool>,
    /// Tokens only with a DPoP proof (RFC 9449).
    pub require_dpop: Option<bool>,
    /// Authorization requests only as signed request objects (RFC 9101).
    pub require_signed_request_object: Option<bool>,
    /// A security profile (`fapi2`); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub profile: Option<Option<String>>,
    /// Where `/oauth/logout` may send the browser afterwards; replaces the list.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Where logout tokens are POSTed (https, http for loopback hosts).
    /// Absent: unchanged; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    pub backchannel_logout_uri: Option<Option<String>>,
    /// The app needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: Option<bool>,
    /// Resources (absolute URIs) its access tokens may be restricted to
    /// with `resource` (RFC 8707); replaces the list.
    pub resource_uris: Option<Vec<String>>,
}

/// Changes to an app's token exchange policy (absent fields unchanged).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangePolicySpec {
    pub allowed_subject_apps: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    /// `null`: no limit beyond the subject token's scope.
    #[serde(default, deserialize_with = "present")]
    pub max_scope: Option<Option<Vec<String>>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A list of URIs for an app setting: each checked by `parse`, at most
/// [`grantd_protocol::links::MAX_URIS`], duplicates dropped.
fn uri_list(
    field: &'static str,
    uris: &[String],
    parse: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, OAuthError> {
    let max = grantd_protocol::links::MAX_URIS;
    if uris.len() > max {
        return Err(OAuthError::invalid_app_field(
            field,
            format!("{} URIs given; an app may list at most {max}", uris.len()),
        ));
    }
    let mut out = Vec::with_capacity(uris.len());
    for u in uris {
        let parsed = parse(u.trim()).map_err(|why| {
            OAuthError::invalid_app_field(
                field,
                format!("'{}': {why}", grantd_protocol::error::sanitize(u, 200)),
            )
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// Most origins an app lists in `allowed_origins`.
pub const MAX_ALLOWED_ORIGINS: usize = 20;

/// Most client ids a token exchange policy lists in each of its fields.
pub const MAX_EXCHANGE_POLICY_APPS: usize = 50;

/// A new app and, for confidential apps, its secret (shown this once).
#[derive(Debug)]
pub struct CreatedApp {
    pub app: App,
    pub client_secret: Option<Secret>,
}

fn parse_platform(value: &str) -> Result<PlatformType, OAuthError> {
    value.parse().map_err(|_| {
        OAuthError::invalid_app_field(
            "platform_type",
            format!(
                "'{}' is not a platform type; use one of {}",
                grantd_protocol::error::sanitize(value, 40),
                join(PlatformType::ALL)
            ),
        )
    })
}

fn parse_grants(values: &[String]) -> Result<Vec<Grant>, OAuthError> {
    let mut out = Vec::new();
    for v in values {
        let g: Grant = v.parse().map_err(|_| {
            let hint = if v == grantd_protocol::grant::JWT_BEARER_URN {
                " (in app settings the JWT grant is called jwt_bearer)"
            } else {
                ""
            };
            OAuthError::invalid_app_field(
                "grants",
                format!(
                    "'{}' is not a grant{hint}; use any of {}",
                    grantd_protocol::error::sanitize(v, 60),
                    join(Grant::ALL)
                ),
            )
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out.sort();
    Ok(out)
}

/// The grants an app gets when none are named: those its platform allows,
/// minus the legacy ones and token exchange ([`Grant::on_by_default`]), and
/// minus the device grant except on device apps (every app with it can be
/// named in a device-flow phishing attempt, RFC 8628 §5.4, so a desktop app
/// opts in).
fn default_grants(platform: PlatformType) -> Vec<Grant> {
    let mut grants: Vec<Grant> = platform
        .allowed_grants()
        .iter()
        .copied()
        .filter(|g| g.on_by_default())
        .filter(|g| *g != Grant::DeviceCode || platform == PlatformType::Device)
        .collect();
    grants.sort();
    grants
}

fn check_ttl(field: &'static str, value: u64, (lo, hi): (u64, u64)) -> Result<u64, OAuthError> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(OAuthError::invalid_app_field(
            field,
            format!("{value} seconds is outside {lo}–{hi}"),
        ))
    }
}

/// Applies `spec` on top of `app`, checking every rule. `app` is a fresh
/// default for create.
pub(crate) fn apply(mut app: App, spec: AppSpec, creating: bool) -> Result<App, OAuthError> {
    if let Some(name) = spec.name {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(OAuthError::invalid_app_field(
                "name",
                "give 1 to 100 printable characters",
            ));
        }
        app.name = name;
    } else if creating {
        return Err(OAuthError::invalid_app_field("name", "an app needs a name"));
    }
    if let Some(p) = spec.platform_type {
        let p = parse_platform(&p)?;
        if !creating && p != app.platform_type {
            return Err(OAuthError::invalid_app_field(
                "platform_type",
                format!(
                    "an app's platform type cannot change (this app is {}); register a new {p} app instead",
                    app.platform_type
                ),
            ));
        }
        app.platform_type = p;
    } else if creating {
        return Err(OAuthError::invalid_app_field(
            "platform_type",
            format!(
                "an app needs a platform type: one of {}",
                join(PlatformType::ALL)
            ),
        ));
    }
    let grants_given = spec.grants.is_some();
    match spec.grants {
        Some(g) => app.grants = parse_grants(&g)?,
        None if creating => app.grants = default_grants(app.platform_type),
        None => {}
    }
    let refused: Vec<Grant> = app
        .grants
        .iter()
        .copied()
        .filter(|g| !app.platform_type.allows(*g))
        .collect();
    if !refused.is_empty() {
        return Err(OAuthError::grant_not_allowed_for_platform(
            app.platform_type,
            &refused,
        ));
    }
    if app.grants.is_empty() {
        return Err(OAuthError::invalid_app_field(
            "grants",
            format!(
                "an app needs at least one grant; a {} app may enable {}",
                app.platform_type,
                join(app.platform_type.allowed_grants())
            ),
        ));
    }
    if let Some(uris) = spec.redirect_uris {
        app.redirect_uris = redirect_uri::parse_list(&uris)?;
    }
    if let Some(scopes) = spec.scopes {
        app.scopes = Scopes::from_names(scopes.iter().map(String::as_str))
            .map_err(|why| OAuthError::invalid_app_field("scopes", why))?;
    }
    if let Some(d) = spec.distribution {
        app.distribution = Distribution::parse(&d).ok_or_else(|| {
            OAuthError::invalid_app_field("distribution", "use 'private' or 'public'")
        })?;
    }
    if let Some(f) = spec.access_token_format {
        app.access_token_format = AccessTokenFormat::parse(&f).ok_or_else(|| {
            OAuthError::invalid_app_field("access_token_format", "use 'jwt' or 'opaque'")
        })?;
    }
    if let Some(p) = spec.allow_plain_pkce {
        app.allow_plain_pkce = p;
    }
    if let Some(r) = spec.resource_server {
        if r && !app.is_confidential() {
            return Err(OAuthError::invalid_app_field(
                "resource_server",
                "a resource server must be confidential (server-web or server-only) to authenticate its introspection requests",
            ));
        }
        app.resource_server = r;
    }
    if let Some(origins) = spec.allowed_origins {
        if origins.len() > MAX_ALLOWED_ORIGINS {
            return Err(OAuthError::invalid_app_field(
                "allowed_origins",
                format!(
                    "{} origins given; an app may list at most {MAX_ALLOWED_ORIGINS}",
                    origins.len()
                ),
            ));
        }
        let mut parsed = origins
            .iter()
            .map(|o| redirect_uri::parse_origin(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| OAuthError::invalid_app_field("allowed_origins", why))?;
        parsed.sort();
        parsed.dedup();
        app.allowed_origins = parsed;
    }
    if let Some(uris) = &spec.post_logout_redirect_uris {
        app.links.post_logout_redirect_uris = uri_list(
            "post_logout_redirect_uris",
            uris,
            grantd_protocol::links::post_logout_redirect_uri,
        )?;
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        app.links.backchannel_logout_uri = uri
            .as_deref()
            .map(|u| {
                grantd_protocol::links::backchannel_logout_uri(u.trim())
                    .map_err(|why| OAuthError::invalid_app_field("backchannel_logout_uri", why))
            })
            .transpose()?;
    }
    if let Some(required) = spec.backchannel_logout_session_required {
        app.links.backchannel_logout_session_required = required;
    }
    if let Some(uris) = &spec.resource_uris {
        app.links.resource_uris =
            uri_list("resource_uris", uris, grantd_protocol::links::resource)?;
    }
    let jwks_sent = matches!(spec.jwks, Some(Some(_)));
    let uri_sent = matches!(spec.jwks_uri, Some(Some(_)));
    if let Some(jwks) = spec.jwks {
        if let Some(set) = &jwks {
            crate::client_assertion::check_jwks(set)
                .map_err(|why| OAuthError::invalid_app_field("jwks", why))?;
        }
        app.jwks = jwks;
    }
    if let Some(uri) = &spec.jwks_uri {
        app.jwks_uri = uri
            .as_deref()
            .map(grantd_protocol::jwks_uri::parse)
            .transpose()?;
    }
    if app.jwks.is_some() && app.jwks_uri.is_some() {
        return Err(if jwks_sent && !uri_sent {
            OAuthError::jwks_with_jwks_uri("jwks", "jwks_uri")
        } else {
            OAuthError::jwks_with_jwks_uri("jwks_uri", "jwks")
        });
    }
    if let Some(limits) = spec.rate_limits {
        app.rate_limits =
            AppRateLimits::parse(limits.iter().map(|(g, l)| (g.as_str(), l.as_str())))
                .map_err(|why| OAuthError::invalid_app_field("rate_limits", why))?;
    }
    match spec.token_exchange {
        None => {}
        Some(None) => app.token_exchange = None,
        Some(Some(change)) => {
            if !app.has_grant(Grant::TokenExchange) {
                return Err(OAuthError::invalid_app_field(
                    "token_exchange",
                    "a token exchange policy needs the token_exchange grant; add it to grants",
                ));
            }
            app.token_exchange = Some(apply_exchange_policy(
                app.token_exchange.take().unwrap_or_default(),
                change,
            )?);
        }
    }
    if let Some(t) = spec.access_token_ttl {
        app.access_token_ttl = check_ttl("access_token_ttl", t, ACCESS_TTL_RANGE)?;
    }
    if let Some(t) = spec.refresh_token_ttl {
        app.refresh_token_ttl = check_ttl("refresh_token_ttl", t, REFRESH_TTL_RANGE)?;
    }
    let has_refresh = app.has_grant(Grant::RefreshToken);
    match spec.issue_refresh_tokens {
        Some(true) if !has_refresh => {
            return Err(OAuthError::invalid_app_field(
                "issue_refresh_tokens",
                "refresh tokens need the refresh_token grant; add it to grants",
            ))
        }
        Some(v) => app.issue_refresh_tokens = v,
        // Follow the grant when it is added or removed.
        None if creating || grants_given => app.issue_refresh_tokens = has_refresh,
        None => {}
    }
    if let Some(r) = spec.require_par {
        app.security.require_par = r;
    }
    if let Some(r) = spec.require_dpop {
        app.security.require_dpop = r;
    }
    if let Some(r) = spec.require_signed_request_object {
        app.security.require_signed_request_object = r;
    }
    match spec.profile {
        None => {}
        Some(None) => app.security.profile = None,
        Some(Some(p)) => {
            app.security.profile = Some(crate::model::Profile::parse(&p).ok_or_else(|| {
                OAuthError::invalid_app_field(
                    "profile",
                    format!(
                        "'{}' is not a profile grantd knows; use 'fapi2' or null",
                        grantd_protocol::error::sanitize(&p, 30)
                    ),
                )
            })?);
        }
    }
    check_profile(&app)?;
    Ok(app)
}

/// The settings a profile rules out, named one by one.
fn check_profile(app: &App) -> Result<(), OAuthError> {
    if !app.is_fapi2() {
        return Ok(());
    }
    if !app.is_confidential() {
        return Err(OAuthError::fapi2_app_settings(&format!(
            "the fapi2 profile needs a confidential app (server-web or server-only), which authenticates with private_key_jwt; this app's platform type is {}",
            app.platform_type.as_str()
        )));
    }
    for grant in [Grant::Implicit, Grant::Password] {
        if app.has_grant(grant) {
            return Err(OAuthError::fapi2_app_settings(&format!(
                "the fapi2 profile allows no {} grant; remove it from grants",
                grant.as_str()
            )));
        }
    }
    if app.allow_plain_pkce {
        return Err(OAuthError::fapi2_app_settings(
            "the fapi2 profile takes PKCE S256 only; set allow_plain_pkce to false",
        ));
    }
    Ok(())
}

fn apply_exchange_policy(
    mut policy: ExchangePolicy,
    change: ExchangePolicySpec,
) -> Result<ExchangePolicy, OAuthError> {
    if let Some(ids) = change.allowed_subject_apps {
        policy.allowed_subject_apps = client_ids("token_exchange.allowed_subject_apps", ids)?;
    }
    if let Some(ids) = change.audiences {
        policy.audiences = client_ids("token_exchange.audiences", ids)?;
    }
    match change.max_scope {
        None => {}
        Some(None) => policy.max_scope = None,
        Some(Some(names)) => {
            policy.max_scope = Some(
                Scopes::from_names(names.iter().map(String::as_str))
                    .map_err(|why| OAuthError::invalid_app_field("token_exchange", why))?,
            );
        }
    }
    Ok(policy)
}

/// A policy's list of client ids: trimmed, without repeats, bounded.
fn client_ids(field: &str, ids: Vec<String>) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id.trim();
        if id.is_empty() || id.len() > 100 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(OAuthError::invalid_app_field(
                "token_exchange",
                format!("{field} holds client ids: 1 to 100 printable ASCII characters each"),
            ));
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    if out.len() > MAX_EXCHANGE_POLICY_APPS {
        return Err(OAuthError::invalid_app_field(
            "token_exchange",
            format!("{field} lists at most {MAX_EXCHANGE_POLICY_APPS} apps"),
        ));
    }
    Ok(out)
}

/// A new app's record before its settings are applied: a fresh client id.
pub(crate) fn blank_app(account_id: String, now: crate::clock::UnixTime) -> App {
    App {
        client_id: random_id(22),
        account_id,
        name: String::new(),
        platform_type: PlatformType::ServerOnly,
        grants: Vec::new(),
        redirect_uris: Vec::new(),
        scopes: Scopes::default(),
        distribution: Distribution::Private,
        issue_refresh_tokens: false,
        access_token_ttl: DEFAULT_ACCESS_TTL,
        refresh_token_ttl: DEFAULT_REFRESH_TTL,
        access_token_format: AccessTokenFormat::Jwt,
        allow_plain_pkce: false,
        resource_server: false,
        rate_limits: Default::default(),
        token_exchange: None,
        allowed_origins: Vec::new(),
        jwks: None,
        jwks_uri: None,
        security: Default::default(),
        links: Default::default(),
        secret_hash: None,
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// How often an update is retried when a concurrent change got there first.
pub(crate) const UPDATE_ATTEMPTS: usize = 8;

impl Grantd {
    /// Whether an app with this client id was read recently (the app cache):
    /// a bounded, store-free test that a client id is real, for metric labels.
    pub fn is_known_app(&self, client_id: &str) -> bool {
        self.apps.contains(client_id)
    }
}

impl Grantd {
    pub async fn create_app(&self, spec: AppSpec) -> Result<CreatedApp, OAuthError> {
        let now = self.now();
        let account_id = self.account_or_default(spec.account_id.clone()).await?;
        let blank = blank_app(account_id, now);
        let policy_given = spec.token_exchange.is_some();
        let mut app = apply(blank, spec, true)?;
        if policy_given {
            self.check_exchange_policy(&app).await?;
        }
        let secret = app.is_confidential().then(|| Secret::new(random_token()));
        app.secret_hash = secret.as_ref().map(|s| sha256(s.expose().as_bytes()));
        self.store.insert_app(&app).await?;
        self.origins.set(&app);
        tracing::info!(client_id = %app.client_id, platform = %app.platform_type, "app created");
        self.audit(
            crate::audit::kind::APP_CREATED,
            "admin",
            &app.client_id,
            "",
            serde_json::json!({"name": app.name, "platform_type": app.platform_type.as_str(), "grants": app.grants}),
        )
        .await;
        Ok(CreatedApp {
            app,
            client_secret: secret,
        })
    }

    pub async fn update_app(&self, client_id: &str, spec: AppSpec) -> Result<App, OAuthError> {
        self.update_app_at(client_id, spec, None).await
    }

    /// [`Grantd::update_app`], refused (GRD-740) unless the app is still at
    /// `revision` when given: a form loaded before another change does not
    /// undo it. The check and the write are one compare-and-set.
    pub async fn update_app_at(
        &self,
        client_id: &str,
        spec: AppSpec,
        revision: Option<i64>,
    ) -> Result<App, OAuthError> {
        if spec.account_id.is_some() {
            return Err(OAuthError::invalid_app_field(
                "account_id",
                "an app cannot move to another account",
            ));
        }
        // Compare-and-set on the revision: a change that raced this one
        // (another update, a secret rotation) is read again and the spec
        // applied to it, so neither is lost.
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_app(client_id).await?;
            if let Some(loaded) = revision {
                if loaded != current.revision {
                    return Err(OAuthError::console_app_changed(
                        client_id,
                        loaded,
                        current.revision,
                    ));
                }
            }
            let mut app = apply(current, spec.clone(), false)?;
            if spec.token_exchange.is_some() {
                self.check_exchange_policy(&app).await?;
            }
            app.updated_at = self.now();
            match self.store.update_app(&app).await? {
                Cas::Done => {
                    app.revision += 1;
                    self.apps.forget(client_id);
                    self.origins.set(&app);
                    tracing::info!(client_id, "app updated");
                    self.audit(
                        crate::audit::kind::APP_CHANGED,
                        "admin",
                        client_id,
                        "",
                        serde_json::json!({"name": app.name, "platform_type": app.platform_type.as_str(), "grants": app.grants, "redirect_uris": app.redirect_uris, "scopes": app.scopes}),
                    )
                    .await;
                    return Ok(app);
                }
                Cas::Stale => continue,
                Cas::Missing => return Err(OAuthError::app_not_found(client_id)),
            }
        }
        tracing::warn!(client_id, "app update kept losing races with other changes");
        Err(OAuthError::store_unavailable())
    }

    /// The apps a token exchange policy names exist, and its audiences are
    /// resource servers. Checked when the policy is set; an exchange checks
    /// again, since apps change after.
    async fn check_exchange_policy(&self, app: &App) -> Result<(), OAuthError> {
        let Some(policy) = &app.token_exchange else {
            return Ok(());
        };
        for id in &policy.allowed_subject_apps {
            if id != &app.client_id && self.store.get_app(id).await?.is_none() {
                return Err(OAuthError::invalid_app_field(
                    "token_exchange",
                    format!(
                        "allowed_subject_apps names '{}', which is not a registered app",
                        grantd_protocol::error::sanitize(id, 100)
                    ),
                ));
            }
        }
        for id in &policy.audiences {
            let resource_server = if id == &app.client_id {
                app.resource_server
            } else {
                self.store
                    .get_app(id)
                    .await?
                    .is_some_and(|a| a.resource_server)
            };
            if !resource_server {
                return Err(OAuthError::invalid_app_field(
                    "token_exchange",
                    format!(
                        "audiences names '{}', which is not a registered resource server (an app with resource_server: true)",
                        grantd_protocol::error::sanitize(id, 100)
                    ),
                ));
            }
        }
        Ok(())
    }

    pub async fn delete_app(&self, client_id: &str) -> Result<(), OAuthError> {
        if !self.store.delete_app(client_id, self.now()).await? {
            return Err(OAuthError::app_not_found(client_id));
        }
        self.apps.forget(client_id);
        self.origins.remove(client_id);
        tracing::info!(client_id, "app deleted");
        self.audit(
            crate::audit::kind::APP_DELETED,
            "admin",
            client_id,
            "",
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// A new secret for a confidential app; the old one stops working at once.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<(App, Secret), OAuthError> {
        let app = self.get_app(client_id).await?;
        if !app.is_confidential() {
            return Err(OAuthError::invalid_app_field(
                "platform_type",
                format!(
                    "a {} app is public and has no client secret to rotate",
                    app.platform_type
                ),
            ));
        }
        let secret = Secret::new(random_token());
        let hash = sha256(secret.expose().as_bytes());
        // Only the secret column is written: a concurrent settings update
        // can neither undo the rotation nor be undone by it.
        if !self
            .store
            .set_app_secret(client_id, &hash, self.now())
            .await?
        {
            return Err(OAuthError::app_not_found(client_id));
        }
        self.apps.forget(client_id);
        let app = self.get_app(client_id).await?;
        tracing::info!(client_id, "client secret rotated");
        self.audit(
            crate::audit::kind::SECRET_ROTATED,
            "admin",
            client_id,
            "",
            serde_json::json!({}),
        )
        .await;
        Ok((app, secret))
    }

    pub async fn get_app(&self, client_id: &str) -> Result<App, OAuthError> {
        self.store
            .get_app(client_id)
            .await?
            .ok_or_else(|| OAuthError::app_not_found(client_id))
    }

    pub async fn list_apps(&self) -> Result<Vec<App>, OAuthError> {
        Ok(self.store.list_apps().await?)
    }

    /// The app for a client id, from the cache when fresh.
    pub async fn find_app(&self, client_id: &str) -> Result<Option<Arc<App>>, OAuthError> {
        if let Some(app) = self.apps.get(client_id) {
            return Ok(Some(app));
        }
        let since = self.apps.epoch();
        let Some(app) = self.store.get_app(client_id).await? else {
            return Ok(None);
        };
        let app = Arc::new(app);
        self.apps.put(app.clone(), since);
        Ok(Some(app))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_protocol::Code;

    fn blank() -> App {
        App {
            client_id: "c".into(),
            ..blank_app("a".into(), 0)
        }
    }

    fn spec(platform: &str, grants: &[&str]) -> AppSpec {
        AppSpec {
            name: Some("Acme".into()),
            platform_type: Some(platform.into()),
            grants: Some(grants.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn browser_apps_allow_their_redirect_origins_and_listed_ones() {
        let app = apply(
            blank(),
            AppSpec {
                redirect_uris: Some(vec!["https://spa.example.com:8443/cb".into()]),
                allowed_origins: Some(vec!["HTTPS://Other.Example.com:443".into()]),
                ..spec("browser", &["authorization_code"])
            },
            true,
        )
        .unwrap();
        assert_eq!(app.allowed_origins, vec!["https://other.example.com"]);
        assert_eq!(
            app.cors_origins(),
            vec!["https://other.example.com", "https://spa.example.com:8443"]
        );
        let server = apply(
            blank(),
            AppSpec {
                redirect_uris: Some(vec!["https://web.example.com/cb".into()]),
                ..spec("server-web", &["authorization_code"])
            },
            true,
        )
        .unwrap();
        assert!(
            server.cors_origins().is_empty(),
            "a server's pages call it from the server"
        );
        for bad in [
            "https://a.example.com/path",
            "ftp://a.example.com",
            "a.example.com",
        ] {
            let e = apply(
                blank(),
                AppSpec {
                    allowed_origins: Some(vec![bad.into()]),
                    ..spec("browser", &["authorization_code"])
                },
                true,
            )
            .unwrap_err();
            assert!(
                e.description.contains("allowed_origins"),
                "{}",
                e.description
            );
        }
    }

    #[test]
    fn refuses_grant_the_platform_forbids() {
        let e = apply(blank(), spec("server-web", &["password"]), true).unwrap_err();
        assert_eq!(e.code, Code::GrantNotAllowedForPlatform);
        assert!(
            e.description.contains("desktop, mobile, server-only"),
            "{}",
            e.description
        );
    }

    #[test]
    fn defaults_follow_platform() {
        let app = apply(
            blank(),
            AppSpec {
                name: Some("x".into()),
                platform_type: Some("server-only".into()),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        assert_eq!(
            app.grants,
            vec![
                Grant::RefreshToken,
                Grant::JwtBearer,
                Grant::ClientCredentials
            ]
        );
        assert!(app.issue_refresh_tokens);
    }

    #[test]
    fn device_apps_default_to_the_device_flow_and_desktop_apps_opt_in() {
        let default = |platform: &str| {
            let spec = AppSpec {
                name: Some("x".into()),
                platform_type: Some(platform.into()),
                ..Default::default()
            };
            apply(blank(), spec, true).unwrap()
        };
        let device = default("device");
        assert_eq!(device.grants, vec![Grant::RefreshToken, Grant::DeviceCode]);
        assert!(!device.is_confidential());
        assert_eq!(
            default("desktop").grants,
            vec![Grant::AuthorizationCode, Grant::RefreshToken]
        );
        let opted_in = apply(
            blank(),
            spec("desktop", &["authorization_code", "device_code"]),
            true,
        )
        .unwrap();
        assert!(opted_in.has_grant(Grant::DeviceCode));
        let e = apply(blank(), spec("mobile", &["device_code"]), true).unwrap_err();
        assert_eq!(e.code, Code::GrantNotAllowedForPlatform);
        assert!(
            e.description
                .contains("'device_code' is allowed for: desktop, device"),
            "{}",
            e.description
        );
    }

    #[test]
    fn unknown_values_name_the_accepted_ones() {
        let e = apply(blank(), spec("web", &[]), true).unwrap_err();
        assert!(e.description.contains("server-web, browser"));
        let e = apply(blank(), spec("server-only", &["jwt"]), true).unwrap_err();
        assert!(e.description.contains("jwt_bearer"));
    }

    #[test]
    fn rate_limits_replace_the_set_and_name_the_mistake() {
        let mut s = spec("server-only", &["client_credentials"]);
        s.rate_limits = Some([("auth".to_string(), "10/60".to_string())].into());
        let app = apply(blank(), s, true).unwrap();
        assert_eq!(
            app.rate_limits.get(crate::rate_limits::Group::Auth),
            Some(crate::rate_limits::Limit::Quota(
                crate::rate_limits::Quota {
                    requests: 10,
                    seconds: 60
                }
            ))
        );
        let cleared = AppSpec {
            rate_limits: Some(Default::default()),
            ..Default::default()
        };
        assert!(apply(app.clone(), cleared, false)
            .unwrap()
            .rate_limits
            .is_empty());
        let bad = AppSpec {
            rate_limits: Some([("auth".to_string(), "ten".to_string())].into()),
            ..Default::default()
        };
        let e = apply(app, bad, false).unwrap_err();
        assert_eq!(e.code, Code::InvalidAppField);
        assert!(
            e.description.contains("REQUESTS/SECONDS"),
            "{}",
            e.description
        );
    }

    #[test]
    fn exchange_policy_needs_the_grant_and_merges() {
        let with_policy = |grants: &[&str], policy: serde_json::Value| AppSpec {
            token_exchange: serde_json::from_value::<AppSpec>(
                serde_json::json!({ "token_exchange": policy }),
            )
            .unwrap()
            .token_exchange,
            ..spec("server-only", grants)
        };
        let e = apply(
            blank(),
            with_policy(
                &["client_credentials"],
                serde_json::json!({"audiences": ["rs"]}),
            ),
            true,
        )
        .unwrap_err();
        assert!(
            e.description.contains("token_exchange grant"),
            "{}",
            e.description
        );
        let grants = ["client_credentials", "token_exchange"];
        let app = apply(
            blank(),
            with_policy(
                &grants,
                serde_json::json!({"audiences": ["rs", "rs"], "max_scope": ["A"]}),
            ),
            true,
        )
        .unwrap();
        let policy = app.token_exchange.clone().unwrap();
        assert_eq!(policy.audiences, vec!["rs"]);
        assert_eq!(policy.max_scope, Some(Scopes::parse("A").unwrap()));
        // Fields left out stay; null clears.
        let app = apply(
            app,
            with_policy(
                &grants,
                serde_json::json!({"allowed_subject_apps": ["x"], "max_scope": null}),
            ),
            false,
        )
        .unwrap();
        let policy = app.token_exchange.clone().unwrap();
        assert_eq!(
            (
                policy.allowed_subject_apps,
                policy.audiences,
                policy.max_scope
            ),
            (vec!["x".to_string()], vec!["rs".to_string()], None)
        );
        let app = apply(app, with_policy(&grants, serde_json::Value::Null), false).unwrap();
        assert_eq!(app.token_exchange, None);
    }

    #[test]
    fn platform_cannot_change() {
        let app = apply(blank(), spec("server-only", &["client_credentials"]), true).unwrap();
        let e = apply(app, spec("desktop", &["password"]), false).unwrap_err();
        assert_eq!(e.code, Code::InvalidAppField);
    }
}
