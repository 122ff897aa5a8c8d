//! Signed request objects (RFC 9101, JAR): an authorization request whose
//! parameters come in a JWT signed by the client's registered key, as
//! `request` at the authorization endpoint or at PAR.
//!
//! The object is verified like a client assertion (the app's `jwks`, or its
//! `jwks_uri` through [`crate::key_sets`]; asymmetric algorithms only), then
//! its claims replace every parameter sent beside it (RFC 9101 §6.3): only
//! `client_id` is read from outside, and must match. Which parameters came
//! from a verified object is carried to the sign-in and consent forms by the
//! same seal as a pushed request's (`par.rs`), so an app that requires
//! signed request objects cannot be served an unsigned request midway.

use crate::client_assertion::{decode_part, SignedByAppFaults, SIGNING_ALGS};
use crate::crypto::rfc3339;
use crate::model::App;
use crate::Grantd;
use grantd_protocol::{OAuthError, Params};
use serde_json::Value;

/// How long a request object may live, from `nbf` (or now) to `exp`
/// (FAPI 2.0 Message Signing §5.3.1: at most 60 minutes).
pub const MAX_LIFETIME: i64 = 3600;

/// The `typ` RFC 9101 §10.8 registers; a request object may also carry none.
pub const TYP: &str = "oauth-authz-req+jwt";

/// Claims of the JWT itself, not parameters of the request.
const JWT_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];

/// In a pushed request's stored parameters: they came from a verified
/// request object. Never read from a request, only from the store.
pub(crate) const SIGNED_MARK: &str = "grantd:request_object";

const REQUEST_OBJECT_FAULTS: SignedByAppFaults = SignedByAppFaults {
    unknown_key: |kid, kids| {
        OAuthError::request_object_signature(
            kid.unwrap_or("(no kid, and the app has several keys)"),
            Some(kids),
        )
    },
    no_keys: OAuthError::request_object_no_keys,
    alg: OAuthError::request_object_alg,
    key_alg: |alg, key_alg| {
        OAuthError::request_object_alg(alg, Some(&format!("registered for {key_alg}")))
    },
    bad_signature: |kid| OAuthError::request_object_signature(kid, None),
    unreadable_claims: || {
        OAuthError::request_object_malformed("its claims are not a JSON object grantd can read")
    },
};

/// Where an authorization request's parameters came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// Through PAR (a `request_uri`, or the forms' seal of one).
    pub pushed: bool,
    /// From a verified request object.
    pub signed: bool,
}

impl Grantd {
    /// Verifies `app`'s request object and answers the authorization
    /// request it holds: its claims as parameters, with the client_id.
    pub(crate) async fn open_request_object(
        &self,
        app: &App,
        jwt: &str,
    ) -> Result<Params, OAuthError> {
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            let what = if parts.len() == 5 {
                "it has 5 parts, an encrypted JWT (JWE), which grantd does not take: sign it and send it unencrypted".to_string()
            } else {
                format!("it has {} dot-separated parts, not 3", parts.len())
            };
            return Err(OAuthError::request_object_malformed(&what));
        }
        let header = decode_part(parts[0])
            .filter(Value::is_object)
            .ok_or_else(|| {
                OAuthError::request_object_malformed("its header is not base64url-encoded JSON")
            })?;
        if let Some(typ) = header.get("typ") {
            let ok = typ
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("JWT"));
            if !ok {
                return Err(OAuthError::request_object_malformed(&format!(
                    "its typ is {}, not {TYP}: another kind of JWT cannot stand for a request object",
                    grantd_protocol::error::echo(&typ.to_string(), 40)
                )));
            }
        }
        let alg = header["alg"].as_str().unwrap_or("");
        if !SIGNING_ALGS.contains(&alg) {
            return Err(OAuthError::request_object_alg(alg, None));
        }
        let claims = self
            .verify_signed_by_app(
                app,
                jwt,
                alg,
                header["kid"].as_str(),
                &REQUEST_OBJECT_FAULTS,
            )
            .await?;
        let Value::Object(claims) = claims else {
            return Err(OAuthError::request_object_malformed(
                "its claims are not a JSON object",
            ));
        };
        self.check_request_object_claims(app, &claims)?;
        to_params(&claims)
    }

    fn check_request_object_claims(
        &self,
        app: &App,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<(), OAuthError> {
        let text = |c: &str| {
            claims.get(c).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
        };
        let client_id = text("client_id");
        if client_id.as_deref() != Some(app.client_id.as_str()) {
            return Err(OAuthError::request_object_claims(
                "client_id",
                client_id.as_deref(),
                &app.client_id,
            ));
        }
        if let Some(iss) = text("iss") {
            if iss != app.client_id {
                return Err(OAuthError::request_object_claims(
                    "iss",
                    Some(&iss),
                    &app.client_id,
                ));
            }
        }
        let issuer = &self.config.issuer;
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == issuer,
            Some(Value::Array(v)) => v.iter().any(|a| a.as_str() == Some(issuer.as_str())),
            _ => false,
        };
        if !aud_ok {
            let sent = match claims.get("aud") {
                Some(Value::Array(v)) => Some(
                    v.iter()
                        .map(|a| {
                            a.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| a.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => text("aud"),
            };
            return Err(OAuthError::request_object_claims(
                "aud",
                sent.as_deref(),
                issuer,
            ));
        }
        let now = self.now();
        let leeway = self.config.jwt_leeway;
        let time = |c: &str| claims.get(c).and_then(Value::as_i64);
        let Some(exp) = time("exp") else {
            return Err(OAuthError::request_object_lifetime(
                "The request object has no exp (a number of seconds since 1970): grantd takes request objects only until they expire. Add exp a few minutes ahead.".into(),
            ));
        };
        if exp.saturating_add(leeway) <= now {
            return Err(OAuthError::request_object_lifetime(format!(
                "The request object expired at {} (it is now {}). Sign a fresh one for each authorization request.",
                rfc3339(exp),
                rfc3339(now)
            )));
        }
        if let Some(nbf) = time("nbf") {
            if nbf > now.saturating_add(leeway) {
                return Err(OAuthError::request_object_lifetime(format!(
                    "The request object is not valid before {} (nbf; it is now {}). Set nbf to the time you sign it, and check the signer's clock.",
                    rfc3339(nbf),
                    rfc3339(now)
                )));
            }
        }
        let from = time("nbf").unwrap_or(now).min(now);
        if exp - from > MAX_LIFETIME + leeway {
            return Err(OAuthError::request_object_lifetime(format!(
                "The request object lives {} seconds (from {} to its exp {}); grantd takes at most {MAX_LIFETIME}. Set exp closer to the time you sign it.",
                exp - from,
                rfc3339(from),
                rfc3339(exp)
            )));
        }
        Ok(())
    }
}

/// The request's parameters from the object's claims: strings as they are,
/// numbers and booleans as text (`max_age`), objects as JSON (`claims`),
/// arrays of strings as repeated parameters (`resource`).
fn to_params(claims: &serde_json::Map<String, Value>) -> Result<Params, OAuthError> {
    let mut pairs = Vec::with_capacity(claims.len());
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        if name == "request" || name == "request_uri" || name == SIGNED_MARK {
            return Err(OAuthError::request_object_malformed(&format!(
                "it holds {name}; a request object cannot hold another request"
            )));
        }
        match value {
            Value::Null => {}
            Value::String(s) => pairs.push((name.clone(), s.clone())),
            Value::Number(n) => pairs.push((name.clone(), n.to_string())),
            Value::Bool(b) => pairs.push((name.clone(), b.to_string())),
            Value::Object(_) => pairs.push((name.clone(), value.to_string())),
            Value::Array(items) => {
                for item in items {
                    let Some(s) = item.as_str() else {
                        return Err(OAuthError::request_object_malformed(&format!(
                            "its claim {} is an array holding something other than strings",
                            grantd_protocol::error::echo(name, 40)
                        )));
                    };
                    pairs.push((name.clone(), s.to_string()));
                }
            }
        }
    }
    Ok(Params::from_pairs(pairs))
}
