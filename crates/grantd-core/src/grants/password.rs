//! password (RFC 6749 §4.3), legacy: the user's username and password sent
//! by the app. Allowed only while the operator's policy allows it.

use super::{GrantContext, Grantee};
use crate::model::Distribution;
use crate::users::Login;
use crate::Grantd;
use grantd_protocol::OAuthError;

pub async fn exchange(grantd: &Grantd, ctx: GrantContext<'_>) -> Result<Grantee, OAuthError> {
    let p = ctx.params;
    let username = p.require(
        "username",
        "for the password grant (an email or E.164 phone number)",
    )?;
    let password = p
        .secret("password")
        .ok_or_else(|| OAuthError::missing_parameter("password", "for the password grant"))?;
    let login = Login::parse(username, p.get("extension"))?;
    let user = grantd.authenticate_user(&login, password).await?;
    if ctx.app.distribution == Distribution::Private && user.account_id != ctx.app.account_id {
        return Err(OAuthError::user_other_account(&ctx.app.name));
    }
    Ok(Grantee::user(user, ctx.scopes, grantd.now()))
}
