//! urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693): an app trades
//! one of grantd's tokens (the subject token) for a new access token about
//! the same subject, for grantd's API or for a resource server, with the
//! same or a narrower scope. Without an actor token it is impersonation: the
//! new token is the subject's. With one it is delegation: the new token
//! names the actor in `act`, over the actors before it (nested `act`).
//!
//! Who may exchange what is the app's `token_exchange` policy: the apps
//! whose tokens it may exchange, the resource servers it may target, the
//! widest scope. With no policy an app exchanges only its own tokens, for
//! grantd's API, within their scope.
//!
//! An exchange never issues a refresh token. A refresh token belongs to the
//! app and the session it was issued to and rotates on each use; one in a
//! second app's hands would keep the user's session going without them or
//! the first app. The exchanged token joins the subject's session instead
//! and ends with it, and lives no longer than the tokens it came from; when
//! it expires the app exchanges a current token again.

use super::{ExchangeSession, Exchanged, GrantContext, GrantDeps, Issue, TokenGrant};
use crate::crypto::rfc3339;
use crate::model::{Actor, App, Distribution, ExchangePolicy};
use crate::own_token::{OwnKind, OwnToken, Refusal, Refused};
use crate::tokens::OIDC_SCOPES;
use async_trait::async_trait;
use grantd_protocol::requests::{PresentedToken, TokenExchangeRequest, TokenType};
use grantd_protocol::{GrantType, OAuthError, Scopes};

pub struct TokenExchange;

/// Most actors one token's delegation chain names.
pub const MAX_ACTORS: usize = 5;

#[async_trait]
impl TokenGrant for TokenExchange {
    const GRANT_TYPE: GrantType = GrantType::TokenExchange;
    type Request = TokenExchangeRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: TokenExchangeRequest,
    ) -> Result<Issue, OAuthError> {
        let app = ctx.app;
        let policy = app.token_exchange.as_ref();
        let subject = verified(deps, &request.subject, "subject_token").await?;
        if let Err(mut e) = check_subject_allowed(app, policy, &subject) {
            // Every obstacle at once: a policy fixed for the subject alone
            // would only lead to the audience's refusal next.
            let audience = request.audience.as_deref();
            if let Err(t) = target(deps, app, policy, audience, request.resource.as_deref()).await {
                e.description = format!("{} Also: {}", e.description, t.description);
            }
            return Err(e);
        }
        let actor = match &request.actor {
            Some(presented) => {
                let actor = verified(deps, presented, "actor_token").await?;
                check_actor_is_the_app(app, &actor)?;
                Some(actor)
            }
            None => None,
        };
        let act = delegation(app, actor.as_ref(), subject.act.clone())?;
        let audience = target(
            deps,
            app,
            policy,
            request.audience.as_deref(),
            request.resource.as_deref(),
        )
        .await?;
        let subject_scope = subject
            .scope
            .as_deref()
            .map(Scopes::parse)
            .transpose()
            .map_err(|_| OAuthError::server_error())?;
        let scopes = exchanged_scope(app, ctx.request.scope.as_ref(), subject_scope.as_ref())?;
        if let Some(user) = &subject.user {
            if app.distribution == Distribution::Private && user.account_id != app.account_id {
                return Err(OAuthError::user_other_account(&app.name));
            }
        }
        let not_after = [
            subject.expires_at,
            actor.as_ref().and_then(|a| a.expires_at),
        ]
        .into_iter()
        .flatten()
        .min();
        let account_id = subject
            .user
            .as_ref()
            .map(|u| u.account_id.clone())
            .or(subject.account_id);
        let session = match (subject.session_id, subject.kind, subject.user) {
            (Some(id), _, _) => ExchangeSession::Join(id),
            (None, OwnKind::IdToken | OwnKind::Credential, Some(user)) => ExchangeSession::Open {
                user,
                credential_id: subject.credential.map(|c| c.id),
            },
            _ => ExchangeSession::None,
        };
        Ok(Issue::Exchanged(Box::new(Exchanged {
            subject: subject.subject,
            account_id,
            scopes,
            act,
            audience,
            token_type: request.requested,
            not_after,
            session,
        })))
    }
}

/// A token sent to the exchange: one of grantd's, of the type the client
/// named, still valid.
async fn verified(
    deps: &GrantDeps<'_>,
    presented: &PresentedToken,
    parameter: &'static str,
) -> Result<OwnToken, OAuthError> {
    let verdict = deps.auth.verify_own_token(&presented.token).await?;
    let kind = match &verdict {
        Ok(token) => Some(token.kind),
        Err(refused) => refused.kind,
    };
    if kind == Some(OwnKind::Refresh) {
        return Err(OAuthError::exchange_refresh_token(parameter));
    }
    if let Some(kind) = kind {
        check_declared_type(parameter, presented.token_type, kind)?;
    }
    verdict.map_err(|refused| refusal(parameter, &refused))
}

/// The token is of the type its `…_token_type` names (RFC 8693 §3).
fn check_declared_type(
    parameter: &'static str,
    declared: TokenType,
    kind: OwnKind,
) -> Result<(), OAuthError> {
    let fits = match declared {
        TokenType::AccessToken => kind.is_access(),
        TokenType::Jwt => kind.is_jwt(),
        TokenType::IdToken => kind == OwnKind::IdToken,
        TokenType::RefreshToken => false,
    };
    if fits {
        return Ok(());
    }
    let types: &[TokenType] = match kind {
        OwnKind::JwtAccess => &[TokenType::AccessToken, TokenType::Jwt],
        OwnKind::OpaqueAccess => &[TokenType::AccessToken],
        OwnKind::IdToken => &[TokenType::IdToken, TokenType::Jwt],
        OwnKind::Credential => &[TokenType::Jwt],
        OwnKind::Refresh => &[TokenType::RefreshToken],
    };
    let uris: Vec<&str> = types.iter().map(|t| t.uri()).collect();
    Err(OAuthError::exchange_token_type_mismatch(
        parameter,
        declared.uri(),
        kind.described(),
        &uris,
    ))
}

/// Why a subject or actor token is refused, in the exchange's words.
fn refusal(parameter: &'static str, refused: &Refused) -> OAuthError {
    let what = refused.kind.map_or("a token", OwnKind::described);
    match &refused.reason {
        Refusal::NotOurs => OAuthError::exchange_token_invalid(
            parameter,
            "it is neither a JWT signed by this server nor a token it stores (stored tokens are purged after they expire)",
        ),
        Refusal::Corrupted => OAuthError::exchange_token_invalid(
            parameter,
            "its key, signature or issuer does not verify: it was altered, or comes from another server",
        ),
        Refusal::Expired { at } => OAuthError::exchange_token_expired(parameter, what, &rfc3339(*at)),
        Refusal::Revoked => OAuthError::exchange_token_revoked(
            parameter,
            what,
            "it was revoked, or replaced by a refresh",
        ),
        Refusal::SessionEnded { session_id, reason } => OAuthError::exchange_token_revoked(
            parameter,
            what,
            &format!("its session {session_id} ended ({reason})"),
        ),
        Refusal::UserDisabled => {
            OAuthError::exchange_token_revoked(parameter, what, "its user is disabled")
        }
        Refusal::CredentialRevoked { credential_id, at } => OAuthError::exchange_token_revoked(
            parameter,
            what,
            &match at {
                Some(at) => format!("JWT credential {credential_id} was revoked at {}", rfc3339(*at)),
                None => format!("JWT credential {credential_id} was revoked"),
            },
        ),
        Refusal::AppDeleted { client_id } => OAuthError::exchange_token_revoked(
            parameter,
            what,
            &format!("the app it was issued to ({client_id}) was deleted"),
        ),
    }
}

/// The policy allows the app to exchange the subject token: one issued to
/// the app itself or to an app the policy names; a JWT credential that
/// allows the app.
fn check_subject_allowed(
    app: &App,
    policy: Option<&ExchangePolicy>,
    subject: &OwnToken,
) -> Result<(), OAuthError> {
    if let Some(credential) = &subject.credential {
        return check_credential(app, subject, credential, "subject_token");
    }
    let issued_to = subject.client_id.as_deref().unwrap_or_default();
    let allowed = issued_to == app.client_id
        || policy.is_some_and(|p| p.allowed_subject_apps.iter().any(|id| id == issued_to));
    if allowed {
        Ok(())
    } else {
        Err(OAuthError::exchange_subject_app_not_allowed(
            &app.name,
            &app.client_id,
            issued_to,
            policy.map(|p| p.allowed_subject_apps.as_slice()),
        ))
    }
}

/// The actor token says who acts, so it is the requesting app's own.
fn check_actor_is_the_app(app: &App, actor: &OwnToken) -> Result<(), OAuthError> {
    if let Some(credential) = &actor.credential {
        return check_credential(app, actor, credential, "actor_token");
    }
    match actor.client_id.as_deref() {
        Some(id) if id == app.client_id => Ok(()),
        other => Err(OAuthError::exchange_actor_not_own(
            &app.name,
            &app.client_id,
            other.unwrap_or("(none)"),
        )),
    }
}

/// A JWT credential allows the same apps as for the JWT grant.
fn check_credential(
    app: &App,
    token: &OwnToken,
    credential: &crate::model::JwtCredential,
    parameter: &'static str,
) -> Result<(), OAuthError> {
    let account = token
        .user
        .as_ref()
        .map_or(credential.account_id.as_str(), |u| u.account_id.as_str());
    if credential.allows(app, account) {
        Ok(())
    } else {
        Err(OAuthError::exchange_credential_not_allowed(
            parameter,
            &app.name,
            &app.client_id,
            &credential.id,
            &credential.allowed_list(account),
        ))
    }
}

/// `act` of the new token: the actor (with the chain it acts within) over
/// the subject token's earlier actors. Impersonation keeps the subject's
/// chain as it is, so a delegated token never passes for the subject's own.
fn delegation(
    app: &App,
    actor: Option<&OwnToken>,
    earlier: Option<Actor>,
) -> Result<Option<Actor>, OAuthError> {
    let Some(actor) = actor else {
        return Ok(earlier);
    };
    let act = Actor {
        sub: actor.subject.clone(),
        client_id: Some(app.client_id.clone()),
        act: actor.act.clone().map(Box::new),
    }
    .then(earlier);
    if act.chain_len() > MAX_ACTORS {
        return Err(OAuthError::exchange_chain_too_long(
            act.chain_len(),
            MAX_ACTORS,
        ));
    }
    Ok(Some(act))
}

/// The audience of the new token: `None` for grantd's own API, or a
/// resource server the policy lists. The policy is asked first, so an app
/// cannot probe which client ids are resource servers.
async fn target(
    deps: &GrantDeps<'_>,
    app: &App,
    policy: Option<&ExchangePolicy>,
    audience: Option<&str>,
    resource: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let (parameter, value) = match (audience, resource) {
        (None, None) => return Ok(None),
        (Some(a), Some(r)) if a != r => return Err(OAuthError::exchange_targets_differ(a, r)),
        (Some(a), _) => ("audience", a),
        (None, Some(r)) => ("resource", r),
    };
    if value == deps.audience {
        return Ok(None);
    }
    // Registered first: the fix for a policy that does not list the target
    // is to list it, which only helps for a registered resource server
    // (and only a registered client id is ever shown in full).
    let target = match deps.store.get_app(value).await? {
        Some(rs) if rs.resource_server => rs.client_id,
        _ => return Err(OAuthError::exchange_target_unknown(parameter, value)),
    };
    if !policy.is_some_and(|p| p.audiences.contains(&target)) {
        return Err(OAuthError::exchange_target_not_allowed(
            &app.name,
            &app.client_id,
            &target,
            policy.map(|p| p.audiences.as_slice()),
        ));
    }
    Ok(Some(target))
}

/// The scope of the new token. Asked: within the subject token's scope and
/// the policy's `max_scope` (the pipeline has checked it against the app's
/// scopes). Not asked: all the subject token's scope that the app and the
/// policy allow. ID tokens and JWT credentials carry no scope: the app's
/// own scopes stand in for theirs, as with the JWT grant.
fn exchanged_scope(
    app: &App,
    asked: Option<&Scopes>,
    subject: Option<&Scopes>,
) -> Result<Scopes, OAuthError> {
    let max = app
        .token_exchange
        .as_ref()
        .and_then(|p| p.max_scope.as_ref());
    if let Some(asked) = asked {
        if let Some(limit) = subject {
            let missing = asked.missing_from(limit);
            if !missing.is_empty() {
                return Err(OAuthError::exchange_scope_beyond_subject(
                    &missing,
                    limit.as_slice(),
                ));
            }
        }
        if let Some(max) = max {
            let missing = asked.missing_from(max);
            if !missing.is_empty() {
                return Err(OAuthError::exchange_scope_beyond_policy(
                    &app.name,
                    &app.client_id,
                    &missing,
                    max.as_slice(),
                ));
            }
        }
        return Ok(asked.clone());
    }
    let allowed = |s: &&str| {
        (app.scopes.contains(s) || OIDC_SCOPES.contains(s)) && max.is_none_or(|m| m.contains(s))
    };
    let base = subject.unwrap_or(&app.scopes);
    let kept =
        Scopes::from_names(base.iter().filter(allowed)).map_err(|_| OAuthError::server_error())?;
    if kept.is_empty() {
        let possible: Vec<String> = app
            .scopes
            .iter()
            .filter(allowed)
            .map(str::to_string)
            .collect();
        return Err(OAuthError::exchange_scope_none_left(
            &base.to_string(),
            &possible,
        ));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccessTokenFormat, Distribution};
    use grantd_protocol::{Code, PlatformType};

    fn app(scopes: &str, max: Option<&str>) -> App {
        App {
            client_id: "svc".into(),
            account_id: "acct".into(),
            name: "Service".into(),
            platform_type: PlatformType::ServerOnly,
            grants: vec![grantd_protocol::Grant::TokenExchange],
            redirect_uris: vec![],
            scopes: Scopes::parse(scopes).unwrap(),
            distribution: Distribution::Private,
            issue_refresh_tokens: false,
            access_token_ttl: 3600,
            refresh_token_ttl: 0,
            access_token_format: AccessTokenFormat::Jwt,
            allow_plain_pkce: false,
            resource_server: false,
            rate_limits: Default::default(),
            token_exchange: max.map(|m| ExchangePolicy {
                max_scope: Some(Scopes::parse(m).unwrap()),
                ..Default::default()
            }),
            allowed_origins: Vec::new(),
            jwks: None,
            jwks_uri: None,
            security: Default::default(),
            links: Default::default(),
            secret_hash: None,
            created_at: 0,
            updated_at: 0,
            revision: 1,
        }
    }

    fn scopes(s: &str) -> Scopes {
        Scopes::parse(s).unwrap()
    }

    #[test]
    fn scope_never_widens() {
        let subject = scopes("A B openid");
        let a = app("A B C", None);
        // Not asked: the subject's scope, as far as the app has it.
        assert_eq!(exchanged_scope(&a, None, Some(&subject)).unwrap(), subject);
        assert_eq!(
            exchanged_scope(&a, Some(&scopes("A")), Some(&subject)).unwrap(),
            scopes("A")
        );
        let e = exchanged_scope(&a, Some(&scopes("A C")), Some(&subject)).unwrap_err();
        assert_eq!(e.code, Code::ExchangeScopeTooWide);
        assert!(e.description.contains("'C'"), "{}", e.description);
        // The policy's max_scope narrows both.
        let a = app("A B C", Some("B"));
        assert_eq!(
            exchanged_scope(&a, None, Some(&subject)).unwrap(),
            scopes("B")
        );
        let e = exchanged_scope(&a, Some(&scopes("A")), Some(&subject)).unwrap_err();
        assert!(e.description.contains("max_scope"), "{}", e.description);
        // Nothing left to pass on.
        let a = app("C", None);
        let e = exchanged_scope(&a, None, Some(&scopes("A"))).unwrap_err();
        assert_eq!(e.code, Code::ExchangeScopeTooWide);
        // No scope of its own (an ID token, a credential): the app's.
        assert_eq!(exchanged_scope(&a, None, None).unwrap(), scopes("C"));
    }

    fn actor(sub: &str, act: Option<Actor>) -> Actor {
        Actor {
            sub: sub.into(),
            client_id: Some(format!("{sub}-app")),
            act: act.map(Box::new),
        }
    }

    #[test]
    fn chains_nest_the_earlier_actors_innermost() {
        let b = actor("b", None).then(Some(actor("a", None)));
        assert_eq!(b, actor("b", Some(actor("a", None))));
        // An actor acting within its own chain keeps it, then the subject's.
        let c = actor("c", Some(actor("x", None))).then(Some(b.clone()));
        assert_eq!(c.chain_len(), 4);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["act"]["sub"], "x");
        assert_eq!(json["act"]["act"]["sub"], "b");
        assert_eq!(json["act"]["act"]["act"]["sub"], "a");
        assert_eq!(b.clone().then(None), b);
    }
}
