//! Client authentication with a signed JWT (`private_key_jwt`, RFC 7523 §2.2
//! and §3, OIDC Core §9): the app's registered keys (inline, or fetched from
//! its `jwks_uri` through [`crate::key_sets`]), the claims, single use.

use crate::crypto::rfc3339;
use crate::model::{App, JwkSet};
use crate::Grantd;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_protocol::error::sanitize;
use grantd_protocol::{OAuthError, Secret};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// The furthest ahead an assertion's `exp` may be, in seconds: its jti is
/// remembered until then.
pub const MAX_ASSERTION_LIFETIME: i64 = 600;

/// Most keys an app may register.
pub const MAX_JWKS_KEYS: usize = 20;

/// The algorithms a `private_key_jwt` assertion may be signed with
/// (`token_endpoint_auth_signing_alg_values_supported`).
pub const SIGNING_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Checks a key set an app registers or publishes: public asymmetric keys
/// only, each usable by the verifier, kids unique. Returns why not, with
/// the kids quoted through `sanitize` (a fetched set is anyone's text).
pub fn check_jwks(jwks: &JwkSet) -> Result<(), String> {
    if jwks.keys.is_empty() {
        return Err("the key set has no keys; send {\"keys\": [...]} with at least one public key, or null to remove the set".into());
    }
    if jwks.keys.len() > MAX_JWKS_KEYS {
        return Err(format!(
            "{} keys given; an app may register at most {MAX_JWKS_KEYS}",
            jwks.keys.len()
        ));
    }
    let mut kids = std::collections::BTreeSet::new();
    for (i, key) in jwks.keys.iter().enumerate() {
        let name = key
            .common
            .key_id
            .as_deref()
            .map(|k| format!("key '{}'", sanitize(k, 60)))
            .unwrap_or_else(|| format!("key {i}"));
        if matches!(key.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(format!("{name} is a symmetric (oct) key; private_key_jwt needs the public half of an asymmetric key (RSA, EC or OKP)"));
        }
        DecodingKey::from_jwk(key).map_err(|e| format!("{name} cannot be used: {e}"))?;
        if let Some(kid) = &key.common.key_id {
            if !kids.insert(kid.clone()) {
                return Err(format!(
                    "kid '{}' is used by two keys; each key needs its own kid",
                    sanitize(kid, 60)
                ));
            }
        }
    }
    if jwks.keys.len() > 1 && jwks.keys.iter().any(|k| k.common.key_id.is_none()) {
        return Err("with more than one key, every key needs a kid (the assertion's header names the key that signed it)".into());
    }
    Ok(())
}

/// The errors of a JWT signed by an app's registered key, each in the words
/// of what the JWT is: [`Grantd::verify_signed_by_app`] reports through them.
pub(crate) struct SignedByAppFaults {
    /// The header names a kid the app lacks (or none, with several keys).
    pub unknown_key: fn(Option<&str>, &[String]) -> OAuthError,
    pub no_keys: fn(&str, &str) -> OAuthError,
    /// The algorithm, and the key family it does not fit, if that is the fault.
    pub alg: fn(&str, Option<&str>) -> OAuthError,
    /// The algorithm, and the one the key is registered for.
    pub key_alg: fn(&str, &str) -> OAuthError,
    /// The kid of the key the signature does not verify with.
    pub bad_signature: fn(&str) -> OAuthError,
    pub unreadable_claims: fn() -> OAuthError,
}

const ASSERTION_FAULTS: SignedByAppFaults = SignedByAppFaults {
    unknown_key: OAuthError::client_assertion_unknown_key,
    no_keys: OAuthError::client_assertion_no_keys,
    alg: OAuthError::client_assertion_algorithm,
    key_alg: |alg, key_alg| OAuthError::client_assertion_algorithm(alg, Some(key_alg)),
    bad_signature: OAuthError::client_assertion_bad_signature,
    unreadable_claims: || {
        OAuthError::client_assertion_malformed("its payload is not a JSON object grantd can read")
    },
};

impl Grantd {
    /// Authenticates `app` by its client assertion: signature by a
    /// registered key, then the claims, then the jti recorded as used.
    pub async fn verify_client_assertion(
        &self,
        app: &App,
        assertion: &Secret,
    ) -> Result<(), OAuthError> {
        let jwt = assertion.expose();
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return Err(OAuthError::client_assertion_malformed(&format!(
                "it has {} dot-separated parts, not 3",
                parts.len()
            )));
        }
        // The algorithm from the raw header: the JWT library cannot read alg none.
        let header: Value = decode_part(parts[0]).ok_or_else(|| {
            OAuthError::client_assertion_malformed("its header is not base64url-encoded JSON")
        })?;
        let alg = header["alg"].as_str().unwrap_or("");
        if alg.starts_with("HS") {
            return Err(OAuthError::client_secret_jwt_unsupported(alg));
        }
        if !SIGNING_ALGS.contains(&alg) {
            return Err(OAuthError::client_assertion_algorithm(alg, None));
        }
        let claims = self
            .verify_signed_by_app(app, jwt, alg, header["kid"].as_str(), &ASSERTION_FAULTS)
            .await?;
        self.check_assertion_claims(app, &claims).await
    }

    /// Verifies the signature of `jwt`, a JWT `app` signed with one of its
    /// registered keys (inline, or fetched from its `jwks_uri`) with `alg`
    /// (already one of [`SIGNING_ALGS`]), and answers its claims. Each fault
    /// is told in the words of what the JWT is (`faults`).
    pub(crate) async fn verify_signed_by_app(
        &self,
        app: &App,
        jwt: &str,
        alg: &str,
        kid: Option<&str>,
        faults: &SignedByAppFaults,
    ) -> Result<Value, OAuthError> {
        let key = match (&app.jwks, &app.jwks_uri) {
            (Some(jwks), _) => {
                let found = match kid {
                    Some(kid) => jwks.find(kid),
                    None if jwks.keys.len() == 1 => jwks.keys.first(),
                    None => None,
                };
                found
                    .cloned()
                    .ok_or_else(|| (faults.unknown_key)(kid, &kids(jwks)))?
            }
            (None, Some(uri)) => self.key_sets.key(uri, kid).await?,
            (None, None) => return Err((faults.no_keys)(&app.client_id, &app.name)),
        };
        let algorithm: Algorithm = alg.parse().map_err(|_| (faults.alg)(alg, None))?;
        let key_name = key
            .common
            .key_id
            .clone()
            .unwrap_or_else(|| "(no kid)".into());
        if let Some(key_alg) = key.common.key_algorithm {
            if key_alg.to_string() != alg {
                return Err((faults.key_alg)(alg, &key_alg.to_string()));
            }
        }
        // Every registered or fetched key passed check_jwks, so this holds.
        let decoding =
            DecodingKey::from_jwk(&key).map_err(|_| (faults.alg)(alg, Some(key_family(&key))))?;
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        match jsonwebtoken::decode::<Value>(jwt, &decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                Err(match e.kind() {
                    ErrorKind::InvalidSignature => (faults.bad_signature)(&key_name),
                    ErrorKind::InvalidAlgorithm
                    | ErrorKind::InvalidKeyFormat
                    | ErrorKind::InvalidAlgorithmName => (faults.alg)(alg, Some(key_family(&key))),
                    _ => (faults.unreadable_claims)(),
                })
            }
        }
    }

    async fn check_assertion_claims(&self, app: &App, claims: &Value) -> Result<(), OAuthError> {
        for claim in ["iss", "sub"] {
            let value = claims[claim].as_str();
            if value != Some(app.client_id.as_str()) {
                return Err(OAuthError::client_assertion_wrong_issuer(
                    claim,
                    value,
                    &app.client_id,
                ));
            }
        }
        let audiences = self.accepted_audiences();
        let issuer = &self.config.issuer;
        let accepted = |a: &str| audiences.iter().any(|x| x == a) || a == issuer;
        let aud_ok = match &claims["aud"] {
            Value::String(a) => accepted(a),
            Value::Array(v) => v.iter().any(|a| a.as_str().is_some_and(accepted)),
            _ => false,
        };
        if !aud_ok {
            let aud = match &claims["aud"] {
                Value::String(a) => a.clone(),
                Value::Array(v) => v
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            return Err(OAuthError::client_assertion_wrong_audience(
                &aud,
                &self.token_endpoint(),
                issuer,
            ));
        }
        let now = self.now();
        let leeway = self.config.jwt_leeway;
        let Some(exp) = claims["exp"].as_i64() else {
            return Err(OAuthError::client_assertion_exp_missing());
        };
        if exp.saturating_add(leeway) <= now {
            return Err(OAuthError::client_assertion_expired(
                &rfc3339(exp),
                &rfc3339(now),
            ));
        }
        if exp - now > MAX_ASSERTION_LIFETIME + leeway {
            return Err(OAuthError::client_assertion_too_long(
                (exp - now) as u64,
                MAX_ASSERTION_LIFETIME as u64,
            ));
        }
        for claim in ["nbf", "iat"] {
            if let Some(t) = claims[claim].as_i64() {
                if t > now.saturating_add(leeway) {
                    return Err(OAuthError::client_assertion_not_yet_valid(
                        claim,
                        &rfc3339(t),
                    ));
                }
            }
        }
        let jti = match claims["jti"].as_str() {
            Some(j) if !j.is_empty() => j,
            _ => return Err(OAuthError::client_assertion_jti_missing()),
        };
        // Remembered past exp by the leeway, since it is accepted that long.
        if !self
            .store
            .use_assertion_jti(&app.client_id, jti, exp.saturating_add(leeway), now)
            .await?
        {
            return Err(OAuthError::client_assertion_replayed(jti, &app.client_id));
        }
        Ok(())
    }
}

pub(crate) fn decode_part(part: &str) -> Option<Value> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn kids(jwks: &JwkSet) -> Vec<String> {
    jwks.keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

fn key_family(key: &Jwk) -> &'static str {
    match key.algorithm {
        AlgorithmParameters::RSA(_) => "an RSA key (RS256, RS384, RS512, PS256, PS384, PS512)",
        AlgorithmParameters::EllipticCurve(_) => "an EC key (ES256, ES384)",
        AlgorithmParameters::OctetKeyPair(_) => "an OKP key (EdDSA)",
        AlgorithmParameters::OctetKey(_) => "a symmetric key, which private_key_jwt does not take",
    }
}
