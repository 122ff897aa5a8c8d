//! The token pipeline and token lifecycle: a short list of named checks every
//! grant passes through, then issuing; introspection and revocation.

use crate::clock::UnixTime;
use crate::crypto::{constant_time_eq, random_id, random_token, rfc3339, seal_with_token, sha256};
use crate::grants::{
    self, refresh_token, Continuation, ExchangeSession, Exchanged, GrantContext, GrantDeps,
    Grantee, Issue, SessionPlan, REGISTRY,
};
use crate::model::{
    AccessTokenFormat, Actor, App, ExchangeClaims, Session, TokenKind, TokenRecord,
};
use crate::own_token::OwnKind;
use crate::sessions::tombstone;
use crate::store::{NewSession, RotateOutcome, Rotation, SessionOpened};
use crate::trace;
use crate::Grantd;
use grantd_protocol::requests::IssuedTokenType;
use grantd_protocol::{
    Challenge, ClientAuth, Grant, GrantType, IssueParams, OAuthError, Params, Scopes, TokenRequest,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Claims of grantd's JWT access tokens (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_id: Option<String>,
    /// Token exchange: who acts for `sub` (RFC 8693 §4.1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Actor>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 `cnf`: here the JWK SHA-256 thumbprint of a DPoP key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The RFC 7662 answer.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// A token exchange's actor (RFC 8693 §4.1; RFC 7662 §2.2 admits more members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The DPoP key an access token is bound to (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl Grantd {
    /// The `grant_type` values the token endpoint accepts now: the
    /// registered grants, less legacy grants past their sunset.
    pub fn supported_grant_types(&self) -> Vec<&'static str> {
        REGISTRY
            .iter()
            .map(|g| g.grant_type())
            .filter(|t| self.check_legacy_policy(t.enabled_by()).is_ok())
            .map(GrantType::as_str)
            .collect()
    }

    /// Step 1: the grant_type is one this server serves.
    fn read_request(&self, params: &Params) -> Result<TokenRequest, OAuthError> {
        let unsupported = || {
            let value = params.get("grant_type").unwrap_or_default();
            OAuthError::unsupported_grant_type(value, &self.supported_grant_types())
        };
        let request = TokenRequest::read(params).map_err(|e| {
            if e.code == grantd_protocol::Code::UnsupportedGrantType {
                unsupported()
            } else {
                e
            }
        })?;
        if grants::registered(request.grant_type).is_none() {
            return Err(unsupported());
        }
        Ok(request)
    }
}

/// A legacy grant used before its sunset: the answer carries RFC 9745
/// `Deprecation` and RFC 8594 `Sunset` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    pub grant: Grant,
    pub sunset: UnixTime,
}

/// A token response and what the HTTP layer must add to it.
#[derive(Debug)]
pub struct Issued {
    pub response: TokenResponse,
    pub deprecation: Option<Deprecation>,
}

impl Grantd {
    /// `POST /oauth/token`: the shared checks, in order, then the grant,
    /// then issuing what the grant decided.
    pub async fn token(&self, auth: &ClientAuth, params: &Params) -> Result<Issued, OAuthError> {
        self.token_with_dpop(auth, params, None).await
    }

    /// The token endpoint with the request's DPoP proof, if it sent one:
    /// the tokens issued are then bound to its key.
    pub async fn token_with_dpop(
        &self,
        auth: &ClientAuth,
        params: &Params,
        dpop: Option<&crate::dpop::Presented>,
    ) -> Result<Issued, OAuthError> {
        let sent_grant = params.get("grant_type").unwrap_or_default();
        if let Some(id) = auth.client_id() {
            trace::client(id);
        }
        trace::grant(sent_grant);
        let supported = self.supported_grant_types().join(" ");
        let request = trace::check(
            "read_request",
            &[
                ("grant_type sent", sent_grant),
                ("grant types served", &supported),
            ],
            self.read_request(params),
        )?;
        let mut request = request;
        let grant = grants::registered(request.grant_type).ok_or_else(OAuthError::server_error)?;
        let app = self.authenticate_client(auth).await?;
        self.check_profile_client_auth(&app, auth)?;
        if app.is_fapi2() && request.grant_type == GrantType::Password {
            return Err(OAuthError::fapi2_grant_refused("the password grant"));
        }
        request.issue.dpop_jkt = trace::check(
            "check_dpop_proof",
            &[("DPoP header", if dpop.is_some() { "sent" } else { "none" })],
            self.token_dpop_key(&app, dpop).await,
        )?;
        let enabled_by = request.grant_type.enabled_by();
        let deprecation = trace::check(
            "check_legacy_policy",
            &[("grant", enabled_by.as_str())],
            self.check_legacy_policy(enabled_by),
        )?;
        let app_grants = app
            .grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let enabled = check_grant_enabled(&app, enabled_by).map_err(|mut e| {
            // Every obstacle at once: fixing the grant alone would only
            // lead to the scope's refusal next.
            let with_user = request.grant_type != GrantType::ClientCredentials;
            if let Err(s) = check_scopes(&app, request.scope.as_ref(), with_user) {
                e.description = format!("{} Also: {}", e.description, s.description);
            }
            e
        });
        trace::check(
            "check_grant_enabled",
            &[
                ("grant requested", enabled_by.as_str()),
                ("app's grants", &app_grants),
                ("app's platform type", app.platform_type.as_str()),
            ],
            enabled,
        )?;
        let sent_scope = request
            .scope
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "(none: the app's scopes)".into());
        let app_scopes = app.scopes.to_string();
        let scopes = trace::check(
            "check_scopes",
            &[
                ("scope requested", &sent_scope),
                ("app's scopes", &app_scopes),
            ],
            check_scopes(
                &app,
                request.scope.as_ref(),
                request.grant_type != GrantType::ClientCredentials,
            ),
        )?;
        let ctx = GrantContext {
            app: &app,
            request: &request,
            scopes,
        };
        let deps = self.grant_deps();
        let grant_check = format!("grant {}", request.grant_type.as_str());
        let issue = trace::check(&grant_check, &[], grant.run(&deps, &ctx, params).await)?;
        if let Issue::Tokens(grantee) = &issue {
            trace::check(
                "check_dpop_binding",
                &[],
                self.check_grant_binding(&grantee.session, request.issue.dpop_jkt.as_deref())
                    .await,
            )?;
            // RFC 8707: the access token's aud (a token exchange reads
            // `resource` itself, as a resource server's client id).
            let requested = params.get("resource");
            let granted = grantee.resources.join(" ");
            request.issue.audience = trace::check(
                "check_resource",
                &[
                    ("resource sent", requested.unwrap_or("(none)")),
                    (
                        "granted",
                        if granted.is_empty() {
                            "(any of the app's)"
                        } else {
                            &granted
                        },
                    ),
                ],
                self.token_audience(&app, requested, &grantee.resources),
            )?;
        }
        let issued = match issue {
            Issue::Tokens(grantee) => self.issue(&deps, &app, &request.issue, grantee).await,
            Issue::Exchanged(exchanged) => {
                self.issue_exchanged(&deps, &app, &request.issue, *exchanged)
                    .await
            }
            Issue::Replay(response) => Ok(*response),
        };
        let mut response = trace::check("issue", &[], issued)?;
        if let Some(jkt) = &request.issue.dpop_jkt {
            self.bind_issued(&app, &mut response, jkt).await?;
        }
        Ok(Issued {
            response,
            deprecation,
        })
    }

    /// An app of the fapi2 profile authenticates with private_key_jwt only.
    pub(crate) fn check_profile_client_auth(
        &self,
        app: &App,
        auth: &ClientAuth,
    ) -> Result<(), OAuthError> {
        if !app.is_fapi2() {
            return Ok(());
        }
        let used = match auth {
            ClientAuth::Assertion { .. } => return Ok(()),
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::None { .. } | ClientAuth::Absent => "no client authentication",
        };
        Err(OAuthError::fapi2_client_auth(&app.client_id, used))
    }

    /// The DPoP key a token request proves, if any; refused when the app
    /// requires one and the request has none. Apps that require DPoP also
    /// require the server's nonce.
    async fn token_dpop_key(
        &self,
        app: &App,
        dpop: Option<&crate::dpop::Presented>,
    ) -> Result<Option<String>, OAuthError> {
        match dpop {
            Some(p) => Ok(Some(
                self.verify_dpop(p, None, app.requires_dpop()).await?.jkt,
            )),
            None if app.requires_dpop() => {
                let why = if app.is_fapi2() {
                    "FAPI 2.0 profile rule 'DPoP required': the app's profile is fapi2"
                } else {
                    "its require_dpop setting"
                };
                Err(OAuthError::dpop_required(&app.name, &app.client_id, why))
            }
            None => Ok(None),
        }
    }

    /// A code bound with `dpop_jkt`, or a refresh token bound to a key,
    /// is exchanged only with a proof of that key (RFC 9449 §5, §10).
    async fn check_grant_binding(
        &self,
        plan: &crate::grants::SessionPlan,
        jkt: Option<&str>,
    ) -> Result<(), OAuthError> {
        use crate::grants::SessionPlan;
        let (id, what) = match plan {
            SessionPlan::Open {
                code: Some(hash), ..
            } => (
                crate::dpop::code_binding_id(hash),
                "The authorization code (dpop_jkt at the authorization endpoint)",
            ),
            SessionPlan::Continue(c) => (
                crate::dpop::session_binding_id(&c.session.id),
                "The refresh token (a public client's, bound when first issued)",
            ),
            _ => return Ok(()),
        };
        match self.store.get_dpop_binding(&id).await? {
            Some(bound) if Some(bound.as_str()) != jkt => Err(OAuthError::dpop_key_mismatch(
                what,
                &bound,
                jkt.unwrap_or("(none: the request has no DPoP proof)"),
            )),
            _ => Ok(()),
        }
    }

    /// Tokens issued with a DPoP proof: `token_type` DPoP, and the bindings
    /// the tokens do not carry themselves: an opaque access token's, and a
    /// public client's refresh tokens (by session).
    async fn bind_issued(
        &self,
        app: &App,
        response: &mut TokenResponse,
        jkt: &str,
    ) -> Result<(), OAuthError> {
        let now = self.now();
        response.token_type = "DPoP".into();
        if !looks_like_jwt(&response.access_token) {
            self.store
                .put_dpop_binding(
                    &crate::dpop::access_binding_id(&response.access_token),
                    jkt,
                    now + response.expires_in as i64,
                )
                .await?;
        }
        if let (false, Some(_), Some(sid)) = (
            app.is_confidential(),
            &response.refresh_token,
            &response.session_id,
        ) {
            let ttl = response.refresh_token_expires_in.unwrap_or(0) as i64;
            self.store
                .put_dpop_binding(&crate::dpop::session_binding_id(sid), jkt, now + ttl)
                .await?;
        }
        Ok(())
    }

    /// What a grant may use (see [`GrantDeps`]).
    pub(crate) fn grant_deps(&self) -> GrantDeps<'_> {
        GrantDeps {
            store: &*self.store,
            now: self.now(),
            policy: &self.config.policy,
            audience: &self.config.audience,
            auth: self,
        }
    }

    /// Legacy grants: refused from their sunset on, flagged before it.
    pub fn check_legacy_policy(&self, grant: Grant) -> Result<Option<Deprecation>, OAuthError> {
        let (sunset, replacement) = match grant {
            Grant::Password => (
                self.config.policy.password_sunset,
                "the JWT flow (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer) for server-side apps, or the authorization code flow with PKCE for apps where the user signs in",
            ),
            Grant::Implicit => (
                self.config.policy.implicit_sunset,
                "the authorization code flow with PKCE (response_type=code, code_challenge_method=S256)",
            ),
            _ => return Ok(None),
        };
        if self.now() >= sunset {
            return Err(OAuthError::legacy_grant_retired(
                grant,
                &rfc3339(sunset)[..10],
                replacement,
            ));
        }
        Ok(Some(Deprecation { grant, sunset }))
    }

    /// Checks who the client is: known client id, right secret for
    /// confidential apps, nothing but the id for public ones. A value in a
    /// credential position is never echoed: an unknown client id is shown
    /// redacted, a wrong secret is described (an invisible character, the
    /// client id sent as the secret) but never shown.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<Arc<App>, OAuthError> {
        let how = match auth {
            ClientAuth::Basic { .. } => "client_secret_basic, secret [redacted]",
            ClientAuth::Post { .. } => "client_secret_post, secret [redacted]",
            _ => "client id only (no secret)",
        };
        let client_id = auth.client_id().unwrap_or("(none)");
        trace::client(client_id);
        let r = self.authenticate(auth).await;
        let kind = match &r {
            Ok(app) if app.secret_hash.is_some() => "confidential: a secret is required",
            Ok(_) => "public: no secret",
            Err(_) => "-",
        };
        trace::check(
            "authenticate_client",
            &[("client_id", client_id), ("sent", how), ("app", kind)],
            r,
        )
    }

    async fn authenticate(&self, auth: &ClientAuth) -> Result<Arc<App>, OAuthError> {
        let challenge = auth.used_basic().then_some(Challenge::Basic);
        let Some(client_id) = auth.client_id() else {
            return Err(OAuthError::client_auth_missing());
        };
        let secret = match auth {
            ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. } => Some(secret),
            _ => None,
        };
        let Some(app) = self.find_app(client_id).await? else {
            let hint = self.unknown_client_hint(client_id, secret).await?;
            return Err(OAuthError::client_unknown_hint(
                client_id,
                challenge,
                hint.as_deref(),
            ));
        };
        if let ClientAuth::Assertion { assertion, .. } = auth {
            self.verify_client_assertion(&app, assertion).await?;
            return Ok(app);
        }
        match (&app.secret_hash, secret) {
            (Some(hash), Some(s)) if !s.is_empty() => {
                if constant_time_eq(&sha256(s.expose().as_bytes()), hash) {
                    Ok(app)
                } else {
                    let hint = secret_hint(&app, s.expose(), hash);
                    Err(OAuthError::client_secret_wrong(
                        &app.client_id,
                        &app.name,
                        challenge,
                        hint.as_deref(),
                    ))
                }
            }
            (Some(_), _) => Err(OAuthError::secret_required(
                &app.client_id,
                &app.name,
                app.platform_type,
            )),
            // Public app: an empty secret (Basic "id:") or none at all.
            (None, Some(s)) if !s.is_empty() => Err(OAuthError::public_app_sent_secret(
                &app.client_id,
                &app.name,
                app.platform_type,
            )),
            (None, _) => Ok(app),
        }
    }

    /// What can be said of a client id no app has, without showing it: it
    /// carries an invisible character around a registered id, or the id
    /// and the secret were swapped (the secret position holds a registered
    /// client id).
    async fn unknown_client_hint(
        &self,
        sent: &str,
        secret: Option<&grantd_protocol::Secret>,
    ) -> Result<Option<String>, OAuthError> {
        let trimmed = grantd_protocol::hint::trimmed(sent);
        if trimmed != sent && !trimmed.is_empty() {
            if let Some(app) = self.find_app(trimmed).await? {
                return Ok(Some(format!(
                    "It {}; without it, it is the client id of app '{}' ({}). Remove the extra character (a newline often comes from echo without -n, or from a file read with its line ending).",
                    grantd_protocol::hint::invisible(sent).unwrap_or_default(),
                    app.name,
                    app.client_id
                )));
            }
        }
        if let Some(inner) = grantd_protocol::hint::unquoted(sent) {
            if let Some(app) = self.find_app(inner).await? {
                return Ok(Some(format!(
                    "It is in quotes; without them, it is the client id of app '{}' ({}). Send the client id without quotes.",
                    app.name, app.client_id
                )));
            }
        }
        if let Some(s) = secret.filter(|s| !s.is_empty() && s.expose().len() <= 128) {
            if let Some(app) = self.find_app(s.expose()).await? {
                return Ok(Some(format!(
                    "The value sent as the secret is the client id of app '{}' ({}): the client id and the secret are swapped. Send client_id:client_secret in that order (curl -u CLIENT_ID:CLIENT_SECRET), and rotate the secret (grantd app rotate-secret {}), since it was sent where ids are shown and logged.",
                    app.name, app.client_id, app.client_id
                )));
            }
        }
        Ok(None)
    }

    /// Issues tokens for a grantee: an access token; for a user, a pair in a
    /// new session, or the next pair of the session a refresh continues.
    /// Either is one unit of work in the store.
    pub(crate) async fn issue(
        &self,
        deps: &GrantDeps<'_>,
        app: &App,
        params: &IssueParams,
        grantee: Grantee,
    ) -> Result<TokenResponse, OAuthError> {
        let now = deps.now;
        let scope = grantee.scopes.to_string();
        let Some(user) = grantee.user else {
            let resource = ExchangeClaims::for_resource(params.audience.as_deref());
            let access = self.new_access_token(
                app,
                AccessSpec {
                    subject: &grantee.subject,
                    account_id: grantee.account_id.as_deref(),
                    scope: &scope,
                    session_id: None,
                    ttl: access_ttl(app, params.access_token_ttl),
                    format: app.access_token_format,
                    exchange: resource.as_ref(),
                    cnf_jkt: params.dpop_jkt.as_deref(),
                },
                now,
            );
            if let Some(record) = &access.record {
                self.store.insert_token(record).await?;
            }
            return Ok(TokenResponse {
                access_token: access.value,
                token_type: "bearer".into(),
                expires_in: access.ttl,
                refresh_token: None,
                refresh_token_expires_in: None,
                scope,
                owner_id: None,
                endpoint_id: params.endpoint_id.clone(),
                session_id: None,
                id_token: None,
                issued_token_type: None,
                session_expires_in: None,
                session_expiration_time: None,
                session_idle_timeout: None,
            });
        };
        let (credential_id, code, device_code) = match grantee.session {
            SessionPlan::Continue(continuation) => {
                return self
                    .rotate(deps, app, params, &scope, &user, *continuation)
                    .await;
            }
            SessionPlan::Open {
                credential_id,
                code,
            } => (credential_id, code, None),
            SessionPlan::Device { device_code } => (None, None, Some(device_code)),
            SessionPlan::None => (None, None, None),
        };
        let session = Session {
            id: crate::crypto::ordered_id(now, 22),
            user_id: user.id.clone(),
            client_id: app.client_id.clone(),
            account_id: user.account_id.clone(),
            scope: scope.clone(),
            created_at: now,
            ended_at: None,
            end_reason: None,
            credential_id,
            endpoint_id: Some(
                params
                    .endpoint_id
                    .clone()
                    .unwrap_or_else(|| crate::crypto::random_id(22)),
            ),
            sid: grantee.oidc.as_ref().and_then(|o| o.sid.clone()),
            resources: grantee.resources.clone(),
        };
        let pair = self.new_pair(app, &session, &scope, params, now);
        let new = NewSession {
            tokens: pair.stored_records(),
            session,
            code,
            device_code,
        };
        // One unit of work: the session, its first pair, the code's (or the
        // device code's) link to it, and the sessions the cap ends.
        match self
            .store
            .open_session(&new, &self.config.policy.session_cap(), now)
            .await?
        {
            SessionOpened::Opened { evicted } => {
                for id in evicted {
                    tracing::info!(session_id = %id, user_id = %user.id, client_id = %app.client_id, "session ended: too many sessions for this user and app");
                }
            }
            SessionOpened::CodeReplayed => {
                tracing::warn!(client_id = %app.client_id, "authorization code replayed during its exchange: nothing issued");
                return Err(OAuthError::code_replayed("the moment it was exchanged"));
            }
            SessionOpened::DeviceCodeUsed => {
                tracing::info!(client_id = %app.client_id, "device code used by another poll meanwhile: nothing issued");
                return Err(OAuthError::device_code_used());
            }
        }
        let session = new.session;
        tracing::info!(session_id = %session.id, user_id = %user.id, client_id = %app.client_id, "session opened");
        let mut response = pair.response(params, &session, &scope, &user);
        crate::session_policy::SessionPolicy::of(&*self.store, &session.account_id)
            .await?
            .describe(&mut response, &session, now);
        if let Some(oidc) = grantee.oidc.filter(|_| grantee.scopes.contains("openid")) {
            response.id_token = Some(self.id_token(
                app,
                &user,
                &grantee.scopes,
                &oidc,
                &response.access_token,
                now,
            ));
        }
        Ok(response)
    }

    /// Issues what a token exchange decided: one access token, never a
    /// refresh or ID token (RFC 8693 §2.2.1). A token of a user's session
    /// joins that session and ends with it; a user proved by an ID token or a
    /// JWT credential opens a session, as a sign-in does.
    async fn issue_exchanged(
        &self,
        deps: &GrantDeps<'_>,
        app: &App,
        params: &IssueParams,
        exchanged: Exchanged,
    ) -> Result<TokenResponse, OAuthError> {
        let now = deps.now;
        let scope = exchanged.scopes.to_string();
        let mut ttl = access_ttl(app, params.access_token_ttl);
        // Never longer than the tokens it came from.
        if let Some(end) = exchanged.not_after {
            ttl = ttl.min(end.saturating_sub(now).max(1) as u64);
        }
        let format = match exchanged.token_type {
            IssuedTokenType::Jwt => AccessTokenFormat::Jwt,
            IssuedTokenType::AccessToken => app.access_token_format,
        };
        let (session_id, opened) = match exchanged.session {
            ExchangeSession::None => (None, None),
            ExchangeSession::Join(id) => (Some(id), None),
            ExchangeSession::Open {
                user,
                credential_id,
            } => {
                let session = Session {
                    id: crate::crypto::ordered_id(now, 22),
                    user_id: user.id,
                    client_id: app.client_id.clone(),
                    account_id: user.account_id,
                    scope: scope.clone(),
                    created_at: now,
                    ended_at: None,
                    end_reason: None,
                    credential_id,
                    endpoint_id: params.endpoint_id.clone(),
                    sid: None,
                    resources: Vec::new(),
                };
                (Some(session.id.clone()), Some(session))
            }
        };
        let claims = ExchangeClaims {
            audience: exchanged.audience,
            act: exchanged.act,
        };
        let access = self.new_access_token(
            app,
            AccessSpec {
                subject: &exchanged.subject,
                account_id: exchanged.account_id.as_deref(),
                scope: &scope,
                session_id: session_id.as_deref(),
                ttl,
                format,
                exchange: Some(&claims),
                cnf_jkt: None,
            },
            now,
        );
        match opened {
            Some(session) => {
                let new = NewSession {
                    tokens: access.record.iter().cloned().collect(),
                    session,
                    code: None,
                    device_code: None,
                };
                match self
                    .store
                    .open_session(&new, &self.config.policy.session_cap(), now)
                    .await?
                {
                    SessionOpened::Opened { evicted } => {
                        for id in evicted {
                            tracing::info!(session_id = %id, user_id = %new.session.user_id, client_id = %app.client_id, "session ended: too many sessions for this user and app");
                        }
                    }
                    // Only a code or device exchange can be replayed; none is linked here.
                    SessionOpened::CodeReplayed | SessionOpened::DeviceCodeUsed => {
                        return Err(OAuthError::server_error())
                    }
                }
                tracing::info!(session_id = %new.session.id, user_id = %new.session.user_id, client_id = %app.client_id, "session opened by token exchange");
            }
            None => {
                if let Some(record) = &access.record {
                    self.store.insert_token(record).await?;
                }
            }
        }
        tracing::info!(
            client_id = %app.client_id,
            sub = %exchanged.subject,
            actor = claims.act.as_ref().map(|a| a.sub.as_str()).unwrap_or("-"),
            audience = claims.audience.as_deref().unwrap_or("-"),
            jti = %access.jti,
            "token exchanged"
        );
        Ok(TokenResponse {
            access_token: access.value,
            token_type: "bearer".into(),
            expires_in: access.ttl,
            refresh_token: None,
            refresh_token_expires_in: None,
            scope,
            owner_id: None,
            endpoint_id: params.endpoint_id.clone(),
            session_id: None,
            id_token: None,
            issued_token_type: Some(exchanged.token_type.uri().into()),
            session_expires_in: None,
            session_expiration_time: None,
            session_idle_timeout: None,
        })
    }

    /// The next pair of a session: the refresh token presented is exchanged
    /// for it in one unit of work (the old access token revoked with it).
    async fn rotate(
        &self,
        deps: &GrantDeps<'_>,
        app: &App,
        params: &IssueParams,
        scope: &str,
        user: &crate::model::User,
        continuation: Continuation,
    ) -> Result<TokenResponse, OAuthError> {
        let now = deps.now;
        let Continuation {
            session,
            old,
            presented,
        } = continuation;
        let pair = self.new_pair(app, &session, scope, params, now);
        let mut response = pair.response(params, &session, scope, user);
        crate::session_policy::SessionPolicy::of(&*self.store, &session.account_id)
            .await?
            .describe(&mut response, &session, now);
        let answer = serde_json::to_vec(&response).map_err(|_| OAuthError::server_error())?;
        let rotation = Rotation {
            old_hash: old.hash,
            next: match &pair.refresh {
                Some((_, r)) => r.clone(),
                // The client declined a new refresh token (refresh_token_ttl=0):
                // the session continues until its access token expires.
                None => tombstone(&old, now),
            },
            access: pair.access.record.clone(),
            replay: seal_with_token(presented.expose(), &answer),
            revoke_jti: old.pair_access_id.clone().zip(old.pair_access_expires_at),
        };
        match self.store.rotate_refresh(&rotation, now).await? {
            RotateOutcome::Rotated => {
                tracing::info!(session_id = %session.id, client_id = %app.client_id, "refresh token rotated");
                Ok(response)
            }
            // A concurrent refresh won: its answer, or reuse.
            RotateOutcome::AlreadyRotated(stored) => {
                refresh_token::replay_or_reuse(
                    deps,
                    &stored,
                    &session,
                    &presented,
                    app.is_confidential(),
                    app.is_fapi2(),
                )
                .await
            }
            // A revocation won the race: the session is over.
            RotateOutcome::Ended => match self.store.get_session(&session.id).await? {
                Some(s) if s.ended_at.is_some() => Err(refresh_token::ended(&s)),
                _ => Err(OAuthError::session_ended(&session.id, "revoked")),
            },
            RotateOutcome::Unknown => Err(OAuthError::refresh_unknown()),
        }
    }

    /// RFC 7662. A client may introspect the tokens issued to it, and a
    /// resource server (an app marked `resource_server`) any token meant for
    /// grantd's API or for itself; anything else (unknown, expired, revoked,
    /// another app's, an ID token or JWT credential) is `{"active": false}`.
    pub async fn introspect(&self, caller: &App, token: &str) -> Result<Introspection, OAuthError> {
        let Ok(t) = self.verify_own_token(token).await? else {
            return Ok(Introspection::default());
        };
        let cnf = match t.kind {
            OwnKind::JwtAccess | OwnKind::OpaqueAccess => self
                .access_token_binding(token)
                .await?
                .map(|jkt| Confirmation { jkt }),
            _ => None,
        };
        let token_type = match t.kind {
            OwnKind::JwtAccess | OwnKind::OpaqueAccess if cnf.is_some() => "DPoP",
            OwnKind::JwtAccess | OwnKind::OpaqueAccess => "Bearer",
            OwnKind::Refresh => "refresh_token",
            OwnKind::IdToken | OwnKind::Credential => return Ok(Introspection::default()),
        };
        let Some(client_id) = t.client_id else {
            return Ok(Introspection::default());
        };
        // A token exchanged for one resource server is that one's to see;
        // one restricted to a resource (RFC 8707), the resource server's
        // that lists it in its resource_uris.
        let for_caller = t.audience == self.config.audience
            || t.audience == caller.client_id
            || caller.links.resource_uris.contains(&t.audience);
        if client_id != caller.client_id && !(caller.resource_server && for_caller) {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: t.scope,
            client_id: Some(client_id),
            token_type: Some(token_type.into()),
            exp: t.expires_at,
            iat: Some(t.issued_at),
            sub: Some(t.subject),
            aud: Some(t.audience),
            iss: Some(self.config.issuer.clone()),
            jti: Some(t.id),
            account_id: t.account_id,
            session_id: t.session_id,
            act: t.act,
            cnf,
        })
    }

    /// RFC 7009. Revoking any token of a session ends the whole session.
    /// Unknown tokens and other apps' tokens are ignored (the answer is the
    /// same, so revocation cannot be used to probe for tokens).
    pub async fn revoke(&self, caller: &App, token: &str) -> Result<(), OAuthError> {
        let now = self.now();
        if looks_like_jwt(token) {
            // An expired access token still names its session: logging out with it must end the session.
            if let Ok(claims) =
                self.keys
                    .verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, now, i64::MAX)
            {
                if claims.client_id == caller.client_id {
                    self.store.revoke_jti(&claims.jti, claims.exp, now).await?;
                    tracing::info!(client_id = %caller.client_id, jti = %claims.jti, "access token revoked");
                    if let Some(sid) = &claims.session_id {
                        self.end_session_of(caller, sid).await?;
                    }
                }
            }
            return Ok(());
        }
        let hash = sha256(token.as_bytes());
        if let Some(record) = self.store.get_token(&hash).await? {
            if record.client_id == caller.client_id {
                if self.store.revoke_token(&hash, now).await? {
                    tracing::info!(client_id = %caller.client_id, jti = %record.id, kind = record.kind.as_str(), "token revoked");
                }
                if let Some(sid) = &record.session_id {
                    self.end_session_of(caller, sid).await?;
                }
            }
        }
        Ok(())
    }

    /// Revocation ends the caller's own session. A token exchanged from
    /// another app's session belongs to that session but is not the
    /// caller's to end: revoking it revokes that token alone.
    async fn end_session_of(&self, caller: &App, session_id: &str) -> Result<(), OAuthError> {
        match self.store.get_session(session_id).await? {
            Some(s) if s.client_id != caller.client_id => Ok(()),
            _ => self.end_session(session_id, "revoked").await.map(|_| ()),
        }
    }

    /// Makes an access token (signed, or opaque with the record to store).
    pub(crate) fn new_access_token(
        &self,
        app: &App,
        spec: AccessSpec<'_>,
        now: UnixTime,
    ) -> AccessToken {
        let jti = random_id(22);
        let ttl = spec.ttl;
        let exp = now + ttl as i64;
        let exchange = spec
            .exchange
            .filter(|x| x.audience.is_some() || x.act.is_some())
            .cloned();
        match spec.format {
            AccessTokenFormat::Jwt => AccessToken {
                value: self.keys.sign(
                    ACCESS_TOKEN_TYP,
                    &AccessClaims {
                        iss: self.config.issuer.clone(),
                        sub: spec.subject.to_string(),
                        aud: exchange
                            .as_ref()
                            .and_then(|x| x.audience.clone())
                            .unwrap_or_else(|| self.config.audience.clone()),
                        client_id: app.client_id.clone(),
                        scope: spec.scope.to_string(),
                        exp,
                        iat: now,
                        jti: jti.clone(),
                        account_id: spec.account_id.map(str::to_string),
                        session_id: spec.session_id.map(str::to_string),
                        act: exchange.and_then(|x| x.act),
                        cnf: spec.cnf_jkt.map(|j| Confirmation { jkt: j.to_string() }),
                    },
                ),
                jti,
                ttl,
                exp,
                record: None,
            },
            AccessTokenFormat::Opaque => {
                let value = random_token();
                let record = TokenRecord {
                    hash: sha256(value.as_bytes()),
                    kind: TokenKind::Access,
                    id: jti.clone(),
                    client_id: app.client_id.clone(),
                    subject: spec.subject.to_string(),
                    account_id: spec.account_id.map(str::to_string),
                    session_id: spec.session_id.map(str::to_string),
                    scope: spec.scope.to_string(),
                    issued_at: now,
                    expires_at: exp,
                    revoked_at: None,
                    rotated_at: None,
                    replay: None,
                    pair_access_id: None,
                    pair_access_expires_at: None,
                    exchange,
                };
                AccessToken {
                    value,
                    jti,
                    ttl,
                    exp,
                    record: Some(record),
                }
            }
        }
    }
}

/// What an access token says, besides the app it is issued to.
pub(crate) struct AccessSpec<'a> {
    /// `sub`: a user id, or a client id.
    pub subject: &'a str,
    pub account_id: Option<&'a str>,
    pub scope: &'a str,
    pub session_id: Option<&'a str>,
    pub ttl: u64,
    pub format: AccessTokenFormat,
    /// The DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6).
    pub cnf_jkt: Option<&'a str>,
    /// The audience and actor a token exchange set.
    pub exchange: Option<&'a ExchangeClaims>,
}

/// A freshly made access token.
pub(crate) struct AccessToken {
    pub value: String,
    pub jti: String,
    pub ttl: u64,
    pub exp: UnixTime,
    /// For opaque tokens: what to store.
    pub record: Option<TokenRecord>,
}

/// Why a secret that does not match may still be nearly right, in words
/// that never show it: an invisible character around the right secret, or
/// the client id where the secret belongs.
fn secret_hint(app: &App, sent: &str, hash: &[u8]) -> Option<String> {
    use grantd_protocol::hint;
    let trimmed = hint::trimmed(sent);
    if trimmed != sent && constant_time_eq(&sha256(trimmed.as_bytes()), hash) {
        return Some(format!(
            "the secret sent {}, and without it the secret is right. Remove it (echo adds a newline unless given -n; a file read with its line ending keeps one).",
            hint::invisible(sent).unwrap_or_default()
        ));
    }
    if hint::unquoted(sent).is_some_and(|inner| constant_time_eq(&sha256(inner.as_bytes()), hash)) {
        return Some(
            "the secret sent is in quotes, and without them the secret is right. Send it without the quotes (they often come from copying a JSON value or a quoted shell line).".to_string(),
        );
    }
    if sent == app.client_id {
        return Some(format!(
            "the client id was sent as the secret. Send the app's client secret after the colon (client_id:client_secret), or rotate it (grantd app rotate-secret {}) if it is lost.",
            app.client_id
        ));
    }
    if let Some(how) = hint::invisible(sent) {
        return Some(format!(
            "the secret sent {how}, which a generated secret never does, and it does not match even without it. Use the secret shown when the app was created or last rotated, or rotate it with grantd app rotate-secret {}.",
            app.client_id
        ));
    }
    None
}

pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Step 3: the app is enabled for the grant (the seed's first cause).
pub(crate) fn check_grant_enabled(app: &App, grant: Grant) -> Result<(), OAuthError> {
    if grant == Grant::RefreshToken && !(app.has_grant(grant) && app.issue_refresh_tokens) {
        return Err(OAuthError::refresh_not_issued(
            &app.name,
            &app.client_id,
            (!app.has_grant(grant)).then_some(app.grants.as_slice()),
        ));
    }
    if app.has_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::grant_not_enabled(
            &app.name,
            &app.client_id,
            app.platform_type,
            grant,
            &app.grants,
        ))
    }
}

/// Step 4: the scopes asked are the app's; none asked means all of them.
/// OpenID Connect scopes, which every app with users may ask for.
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email"];

pub(crate) fn check_scopes(
    app: &App,
    asked: Option<&Scopes>,
    with_user: bool,
) -> Result<Scopes, OAuthError> {
    match asked {
        None => Ok(app.scopes.clone()),
        Some(asked) => {
            let missing: Vec<&str> = asked
                .missing_from(&app.scopes)
                .into_iter()
                .filter(|s| !(with_user && OIDC_SCOPES.contains(s)))
                .collect();
            if missing.is_empty() {
                Ok(asked.clone())
            } else {
                Err(OAuthError::scope_not_permitted(
                    &app.name,
                    &missing,
                    app.scopes.as_slice(),
                ))
            }
        }
    }
}

/// The access token lifetime: the app's; a client's `access_token_ttl` is
/// clamped to 600–3600 s (as RingCentral does) and to the app's own.
pub(crate) fn access_ttl(app: &App, asked: Option<u64>) -> u64 {
    let own = app.access_token_ttl;
    match asked {
        Some(t) => t.clamp(own.min(600), own.min(3600)),
        None => own,
    }
}
