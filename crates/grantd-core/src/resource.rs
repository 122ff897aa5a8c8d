//! Bearer tokens presented to grantd's own APIs (the RingCentral extension
//! endpoint, userinfo): checked, with each failure named; and the other
//! side of the same `aud` rule, resource indicators (RFC 8707): which
//! resources an app may restrict its access tokens to, and which `aud` a
//! token request gets.

use crate::crypto::rfc3339;
use crate::model::User;
use crate::own_token::{OwnKind, Refusal, Refused};
use crate::Grantd;
use grantd_protocol::OAuthError;

/// How a request to a resource presented its token: the Authorization
/// scheme (Bearer or DPoP) and its DPoP proof, if any.
#[derive(Debug, Clone, Default)]
pub struct ResourceProof {
    pub dpop_scheme: bool,
    pub presented: Option<crate::dpop::Presented>,
}

/// A valid access token and its user.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub client_id: String,
    pub scope: String,
    pub session_id: Option<String>,
    pub user: User,
}

impl Grantd {
    /// The resources an app may ask tokens for: grantd's own API (its
    /// audience, and the issuer's URLs its protected resource metadata
    /// names) and the app's `resource_uris`.
    pub fn allowed_resources(&self, app: &crate::model::App) -> Vec<String> {
        let mut out = vec![self.config.audience.clone()];
        if self.config.issuer != self.config.audience {
            out.push(self.config.issuer.clone());
        }
        out.extend(app.links.resource_uris.iter().cloned());
        out
    }

    /// Whether a resource is grantd's own API: its audience, the issuer, or
    /// a URL under the issuer (`{issuer}/restapi`, as RFC 9728 metadata
    /// names it). Tokens for it carry grantd's audience.
    fn is_own_resource(&self, resource: &str) -> bool {
        let issuer = self.config.issuer.trim_end_matches('/');
        resource == self.config.audience
            || resource.trim_end_matches('/') == issuer
            || resource
                .strip_prefix(issuer)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// One `resource` value: an absolute URI without a fragment (GRD-980),
    /// one the app may ask for (GRD-981).
    pub fn check_resource(
        &self,
        app: &crate::model::App,
        resource: &str,
    ) -> Result<String, OAuthError> {
        let r = grantd_protocol::links::resource(resource)
            .map_err(|why| OAuthError::resource_invalid(resource, &why))?;
        let allowed = self.allowed_resources(app);
        if allowed.contains(&r) || self.is_own_resource(&r) {
            Ok(r)
        } else {
            Err(OAuthError::resource_not_allowed(
                &r,
                &app.client_id,
                &allowed,
            ))
        }
    }

    /// The resources of an authorization request, each checked; duplicates dropped.
    pub fn check_resources(
        &self,
        app: &crate::model::App,
        asked: &[&str],
    ) -> Result<Vec<String>, OAuthError> {
        let mut out: Vec<String> = Vec::new();
        for r in asked {
            let r = self.check_resource(app, r)?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The `aud` of an access token (`None`: grantd's own API) for the
    /// `resource` a token request names, within what its grant allows
    /// (`granted`: the resources the authorization named; none: any of the
    /// app's). A refresh may narrow to one of them, never add one (GRD-982);
    /// with several granted, the request must name one (GRD-983).
    pub fn token_audience(
        &self,
        app: &crate::model::App,
        requested: Option<&str>,
        granted: &[String],
    ) -> Result<Option<String>, OAuthError> {
        let chosen = match requested {
            // Repeats arrive joined with spaces, which URIs never hold.
            Some(r) if r.contains(' ') => {
                let sent: Vec<&str> = r.split(' ').filter(|x| !x.is_empty()).collect();
                return Err(OAuthError::resource_one_per_token(&sent));
            }
            Some(r) => {
                let r = self.check_resource(app, r)?;
                if !granted.is_empty() && !granted.contains(&r) {
                    return Err(OAuthError::resource_widened(&r, granted));
                }
                r
            }
            None => match granted {
                [] => return Ok(None),
                [one] => one.clone(),
                _ => return Err(OAuthError::resource_ambiguous(granted)),
            },
        };
        Ok((!self.is_own_resource(&chosen)).then_some(chosen))
    }

    /// Checks an access token sent as `Authorization: Bearer`, for an API
    /// that answers about the token's user.
    pub async fn authenticate_bearer(
        &self,
        token: Option<&str>,
        proof: &ResourceProof,
    ) -> Result<Bearer, OAuthError> {
        let token = token.ok_or_else(OAuthError::bearer_missing)?;
        let bearer = self.authenticate_bearer_token(token).await?;
        self.check_resource_binding(token, proof).await?;
        Ok(bearer)
    }

    /// A DPoP-bound token only with the DPoP scheme and a proof of its key
    /// (carrying `ath`); an unbound token may come either way (RFC 9449 §7).
    async fn check_resource_binding(
        &self,
        token: &str,
        proof: &ResourceProof,
    ) -> Result<(), OAuthError> {
        let bound = self.access_token_binding(token).await?;
        if !proof.dpop_scheme {
            return match bound {
                Some(_) => Err(OAuthError::dpop_bound_token_as_bearer()),
                None => Ok(()),
            };
        }
        let presented = proof.presented.as_ref().ok_or_else(|| {
            OAuthError::dpop_proof_malformed(
                "the request uses Authorization: DPoP but has no DPoP header",
            )
            .at_dpop_resource()
        })?;
        let p = self
            .verify_dpop(presented, Some(token), false)
            .await
            .map_err(OAuthError::at_dpop_resource)?;
        match bound {
            Some(b) if b != p.jkt => Err(OAuthError::dpop_key_not_token_key(&b, &p.jkt)),
            _ => Ok(()),
        }
    }

    async fn authenticate_bearer_token(&self, token: &str) -> Result<Bearer, OAuthError> {
        let own = match self.verify_own_token(token).await? {
            Ok(own) if own.kind.is_access() => own,
            Ok(own) => return Err(self.not_an_access_token(own.kind, None)),
            Err(Refused {
                kind: Some(kind),
                reason,
            }) if !kind.is_access() => return Err(self.not_an_access_token(kind, Some(&reason))),
            Err(Refused { reason, .. }) => return Err(refused_at_api(&reason)),
        };
        if own.audience != self.config.audience {
            return Err(OAuthError::token_for_other_audience(&own.audience));
        }
        // The APIs answer about a user: an app's own token has none.
        let (Some(session_id), Some(user)) = (own.session_id, own.user) else {
            return Err(OAuthError::no_user_in_token());
        };
        Ok(Bearer {
            client_id: own.client_id.unwrap_or_default(),
            scope: own.scope.unwrap_or_default(),
            session_id: Some(session_id),
            user,
        })
    }

    /// One of grantd's tokens that is not an access token. A signed JWT
    /// credential (or ID token, which looks the same) is named as such, so
    /// the caller learns to exchange it first.
    fn not_an_access_token(&self, kind: OwnKind, refusal: Option<&Refusal>) -> OAuthError {
        let verified = refusal.is_none_or(Refusal::after_verification);
        match kind {
            OwnKind::Credential | OwnKind::IdToken if verified => {
                OAuthError::credential_as_bearer(&self.token_endpoint())
            }
            OwnKind::Refresh => OAuthError::refresh_as_bearer(&self.token_endpoint()),
            _ => OAuthError::access_token_unparsable(),
        }
    }
}

/// Seconds a WebSocket token lasts: long enough to connect with it.
pub const WS_TOKEN_TTL: u64 = 60;

/// A token for the platform's WebSocket gateway (`/restapi/oauth/wstoken`).
#[derive(Debug, Clone)]
pub struct WsToken {
    pub value: String,
    pub expires_in: u64,
}

impl Grantd {
    /// A short-lived JWT for the WebSocket gateway at `gateway` (its `aud`),
    /// for the bearer's user, app, scope and session (it dies with the
    /// session). Always a JWT, so the gateway checks it with the JWKS.
    pub async fn ws_token(&self, bearer: &Bearer, gateway: &str) -> Result<WsToken, OAuthError> {
        let app = self
            .find_app(&bearer.client_id)
            .await?
            .ok_or_else(|| OAuthError::access_token_revoked("its app was deleted"))?;
        let exchange = crate::model::ExchangeClaims {
            audience: Some(gateway.to_string()),
            act: None,
        };
        let token = self.new_access_token(
            &app,
            crate::tokens::AccessSpec {
                subject: &bearer.user.id,
                account_id: Some(&bearer.user.account_id),
                scope: &bearer.scope,
                session_id: bearer.session_id.as_deref(),
                ttl: WS_TOKEN_TTL,
                format: crate::model::AccessTokenFormat::Jwt,
                exchange: Some(&exchange),
                cnf_jkt: None,
            },
            self.now(),
        );
        tracing::info!(client_id = %app.client_id, user_id = %bearer.user.id, jti = %token.jti, "WebSocket token issued");
        Ok(WsToken {
            value: token.value,
            expires_in: token.ttl,
        })
    }
}

/// An access token refused, in the API's words.
fn refused_at_api(reason: &Refusal) -> OAuthError {
    match reason {
        Refusal::NotOurs => OAuthError::access_token_unparsable(),
        Refusal::Corrupted => OAuthError::access_token_corrupted(),
        Refusal::Expired { at } => OAuthError::access_token_expired(&rfc3339(*at)),
        Refusal::Revoked => {
            OAuthError::access_token_revoked("it was revoked or replaced by a refresh")
        }
        Refusal::SessionEnded { .. } => OAuthError::access_token_revoked("its session has ended"),
        Refusal::UserDisabled => OAuthError::access_token_revoked("its user is disabled"),
        Refusal::AppDeleted { .. } => OAuthError::access_token_revoked("its app was deleted"),
        // Access tokens have no credential.
        Refusal::CredentialRevoked { .. } => OAuthError::access_token_unparsable(),
    }
}
