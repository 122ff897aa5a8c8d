//! `grantd config check [FILE]`: validates the configuration `serve` would
//! run with and prints each effective setting with where it came from (flag,
//! env, file, default), secrets masked; an unknown key in the file is an
//! error with the known key it most resembles. `grantd healthcheck` asks a
//! running grantd's /readyz (for container health checks).

use crate::config::{redact_url, FileConfig, ServeArgs, Settings, StoreArgs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// An unknown key of the file: its line, its name, and the likeliest intended key.
struct Unknown {
    line: usize,
    key: String,
    suggestion: Option<String>,
}

/// Every unknown key in `text`. The file's shape is `FileConfig`'s own
/// (serde's `deny_unknown_fields` names the key and the expected ones), so
/// this never goes stale as settings are added: each unknown key found is
/// blanked out and the text read again.
fn unknown_keys(text: &str) -> (Vec<Unknown>, Option<String>) {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut found: Vec<Unknown> = Vec::new();
    for _ in 0..50 {
        let joined = lines.join("\n");
        let err = match toml::from_str::<FileConfig>(&joined) {
            Ok(_) => break,
            Err(e) => e,
        };
        let msg = err.message().to_string();
        let Some(key) = between(&msg, "unknown field `", "`") else {
            let line = err.span().map(|s| line_of(&joined, s.start));
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            found.sort_by_key(|u| u.line);
            return (found, Some(format!("{msg}{at}")));
        };
        let expected: Vec<&str> = msg
            .split("expected")
            .nth(1)
            .map(|s| s.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let idx = err
            .span()
            .map(|s| line_of(&joined, s.start) - 1)
            .unwrap_or(0)
            .min(lines.len().saturating_sub(1));
        found.push(Unknown {
            line: idx + 1,
            key: key.to_string(),
            suggestion: closest(key, &expected),
        });
        // A whole unknown table goes with its keys.
        if lines[idx].trim_start().starts_with('[') {
            lines[idx].clear();
            let mut j = idx + 1;
            while j < lines.len() && !lines[j].trim_start().starts_with('[') {
                lines[j].clear();
                j += 1;
            }
        } else {
            lines[idx].clear();
        }
    }
    found.sort_by_key(|u| u.line);
    (found, None)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)?;
    Some(&s[i..i + j])
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn closest(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (distance(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
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

/// One setting: its name (the TOML key), the environment variable, and the
/// value from each source.
struct Row {
    key: &'static str,
    env: &'static str,
    flag: Option<String>,
    file: Option<String>,
    default: String,
    secret: bool,
}

impl Row {
    /// The winning value and its source. A value clap read from the
    /// environment is told from a flag by comparing with the variable.
    fn effective(&self) -> (String, &'static str) {
        if let Some(v) = &self.flag {
            let from_env = std::env::var(self.env).ok().filter(|e| !e.is_empty());
            let source = match from_env {
                Some(e) if e.split(',').map(str::trim).collect::<Vec<_>>().join(",") == *v => "env",
                Some(e) if e == *v => "env",
                _ => "flag",
            };
            return (v.clone(), source);
        }
        if let Some(v) = &self.file {
            return (v.clone(), "file");
        }
        (self.default.clone(), "default")
    }
}

fn toml_value(v: &toml::Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(match cur {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    })
}

fn rows(store: &StoreArgs, serve: &ServeArgs, file: &toml::Value) -> Vec<Row> {
    let s = |o: &Option<String>| o.clone();
    let n = |o: Option<u64>| o.map(|x| x.to_string());
    let f = |path: &[&str]| toml_value(file, path);
    let p = &serve.policy;
    let env_secret = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let data_dir = store
        .data_dir
        .clone()
        .or_else(|| f(&["data_dir"]).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("grantd-data"));
    let listen_default = "127.0.0.1:8080".to_string();
    vec![
        Row {
            key: "listen",
            env: "GRANTD_LISTEN",
            flag: s(&serve.listen),
            file: f(&["listen"]),
            default: listen_default,
            secret: false,
        },
        Row {
            key: "issuer",
            env: "GRANTD_ISSUER",
            flag: s(&serve.issuer),
            file: f(&["issuer"]),
            default: "http:// and the address listened on".into(),
            secret: false,
        },
        Row {
            key: "audience",
            env: "GRANTD_AUDIENCE",
            flag: s(&serve.audience),
            file: f(&["audience"]),
            default: "the issuer".into(),
            secret: false,
        },
        Row {
            key: "data_dir",
            env: "GRANTD_DATA_DIR",
            flag: store.data_dir.as_ref().map(|d| d.display().to_string()),
            file: f(&["data_dir"]),
            default: "grantd-data".into(),
            secret: false,
        },
        Row {
            key: "database_url",
            env: "GRANTD_DATABASE_URL",
            flag: store.database_url.as_deref().map(redact_url),
            file: f(&["database_url"]).map(|u| redact_url(&u)),
            default: format!("sqlite://{}", data_dir.join("grantd.db").display()),
            secret: false,
        },
        Row {
            key: "signing_alg",
            env: "GRANTD_SIGNING_ALG",
            flag: s(&serve.signing_alg),
            file: f(&["signing_alg"]),
            default: "ES256".into(),
            secret: false,
        },
        Row {
            key: "log_format",
            env: "GRANTD_LOG_FORMAT",
            flag: s(&serve.log_format),
            file: f(&["log_format"]),
            default: "text".into(),
            secret: false,
        },
        Row {
            key: "auth_failure_limit",
            env: "GRANTD_AUTH_FAILURE_LIMIT",
            flag: serve.auth_failure_limit.map(|x| x.to_string()),
            file: f(&["auth_failure_limit"]),
            default: "30".into(),
            secret: false,
        },
        Row {
            key: "rate_limits.preset",
            env: "GRANTD_RATE_LIMIT_PRESET",
            flag: s(&serve.rate_limit_preset),
            file: f(&["rate_limits", "preset"]),
            default: "none (quotas off)".into(),
            secret: false,
        },
        Row {
            key: "rate_limits (groups)",
            env: "GRANTD_RATE_LIMITS",
            flag: serve.rate_limits.as_ref().map(|v| v.join(",")),
            file: {
                let groups: Vec<String> = ["auth", "light", "medium", "heavy"]
                    .iter()
                    .filter_map(|g| f(&["rate_limits", g]).map(|v| format!("{g}={v}")))
                    .collect();
                (!groups.is_empty()).then(|| groups.join(","))
            },
            default: "none".into(),
            secret: false,
        },
        Row {
            key: "server.trusted_proxies",
            env: "GRANTD_TRUSTED_PROXIES",
            flag: serve.trusted_proxies.as_ref().map(|v| v.join(",")),
            file: f(&["server", "trusted_proxies"]),
            default: "none".into(),
            secret: false,
        },
        Row {
            key: "server.header_read_timeout",
            env: "GRANTD_HEADER_READ_TIMEOUT",
            flag: n(serve.header_read_timeout),
            file: f(&["server", "header_read_timeout"]),
            default: "10".into(),
            secret: false,
        },
        Row {
            key: "server.body_read_timeout",
            env: "GRANTD_BODY_READ_TIMEOUT",
            flag: n(serve.body_read_timeout),
            file: f(&["server", "body_read_timeout"]),
            default: "10".into(),
            secret: false,
        },
        Row {
            key: "server.max_connections",
            env: "GRANTD_MAX_CONNECTIONS",
            flag: serve.max_connections.map(|x| x.to_string()),
            file: f(&["server", "max_connections"]),
            default: "4096".into(),
            secret: false,
        },
        Row {
            key: "server.shutdown_timeout",
            env: "GRANTD_SHUTDOWN_TIMEOUT",
            flag: n(serve.shutdown_timeout),
            file: f(&["server", "shutdown_timeout"]),
            default: "10".into(),
            secret: false,
        },
        Row {
            key: "policy.password_grant_sunset",
            env: "GRANTD_PASSWORD_GRANT_SUNSET",
            flag: s(&p.password_grant_sunset),
            file: f(&["policy", "password_grant_sunset"])
                .or_else(|| f(&["legacy", "password_sunset"])),
            default: "2024-03-31".into(),
            secret: false,
        },
        Row {
            key: "policy.implicit_sunset",
            env: "GRANTD_IMPLICIT_SUNSET",
            flag: s(&p.implicit_sunset),
            file: f(&["policy", "implicit_sunset"]).or_else(|| f(&["legacy", "implicit_sunset"])),
            default: "2024-03-31".into(),
            secret: false,
        },
        Row {
            key: "policy.refresh_grace",
            env: "GRANTD_REFRESH_GRACE",
            flag: p.refresh_grace.map(|x| x.to_string()),
            file: f(&["policy", "refresh_grace"]),
            default: "10".into(),
            secret: false,
        },
        Row {
            key: "policy.session_max_lifetime",
            env: "GRANTD_SESSION_MAX_LIFETIME",
            flag: p.session_max_lifetime.map(|x| x.to_string()),
            file: f(&["policy", "session_max_lifetime"]),
            default: "7776000".into(),
            secret: false,
        },
        Row {
            key: "policy.max_sessions",
            env: "GRANTD_MAX_SESSIONS",
            flag: p.max_sessions.map(|x| x.to_string()),
            file: f(&["policy", "max_sessions"]),
            default: "5".into(),
            secret: false,
        },
        Row {
            key: "policy.lockout_threshold",
            env: "GRANTD_LOCKOUT_THRESHOLD",
            flag: p.lockout_threshold.map(|x| x.to_string()),
            file: f(&["policy", "lockout_threshold"]),
            default: "5".into(),
            secret: false,
        },
        Row {
            key: "policy.lockout_window",
            env: "GRANTD_LOCKOUT_WINDOW",
            flag: p.lockout_window.map(|x| x.to_string()),
            file: f(&["policy", "lockout_window"]),
            default: "900".into(),
            secret: false,
        },
        Row {
            key: "policy.lockout_duration",
            env: "GRANTD_LOCKOUT_DURATION",
            flag: p.lockout_duration.map(|x| x.to_string()),
            file: f(&["policy", "lockout_duration"]),
            default: "900".into(),
            secret: false,
        },
        Row {
            key: "registration.open",
            env: "GRANTD_REGISTRATION_OPEN",
            flag: p.registration_open.map(|x| x.to_string()),
            file: f(&["registration", "open"]).or_else(|| f(&["policy", "registration_open"])),
            default: "false".into(),
            secret: false,
        },
        Row {
            key: "tls_cert",
            env: "GRANTD_TLS_CERT",
            flag: serve.tls_cert.as_ref().map(|p| p.display().to_string()),
            file: f(&["tls_cert"]),
            default: "none (plain HTTP)".into(),
            secret: false,
        },
        Row {
            key: "tls_key",
            env: "GRANTD_TLS_KEY",
            flag: serve.tls_key.as_ref().map(|p| p.display().to_string()),
            file: f(&["tls_key"]),
            default: "none".into(),
            secret: false,
        },
        Row {
            key: "otlp_endpoint",
            env: "GRANTD_OTLP_ENDPOINT",
            flag: s(&serve.otlp_endpoint),
            file: f(&["otlp_endpoint"]),
            default: match std::env::var(crate::config::OTEL_ENDPOINT_ENV) {
                Ok(v) if !v.is_empty() => {
                    format!("{v} (from {})", crate::config::OTEL_ENDPOINT_ENV)
                }
                _ => "none (traces off)".into(),
            },
            secret: false,
        },
        // Secrets come from the environment only (config.rs): shown masked.
        Row {
            key: "admin_token",
            env: "GRANTD_ADMIN_TOKEN",
            flag: env_secret("GRANTD_ADMIN_TOKEN"),
            file: None,
            default: "generated at first start and printed once".into(),
            secret: true,
        },
        Row {
            key: "master_key",
            env: "GRANTD_MASTER_KEY",
            flag: env_secret("GRANTD_MASTER_KEY"),
            file: None,
            default: "the key file in the data directory".into(),
            secret: true,
        },
    ]
}

/// `grantd config check [FILE]`: 0 when `serve` would start with this
/// configuration, 1 when it would not (each reason printed).
pub fn check(store: &StoreArgs, serve: &ServeArgs, file: Option<&Path>, json: bool) -> ExitCode {
    let mut store = store.clone();
    if let Some(f) = file {
        store.config_file = Some(f.to_path_buf());
    }
    let mut errors: Vec<String> = Vec::new();
    let mut table = toml::Value::Table(Default::default());
    if let Some(path) = store.config_file.as_deref() {
        match std::fs::read_to_string(path) {
            Err(e) => errors.push(format!("{}: cannot be read: {e}", path.display())),
            Ok(text) => {
                let (unknown, other) = unknown_keys(&text);
                for u in &unknown {
                    errors.push(match &u.suggestion {
                        Some(s) => format!(
                            "{}:{}: unknown key '{}'; did you mean '{s}'?",
                            path.display(),
                            u.line,
                            u.key
                        ),
                        None => format!("{}:{}: unknown key '{}'", path.display(), u.line, u.key),
                    });
                }
                if let Some(o) = other {
                    errors.push(format!("{}: {o}", path.display()));
                }
                match toml::from_str::<toml::Value>(&text) {
                    Ok(v) => table = v,
                    Err(e) if errors.is_empty() => {
                        errors.push(format!("{}: {}", path.display(), e.message()))
                    }
                    Err(_) => {}
                }
            }
        }
    }
    if errors.is_empty() {
        // The same resolution `serve` runs: every value checked as it will be.
        match Settings::resolve(&store, serve) {
            Err(e) => errors.push(format!("{e:#}")),
            // The certificate is checked as `serve` will check it.
            Ok(settings) => {
                if let Some(files) = settings.tls {
                    if let Err(e) = grantd_server::tls::Tls::load(files) {
                        errors.push(e.to_string());
                    }
                }
            }
        }
    }
    let rows = rows(&store, serve, &table);
    let shown: Vec<(String, String, &'static str)> = rows
        .iter()
        .map(|r| {
            let (v, source) = r.effective();
            let v = if r.secret && source != "default" {
                format!("set ({} bytes, hidden)", v.len())
            } else {
                v
            };
            (r.key.to_string(), v, source)
        })
        .collect();
    if json {
        let settings: Vec<_> = shown
            .iter()
            .map(|(k, v, s)| serde_json::json!({"key": k, "value": v, "source": s}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"valid": errors.is_empty(), "errors": errors, "settings": settings})
        );
    } else {
        if let Some(p) = &store.config_file {
            println!("configuration file: {}", p.display());
        } else {
            println!("configuration file: none (--config or GRANTD_CONFIG)");
        }
        let width = shown.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
        for (k, v, s) in &shown {
            println!("  {k:width$}  {v}  [{s}]");
        }
        if errors.is_empty() {
            println!("configuration is valid");
        } else {
            for e in &errors {
                eprintln!("error: {e}");
            }
        }
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `grantd healthcheck`: GET /readyz of the grantd this configuration
/// describes (or `url`); 0 when it answers 200, 1 otherwise, saying why.
pub async fn healthcheck(store: &StoreArgs, serve: &ServeArgs, url: Option<String>) -> ExitCode {
    // grantd's own TLS: its own address is asked over https, without
    // checking a certificate issued for another name (nothing secret is sent).
    let own_tls = url.is_none()
        && (serve.tls_cert.is_some()
            || FileConfig::load(store.config_file.as_deref())
                .ok()
                .is_some_and(|f| f.tls_cert.is_some()));
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let listen = serve
                .listen
                .clone()
                .or_else(|| {
                    FileConfig::load(store.config_file.as_deref())
                        .ok()
                        .and_then(|f| f.listen)
                })
                .unwrap_or_else(|| "127.0.0.1:8080".into());
            // A wildcard address is reached on loopback.
            let listen = listen
                .replace("0.0.0.0:", "127.0.0.1:")
                .replace("[::]:", "[::1]:");
            let scheme = if own_tls { "https" } else { "http" };
            format!("{scheme}://{listen}")
        }
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .danger_accept_invalid_certs(own_tls)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::from(1);
        }
    };
    match client.get(format!("{base}/readyz")).send().await {
        Ok(r) if r.status().is_success() => {
            println!("healthy: {base}/readyz answered {}", r.status().as_u16());
            ExitCode::SUCCESS
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            eprintln!(
                "unhealthy: {base}/readyz answered {status}: {}",
                body.chars().take(300).collect::<String>()
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: {base}/readyz: no answer ({})", e.without_url());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_all_found_with_suggestions() {
        let (u, other) = unknown_keys(
            "listn = \"127.0.0.1:1\"\n[policy]\nmax_sesions = 3\n[metrix]\nfoo = 1\n[server]\nmax_connections = 5\n",
        );
        assert!(other.is_none());
        let keys: Vec<_> = u
            .iter()
            .map(|u| (u.line, u.key.as_str(), u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (1, "listn", Some("listen")),
                (3, "max_sesions", Some("max_sessions")),
                (4, "metrix", None)
            ]
        );
    }
}
