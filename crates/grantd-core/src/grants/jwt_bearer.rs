//! urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1): an app
//! exchanges a user's JWT credential for tokens.

use super::{GrantContext, Grantee};
use crate::Grantd;
use grantd_protocol::OAuthError;

pub async fn exchange(grantd: &Grantd, ctx: GrantContext<'_>) -> Result<Grantee, OAuthError> {
    let assertion = ctx.params.require(
        "assertion",
        "for the JWT bearer grant (the user's JWT credential)",
    )?;
    let (user, credential_id) = grantd.verify_assertion(ctx.app, assertion).await?;
    Ok(Grantee {
        credential_id: Some(credential_id),
        ..Grantee::user(user, ctx.scopes, grantd.now())
    })
}
