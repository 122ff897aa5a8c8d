//! Registering and changing apps: the platform-type table, redirect-URI rules,
//! lifetimes, and client secrets (256 random bits, shown once, stored hashed).

use crate::crypto::{random_id, random_token, sha256};
use crate::model::{AccessTokenFormat, App, Distribution};
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
}

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
/// minus the legacy ones, and minus the device grant except on device apps
/// (every app with it can be named in a device-flow phishing attempt, RFC
/// 8628 §5.4, so a desktop app opts in).
fn default_grants(platform: PlatformType) -> Vec<Grant> {
    let mut grants: Vec<Grant> = platform
        .allowed_grants()
        .iter()
        .copied()
        .filter(|g| !g.is_legacy())
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
fn apply(mut app: App, spec: AppSpec, creating: bool) -> Result<App, OAuthError> {
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
    Ok(app)
}

/// How often an update is retried when a concurrent change got there first.
const UPDATE_ATTEMPTS: usize = 8;

impl Grantd {
    pub async fn create_app(&self, spec: AppSpec) -> Result<CreatedApp, OAuthError> {
        let now = self.now();
        let account_id = self.account_or_default(spec.account_id.clone()).await?;
        let blank = App {
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
            secret_hash: None,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let mut app = apply(blank, spec, true)?;
        let secret = app.is_confidential().then(|| Secret::new(random_token()));
        app.secret_hash = secret.as_ref().map(|s| sha256(s.expose().as_bytes()));
        self.store.insert_app(&app).await?;
        tracing::info!(client_id = %app.client_id, platform = %app.platform_type, "app created");
        Ok(CreatedApp {
            app,
            client_secret: secret,
        })
    }

    pub async fn update_app(&self, client_id: &str, spec: AppSpec) -> Result<App, OAuthError> {
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
            let mut app = apply(current, spec.clone(), false)?;
            app.updated_at = self.now();
            match self.store.update_app(&app).await? {
                Cas::Done => {
                    app.revision += 1;
                    self.apps.forget(client_id);
                    tracing::info!(client_id, "app updated");
                    return Ok(app);
                }
                Cas::Stale => continue,
                Cas::Missing => return Err(OAuthError::app_not_found(client_id)),
            }
        }
        tracing::warn!(client_id, "app update kept losing races with other changes");
        Err(OAuthError::store_unavailable())
    }

    pub async fn delete_app(&self, client_id: &str) -> Result<(), OAuthError> {
        if !self.store.delete_app(client_id, self.now()).await? {
            return Err(OAuthError::app_not_found(client_id));
        }
        self.apps.forget(client_id);
        tracing::info!(client_id, "app deleted");
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
            account_id: "a".into(),
            name: String::new(),
            platform_type: PlatformType::ServerOnly,
            grants: vec![],
            redirect_uris: vec![],
            scopes: Scopes::default(),
            distribution: Distribution::Private,
            issue_refresh_tokens: false,
            access_token_ttl: DEFAULT_ACCESS_TTL,
            refresh_token_ttl: DEFAULT_REFRESH_TTL,
            access_token_format: AccessTokenFormat::Jwt,
            allow_plain_pkce: false,
            resource_server: false,
            secret_hash: None,
            created_at: 0,
            updated_at: 0,
            revision: 1,
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
    fn platform_cannot_change() {
        let app = apply(blank(), spec("server-only", &["client_credentials"]), true).unwrap();
        let e = apply(app, spec("desktop", &["password"]), false).unwrap_err();
        assert_eq!(e.code, Code::InvalidAppField);
    }
}
