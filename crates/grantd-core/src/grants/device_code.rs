//! urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4–3.5): the
//! device polls with its device code until the user decides on the
//! verification page ([`crate::device`]). Each poll is paced in the store
//! (slow_down); the approved code is used by the one poll whose session the
//! store opens (`open_session` marks it used), so concurrent polls never get
//! two sessions. A later poll is told the code was used; unlike an
//! authorization code, whose second use may be an interception, a device
//! code never leaves the device and the server, so its second use is a
//! retry and the session stays.

use super::{GrantContext, GrantDeps, Grantee, Issue, Oidc, SessionPlan, TokenGrant};
use crate::crypto::{rfc3339, sha256};
use crate::device::POLL_PACE;
use crate::model::{DeviceStatus, UserStatus};
use crate::store::Polled;
use async_trait::async_trait;
use grantd_protocol::requests::DeviceCodeRequest;
use grantd_protocol::{GrantType, OAuthError, Scopes};

pub struct DeviceCode;

#[async_trait]
impl TokenGrant for DeviceCode {
    const GRANT_TYPE: GrantType = GrantType::DeviceCode;
    type Request = DeviceCodeRequest;

    async fn exchange(
        &self,
        deps: &GrantDeps<'_>,
        ctx: &GrantContext<'_>,
        request: DeviceCodeRequest,
    ) -> Result<Issue, OAuthError> {
        let now = deps.now;
        let hash = sha256(request.device_code.expose().as_bytes());
        let Some(Polled { code, slow_down }) =
            deps.store.poll_device_code(&hash, now, &POLL_PACE).await?
        else {
            return Err(OAuthError::device_code_unknown());
        };
        if code.client_id != ctx.app.client_id {
            return Err(OAuthError::device_code_other_client(&ctx.app.client_id));
        }
        if code.expires_at <= now {
            return Err(OAuthError::device_code_expired(&rfc3339(code.expires_at)));
        }
        let user_id = match (code.status, code.user_id) {
            (DeviceStatus::Pending, _) if slow_down => {
                return Err(OAuthError::device_slow_down(code.interval))
            }
            (DeviceStatus::Pending, _) => {
                return Err(OAuthError::device_pending(
                    code.interval,
                    &rfc3339(code.expires_at),
                ))
            }
            (DeviceStatus::Denied, _) => return Err(OAuthError::device_denied(&ctx.app.name)),
            (DeviceStatus::Used, _) => return Err(OAuthError::device_code_used()),
            (DeviceStatus::Approved, Some(user_id)) => user_id,
            (DeviceStatus::Approved, None) => return Err(OAuthError::server_error()),
        };
        let user = match deps.store.get_user(&user_id).await? {
            Some(user) => user,
            None => return Err(OAuthError::user_not_found(&user_id)),
        };
        if user.status != UserStatus::Enabled {
            return Err(OAuthError::user_disabled());
        }
        // The scopes the user approved; a scope parameter here is ignored.
        let scopes = Scopes::parse(&code.scope)?;
        Ok(Issue::Tokens(Grantee {
            subject: user.id.clone(),
            account_id: Some(user.account_id.clone()),
            scopes,
            user: Some(user),
            oidc: Some(Oidc {
                nonce: None,
                auth_time: code.auth_time.unwrap_or(now),
                sid: None,
            }),
            session: SessionPlan::Device { device_code: hash },
            resources: Vec::new(),
        }))
    }
}
