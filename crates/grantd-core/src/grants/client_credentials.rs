//! client_credentials (RFC 6749 §4.4): the app acts for itself.

use super::{GrantContext, Grantee};
use grantd_protocol::OAuthError;

pub fn exchange(ctx: GrantContext<'_>) -> Result<Grantee, OAuthError> {
    Ok(Grantee {
        subject: ctx.app.client_id.clone(),
        account_id: Some(ctx.app.account_id.clone()),
        scopes: ctx.scopes,
        // RFC 6749 §4.4.3: no user, so no session and no refresh token.
        user: None,
        oidc: None,
        credential_id: None,
        code: None,
    })
}
