//! Configuration: defaults, then a TOML file, then `GRANTD_*` environment
//! variables and flags (clap reads both), later ones winning.

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Settings shared by `serve` and the commands that open the store.
#[derive(Debug, Clone, Args, Default)]
pub struct StoreArgs {
    /// Directory for the SQLite database and the master key file.
    #[arg(long, env = "GRANTD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://… ); default: SQLite in the data directory.
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
    /// The issuer URL (default: http:// and the address listened on).
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
}

/// The TOML file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub signing_alg: Option<String>,
    pub log_format: Option<String>,
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
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub signing_alg: String,
    pub log_format: String,
    pub admin_token: Option<String>,
    pub master_key: Option<String>,
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
        if !database_url.starts_with("sqlite:") {
            bail!("unsupported database URL scheme in '{}': this build stores data in SQLite (sqlite://PATH)", redact_url(&database_url));
        }
        let log_format = serve
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            bail!("log format '{log_format}' is not text or json");
        }
        Ok(Self {
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
            // Secrets come from the environment only, never from a file that
            // may be committed or a flag visible in `ps`.
            admin_token: std::env::var("GRANTD_ADMIN_TOKEN")
                .ok()
                .filter(|s| !s.is_empty()),
            master_key: std::env::var("GRANTD_MASTER_KEY")
                .ok()
                .filter(|s| !s.is_empty()),
        })
    }
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
}
