//! DPoP (RFC 9449): verifying proofs (typ, alg, jwk, signature, htm, htu,
//! iat, jti, ath, nonce), the server's rotating nonces, and the key
//! bindings of what carries none in itself.
//!
//! Replay: a proof's jti is recorded in the store (`use_assertion_jti`,
//! keyed `dpop:<jkt>`) until its acceptance window ends. The store, not an
//! in-memory cache, because behind a load balancer a replayed proof may
//! reach another node; the row lives two minutes and is purged with the
//! other expired rows.
//!
//! Nonces: an HMAC of the current five-minute window under a key derived
//! from the server secret, so every node issues and accepts the same
//! nonces without storing them; the previous window's stays good, so a
//! nonce lives five to ten minutes.

use crate::crypto::{b64url, constant_time_eq, sha256};
use crate::Grantd;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_protocol::dpop::{normalize_htu, PROOF_TYP, SIGNING_ALGS};
use grantd_protocol::OAuthError;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// A proof is accepted this many seconds either side of the server's time.
pub const IAT_WINDOW: i64 = 60;
/// Nonces rotate this often (seconds); the previous one stays good.
pub const NONCE_PERIOD: i64 = 300;

/// A DPoP proof as a request presented it.
#[derive(Debug, Clone)]
pub struct Presented {
    /// The DPoP header's values (more than one is refused).
    pub proofs: Vec<String>,
    /// The request's method and the URL it was sent to (the issuer's origin
    /// and the request's path).
    pub method: String,
    pub url: String,
}

/// A verified proof: the thumbprint of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
}

/// The binding id of an opaque access token (by its hash).
pub fn access_binding_id(token: &str) -> String {
    format!("access:{}", hex(&sha256(token.as_bytes())))
}

/// The binding id of an authorization code (by its hash).
pub fn code_binding_id(hash: &[u8; 32]) -> String {
    format!("code:{}", hex(hash))
}

/// The binding id of a session's refresh tokens (public clients).
pub fn session_binding_id(session_id: &str) -> String {
    format!("session:{session_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK given as JSON.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = match s("kty")? {
        "EC" => serde_json::json!({"crv": s("crv")?, "kty": "EC", "x": s("x")?, "y": s("y")?}),
        "RSA" => serde_json::json!({"e": s("e")?, "kty": "RSA", "n": s("n")?}),
        "OKP" => serde_json::json!({"crv": s("crv")?, "kty": "OKP", "x": s("x")?}),
        _ => return None,
    };
    // serde_json's map is ordered by key, as RFC 7638 §3.3 asks.
    Some(b64url(&sha256(canonical.to_string().as_bytes())))
}

fn decode_part(part: &str) -> Option<Value> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
}

impl Grantd {
    fn nonce_for_window(&self, window: i64) -> String {
        let key = self.keyed_hash("dpop-nonce");
        b64url(&key.digest(&[&window.to_be_bytes()])[..18])
    }

    /// The nonce proofs should carry now (sent as `DPoP-Nonce`).
    pub fn dpop_nonce(&self) -> String {
        self.nonce_for_window(self.now().div_euclid(NONCE_PERIOD))
    }

    fn nonce_is_current(&self, nonce: &str) -> bool {
        let window = self.now().div_euclid(NONCE_PERIOD);
        [window, window - 1]
            .iter()
            .any(|w| constant_time_eq(self.nonce_for_window(*w).as_bytes(), nonce.as_bytes()))
    }

    /// Verifies a proof for a request: its form, key and signature, then
    /// `htm`, `htu`, `iat`, `ath` (for `access_token`), the nonce (required
    /// when `require_nonce`; checked whenever present), and last the jti,
    /// recorded as used (so a proof that fails a check cannot burn one).
    pub async fn verify_dpop(
        &self,
        presented: &Presented,
        access_token: Option<&str>,
        require_nonce: bool,
    ) -> Result<Proof, OAuthError> {
        let jwt = match presented.proofs.as_slice() {
            [one] => one.trim(),
            [] => {
                return Err(OAuthError::dpop_proof_malformed(
                    "the request has no DPoP header",
                ))
            }
            _ => {
                return Err(OAuthError::dpop_proof_malformed(&format!(
                    "the request has {} DPoP headers",
                    presented.proofs.len()
                )))
            }
        };
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return Err(OAuthError::dpop_proof_malformed(&format!(
                "it has {} dot-separated parts, not 3",
                parts.len()
            )));
        }
        let header = decode_part(parts[0])
            .ok_or_else(|| OAuthError::dpop_proof_malformed("its header is not base64url JSON"))?;
        let typ = header["typ"].as_str();
        if typ != Some(PROOF_TYP) {
            return Err(OAuthError::dpop_proof_typ(typ));
        }
        let alg = header["alg"].as_str().unwrap_or("");
        if !SIGNING_ALGS.contains(&alg) {
            return Err(OAuthError::dpop_proof_alg(alg, SIGNING_ALGS));
        }
        let jwk_value = header
            .get("jwk")
            .filter(|j| j.is_object())
            .ok_or_else(|| OAuthError::dpop_proof_jwk("is missing"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|k| jwk_value.get(k).is_some())
        {
            return Err(OAuthError::dpop_proof_jwk(
                "holds a private or symmetric key",
            ));
        }
        let jkt = thumbprint(jwk_value).ok_or_else(|| {
            OAuthError::dpop_proof_jwk("is not an EC, RSA or OKP public key with all its members")
        })?;
        let jwk: Jwk = serde_json::from_value(jwk_value.clone())
            .map_err(|_| OAuthError::dpop_proof_jwk("cannot be read as a JWK"))?;
        let decoding = DecodingKey::from_jwk(&jwk)
            .map_err(|_| OAuthError::dpop_proof_jwk("cannot be used to verify"))?;
        let algorithm: Algorithm = alg
            .parse()
            .map_err(|_| OAuthError::dpop_proof_alg(alg, SIGNING_ALGS))?;
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims: Value = match jsonwebtoken::decode::<Value>(jwt, &decoding, &validation) {
            Ok(d) => d.claims,
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                return Err(match e.kind() {
                    ErrorKind::InvalidSignature => OAuthError::dpop_proof_signature(),
                    ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => {
                        OAuthError::dpop_proof_jwk("is not a key of the proof's algorithm")
                    }
                    _ => OAuthError::dpop_proof_malformed("its payload is not a JSON object"),
                });
            }
        };
        let htm = claims["htm"].as_str();
        if htm != Some(presented.method.as_str()) {
            return Err(OAuthError::dpop_proof_htm(htm, &presented.method));
        }
        let htu = claims["htu"].as_str();
        let expected = normalize_htu(&presented.url);
        if htu.map(normalize_htu).as_deref() != Some(expected.as_str()) {
            return Err(OAuthError::dpop_proof_htu(htu, &expected));
        }
        let now = self.now();
        let iat = claims["iat"].as_i64();
        match iat {
            Some(t) if (t - now).abs() <= IAT_WINDOW => {}
            _ => return Err(OAuthError::dpop_proof_iat(iat, now, IAT_WINDOW)),
        }
        if let Some(token) = access_token {
            let ath = claims["ath"].as_str();
            let expected = b64url(&sha256(token.as_bytes()));
            if !ath.is_some_and(|a| constant_time_eq(a.as_bytes(), expected.as_bytes())) {
                return Err(OAuthError::dpop_proof_ath(ath.is_some()));
            }
        }
        match claims["nonce"].as_str() {
            Some(n) if !self.nonce_is_current(n) => {
                return Err(OAuthError::dpop_nonce_required(true))
            }
            None if require_nonce => return Err(OAuthError::dpop_nonce_required(false)),
            _ => {}
        }
        let jti = match claims["jti"].as_str() {
            Some(j) if !j.is_empty() && j.len() <= 256 => j,
            _ => return Err(OAuthError::dpop_proof_jti()),
        };
        let until = iat.unwrap_or(now).max(now) + IAT_WINDOW + 1;
        if !self
            .store
            .use_assertion_jti(&format!("dpop:{jkt}"), jti, until, now)
            .await?
        {
            return Err(OAuthError::dpop_proof_replayed());
        }
        Ok(Proof { jkt })
    }

    /// The DPoP key an access token is bound to: `cnf.jkt` of a JWT, the
    /// stored binding of an opaque token.
    pub async fn access_token_binding(&self, token: &str) -> Result<Option<String>, OAuthError> {
        if crate::tokens::looks_like_jwt(token) {
            let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
                .map(|d| d.claims)
                .unwrap_or_default();
            return Ok(claims["cnf"]["jkt"].as_str().map(str::to_string));
        }
        Ok(self
            .store
            .get_dpop_binding(&access_binding_id(token))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }
}
