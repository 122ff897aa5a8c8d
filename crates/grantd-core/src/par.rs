//! Pushed authorization requests (RFC 9126): the client pushes its
//! authorization request's parameters with its authentication, grantd
//! checks them with the authorization endpoint's own rules and keeps them a
//! minute under a random `request_uri`, which the browser then brings to
//! the authorization endpoint once.
//!
//! After that one use, the sign-in and consent forms carry the parameters
//! as hidden fields (as for any request) with `pushed`, an HMAC over them
//! under a key derived from the server secret and an expiry: so a request
//! that must come through PAR keeps that proof across the forms, and no
//! parameter can be changed on the way.

use crate::authorize::AuthorizeError;
use crate::crypto::{b64url, constant_time_eq, random_token, sha256};
use crate::dpop::Presented;
use crate::model::{PushedRequest, PushedUse};
use crate::request_object::{Origin, SIGNED_MARK};
use crate::Grantd;
use grantd_protocol::authorize::AuthorizeRequest;
use grantd_protocol::dpop::is_thumbprint;
use grantd_protocol::{ClientAuth, OAuthError, Params};

/// A pushed request lives this long (`expires_in`).
pub const PAR_TTL: i64 = 60;
/// The `request_uri` prefix RFC 9126 §2.2 suggests.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long the forms' seal of a pushed request holds (sign-in and consent).
pub const SEAL_TTL: i64 = 1800;

/// Parameters a pushed request never keeps: the client's authentication.
const NOT_KEPT: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

/// The answer of `POST /oauth/par`.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

impl Grantd {
    /// `POST /oauth/par`: authenticates the client, checks the request as
    /// the authorization endpoint would, and keeps it.
    pub async fn push_authorization_request(
        &self,
        auth: &ClientAuth,
        params: &Params,
        dpop: Option<&Presented>,
    ) -> Result<Pushed, OAuthError> {
        let app = self.authenticate_client(auth).await?;
        self.check_profile_client_auth(&app, auth)?;
        if params.contains("request_uri") {
            return Err(OAuthError::par_request_uri_pushed());
        }
        if let Some(sent) = params.get("client_id") {
            if sent != app.client_id {
                return Err(OAuthError::par_client_mismatch(sent, &app.client_id));
            }
        }
        // A request object's claims replace every other parameter (RFC 9101 §6.3).
        let signed = params.get("request").is_some();
        let opened;
        let params = match params.get("request") {
            Some(jwt) => {
                opened = self.open_request_object(&app, jwt).await?;
                &opened
            }
            None => params,
        };
        // A proof at PAR binds the code to its key (RFC 9449 §10.1), as dpop_jkt does.
        let jkt = match dpop {
            Some(p) => Some(self.verify_dpop(p, None, app.requires_dpop()).await?.jkt),
            None => None,
        };
        if let (Some(jkt), Some(sent)) = (&jkt, params.get("dpop_jkt")) {
            if sent != jkt {
                return Err(OAuthError::dpop_key_mismatch(
                    "The dpop_jkt sent",
                    &grantd_protocol::error::echo(sent, 60),
                    jkt,
                ));
            }
        }
        let mut pairs: Vec<(String, String)> = params
            .pairs()
            .iter()
            .filter(|(n, _)| {
                !NOT_KEPT.contains(&n.as_str())
                    && n != "client_id"
                    && n != "pushed"
                    && n != SIGNED_MARK
            })
            .cloned()
            .collect();
        pairs.push(("client_id".into(), app.client_id.clone()));
        if let Some(jkt) = &jkt {
            if params.get("dpop_jkt").is_none() {
                pairs.push(("dpop_jkt".into(), jkt.clone()));
            }
        }
        let origin = Origin {
            pushed: true,
            signed,
        };
        // Kept with the request, so its one use knows it was signed; the
        // authorization checks read no such parameter.
        if signed {
            pairs.push((SIGNED_MARK.into(), "1".into()));
        }
        let kept = Params::from_pairs(pairs);
        // The authorization endpoint's rules, with the request counted as pushed.
        match self.authorize_checked(&kept, origin).await {
            Ok(_) => {}
            Err(AuthorizeError::Page(e) | AuthorizeError::Redirect(_, e)) => return Err(e),
        }
        let reference = random_token();
        let request_uri = format!("{REQUEST_URI_PREFIX}{reference}");
        let now = self.now();
        self.store
            .insert_pushed_request(&PushedRequest {
                hash: sha256(request_uri.as_bytes()),
                client_id: app.client_id.clone(),
                params: serde_json::to_string(kept.pairs())
                    .map_err(|_| OAuthError::server_error())?,
                created_at: now,
                expires_at: now + PAR_TTL,
                used_at: None,
            })
            .await?;
        tracing::info!(client_id = %app.client_id, "authorization request pushed");
        Ok(Pushed {
            request_uri,
            expires_in: PAR_TTL,
        })
    }

    /// The parameters of an authorization request, and where they came
    /// from: the pushed ones for a `request_uri` (used up here), a request
    /// object's (verified here), the forms' own with a valid seal, or the
    /// query's as sent.
    pub(crate) async fn resolve_pushed(
        &self,
        params: &Params,
    ) -> Result<(Params, Origin), OAuthError> {
        if let Some(jwt) = params.get("request") {
            if params.contains("request_uri") {
                return Err(OAuthError::request_with_request_uri());
            }
            let client_id = params.get("client_id").ok_or_else(|| {
                OAuthError::missing_query_parameter(
                    "client_id",
                    "beside request at the authorization endpoint (RFC 9101 §5)",
                )
            })?;
            let Some(app) = self.find_app(client_id).await? else {
                return Err(OAuthError::client_unknown(client_id, None));
            };
            let opened = self.open_request_object(&app, jwt).await?;
            return Ok((
                opened,
                Origin {
                    pushed: false,
                    signed: true,
                },
            ));
        }
        if let Some(uri) = params.get("request_uri") {
            let Some(reference) = uri.strip_prefix(REQUEST_URI_PREFIX) else {
                return Err(OAuthError::request_uri_malformed(uri));
            };
            if reference.is_empty() || reference.len() > 128 {
                return Err(OAuthError::request_uri_malformed(uri));
            }
            let client_id = params.get("client_id").ok_or_else(|| {
                OAuthError::missing_query_parameter(
                    "client_id",
                    "with request_uri at the authorization endpoint",
                )
            })?;
            let now = self.now();
            let pushed = match self
                .store
                .use_pushed_request(&sha256(uri.as_bytes()), now)
                .await?
            {
                PushedUse::Unknown => return Err(OAuthError::request_uri_unknown()),
                PushedUse::Used(p) => {
                    return Err(OAuthError::request_uri_used(now - p.used_at.unwrap_or(now)))
                }
                PushedUse::Fresh(p) => p,
            };
            if pushed.client_id != client_id {
                return Err(OAuthError::request_uri_wrong_client(
                    &pushed.client_id,
                    client_id,
                ));
            }
            if pushed.expires_at <= now {
                return Err(OAuthError::request_uri_expired(
                    now - pushed.created_at,
                    PAR_TTL,
                ));
            }
            let mut pairs: Vec<(String, String)> =
                serde_json::from_str(&pushed.params).map_err(|_| OAuthError::server_error())?;
            let signed = pairs.iter().any(|(n, _)| n == SIGNED_MARK);
            pairs.retain(|(n, _)| n != SIGNED_MARK);
            return Ok((
                Params::from_pairs(pairs),
                Origin {
                    pushed: true,
                    signed,
                },
            ));
        }
        let origin = match params.get("pushed") {
            Some(seal) => {
                let request = AuthorizeRequest::read(params, &self.token_endpoint())?;
                self.seal_holds(&request, seal).unwrap_or_default()
            }
            None => Origin::default(),
        };
        Ok((params.clone(), origin))
    }

    fn seal_mac(&self, request: &AuthorizeRequest, expires: i64, flags: &str) -> String {
        let unsealed = AuthorizeRequest {
            pushed: None,
            ..request.clone()
        };
        let mut text = format!("{expires}.{flags}");
        for (k, v) in unsealed.to_pairs() {
            text.push('\n');
            text.push_str(k);
            text.push('=');
            text.push_str(&v);
        }
        b64url(&self.keyed_hash("par-seal").digest(&[text.as_bytes()]))
    }

    /// The seal the forms carry for a request that came from PAR or a
    /// request object: `expires.flags.mac`, flags `p` (pushed) and `s` (signed).
    pub(crate) fn seal_pushed(&self, request: &AuthorizeRequest, origin: Origin) -> String {
        let expires = self.now() + SEAL_TTL;
        let flags = format!(
            "{}{}",
            if origin.pushed { "p" } else { "" },
            if origin.signed { "s" } else { "" }
        );
        let mac = self.seal_mac(request, expires, &flags);
        format!("{expires}.{flags}.{mac}")
    }

    /// Where the sealed parameters came from, if the seal holds.
    fn seal_holds(&self, request: &AuthorizeRequest, seal: &str) -> Option<Origin> {
        let mut parts = seal.splitn(3, '.');
        let expires = parts.next()?.parse::<i64>().ok()?;
        let flags = parts.next()?;
        let mac = parts.next()?;
        let holds = expires > self.now()
            && constant_time_eq(
                self.seal_mac(request, expires, flags).as_bytes(),
                mac.as_bytes(),
            );
        holds.then(|| Origin {
            pushed: flags.contains('p'),
            signed: flags.contains('s'),
        })
    }
}

/// Checks `dpop_jkt`'s shape.
pub(crate) fn check_dpop_jkt(request: &AuthorizeRequest) -> Result<(), OAuthError> {
    match &request.dpop_jkt {
        Some(j) if !is_thumbprint(j) => Err(OAuthError::dpop_jkt_invalid(j)),
        _ => Ok(()),
    }
}
