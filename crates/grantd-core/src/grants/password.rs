//! password (RFC 6749 §4.3), legacy: the user's username and password sent
//! by the app. Allowed only while the operator's policy allows it.

use super::{GrantContext, GrantDeps, Grantee, Issue, TokenGrant};
use crate::model::Distribution;
use crate::users::Login;
use async_trait::async_trait;
use grantd_protocol::requests::PasswordRequest;
use grantd_protocol::{GrantType, OAuthError};

pub struct Password;

#[async_trait]
impl TokenGrant for Password {
    const GRANT_TYPE: GrantType = GrantType::Password;
    type Request = PasswordRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: PasswordRequest,
    ) -> Result<Issue, OAuthError> {
        let login = Login::parse(&request.username, request.extension.as_deref())?;
        let user = deps
            .auth
            .authenticate_user(&login, request.password)
            .await?;
        if ctx.app.distribution == Distribution::Private && user.account_id != ctx.app.account_id {
            return Err(OAuthError::user_other_account(&ctx.app.name));
        }
        Ok(Issue::Tokens(Grantee::user(
            user,
            ctx.scopes.clone(),
            deps.now,
        )))
    }
}
