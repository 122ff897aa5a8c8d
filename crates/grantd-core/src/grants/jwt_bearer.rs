//! urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1): an app
//! exchanges a user's JWT credential for tokens.

use super::{GrantContext, GrantDeps, Grantee, Issue, SessionPlan, TokenGrant};
use async_trait::async_trait;
use grantd_protocol::requests::JwtBearerRequest;
use grantd_protocol::{GrantType, OAuthError};

pub struct JwtBearer;

#[async_trait]
impl TokenGrant for JwtBearer {
    const GRANT_TYPE: GrantType = GrantType::JwtBearer;
    type Request = JwtBearerRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: JwtBearerRequest,
    ) -> Result<Issue, OAuthError> {
        let (user, credential_id) = deps
            .auth
            .verify_assertion(ctx.app, &request.assertion)
            .await?;
        Ok(Issue::Tokens(Grantee {
            session: SessionPlan::Open {
                credential_id: Some(credential_id),
                code: None,
            },
            ..Grantee::user(user, ctx.scopes.clone(), deps.now)
        }))
    }
}
