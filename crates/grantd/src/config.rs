//! Configuration: defaults, then a TOML file, then `GRANTD_*` environment
//! variables and flags (clap reads both), later ones winning.

use anyhow::{bail, Context};
use clap::Args;
use grantd_core::rate_limits::{Group, Limit, RateLimits};
use grantd_core::{Policy, RefreshReuse, StartError, MIN_ADMIN_TOKEN_BYTES};
use grantd_server::client_ip::TrustedProxies;
use grantd_server::listen::ConnectionLimits;
use grantd_server::tls::TlsFiles;
use grantd_server::EdgeSettings;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings shared by `serve` and the commands that open the store.
#[derive(Debug, Clone, Args, Default)]
pub struct StoreArgs {
    /// Directory for the SQLite database and the master key file.
    #[arg(long, env = "GRANTD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB; default: SQLite in the data directory.
    #[arg(long, env = "GRANTD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// A TOML file holding any of these settings.
    #[arg(long = "config", env = "GRANTD_CONFIG", global = true)]
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRANTD_LISTEN")]
    pub listen: Option<String>,
    /// Address of the admin listener, which serves Prometheus /metrics (off
    /// unless set; keep it off the public network, e.g. 127.0.0.1:9090).
    #[arg(long, env = "GRANTD_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// The server's TLS certificate chain, PEM (with --tls-key: grantd
    /// serves HTTPS, HTTP/2 and HTTP/1.1, and reloads both files when they change).
    #[arg(long, env = "GRANTD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "GRANTD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Export OpenTelemetry traces over OTLP/HTTP (protobuf) to this
    /// collector, e.g. http://127.0.0.1:4318 (/v1/traces is added); off
    /// unless set (also read from OTEL_EXPORTER_OTLP_ENDPOINT).
    #[arg(long, env = "GRANTD_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The issuer URL (default: http:// — https:// with TLS — and the address listened on).
    #[arg(long, env = "GRANTD_ISSUER")]
    pub issuer: Option<String>,
    /// `aud` of access tokens (default: the issuer).
    #[arg(long, env = "GRANTD_AUDIENCE")]
    pub audience: Option<String>,
    /// Signing algorithm of the first key: ES256, EdDSA or RS256.
    #[arg(long, env = "GRANTD_SIGNING_ALG")]
    pub signing_alg: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "GRANTD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Failed authentications per identity (client id or username), client
    /// address and minute on the authentication endpoints before 429
    /// (default 30; an address's failures for all identities together may
    /// reach ten times that; 0 = no limit).
    #[arg(long, env = "GRANTD_AUTH_FAILURE_LIMIT")]
    pub auth_failure_limit: Option<u32>,
    /// A request quota for a RingCentral rate-limit group:
    /// GROUP=REQUESTS/SECONDS (groups auth, light, medium, heavy) or
    /// GROUP=off; repeat for several (environment: a comma-separated list,
    /// e.g. "auth=5/60,light=50/60"). Counted per app and user; off unless set.
    #[arg(long = "rate-limit", env = "GRANTD_RATE_LIMITS", value_delimiter = ',')]
    pub rate_limits: Option<Vec<String>>,
    /// Start the quotas from a preset: ringcentral (Auth 5/60, Light 50/60,
    /// Medium 40/60, Heavy 10/60); --rate-limit then changes single groups.
    #[arg(long, env = "GRANTD_RATE_LIMIT_PRESET")]
    pub rate_limit_preset: Option<String>,
    /// A reverse proxy (IP address or CIDR range) whose X-Forwarded-For or
    /// Forwarded header names the client's address; repeat for several
    /// (environment: a comma-separated list). Default: none, so the peer
    /// address is the client's and forwarding headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "GRANTD_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// A web origin (https://app.example.com) whose pages may call grantd's
    /// token endpoints and APIs from a browser (CORS), whatever the app;
    /// repeat for several (environment: a comma-separated list). Apps allow
    /// their own origins (allowed_origins; a browser app's redirect URIs).
    #[arg(
        long = "cors-allowed-origin",
        env = "GRANTD_CORS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// The platform's WebSocket gateway (wss://…): POST /restapi/oauth/wstoken
    /// answers it with a short-lived token for it. Unset: no wstoken.
    #[arg(long, env = "GRANTD_WS_URI")]
    pub ws_uri: Option<String>,
    /// Seconds a client has to send a request's headers (also how long an
    /// idle kept-alive connection stays open); default 10.
    #[arg(long, env = "GRANTD_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a client has to send a request's body after its headers
    /// (408 after that); default 10.
    #[arg(long, env = "GRANTD_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<u64>,
    /// Connections open at once; more wait until one closes (default 4096).
    #[arg(long, env = "GRANTD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds requests in flight may take to finish after SIGTERM or
    /// Ctrl-C before the remaining connections are dropped (default 10).
    #[arg(long, env = "GRANTD_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<u64>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The operator's policies (also the `[policy]` and `[legacy]` TOML tables).
#[derive(Debug, Clone, Args, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyArgs {
    /// Date (YYYY-MM-DD or RFC 3339) from which the legacy password grant is refused; before it, it works with Deprecation and Sunset headers. Default 2024-03-31 (retired).
    #[arg(long, env = "GRANTD_PASSWORD_GRANT_SUNSET")]
    pub password_grant_sunset: Option<String>,
    /// The same for the legacy implicit flow.
    #[arg(long, env = "GRANTD_IMPLICIT_SUNSET")]
    pub implicit_sunset: Option<String>,
    /// Seconds after its exchange that a refresh token replays the same answer (default 10, at most 3600).
    #[arg(long, env = "GRANTD_REFRESH_GRACE")]
    pub refresh_grace: Option<i64>,
    /// What a refresh token presented again after its grace window does:
    /// end-session (RFC 9700: the session and all its tokens end) or reject
    /// (RingCentral: the stale token is refused, OAU-213, and the session
    /// goes on). Default: end-session for public clients, reject for
    /// confidential clients (they authenticated; reuse is their own workers racing).
    #[arg(long, env = "GRANTD_REFRESH_REUSE")]
    pub refresh_reuse: Option<String>,
    /// Seconds a session lasts at most, however often it is refreshed (default 7776000 = 90 days; 0 = no limit).
    #[arg(long, env = "GRANTD_SESSION_MAX_LIFETIME")]
    pub session_max_lifetime: Option<i64>,
    /// Active sessions per user and app before the oldest ends (default 5).
    #[arg(long, env = "GRANTD_MAX_SESSIONS")]
    pub max_sessions: Option<u32>,
    /// Failed passwords within the window that lock a user (default 5).
    #[arg(long, env = "GRANTD_LOCKOUT_THRESHOLD")]
    pub lockout_threshold: Option<u32>,
    /// Seconds in which failures are counted (default 900).
    #[arg(long, env = "GRANTD_LOCKOUT_WINDOW")]
    pub lockout_window: Option<i64>,
    /// Seconds a locked user stays locked (default 900).
    #[arg(long, env = "GRANTD_LOCKOUT_DURATION")]
    pub lockout_duration: Option<i64>,
    /// Let clients register themselves at /oauth/register without an
    /// initial access token (RFC 7591 open registration; default false:
    /// only with a token from `grantd registration-token create`).
    #[arg(long, env = "GRANTD_REGISTRATION_OPEN")]
    pub registration_open: Option<bool>,
}

impl PolicyArgs {
    fn or(self, file: PolicyArgs) -> PolicyArgs {
        PolicyArgs {
            password_grant_sunset: self.password_grant_sunset.or(file.password_grant_sunset),
            implicit_sunset: self.implicit_sunset.or(file.implicit_sunset),
            refresh_grace: self.refresh_grace.or(file.refresh_grace),
            refresh_reuse: self.refresh_reuse.or(file.refresh_reuse),
            max_sessions: self.max_sessions.or(file.max_sessions),
            session_max_lifetime: self.session_max_lifetime.or(file.session_max_lifetime),
            lockout_threshold: self.lockout_threshold.or(file.lockout_threshold),
            lockout_window: self.lockout_window.or(file.lockout_window),
            lockout_duration: self.lockout_duration.or(file.lockout_duration),
            registration_open: self.registration_open.or(file.registration_open),
        }
    }

    pub fn resolve(&self) -> anyhow::Result<Policy> {
        let d = Policy::default();
        let date = |v: &Option<String>, name: &str, default: i64| -> anyhow::Result<i64> {
            match v {
                None => Ok(default),
                Some(s) => parse_date(s).with_context(|| {
                    format!("{name} '{s}' is not a date (YYYY-MM-DD or RFC 3339)")
                }),
            }
        };
        let grace = self.refresh_grace.unwrap_or(d.refresh_grace);
        if !(0..=3600).contains(&grace) {
            bail!("refresh grace {grace} s is outside 0–3600");
        }
        let max_sessions = self.max_sessions.unwrap_or(d.max_sessions);
        if max_sessions == 0 {
            bail!("max sessions must be at least 1");
        }
        let refresh_reuse = match &self.refresh_reuse {
            None => d.refresh_reuse,
            Some(v) => RefreshReuse::parse(v).with_context(|| {
                format!("refresh reuse '{v}' is not one of {}", RefreshReuse::NAMES)
            })?,
        };
        Ok(Policy {
            refresh_reuse,
            password_sunset: date(
                &self.password_grant_sunset,
                "password grant sunset",
                d.password_sunset,
            )?,
            implicit_sunset: date(&self.implicit_sunset, "implicit sunset", d.implicit_sunset)?,
            refresh_grace: grace,
            max_sessions,
            session_max_lifetime: self
                .session_max_lifetime
                .unwrap_or(d.session_max_lifetime)
                .max(0),
            lockout_threshold: self.lockout_threshold.unwrap_or(d.lockout_threshold).max(1),
            lockout_window: self.lockout_window.unwrap_or(d.lockout_window).max(1),
            lockout_duration: self.lockout_duration.unwrap_or(d.lockout_duration).max(0),
            registration_open: self.registration_open.unwrap_or(d.registration_open),
        })
    }
}

/// Refuses a database URL no backend takes, saying which ones do.
pub fn check_database_url(url: &str) -> anyhow::Result<()> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") | Some("postgres") | Some("postgresql") => Ok(()),
        _ => bail!(
            "unsupported database URL '{}': use sqlite://PATH (one node) or postgres://USER@HOST:PORT/DB (several nodes)",
            redact_url(url)
        ),
    }
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_date(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp())
}

/// The TOML file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub otlp_endpoint: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub signing_alg: Option<String>,
    pub log_format: Option<String>,
    pub auth_failure_limit: Option<u32>,
    #[serde(default)]
    pub policy: PolicyArgs,
    #[serde(default)]
    pub legacy: LegacyFile,
    #[serde(default)]
    pub server: ServerFile,
    #[serde(default)]
    pub rate_limits: RateLimitsFile,
    #[serde(default)]
    pub cors: CorsFile,
    #[serde(default)]
    pub refresh: RefreshFile,
    #[serde(default)]
    pub ws: WsFile,
    #[serde(default)]
    pub registration: RegistrationFile,
}

/// `[registration]`: `open = true` lets clients register without an
/// initial access token (also `[policy] registration_open`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationFile {
    pub open: Option<bool>,
}

/// `[ws]`: `uri = "wss://ws.example.com/ws"`, the WebSocket gateway.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsFile {
    pub uri: Option<String>,
}

/// `[refresh]`: `reuse = "end-session" | "reject"` (also `[policy] refresh_reuse`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshFile {
    pub reuse: Option<String>,
}

/// `[cors]`: `allowed_origins = ["https://app.example.com"]`, allowed for every app.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsFile {
    pub allowed_origins: Option<Vec<String>>,
}

/// `[rate_limits]`: `preset = "ringcentral"`, and per group `"REQUESTS/SECONDS"` or `"off"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsFile {
    pub preset: Option<String>,
    pub auth: Option<String>,
    pub light: Option<String>,
    pub medium: Option<String>,
    pub heavy: Option<String>,
}

impl RateLimitsFile {
    fn groups(&self) -> [(Group, Option<&String>); 4] {
        [
            (Group::Auth, self.auth.as_ref()),
            (Group::Light, self.light.as_ref()),
            (Group::Medium, self.medium.as_ref()),
            (Group::Heavy, self.heavy.as_ref()),
        ]
    }
}

/// The server-wide quotas: a preset (flag, else file), then the file's
/// groups, then the flags' groups.
fn resolve_rate_limits(serve: &ServeArgs, file: &RateLimitsFile) -> anyhow::Result<RateLimits> {
    let mut limits = match serve.rate_limit_preset.as_ref().or(file.preset.as_ref()) {
        Some(name) => RateLimits::preset(name).map_err(anyhow::Error::msg)?,
        None => RateLimits::default(),
    };
    for (group, value) in file.groups() {
        if let Some(v) = value {
            let limit = Limit::parse(v)
                .map_err(|e| anyhow::anyhow!("[rate_limits] {}: {e}", group.key()))?;
            limits.set(group, limit);
        }
    }
    for assignment in serve.rate_limits.iter().flatten() {
        limits
            .apply(assignment)
            .map_err(|e| anyhow::anyhow!("rate limit {assignment}: {e}"))?;
    }
    Ok(limits)
}

/// `[server]`: how connections are handled.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    pub trusted_proxies: Option<Vec<String>>,
    pub header_read_timeout: Option<u64>,
    pub body_read_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub shutdown_timeout: Option<u64>,
}

/// `[legacy]`: `password_sunset`, `implicit_sunset`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyFile {
    pub password_sunset: Option<String>,
    pub implicit_sunset: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    /// The admin listener (Prometheus /metrics); none by default.
    pub admin_listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub signing_alg: String,
    pub log_format: String,
    pub admin_token: Option<String>,
    pub master_key: Option<String>,
    pub policy: Policy,
    pub auth_failure_limit: u32,
    pub rate_limits: RateLimits,
    pub trusted_proxies: TrustedProxies,
    pub body_read_timeout: Duration,
    pub connections: ConnectionLimits,
    /// Origins every app's pages may call grantd from (CORS), normalised.
    pub cors_allowed_origins: Vec<String>,
    /// The WebSocket gateway's URI.
    pub ws_uri: Option<String>,
    /// The certificate and key when grantd serves TLS itself.
    pub tls: Option<TlsFiles>,
    /// The OTLP/HTTP traces endpoint (the full URL, ending /v1/traces).
    pub otlp_endpoint: Option<String>,
}

impl Settings {
    pub fn resolve(store: &StoreArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let file = FileConfig::load(store.config_file.as_deref())?;
        let data_dir = store
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("grantd-data"));
        let database_url = store
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("grantd.db").display()));
        check_database_url(&database_url)?;
        let log_format = serve
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            bail!("log format '{log_format}' is not text or json");
        }
        let mut file_policy = file.policy;
        file_policy.password_grant_sunset = file_policy
            .password_grant_sunset
            .or(file.legacy.password_sunset);
        file_policy.implicit_sunset = file_policy.implicit_sunset.or(file.legacy.implicit_sunset);
        file_policy.refresh_reuse = file_policy.refresh_reuse.or(file.refresh.reuse);
        file_policy.registration_open = file_policy.registration_open.or(file.registration.open);
        let policy = serve.policy.clone().or(file_policy).resolve()?;
        let trusted_proxies = TrustedProxies::parse(
            &serve
                .trusted_proxies
                .clone()
                .or(file.server.trusted_proxies)
                .unwrap_or_default(),
        )
        .map_err(anyhow::Error::msg)?;
        let rate_limits = resolve_rate_limits(serve, &file.rate_limits)?;
        let cors_allowed_origins = serve
            .cors_allowed_origins
            .clone()
            .or(file.cors.allowed_origins)
            .unwrap_or_default()
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| {
                grantd_protocol::redirect_uri::parse_origin(o)
                    .map_err(|why| anyhow::anyhow!("cors.allowed_origins: {why}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Secrets come from the environment only, never from a file that
        // may be committed or a flag visible in `ps`.
        let admin_token = std::env::var("GRANTD_ADMIN_TOKEN")
            .ok()
            .filter(|s| !s.is_empty());
        if let Some(t) = &admin_token {
            if t.len() < MIN_ADMIN_TOKEN_BYTES {
                bail!("{}", StartError::AdminTokenTooShort(t.len()));
            }
        }
        let d = ConnectionLimits::default();
        let seconds =
            |flag: Option<u64>, file: Option<u64>, default: Duration, name: &str| match flag
                .or(file)
            {
                None => Ok(default),
                Some(0) => bail!("{name} must be at least 1 second"),
                Some(n) => Ok(Duration::from_secs(n)),
            };
        let connections = ConnectionLimits {
            header_read_timeout: seconds(
                serve.header_read_timeout,
                file.server.header_read_timeout,
                d.header_read_timeout,
                "header read timeout",
            )?,
            max_connections: match serve.max_connections.or(file.server.max_connections) {
                None => d.max_connections,
                Some(0) => bail!("max connections must be at least 1"),
                Some(n) => n,
            },
            shutdown_timeout: seconds(
                serve.shutdown_timeout,
                file.server.shutdown_timeout,
                d.shutdown_timeout,
                "shutdown timeout",
            )?,
        };
        let body_read_timeout = seconds(
            serve.body_read_timeout,
            file.server.body_read_timeout,
            EdgeSettings::default().body_read_timeout,
            "body read timeout",
        )?;
        let ws_uri = serve
            .ws_uri
            .clone()
            .or(file.ws.uri)
            .filter(|u| !u.trim().is_empty());
        if let Some(u) = &ws_uri {
            let ok = url::Url::parse(u)
                .is_ok_and(|p| matches!(p.scheme(), "ws" | "wss") && p.host().is_some());
            if !ok {
                bail!("ws.uri '{u}' is not a ws:// or wss:// URL (e.g. wss://ws.example.com/ws)");
            }
        }
        let tls = match (
            serve.tls_cert.clone().or(file.tls_cert),
            serve.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => bail!("tls_cert is set but tls_key is not: give both (--tls-key, GRANTD_TLS_KEY or tls_key)"),
            (None, Some(_)) => bail!("tls_key is set but tls_cert is not: give both (--tls-cert, GRANTD_TLS_CERT or tls_cert)"),
        };
        let otlp_endpoint = serve
            .otlp_endpoint
            .clone()
            .or(file.otlp_endpoint)
            .or_else(|| std::env::var(OTEL_ENDPOINT_ENV).ok())
            .filter(|u| !u.trim().is_empty())
            .map(|u| traces_url(&u))
            .transpose()?;
        Ok(Self {
            tls,
            otlp_endpoint,
            policy,
            rate_limits,
            cors_allowed_origins,
            ws_uri,
            admin_token,
            trusted_proxies,
            body_read_timeout,
            connections,
            auth_failure_limit: serve
                .auth_failure_limit
                .or(file.auth_failure_limit)
                .unwrap_or(30),
            admin_listen: serve.admin_listen.clone().or(file.admin_listen),
            listen: serve
                .listen
                .clone()
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            issuer: serve
                .issuer
                .clone()
                .or(file.issuer)
                .map(|s| s.trim_end_matches('/').to_string()),
            audience: serve.audience.clone().or(file.audience),
            data_dir,
            database_url,
            signing_alg: serve
                .signing_alg
                .clone()
                .or(file.signing_alg)
                .unwrap_or_else(|| "ES256".into()),
            log_format,
            master_key: std::env::var("GRANTD_MASTER_KEY")
                .ok()
                .filter(|s| !s.is_empty()),
        })
    }
}

/// The standard OpenTelemetry variable, read when grantd's own is unset.
pub const OTEL_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The OTLP/HTTP traces URL of a collector's base URL (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` means it: `/v1/traces` is appended), or
/// of a URL already ending in `/v1/traces`.
pub fn traces_url(endpoint: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(endpoint.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .with_context(|| {
            format!("otlp_endpoint '{endpoint}' is not an http:// or https:// URL (e.g. http://127.0.0.1:4318)")
        })?;
    let base = url.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    })
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://…@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn rate_limits_from_preset_file_and_flags() {
        let file: FileConfig = toml::from_str(
            "[rate_limits]\npreset = \"ringcentral\"\nauth = \"10/60\"\nheavy = \"off\"\n",
        )
        .unwrap();
        let serve = ServeArgs {
            rate_limits: Some(vec!["light=100/30".into()]),
            ..Default::default()
        };
        let limits = resolve_rate_limits(&serve, &file.rate_limits).unwrap();
        assert_eq!(limits.to_string(), "auth=10/60,light=100/30,medium=40/60");
        assert!(
            resolve_rate_limits(&ServeArgs::default(), &RateLimitsFile::default())
                .unwrap()
                .is_off()
        );
        let bad = ServeArgs {
            rate_limits: Some(vec!["auth=5 per minute".into()]),
            ..Default::default()
        };
        let e = resolve_rate_limits(&bad, &RateLimitsFile::default()).unwrap_err();
        assert!(e.to_string().contains("REQUESTS/SECONDS"), "{e}");
        let preset = ServeArgs {
            rate_limit_preset: Some("ringcentral".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_rate_limits(&preset, &RateLimitsFile::default()).unwrap(),
            RateLimits::ringcentral()
        );
        assert!(toml::from_str::<FileConfig>("[rate_limits]\nauht = \"1/1\"\n").is_err());
    }

    #[test]
    fn otlp_traces_url() {
        assert_eq!(
            traces_url("http://c:4318").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://c/otel/").unwrap(),
            "https://c/otel/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert!(traces_url("c:4318").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2024-03-31"),
            Some(grantd_core::DEFAULT_LEGACY_SUNSET)
        );
        assert_eq!(
            parse_date("2024-03-31T00:00:00Z"),
            Some(grantd_core::DEFAULT_LEGACY_SUNSET)
        );
        assert_eq!(parse_date("March"), None);
    }
}
