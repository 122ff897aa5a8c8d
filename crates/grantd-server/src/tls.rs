//! TLS without a proxy: the certificate chain and key read from PEM files,
//! refused at start when they cannot serve (missing, unreadable, not PEM,
//! expired or not yet valid, key not the certificate's), and reloaded when
//! the files change, without a restart and without touching open
//! connections (each handshake asks the resolver for the current pair).

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the files are looked at for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Where the certificate chain and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why a certificate or key cannot serve: one line naming the file and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The crypto provider: ring, the one the HTTP client already links.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and key that passed every check, with when it expires.
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    pub not_after: time::OffsetDateTime,
}

/// Reads and checks the pair at `now`.
pub fn load(files: &TlsFiles, now: SystemTime) -> Result<Loaded, TlsError> {
    let cert_path = files.cert.display();
    let key_path = files.key.display();
    let cert_pem = read(&files.cert, "certificate", "--tls-cert")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            TlsError(format!(
                "TLS certificate {cert_path} is not valid PEM ({e}); give --tls-cert the certificate chain as PEM (-----BEGIN CERTIFICATE-----)"
            ))
        })?;
    if chain.is_empty() {
        let hint = if PrivateKeyDer::from_pem_slice(&cert_pem).is_ok() {
            "it holds a private key: are --tls-cert and --tls-key swapped?"
        } else {
            "give --tls-cert the certificate chain as PEM (-----BEGIN CERTIFICATE-----)"
        };
        return Err(TlsError(format!(
            "TLS certificate {cert_path} holds no PEM certificate; {hint}"
        )));
    }
    let (not_before, not_after) = validity(&chain[0]).ok_or_else(|| {
        TlsError(format!(
            "TLS certificate {cert_path}: the first certificate is not a valid X.509 certificate; give --tls-cert the server's certificate (then its chain) as PEM"
        ))
    })?;
    let now = time::OffsetDateTime::from(now);
    if now > not_after {
        return Err(TlsError(format!(
            "TLS certificate {cert_path} expired on {}; renew it and replace the file (grantd reloads it without a restart)",
            date(not_after)
        )));
    }
    if now < not_before {
        return Err(TlsError(format!(
            "TLS certificate {cert_path} is not valid until {}; check this machine's clock, or use a certificate valid now",
            date(not_before)
        )));
    }
    let key_pem = read(&files.key, "key", "--tls-key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        let hint = if CertificateDer::from_pem_slice(&key_pem).is_ok() {
            "it holds a certificate: are --tls-cert and --tls-key swapped?"
        } else {
            "give --tls-key the certificate's private key as PEM (PKCS#8, PKCS#1 or SEC1)"
        };
        TlsError(format!(
            "TLS key {key_path} holds no PEM private key; {hint}"
        ))
    })?;
    let signing = provider().key_provider.load_private_key(key).map_err(|_| {
        TlsError(format!(
            "TLS key {key_path} is not a usable private key; use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key"
        ))
    })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(_) => {
            return Err(TlsError(format!(
                "TLS key {key_path} is not the private key of the certificate in {cert_path}; give --tls-key the key the certificate was issued for"
            )))
        }
    }
    Ok(Loaded {
        key: Arc::new(certified),
        not_after,
    })
}

fn read(path: &Path, what: &str, flag: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        let fix = match e.kind() {
            std::io::ErrorKind::NotFound => format!("check the path given to {flag}"),
            std::io::ErrorKind::PermissionDenied => {
                "make it readable by the user grantd runs as".to_string()
            }
            _ => format!("check the file given to {flag}"),
        };
        TlsError(format!(
            "TLS {what} {} cannot be read ({e}); {fix}",
            path.display()
        ))
    })
}

fn date(t: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The certificate's `notBefore` and `notAfter` (RFC 5280 §4.1), read from
/// its DER: Certificate → tbsCertificate → [version], serial, signature,
/// issuer, validity.
fn validity(cert: &[u8]) -> Option<(time::OffsetDateTime, time::OffsetDateTime)> {
    let (tag, certificate, _) = der(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der(certificate)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = tbs;
    let (tag, _, after) = der(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    for _ in 0..3 {
        let (_, _, after) = der(rest)?; // serial, signature, issuer
        rest = after;
    }
    let (tag, validity, _) = der(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (t1, v1, after) = der(validity)?;
    let (t2, v2, _) = der(after)?;
    Some((der_time(t1, v1)?, der_time(t2, v2)?))
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    let contents = input.get(header..end)?;
    Some((tag, contents, &input[end..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn der_time(tag: u8, v: &[u8]) -> Option<time::OffsetDateTime> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if s.len() == 12 => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        0x18 if s.len() == 14 => (s.get(..4)?.parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(n(0)?).ok()?, n(2)?).ok()?;
    let t = time::Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(date.with_time(t).assume_utc())
}

/// Answers every handshake with the current certificate; [`watch`] replaces it.
#[derive(Debug)]
pub struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloading {
    fn get(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// The server's TLS: its configuration (HTTP/2 and HTTP/1.1 offered by
/// ALPN) and the resolver the reload task updates.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    pub resolver: Arc<Reloading>,
    pub files: TlsFiles,
    pub not_after: time::OffsetDateTime,
}

impl Tls {
    /// Loads and checks the pair now; the error names the file and the fix.
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let loaded = load(&files, SystemTime::now())?;
        let resolver = Arc::new(Reloading {
            current: RwLock::new(loaded.key),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(format!("TLS cannot be set up: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(config),
            resolver,
            files,
            not_after: loaded.not_after,
        })
    }

    /// Looks at the files every `every` and, when either changed, serves
    /// the new pair from the next handshake on. A pair that fails a check
    /// (often a certificate written before its key) is logged once, naming
    /// the file, and the previous one goes on serving. Runs forever.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        };
        let mut seen = (stamp(&self.files.cert), stamp(&self.files.key));
        loop {
            tokio::time::sleep(every).await;
            let now = (stamp(&self.files.cert), stamp(&self.files.key));
            if now == seen {
                continue;
            }
            seen = now;
            let files = self.files.clone();
            let loaded = tokio::task::spawn_blocking(move || load(&files, SystemTime::now())).await;
            match loaded {
                Ok(Ok(l)) => {
                    self.resolver.set(l.key);
                    tracing::info!(
                        cert = %self.files.cert.display(),
                        not_after = %date(l.not_after),
                        "TLS certificate reloaded"
                    );
                }
                Ok(Err(e)) => {
                    tracing::warn!(
                        "TLS certificate not reloaded, the previous one is still served: {e}"
                    )
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_time_forms() {
        let t = der_time(0x17, b"491231235959Z").unwrap();
        assert_eq!(t.year(), 2049);
        let t = der_time(0x17, b"500101000000Z").unwrap();
        assert_eq!(t.year(), 1950);
        let t = der_time(0x18, b"20991231235959Z").unwrap();
        assert_eq!((t.year(), t.second()), (2099, 59));
        assert!(der_time(0x17, b"4912312359Z").is_none());
        assert!(der_time(0x18, b"20991331235959Z").is_none());
    }

    #[test]
    fn truncated_der_is_refused() {
        assert!(der(&[0x30, 0x82, 0x01]).is_none());
        assert!(der(&[0x30, 0x05, 0x01]).is_none());
        assert!(validity(b"garbage").is_none());
    }
}
