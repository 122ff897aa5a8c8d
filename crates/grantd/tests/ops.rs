//! Running grantd as operators do: `config check`, `healthcheck`, and the
//! packaging in deploy/ (the systemd unit passes `systemd-analyze verify`).

mod common;

use common::{bin, Server, ADMIN_TOKEN};
use serde_json::Value;
use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    for k in [
        "GRANTD_ADMIN_TOKEN",
        "GRANTD_MASTER_KEY",
        "GRANTD_CONFIG",
        "GRANTD_LISTEN",
        "GRANTD_LOG_FORMAT",
        "GRANTD_SIGNING_ALG",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run grantd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn setting<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no setting {key}: {v}"))
}

#[test]
fn config_check_prints_effective_settings_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grantd.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\nlog_format = \"json\"\ndatabase_url = \"postgres://grantd:dbpassword-77@db/grantd\"\n[policy]\nmax_sessions = 3\n[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (status, out, err) = run(
        &[
            "config",
            "check",
            path,
            "--issuer",
            "https://auth.example.com",
            "--json",
        ],
        &[
            ("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN),
            ("GRANTD_SIGNING_ALG", "EdDSA"),
        ],
    );
    assert_eq!(status, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);
    for (key, value, source) in [
        ("listen", "127.0.0.1:9000", "file"),
        ("issuer", "https://auth.example.com", "flag"),
        ("signing_alg", "EdDSA", "env"),
        ("log_format", "json", "file"),
        ("policy.max_sessions", "3", "file"),
        ("server.trusted_proxies", "10.0.0.0/8", "file"),
        ("server.max_connections", "4096", "default"),
        ("database_url", "postgres://…@db/grantd", "file"),
    ] {
        let s = setting(&v, key);
        assert_eq!(
            (s["value"].as_str().unwrap(), s["source"].as_str().unwrap()),
            (value, source),
            "{key}"
        );
    }
    let token = setting(&v, "admin_token");
    assert_eq!(token["source"], "env");
    assert!(token["value"].as_str().unwrap().contains("hidden"));
    assert!(
        !out.contains(ADMIN_TOKEN) && !out.contains("dbpassword-77"),
        "{out}"
    );

    // The human form says the same.
    let (status, out, _) = run(
        &["config", "check", path],
        &[("GRANTD_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    assert_eq!(status, 0);
    assert!(
        out.contains("configuration is valid")
            && out.contains("[file]")
            && out.contains("[default]"),
        "{out}"
    );
    assert!(!out.contains(ADMIN_TOKEN));
}

#[test]
fn config_check_refuses_bad_files_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // Unknown keys, each with the key it resembles, and its line.
    let typos = write(
        "typos.toml",
        "listn = \"127.0.0.1:1\"\n[policy]\nmax_sesions = 3\n[sever]\nmax_connections = 1\n",
    );
    let (status, _, err) = run(&["config", "check", &typos], &[]);
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("typos.toml:1: unknown key 'listn'; did you mean 'listen'?"),
        "{err}"
    );
    assert!(
        err.contains("typos.toml:3: unknown key 'max_sesions'; did you mean 'max_sessions'?"),
        "{err}"
    );
    assert!(
        err.contains("typos.toml:4: unknown key 'sever'; did you mean 'server'?"),
        "{err}"
    );
    // Values serve would refuse.
    for (name, text, says) in [
        (
            "format.toml",
            "log_format = \"yaml\"\n",
            "log format 'yaml' is not text or json",
        ),
        (
            "db.toml",
            "database_url = \"mysql://x\"\n",
            "unsupported database URL",
        ),
        (
            "grace.toml",
            "[policy]\nrefresh_grace = 99999\n",
            "outside 0–3600",
        ),
        ("syntax.toml", "listen = \n", "syntax.toml"),
        (
            "proxy.toml",
            "[server]\ntrusted_proxies = [\"not-an-ip\"]\n",
            "not-an-ip",
        ),
    ] {
        let p = write(name, text);
        let (status, out, err) = run(&["config", "check", &p, "--json"], &[]);
        assert_eq!(status, 1, "{name}: {out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["valid"], false);
        assert!(
            v["errors"].to_string().contains(says),
            "{name}: {}",
            v["errors"]
        );
    }
    let (status, _, err) = run(&["config", "check", "/nonexistent/grantd.toml"], &[]);
    assert_eq!(status, 1);
    assert!(
        err.contains("/nonexistent/grantd.toml: cannot be read"),
        "{err}"
    );
    // A short admin token is refused, and not printed.
    let (status, out, err) = run(
        &["config", "check"],
        &[("GRANTD_ADMIN_TOKEN", "short-token-xyz")],
    );
    assert_eq!(status, 1);
    assert!(!out.contains("short-token-xyz") && !err.contains("short-token-xyz"));
}

#[test]
fn healthcheck_asks_readyz() {
    let server = Server::start();
    let (status, out, err) = run(&["healthcheck", "--url", &server.base], &[]);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("healthy"), "{out}");
    // The address from --listen (as the container's GRANTD_LISTEN).
    let addr = server.base.trim_start_matches("http://").to_string();
    let (status, _, err) = run(&["healthcheck"], &[("GRANTD_LISTEN", &addr)]);
    assert_eq!(status, 0, "{err}");
    drop(server);
    let (status, _, err) = run(&["healthcheck", "--listen", &addr], &[]);
    assert_eq!(status, 1);
    assert!(
        err.contains("unhealthy") && err.contains("/readyz"),
        "{err}"
    );
}

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let unit = repo("deploy/grantd.service");
    for directive in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=grantd",
        "NoNewPrivileges=yes",
        "Environment=GRANTD_DATA_DIR=/var/lib/grantd",
    ] {
        assert!(
            unit.lines().any(|l| l == directive),
            "the unit lacks {directive}"
        );
    }
    let found = Command::new("systemd-analyze").arg("--version").output();
    if found.is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "systemd-analyze is missing in CI (.ci/apt-packages installs systemd)"
        );
        eprintln!("systemd-analyze is not installed: verification skipped");
        return;
    }
    // Verify the unit as shipped, with ExecStart at this build's binary
    // (systemd-analyze checks that the command exists).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grantd.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/grantd", bin())).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {err}");
    // Unknown or misspelt directives are only warned about: none may be.
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("grantd.service"))
        .collect();
    assert!(warnings.is_empty(), "systemd-analyze verify warned:\n{err}");
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_a_healthcheck() {
    let d = repo("deploy/Dockerfile");
    assert_eq!(
        d.lines().filter(|l| l.starts_with("FROM ")).count(),
        2,
        "two stages"
    );
    assert!(d.contains("FROM gcr.io/distroless/cc-debian12:nonroot"));
    let user = d
        .lines()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert!(d.contains("HEALTHCHECK") && d.contains("\"healthcheck\""));
    assert!(d.contains("GRANTD_LISTEN=0.0.0.0:8080") && d.contains("VOLUME [\"/var/lib/grantd\"]"));
}
