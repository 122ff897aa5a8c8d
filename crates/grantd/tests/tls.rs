//! grantd serving TLS itself: a certificate made here (a test CA and its
//! server certificates), HTTPS over HTTP/2 and HTTP/1.1, the certificate
//! replaced on disk and served from the next connection while a kept-alive
//! one goes on, and each bad certificate refused at start with a message
//! naming the file.

mod common;

use common::{bin, Server};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A test CA that signs server certificates for 127.0.0.1 and localhost.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A server certificate and its key, as PEM.
struct Pair {
    cert: String,
    key: String,
    der: Vec<u8>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "grantd test CA");
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate valid between the two dates.
    fn issue_between(&self, not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Pair {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    fn issue(&self) -> Pair {
        self.issue_between((2020, 1, 1), (2099, 12, 31))
    }

    /// A client that trusts only this CA and reports the certificate it was shown.
    fn client(&self, version: Option<reqwest::Version>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap())
            .tls_info(true)
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none());
        if version == Some(reqwest::Version::HTTP_11) {
            b = b.http1_only();
        }
        b.build().unwrap()
    }
}

/// Writes `pair` to `cert` and `key` the way a renewal does: each file
/// written aside, then renamed over the old one.
fn install(pair: &Pair, cert: &Path, key: &Path) {
    for (path, text) in [(key, &pair.key), (cert, &pair.cert)] {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }
}

/// The server certificate the response's connection was shown.
fn served(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("TLS info with the peer's certificate")
        .to_vec()
}

fn files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Polls `f` (a new connection each time) until it answers true; a bound
/// that only stops a hung test.
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < give_up, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn serves_https_over_http2_and_http11_and_reloads_the_certificate() {
    let ca = Ca::new();
    let tls_dir = tempfile::tempdir().unwrap();
    let (cert, key) = files(tls_dir.path());
    let first = ca.issue();
    install(&first, &cert, &key);
    let mut server = Server::start_with(
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            // A kept-alive HTTP/1.1 connection stays open while the certificate changes.
            "--header-read-timeout",
            "300",
        ],
        &[],
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let h2 = ca.client(None);
    let h1 = ca.client(Some(reqwest::Version::HTTP_11));
    server.http = h2.clone();

    // HTTP/2 by ALPN, the issuer defaults to https://, HSTS is sent.
    let res = h2
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(served(&res), first.der);
    assert_eq!(
        res.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
    let meta: serde_json::Value = res.json().await.unwrap();
    assert_eq!(meta["issuer"], server.base.as_str());

    // A token over HTTP/2, then HTTP/1.1 on a connection kept alive.
    let app = server.server_only_app(json!({})).await;
    let token = h2
        .post(server.url("/oauth/token"))
        .basic_auth(&app.client_id, Some(&app.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.version(), reqwest::Version::HTTP_2);
    assert_eq!(token.status(), 200, "{}", token.text().await.unwrap());
    let res = h1.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.status(), 200);
    assert_eq!(served(&res), first.der);

    // Renewed on disk: new connections get the new certificate...
    let second = ca.issue();
    install(&second, &cert, &key);
    until("the renewed certificate is served", || async {
        let res = ca.client(None).get(server.url("/healthz")).send().await;
        res.is_ok_and(|r| served(&r) == second.der)
    })
    .await;
    // ...while the connection kept alive from before goes on, unbroken.
    let res = h1.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        served(&res),
        first.der,
        "the kept-alive connection was not dropped"
    );

    // A broken file is not loaded: one line names it; the last good one serves.
    std::fs::write(&cert, "not a certificate\n").unwrap();
    until("the failed reload is logged", || async {
        server.log().contains("TLS certificate not reloaded")
    })
    .await;
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("TLS certificate not reloaded"))
        .unwrap();
    assert!(line.contains(cert.to_str().unwrap()), "{line}");
    let res = ca
        .client(None)
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(served(&res), second.der);
    // Fixed again: reloaded.
    let third = ca.issue();
    install(&third, &cert, &key);
    until("the third certificate is served", || async {
        let res = ca.client(None).get(server.url("/healthz")).send().await;
        res.is_ok_and(|r| served(&r) == third.der)
    })
    .await;
    server.kill();
}

/// Runs `grantd serve` with this certificate and key, which must refuse to
/// start; answers its exit status and error output.
fn refused(cert: &Path, key: &Path) -> (i32, String) {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env("GRANTD_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("grantd started with a bad certificate ({})", cert.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_bad_certificate_is_refused_at_start_naming_the_file() {
    let ca = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good = ca.issue();
    let other = ca.issue();
    let (cert, key) = (write("cert.pem", &good.cert), write("key.pem", &good.key));
    let missing = dir.path().join("missing.pem");
    let garbage = write("garbage.pem", "this is not PEM at all\n");
    let expired = ca.issue_between((2020, 1, 1), (2021, 1, 1));
    let expired_cert = write("expired.pem", &expired.cert);
    let expired_key = write("expired-key.pem", &expired.key);
    let future = ca.issue_between((2090, 1, 1), (2099, 1, 1));
    let future_cert = write("future.pem", &future.cert);
    let future_key = write("future-key.pem", &future.key);
    let other_key = write("other-key.pem", &other.key);

    let cases: &[(&str, &Path, &Path, &Path, &[&str])] = &[
        (
            "missing certificate",
            &missing,
            &key,
            &missing,
            &["cannot be read", "--tls-cert"],
        ),
        (
            "missing key",
            &cert,
            &missing,
            &missing,
            &["cannot be read", "--tls-key"],
        ),
        (
            "garbage certificate",
            &garbage,
            &key,
            &garbage,
            &["no PEM certificate", "BEGIN CERTIFICATE"],
        ),
        (
            "garbage key",
            &cert,
            &garbage,
            &garbage,
            &["no PEM private key", "PKCS#8"],
        ),
        (
            "swapped",
            &key,
            &cert,
            &key,
            &["holds a private key", "swapped"],
        ),
        (
            "expired",
            &expired_cert,
            &expired_key,
            &expired_cert,
            &["expired on 2021-01-01", "renew it"],
        ),
        (
            "not yet valid",
            &future_cert,
            &future_key,
            &future_cert,
            &["not valid until 2090-01-01", "clock"],
        ),
        (
            "key of another certificate",
            &cert,
            &other_key,
            &other_key,
            &["is not the private key of the certificate", "cert.pem"],
        ),
    ];
    for (case, c, k, named, says) in cases {
        let (status, err) = refused(c, k);
        assert_ne!(status, 0, "{case}: {err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{case}: no error line in {err}"));
        assert!(
            line.contains(named.to_str().unwrap()),
            "{case}: names {}: {line}",
            named.display()
        );
        for s in *says {
            assert!(line.contains(s), "{case}: says {s:?}: {line}");
        }
        assert!(
            !line.contains("PRIVATE KEY-----") && !line.contains(&good.key[40..80]),
            "{case}: no key material in {line}"
        );
    }

    // config check shows the files and refuses the expired one as serve would.
    let toml = write(
        "grantd.toml",
        &format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            expired_cert.to_str().unwrap(),
            expired_key.to_str().unwrap()
        ),
    );
    let out = Command::new(bin())
        .args(["config", "check", toml.to_str().unwrap(), "--json"])
        .env_remove("GRANTD_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tls_cert = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "tls_cert")
        .unwrap();
    assert_eq!(tls_cert["value"], expired_cert.to_str().unwrap());
    assert_eq!(tls_cert["source"], "file");
    assert!(
        v["errors"].to_string().contains("expired on 2021-01-01"),
        "{v}"
    );
    // Only one of the two is a configuration error.
    let out = Command::new(bin())
        .args(["config", "check", "--tls-cert", cert.to_str().unwrap()])
        .env_remove("GRANTD_CONFIG")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-key"), "{err}");
}
