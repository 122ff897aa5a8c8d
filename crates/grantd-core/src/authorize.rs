//! The authorization endpoint's rules (RFC 6749 §4.1–4.2, RFC 7636, RFC 9700,
//! OIDC Core §3.1.2): which errors may be redirected, redirect-URI matching,
//! PKCE, prompt, consent, codes; and the browser sign-in sessions behind it.

use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::grants::{Grantee, SessionPlan};
use crate::model::{App, AuthCode, BrowserSession, Consent, Distribution, User, UserStatus};
use crate::tokens::check_scopes;
use crate::trace;
use crate::Grantd;
use grantd_protocol::authorize::{check_challenge, AuthorizeRequest, PkceMethod, ResponseType};
use grantd_protocol::{Grant, IssueParams, OAuthError, Params, Scopes};
use std::sync::Arc;

/// Authorization codes live this long.
pub const CODE_TTL: i64 = 60;
/// A browser stays signed in this long.
pub const BROWSER_SESSION_TTL: i64 = 12 * 3600;

/// A validated authorization request: the app and redirect URI are known.
#[derive(Debug, Clone)]
pub struct AuthorizeContext {
    pub app: Arc<App>,
    pub request: AuthorizeRequest,
    pub response_type: ResponseType,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub pkce: Option<(String, PkceMethod)>,
    /// The browser sign-in (OIDC `sid`) the request runs under, set by the
    /// edge from the sign-in cookie; recorded on the code.
    pub sid: Option<String>,
    /// The resources (RFC 8707) the request named, checked against the app.
    pub resources: Vec<String>,
}

/// A rejection at the authorization endpoint.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Before the app and redirect URI are trusted: shown, never redirected
    /// (no open redirects).
    Page(OAuthError),
    /// Sent back to the app: the URL to redirect to, and the error for logs.
    Redirect(String, OAuthError),
}

impl From<OAuthError> for AuthorizeError {
    fn from(e: OAuthError) -> Self {
        AuthorizeError::Page(e)
    }
}

/// What the browser sees next.
#[derive(Debug)]
pub enum Next {
    SignIn(Box<AuthorizeContext>),
    Consent(Box<AuthorizeContext>, User),
    Redirect(String),
}

/// Appends parameters to a redirect URI's query, or puts them in the fragment.
pub fn redirect_with(uri: &str, params: &[(&str, &str)], fragment: bool) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let encoded = ser.finish();
    if fragment {
        format!("{uri}#{encoded}")
    } else if uri.contains('?') {
        format!("{uri}&{encoded}")
    } else {
        format!("{uri}?{encoded}")
    }
}

/// Seconds a sign-in counts as fresh for `prompt=login` at the consent step.
pub const PROMPT_LOGIN_WINDOW: i64 = 300;

impl Grantd {
    /// The response types this server answers now.
    pub fn response_types_supported(&self) -> Vec<&'static str> {
        let mut v = vec!["code"];
        if self.check_legacy_policy(Grant::Implicit).is_ok() {
            v.push("token");
        }
        v
    }

    fn error_redirect(
        &self,
        ctx_uri: &str,
        state: Option<&str>,
        fragment: bool,
        e: OAuthError,
    ) -> AuthorizeError {
        trace::rejected("authorize_request", &e);
        let entry = e.entry();
        let error_uri = format!("{}/docs/errors/{}", self.config.issuer, entry.code);
        let mut params: Vec<(&str, &str)> = vec![
            ("error", entry.error.as_str()),
            ("error_description", &e.description),
            ("error_uri", &error_uri),
        ];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", &self.config.issuer));
        AuthorizeError::Redirect(redirect_with(ctx_uri, &params, fragment), e)
    }

    /// Validates an authorization request: client and redirect URI first
    /// (errors shown as a page), then the rest (errors redirected).
    pub async fn authorize_context(
        &self,
        params: &Params,
    ) -> Result<AuthorizeContext, AuthorizeError> {
        let (params, origin) = self.resolve_pushed(params).await?;
        let mut ctx = self.authorize_checked(&params, origin).await?;
        if origin.pushed || origin.signed {
            ctx.request.pushed = Some(self.seal_pushed(&ctx.request, origin));
        }
        Ok(ctx)
    }

    /// The checks of an authorization request whose parameters are known;
    /// `origin`: whether they came through PAR, from a signed request object.
    pub(crate) async fn authorize_checked(
        &self,
        params: &Params,
        origin: crate::request_object::Origin,
    ) -> Result<AuthorizeContext, AuthorizeError> {
        let pushed = origin.pushed;
        let request = AuthorizeRequest {
            pushed: None,
            ..AuthorizeRequest::read(params, &self.token_endpoint())?
        };
        let client_id = request.client_id.clone().ok_or_else(|| {
            OAuthError::missing_query_parameter("client_id", "at the authorization endpoint")
        })?;
        trace::client(&client_id);
        if let Some(rt) = request.response_type.as_deref() {
            trace::grant(rt);
        }
        let found = match self.find_app(&client_id).await? {
            Some(app) => Ok(app),
            None => {
                let trimmed = grantd_protocol::hint::trimmed(&client_id);
                let hint = match self.find_app(trimmed).await? {
                    Some(app) if trimmed != client_id => Some(format!(
                        "It {}; without it, it is the client id of app '{}' ({}). Remove the extra character.",
                        grantd_protocol::hint::invisible(&client_id).unwrap_or_default(),
                        app.name,
                        app.client_id
                    )),
                    _ => None,
                };
                Err(OAuthError::client_unknown_hint(
                    &client_id,
                    None,
                    hint.as_deref(),
                ))
            }
        };
        let shown_client_id = grantd_protocol::error::echo(&client_id, 60);
        let app = trace::check("find_client", &[("client_id", &shown_client_id)], found)?;
        // An app that can never use this endpoint is told so first, and
        // alone: registering a redirect URI would not help it.
        let platform = if app.platform_type.allows(Grant::AuthorizationCode) {
            Ok(())
        } else {
            Err(OAuthError::authorize_not_for_platform(
                &app.name,
                &app.client_id,
                app.platform_type,
                &app.grants,
            ))
        };
        trace::check(
            "check_platform_type",
            &[("platform_type", app.platform_type.as_str())],
            platform,
        )?;
        let par = if app.requires_par() && !pushed {
            let why = if app.is_fapi2() {
                "FAPI 2.0 profile rule 'PAR required': the app's profile is fapi2"
            } else {
                "its require_par setting"
            };
            Err(OAuthError::par_required(&app.name, &app.client_id, why))
        } else {
            Ok(())
        };
        trace::check(
            "check_pushed_request",
            &[("pushed", if pushed { "yes" } else { "no" })],
            par,
        )?;
        let signed = if app.requires_signed_request_object() && !origin.signed {
            Err(OAuthError::request_object_required(
                &app.name,
                &app.client_id,
            ))
        } else {
            Ok(())
        };
        trace::check(
            "check_request_object",
            &[(
                "signed request object",
                if origin.signed { "yes" } else { "no" },
            )],
            signed,
        )?;
        let registered: Vec<String> = app.redirect_uris.iter().map(|u| u.to_string()).collect();
        let sent_uri = request.redirect_uri.as_deref().unwrap_or("(none)");
        let registered_list = registered.join(" ");
        let checked = if registered.is_empty() {
            // Everything else that stands in the way, named at once.
            let grant_missing = !app.has_grant(Grant::AuthorizationCode);
            Err(OAuthError::no_redirect_uri_registered_and(
                &app.name,
                &app.client_id,
                grant_missing.then_some(app.grants.as_slice()),
            ))
        } else {
            match &request.redirect_uri {
                Some(sent) if !app.redirect_uris.iter().any(|r| r.matches(sent)) => {
                    let near = grantd_protocol::hint::near_miss(sent, registered.iter());
                    Err(OAuthError::redirect_uri_not_registered_hint(
                        sent,
                        &registered,
                        near.map(|(k, m)| (k, m.describe())),
                    ))
                }
                Some(sent) => Ok(sent.clone()),
                None if registered.len() == 1 => Ok(registered[0].clone()),
                None => Err(OAuthError::redirect_uri_required(&registered)),
            }
        };
        let redirect_uri = trace::check(
            "check_redirect_uri",
            &[
                ("redirect_uri sent", sent_uri),
                ("registered redirect URIs", &registered_list),
            ],
            checked,
        )?;
        // From here on, errors go back to the app.
        let state = request.state.clone();
        let implicit = request.response_type.as_deref() == Some("token");
        let fail =
            |e: OAuthError| self.error_redirect(&redirect_uri, state.as_deref(), implicit, e);
        if app.is_fapi2() && request.response_type.as_deref() == Some("token") {
            return Err(fail(OAuthError::fapi2_grant_refused(
                "response_type=token (the implicit flow)",
            )));
        }
        crate::par::check_dpop_jkt(&request).map_err(&fail)?;
        let response_type = match request.response_type.as_deref() {
            Some("code") => ResponseType::Code,
            Some("token") => ResponseType::Token,
            None => {
                return Err(fail(OAuthError::missing_query_parameter(
                    "response_type",
                    "at the authorization endpoint (use response_type=code)",
                )))
            }
            other => {
                return Err(fail(OAuthError::unsupported_response_type(
                    other,
                    &self.response_types_supported(),
                )))
            }
        };
        match response_type {
            ResponseType::Code if !app.has_grant(Grant::AuthorizationCode) => {
                return Err(fail(OAuthError::response_type_not_allowed(
                    &app.name,
                    app.platform_type,
                    "code",
                    &format!(
                        "the app is not enabled for the authorization_code grant (its grants: {}).",
                        grantd_protocol::grant::join(&app.grants)
                    ),
                )))
            }
            ResponseType::Token => {
                if self.check_legacy_policy(Grant::Implicit).is_err() {
                    let sunset = crate::crypto::rfc3339(self.config.policy.implicit_sunset);
                    return Err(fail(OAuthError::response_type_not_allowed(
                        &app.name,
                        app.platform_type,
                        "token",
                        &format!(
                            "the implicit flow [IMPLICIT] was retired on {} by this server's policy (legacy.implicit), following RFC 9700. Use the authorization code flow with PKCE instead (response_type=code, code_challenge_method=S256).",
                            &sunset[..10]
                        ),
                    )));
                }
                if !app.has_grant(Grant::Implicit) {
                    return Err(fail(OAuthError::response_type_not_allowed(
                        &app.name,
                        app.platform_type,
                        "token",
                        "the implicit flow [IMPLICIT] is legacy and enabled only for browser apps that turn it on. Use the authorization code flow with PKCE instead (response_type=code, code_challenge_method=S256).",
                    )));
                }
            }
            ResponseType::Code => {}
        }
        let asked = request.scopes().map_err(&fail)?;
        let scopes = check_scopes(&app, asked.as_ref(), true).map_err(&fail)?;
        let resources = self
            .check_resources(&app, &request.resources())
            .map_err(&fail)?;
        if app.is_fapi2()
            && (request.code_challenge.is_none()
                || request.code_challenge_method.as_deref() != Some("S256"))
        {
            return Err(fail(OAuthError::fapi2_pkce_s256(
                request.code_challenge.as_ref().map(|_| {
                    request
                        .code_challenge_method
                        .as_deref()
                        .unwrap_or("(none: plain)")
                }),
            )));
        }
        let pkce = match (&request.code_challenge, response_type) {
            (Some(ch), ResponseType::Code) => {
                let method = match request.code_challenge_method.as_deref() {
                    Some("S256") => PkceMethod::S256,
                    Some("plain") | None if app.allow_plain_pkce => PkceMethod::Plain,
                    other => return Err(fail(OAuthError::pkce_method_refused(other))),
                };
                check_challenge(ch, method).map_err(&fail)?;
                Some((ch.clone(), method))
            }
            (None, ResponseType::Code) if !app.is_confidential() => {
                return Err(fail(OAuthError::pkce_required(
                    &app.name,
                    app.platform_type,
                )))
            }
            _ => None,
        };
        Ok(AuthorizeContext {
            app,
            request,
            response_type,
            redirect_uri,
            scopes,
            pkce,
            sid: None,
            resources,
        })
    }

    /// Decides the next step for a validated request and the browser's user.
    pub async fn authorize_next(
        &self,
        ctx: AuthorizeContext,
        signed_in: Option<(User, UnixTime)>,
        fresh_login: bool,
    ) -> Result<Next, AuthorizeError> {
        let fragment = ctx.response_type == ResponseType::Token;
        let fail = |e: OAuthError| {
            self.error_redirect(&ctx.redirect_uri, ctx.request.state.as_deref(), fragment, e)
        };
        // OIDC max_age: a sign-in older than that must be repeated.
        let now = self.now();
        let recent = |auth_time: UnixTime| match ctx.request.max_age {
            Some(max) => now - auth_time <= i64::try_from(max).unwrap_or(i64::MAX),
            None => true,
        };
        let Some((user, auth_time)) =
            signed_in.filter(|(_, t)| fresh_login || (!ctx.request.prompt.login && recent(*t)))
        else {
            if ctx.request.prompt.none {
                return Err(fail(OAuthError::login_required()));
            }
            return Ok(Next::SignIn(Box::new(ctx)));
        };
        if ctx.app.distribution == Distribution::Private && user.account_id != ctx.app.account_id {
            return Err(fail(OAuthError::account_not_allowed(&ctx.app.name)));
        }
        let consent = self
            .store
            .get_consent(&user.id, &ctx.app.client_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let covered = consent.is_some_and(|c| {
            Scopes::parse(&c.scope)
                .is_ok_and(|granted| ctx.scopes.missing_from(&granted).is_empty())
        });
        if !covered || ctx.request.prompt.consent {
            if ctx.request.prompt.none {
                return Err(fail(OAuthError::consent_required(&ctx.scopes.to_string())));
            }
            return Ok(Next::Consent(Box::new(ctx), user));
        }
        self.authorize_grant(&ctx, &user, auth_time)
            .await
            .map(Next::Redirect)
    }

    /// Whether a sign-in at `auth_time` is too old for this request, at the
    /// consent step: older than `max_age`, or, with `prompt=login`, older
    /// than the few minutes a fresh sign-in for this request can be (the
    /// consent form may be posted without passing the sign-in page).
    pub fn sign_in_too_old(&self, ctx: &AuthorizeContext, auth_time: UnixTime) -> bool {
        let age = self.now() - auth_time;
        let over_max_age = ctx
            .request
            .max_age
            .is_some_and(|max| age > i64::try_from(max).unwrap_or(i64::MAX));
        over_max_age || (ctx.request.prompt.login && age > PROMPT_LOGIN_WINDOW)
    }

    /// The user consented: remember it and answer the app.
    pub async fn authorize_consent(
        &self,
        ctx: &AuthorizeContext,
        user: &User,
        auth_time: UnixTime,
    ) -> Result<String, AuthorizeError> {
        let fragment = ctx.response_type == ResponseType::Token;
        if ctx.app.distribution == Distribution::Private && user.account_id != ctx.app.account_id {
            return Err(self.error_redirect(
                &ctx.redirect_uri,
                ctx.request.state.as_deref(),
                fragment,
                OAuthError::account_not_allowed(&ctx.app.name),
            ));
        }
        self.store
            .put_consent(&Consent {
                user_id: user.id.clone(),
                client_id: ctx.app.client_id.clone(),
                scope: ctx.scopes.to_string(),
                granted_at: self.now(),
            })
            .await
            .map_err(|e| AuthorizeError::Page(e.into()))?;
        tracing::info!(user_id = %user.id, client_id = %ctx.app.client_id, scope = %ctx.scopes, "consent granted");
        self.audit(
            crate::audit::kind::CONSENT_GRANTED,
            &user.id,
            &ctx.app.client_id,
            "",
            serde_json::json!({"scope": ctx.scopes.to_string()}),
        )
        .await;
        self.authorize_grant(ctx, user, auth_time).await
    }

    /// The user declined.
    pub fn authorize_deny(&self, ctx: &AuthorizeContext) -> String {
        let fragment = ctx.response_type == ResponseType::Token;
        match self.error_redirect(
            &ctx.redirect_uri,
            ctx.request.state.as_deref(),
            fragment,
            OAuthError::access_denied_by_user(&ctx.app.name),
        ) {
            AuthorizeError::Redirect(url, _) => url,
            AuthorizeError::Page(_) => ctx.redirect_uri.clone(),
        }
    }

    /// Issues the code (or, for implicit, the access token) and builds the redirect.
    async fn authorize_grant(
        &self,
        ctx: &AuthorizeContext,
        user: &User,
        auth_time: UnixTime,
    ) -> Result<String, AuthorizeError> {
        let now = self.now();
        let state = ctx.request.state.as_deref();
        match ctx.response_type {
            ResponseType::Code => {
                let code = random_token();
                let hash = sha256(code.as_bytes());
                // The binding first: a code is never handed out unbound.
                if let Some(jkt) = &ctx.request.dpop_jkt {
                    self.store
                        .put_dpop_binding(&crate::dpop::code_binding_id(&hash), jkt, now + CODE_TTL)
                        .await
                        .map_err(|e| AuthorizeError::Page(e.into()))?;
                }
                self.store
                    .insert_code(&AuthCode {
                        hash,
                        client_id: ctx.app.client_id.clone(),
                        user_id: user.id.clone(),
                        account_id: user.account_id.clone(),
                        redirect_uri: ctx.redirect_uri.clone(),
                        redirect_uri_sent: ctx.request.redirect_uri.is_some(),
                        scope: ctx.scopes.to_string(),
                        nonce: ctx.request.nonce.clone(),
                        code_challenge: ctx.pkce.as_ref().map(|(c, _)| c.clone()),
                        code_challenge_method: ctx
                            .pkce
                            .as_ref()
                            .map(|(_, m)| m.as_str().to_string()),
                        auth_time,
                        created_at: now,
                        expires_at: now + CODE_TTL,
                        used_at: None,
                        session_id: None,
                        sid: ctx.sid.clone(),
                        resources: ctx.resources.clone(),
                    })
                    .await
                    .map_err(|e| AuthorizeError::Page(e.into()))?;
                let ttl = CODE_TTL.to_string();
                let mut p: Vec<(&str, &str)> = vec![("code", &code)];
                if let Some(s) = state {
                    p.push(("state", s));
                }
                p.push(("expires_in", &ttl));
                p.push(("iss", &self.config.issuer));
                Ok(redirect_with(&ctx.redirect_uri, &p, false))
            }
            ResponseType::Token => {
                let deprecation = self.check_legacy_policy(Grant::Implicit);
                tracing::info!(client_id = %ctx.app.client_id, deprecated = deprecation.is_ok(), "implicit flow used");
                let params = IssueParams {
                    access_token_ttl: None,
                    // RFC 6749 §4.2.2: never a refresh token in a fragment.
                    refresh_token_ttl: Some(0),
                    endpoint_id: None,
                    dpop_jkt: None,
                    audience: self
                        .token_audience(&ctx.app, None, &ctx.resources)
                        .map_err(AuthorizeError::Page)?,
                };
                let grantee = Grantee {
                    subject: user.id.clone(),
                    account_id: Some(user.account_id.clone()),
                    scopes: ctx.scopes.clone(),
                    user: Some(user.clone()),
                    oidc: None,
                    session: SessionPlan::Open {
                        credential_id: None,
                        code: None,
                    },
                    resources: ctx.resources.clone(),
                };
                let r = self
                    .issue(&self.grant_deps(), &ctx.app, &params, grantee)
                    .await
                    .map_err(AuthorizeError::Page)?;
                let expires = r.expires_in.to_string();
                let mut p: Vec<(&str, &str)> = vec![
                    ("access_token", &r.access_token),
                    ("token_type", &r.token_type),
                    ("expires_in", &expires),
                    ("scope", &r.scope),
                ];
                if let Some(o) = &r.owner_id {
                    p.push(("owner_id", o));
                }
                // No id_token: OIDC defines it for response_type=id_token token, not token.
                if let Some(s) = state {
                    p.push(("state", s));
                }
                p.push(("iss", &self.config.issuer));
                Ok(redirect_with(&ctx.redirect_uri, &p, true))
            }
        }
    }

    /// Signs a browser in; returns the cookie value.
    pub async fn open_browser_session(&self, user: &User) -> Result<String, OAuthError> {
        let now = self.now();
        let value = random_token();
        self.store
            .insert_browser_session(&BrowserSession {
                hash: sha256(value.as_bytes()),
                user_id: user.id.clone(),
                auth_time: now,
                created_at: now,
                expires_at: now + BROWSER_SESSION_TTL,
            })
            .await?;
        Ok(value)
    }

    /// The user a browser cookie stands for, and when they signed in.
    pub async fn browser_user(
        &self,
        cookie: Option<&str>,
    ) -> Result<Option<(User, UnixTime)>, OAuthError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let Some(s) = self
            .store
            .get_browser_session(&sha256(cookie.as_bytes()))
            .await?
        else {
            return Ok(None);
        };
        if s.expires_at <= self.now() {
            return Ok(None);
        }
        Ok(self
            .store
            .get_user(&s.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Enabled)
            .map(|u| (u, s.auth_time)))
    }

    /// Signs the browser out ("not you?", the console's and the device
    /// page's sign-out): a logout of its sign-in, so the sessions opened
    /// under it end and their apps hear of it (back-channel logout).
    pub async fn close_browser_session(&self, cookie: &str) -> Result<(), OAuthError> {
        self.logout_browser(Some(cookie), None).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_existing_queries() {
        assert_eq!(
            redirect_with("https://a/cb?x=1", &[("code", "c d")], false),
            "https://a/cb?x=1&code=c+d"
        );
        assert_eq!(
            redirect_with("https://a/cb", &[("access_token", "t")], true),
            "https://a/cb#access_token=t"
        );
    }
}
