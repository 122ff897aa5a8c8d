//! Keys the tests sign with: an EC P-256 key for client assertions, DPoP
//! proofs and request objects; and the small helpers those JWTs need.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// An EC P-256 key made here: it signs client assertions or DPoP proofs.
pub struct Key {
    pkcs8: Vec<u8>,
    pub jwk: Value,
}

impl Key {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("read the key");
        let p = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256",
                         "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])});
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
        }
    }

    pub fn sign(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("sign")
    }

    /// RFC 7638 thumbprint.
    pub fn jkt(&self) -> String {
        let canonical =
            json!({"crv": "P-256", "kty": "EC", "x": self.jwk["x"], "y": self.jwk["y"]});
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    /// A DPoP proof; `edit` changes its claims before signing.
    pub fn proof(&self, method: &str, url: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = json!({"htm": method, "htu": url, "iat": now(), "jti": unique()});
        edit(&mut claims);
        let header = Header {
            typ: Some("dpop+jwt".into()),
            jwk: Some(serde_json::from_value(self.jwk.clone()).expect("jwk")),
            ..Header::new(Algorithm::ES256)
        };
        self.sign(header, &claims)
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", now(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
