//! Signing keys: generated on first start, sealed at rest with the KEK,
//! published in JWKS, used to sign and verify grantd's JWTs.

use crate::clock::{Clock, UnixTime};
use crate::crypto::{b64url, random_id, sha256, Kek, KekError};
use crate::model::{SigningAlg, StoredKey};
use crate::store::{Store, StoreError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// How long a retired key stays published: longer than any token it signed lives.
/// A new key is published this long before it signs, so resource servers
/// that cache JWKS (grantd serves it with max-age=300) know it first.
pub const KEY_ACTIVATION_DELAY: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Kek(#[from] KekError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {0} could not be loaded: {1}")]
    Load(String, String),
    #[error("key generation failed")]
    Generate,
    #[error("no signing key {0}; `grantd keys list` shows the key ids")]
    NotFound(String),
}

enum Signer {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// One usable key.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub public_jwk: serde_json::Value,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
    signer: Signer,
    decoding: DecodingKey,
}

impl SigningKey {
    fn sign_bytes(&self, rng: &SystemRandom, msg: &[u8]) -> Vec<u8> {
        // Signing with a loaded key only fails on allocation failure.
        match &self.signer {
            Signer::Ec(k) => k.sign(rng, msg).expect("ECDSA signing").as_ref().to_vec(),
            Signer::Ed(k) => k.sign(msg).as_ref().to_vec(),
            Signer::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, rng, msg, &mut sig)
                    .expect("RSA signing");
                sig
            }
        }
    }

    fn jwt_alg(&self) -> Algorithm {
        match self.alg {
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::EdDSA => Algorithm::EdDSA,
            SigningAlg::RS256 => Algorithm::RS256,
        }
    }
}

/// Generates a key pair; returns the PKCS#8 private key and its public JWK.
fn generate(alg: SigningAlg, kid: &str) -> Result<(Vec<u8>, serde_json::Value), KeyError> {
    let rng = SystemRandom::new();
    match alg {
        SigningAlg::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Generate)?;
            let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|_| KeyError::Generate)?;
            Ok((
                pkcs8.as_ref().to_vec(),
                public_jwk(alg, kid, &Signer::Ec(kp)),
            ))
        }
        SigningAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Generate)?;
            let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Generate)?;
            Ok((
                pkcs8.as_ref().to_vec(),
                public_jwk(alg, kid, &Signer::Ed(kp)),
            ))
        }
        SigningAlg::RS256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
            let der = kp.as_der().map_err(|_| KeyError::Generate)?;
            let jwk = public_jwk(alg, kid, &Signer::Rsa(kp));
            Ok((der.as_ref().to_vec(), jwk))
        }
    }
}

fn public_jwk(alg: SigningAlg, kid: &str, signer: &Signer) -> serde_json::Value {
    match signer {
        Signer::Ec(k) => {
            let p = k.public_key().as_ref(); // 0x04 ‖ X ‖ Y
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&p[1..33]), "y": b64url(&p[33..65]),
                   "use": "sig", "alg": alg.as_str(), "kid": kid})
        }
        Signer::Ed(k) => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(k.public_key().as_ref()),
                                 "use": "sig", "alg": alg.as_str(), "kid": kid})
        }
        Signer::Rsa(k) => {
            let pk = k.public_key();
            json!({"kty": "RSA", "n": b64url(pk.modulus().big_endian_without_leading_zero()),
                   "e": b64url(pk.exponent().big_endian_without_leading_zero()),
                   "use": "sig", "alg": alg.as_str(), "kid": kid})
        }
    }
}

fn load(stored: &StoredKey, kek: &Kek) -> Result<SigningKey, KeyError> {
    let fail = |why: &str| KeyError::Load(stored.kid.clone(), why.to_string());
    let pkcs8 = kek.open(&stored.sealed_private, stored.kid.as_bytes())?;
    let jwk: serde_json::Value =
        serde_json::from_str(&stored.public_jwk).map_err(|_| fail("public JWK is not JSON"))?;
    let field = |name: &str| {
        jwk[name]
            .as_str()
            .ok_or_else(|| fail("public JWK incomplete"))
    };
    let (signer, decoding) = match stored.alg {
        SigningAlg::ES256 => (
            Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(|_| fail("not a P-256 key"))?,
            ),
            DecodingKey::from_ec_components(field("x")?, field("y")?)
                .map_err(|_| fail("bad EC public key"))?,
        ),
        SigningAlg::EdDSA => (
            Signer::Ed(Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| fail("not an Ed25519 key"))?),
            DecodingKey::from_ed_components(field("x")?)
                .map_err(|_| fail("bad Ed25519 public key"))?,
        ),
        SigningAlg::RS256 => (
            Signer::Rsa(RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| fail("not an RSA key"))?),
            DecodingKey::from_rsa_components(field("n")?, field("e")?)
                .map_err(|_| fail("bad RSA public key"))?,
        ),
    };
    Ok(SigningKey {
        kid: stored.kid.clone(),
        alg: stored.alg,
        public_jwk: jwk,
        created_at: stored.created_at,
        retired_at: stored.retired_at,
        signer,
        decoding,
    })
}

async fn create(
    store: &dyn Store,
    kek: &Kek,
    alg: SigningAlg,
    now: UnixTime,
) -> Result<String, KeyError> {
    let kid = random_id(16);
    let (pkcs8, jwk) = generate(alg, &kid)?;
    store
        .insert_key(&StoredKey {
            kid: kid.clone(),
            alg,
            public_jwk: jwk.to_string(),
            sealed_private: kek.seal(&pkcs8, kid.as_bytes()),
            created_at: now,
            retired_at: None,
        })
        .await?;
    Ok(kid)
}

/// Loads every published key, newest first, deleting retired keys whose
/// publication window has passed.
async fn build_set(store: &dyn Store, kek: &Kek) -> Result<KeySet, KeyError> {
    let mut stored = store.list_keys().await?;
    // Newest first; in a tie (same second) the key not yet retired is newer.
    stored.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(a.retired_at.is_some().cmp(&b.retired_at.is_some()))
            .then(b.kid.cmp(&a.kid))
    });
    // Every key stays published: JWT credentials may have no expiry, and a
    // credential must verify for as long as it lives.
    let all = stored
        .iter()
        .map(|s| load(s, kek).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    if all.is_empty() {
        return Err(KeyError::Generate);
    }
    let jwks =
        Arc::new(json!({"keys": all.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()}));
    Ok(KeySet { all, jwks })
}

impl KeySet {
    /// The key that signs at `now`: the newest one published long enough;
    /// until a new key is, the key retired last goes on signing; the very
    /// first key signs at once. Decided at each signature, so a new key takes
    /// over when its delay ends, not at the next reload.
    fn active_at(&self, now: UnixTime) -> &Arc<SigningKey> {
        self.all
            .iter()
            .find(|k| k.created_at + KEY_ACTIVATION_DELAY <= now)
            .or_else(|| {
                self.all
                    .iter()
                    .filter(|k| k.retired_at.is_some())
                    .max_by_key(|k| k.retired_at)
            })
            .unwrap_or(&self.all[0])
    }
}

struct KeySet {
    /// Every published key, newest first (never empty).
    all: Vec<Arc<SigningKey>>,
    /// The JWKS document, rendered once.
    jwks: Arc<serde_json::Value>,
}

/// Why a JWT of grantd's own was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    NotAJwt,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongType,
    Invalid(String),
}

/// Most signatures [`KeyRing::verify`] remembers; when full it starts over.
/// An entry is the token's SHA-256, its key id and its claims (well under a
/// kilobyte), so the cache stays below a few megabytes.
const VERIFIED_CAPACITY: usize = 4096;

/// JWTs whose signature grantd has checked, by the SHA-256 of the whole
/// token (header, claims and signature): checking an ES256 signature costs
/// about three times as much as making one, and the same token comes back
/// again and again (a resource server introspecting it, an app calling
/// userinfo, a JWT credential exchanged every hour). Only the signature is
/// remembered: issuer, type, expiry and not-before are checked on every
/// call, revocation by the callers, and an entry counts only while its key
/// is still in the key ring (a revoked key's tokens stop verifying at once).
#[derive(Default)]
struct Verified {
    /// SHA-256 of the token → the key that signed it and its claims.
    map: RwLock<HashMap<[u8; 32], VerifiedEntry>>,
}

type VerifiedEntry = (Arc<str>, Arc<serde_json::Value>);

impl Verified {
    fn get(&self, digest: &[u8; 32], kid: &str) -> Option<Arc<serde_json::Value>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(digest)
            .filter(|(k, _)| &**k == kid)
            .map(|(_, claims)| claims.clone())
    }

    fn put(&self, digest: [u8; 32], kid: &str, claims: Arc<serde_json::Value>) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_CAPACITY {
            map.clear();
        }
        map.insert(digest, (Arc::from(kid), claims));
    }

    fn clear(&self) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The server's signing keys.
pub struct KeyRing {
    set: RwLock<Arc<KeySet>>,
    verified: Verified,
    clock: Arc<dyn Clock>,
    kek: Kek,
    rng: SystemRandom,
    issuer: String,
}

impl KeyRing {
    /// Loads the stored keys, generating the first one with `alg` if there is none.
    pub async fn open(
        store: &dyn Store,
        kek: Kek,
        alg: SigningAlg,
        issuer: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyError> {
        if store.list_keys().await?.is_empty() {
            create(store, &kek, alg, clock.now()).await?;
        }
        let set = build_set(store, &kek).await?;
        Ok(Self {
            set: RwLock::new(Arc::new(set)),
            verified: Verified::default(),
            clock,
            kek,
            rng: SystemRandom::new(),
            issuer: issuer.to_string(),
        })
    }

    /// Re-reads the keys from the store (after a rotation on another node).
    pub async fn reload(&self, store: &dyn Store) -> Result<(), KeyError> {
        let set = build_set(store, &self.kek).await?;
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        self.verified.clear();
        Ok(())
    }

    /// Adds a new key: published at once, signing after [`KEY_ACTIVATION_DELAY`];
    /// the old ones stay published.
    pub async fn rotate(
        &self,
        store: &dyn Store,
        alg: SigningAlg,
        now: UnixTime,
    ) -> Result<String, KeyError> {
        let kid = create(store, &self.kek, alg, now).await?;
        store.retire_keys_except(&kid, now).await?;
        self.reload(store).await?;
        Ok(kid)
    }

    /// Stops trusting a key at once (it leaked): every node drops it from its
    /// JWKS, and what it signed (access tokens, ID tokens, JWT credentials)
    /// stops verifying. A new key of the same algorithm takes over signing
    /// at once when the revoked one was signing, or was the only one.
    /// Returns the new key's id, if one was made.
    pub async fn revoke(
        &self,
        store: &dyn Store,
        kid: &str,
        now: UnixTime,
    ) -> Result<Option<String>, KeyError> {
        let set = self.current();
        let Some(key) = set.all.iter().find(|k| k.kid == kid) else {
            return Err(KeyError::NotFound(kid.to_string()));
        };
        let replacement = if set.active_at(now).kid == kid || set.all.len() == 1 {
            // Dated back by the activation delay: the replacement signs at
            // once (the revoked key must not, and no older key should again).
            let new = create(store, &self.kek, key.alg, now - KEY_ACTIVATION_DELAY).await?;
            store.retire_keys_except(&new, now).await?;
            Some(new)
        } else {
            None
        };
        store.delete_key(kid).await?;
        self.reload(store).await?;
        Ok(replacement)
    }

    fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn jwks(&self) -> Arc<serde_json::Value> {
        self.current().jwks.clone()
    }

    pub fn active_alg(&self) -> SigningAlg {
        self.current().active_at(self.clock.now()).alg
    }

    /// The algorithms of every published key.
    pub fn algs(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.current().all.iter().map(|k| k.alg.as_str()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> String {
        let set = self.current();
        let key = set.active_at(self.clock.now());
        let header = json!({"alg": key.alg.as_str(), "typ": typ, "kid": key.kid});
        let mut out = b64url(header.to_string().as_bytes());
        out.push('.');
        // Claims are plain structs and maps: serializing them cannot fail.
        out.push_str(&b64url(
            &serde_json::to_vec(claims).expect("claims serialize"),
        ));
        let sig = key.sign_bytes(&self.rng, out.as_bytes());
        out.push('.');
        out.push_str(&b64url(&sig));
        out
    }

    /// Verifies a JWT this server signed: signature, `typ`, `iss`, and `exp`
    /// and `nbf` against `now` with `leeway` seconds.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        now: UnixTime,
        leeway: i64,
    ) -> Result<T, VerifyError> {
        if token.split('.').count() != 3 {
            return Err(VerifyError::NotAJwt);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::NotAJwt)?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(VerifyError::WrongType);
        }
        let set = self.current();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| set.all.iter().find(|k| k.kid == kid))
            .ok_or(VerifyError::UnknownKey)?;
        if header.alg != key.jwt_alg() {
            return Err(VerifyError::BadSignature);
        }
        let digest = sha256(token.as_bytes());
        let claims = match self.verified.get(&digest, &key.kid) {
            Some(claims) => claims,
            None => {
                // Time is checked below against grantd's clock, not the library's.
                let mut v = Validation::new(key.jwt_alg());
                v.validate_exp = false;
                v.validate_nbf = false;
                v.validate_aud = false;
                v.required_spec_claims.clear();
                let claims: serde_json::Value = jsonwebtoken::decode(token, &key.decoding, &v)
                    .map(|d| d.claims)
                    .map_err(|e| match e.kind() {
                        jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                            VerifyError::BadSignature
                        }
                        other => VerifyError::Invalid(format!("{other:?}")),
                    })?;
                let claims = Arc::new(claims);
                self.verified.put(digest, &key.kid, claims.clone());
                claims
            }
        };
        if claims["iss"].as_str() != Some(self.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer);
        }
        if let Some(exp) = claims["exp"].as_i64() {
            if now > exp.saturating_add(leeway) {
                return Err(VerifyError::Expired);
            }
        }
        if let Some(nbf) = claims["nbf"].as_i64() {
            if now.saturating_add(leeway) < nbf {
                return Err(VerifyError::NotYetValid);
            }
        }
        T::deserialize(&*claims).map_err(|e| VerifyError::Invalid(e.to_string()))
    }
}
