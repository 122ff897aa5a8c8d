//! client_credentials (RFC 6749 §4.4): the app acts for itself.

use super::{GrantContext, GrantDeps, Grantee, Issue, SessionPlan, TokenGrant};
use async_trait::async_trait;
use grantd_protocol::requests::ClientCredentialsRequest;
use grantd_protocol::{GrantType, OAuthError};

pub struct ClientCredentials;

#[async_trait]
impl TokenGrant for ClientCredentials {
    const GRANT_TYPE: GrantType = GrantType::ClientCredentials;
    type Request = ClientCredentialsRequest;

    async fn exchange(
        &self,
        _: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        _: ClientCredentialsRequest,
    ) -> Result<Issue, OAuthError> {
        Ok(Issue::Tokens(Grantee {
            subject: ctx.app.client_id.clone(),
            account_id: Some(ctx.app.account_id.clone()),
            scopes: ctx.scopes.clone(),
            // RFC 6749 §4.4.3: no user, so no session and no refresh token.
            user: None,
            oidc: None,
            session: SessionPlan::None,
            resources: Vec::new(),
        }))
    }
}
