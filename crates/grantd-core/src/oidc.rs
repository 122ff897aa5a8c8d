//! OpenID Connect: ID tokens (Core §2, §3.1.3.6) and the claims of userinfo
//! (Core §5.3, §5.4).

use crate::clock::UnixTime;
use crate::grants::Oidc;
use crate::model::{App, SigningAlg, User};
use crate::Grantd;
use aws_lc_rs::digest::{digest, SHA256, SHA512};
use grantd_protocol::Scopes;
use serde_json::{json, Map, Value};

/// `typ` of grantd's ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// The standard claims a user has, for the scopes granted.
pub fn user_claims(user: &User, scopes: &Scopes) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), json!(user.id));
    if scopes.contains("profile") {
        let (given, family) = user
            .name
            .split_once(' ')
            .unwrap_or((user.name.as_str(), ""));
        c.insert("name".into(), json!(user.name));
        c.insert("given_name".into(), json!(given));
        if !family.is_empty() {
            c.insert("family_name".into(), json!(family));
        }
        if let Some(ext) = &user.extension_number {
            c.insert("extension_number".into(), json!(ext));
        }
        c.insert("account_id".into(), json!(user.account_id));
    }
    if scopes.contains("email") {
        if let Some(e) = &user.email {
            c.insert("email".into(), json!(e));
            // grantd does not verify addresses itself.
            c.insert("email_verified".into(), json!(false));
        }
    }
    c
}

impl Grantd {
    /// A signed ID token for `user` and `app`.
    pub fn id_token(
        &self,
        app: &App,
        user: &User,
        scopes: &Scopes,
        oidc: &Oidc,
        access_token: &str,
        now: UnixTime,
    ) -> String {
        let mut claims = user_claims(user, scopes);
        claims.insert("iss".into(), json!(self.config.issuer));
        claims.insert("aud".into(), json!(app.client_id));
        claims.insert("azp".into(), json!(app.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + app.access_token_ttl as i64));
        claims.insert("auth_time".into(), json!(oidc.auth_time));
        if let Some(n) = &oidc.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if let Some(sid) = &oidc.sid {
            claims.insert("sid".into(), json!(sid));
        }
        claims.insert("at_hash".into(), json!(self.at_hash(access_token)));
        self.keys.sign(ID_TOKEN_TYP, &Value::Object(claims))
    }

    /// The left half of the access token's hash, with the hash of the
    /// signing algorithm (SHA-512 for Ed25519).
    pub fn at_hash(&self, access_token: &str) -> String {
        let alg = match self.keys.active_alg() {
            SigningAlg::EdDSA => &SHA512,
            SigningAlg::ES256 | SigningAlg::RS256 => &SHA256,
        };
        let d = digest(alg, access_token.as_bytes());
        let bytes = d.as_ref();
        crate::crypto::b64url(&bytes[..bytes.len() / 2])
    }
}
