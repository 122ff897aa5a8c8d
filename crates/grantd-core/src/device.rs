//! The device authorization grant (RFC 8628) outside the token endpoint: the
//! device authorization endpoint, which gives a device its device code and
//! the user code to show, and the verification page's rules (which request a
//! typed code stands for; approving or denying it). The device's polling is
//! a grant of the token endpoint, [`crate::grants::device_code`].

use crate::clock::UnixTime;
use crate::crypto::{random_chars, random_token, rfc3339, sha256};
use crate::model::{App, DeviceCode, DeviceStatus, Distribution, User};
use crate::store::{DeviceDecision, PollPace, StoreError, UniqueKey};
use crate::tokens::{check_grant_enabled, check_scopes, OIDC_SCOPES};
use crate::Grantd;
use grantd_protocol::device::{DeviceAuthorizationRequest, DeviceAuthorizationResponse, UserCode};
use grantd_protocol::{ClientAuth, Grant, OAuthError, Params, Scopes};
use std::sync::Arc;

/// Seconds a device code lives: the user has this long to approve it.
pub const DEVICE_CODE_TTL: i64 = 600;
/// Seconds a device waits between polls, until told to slow down.
pub const POLL_INTERVAL: i64 = 5;
/// RFC 8628 §3.5: every slow_down adds 5 seconds to the interval.
pub const POLL_PACE: PollPace = PollPace { slow_down_by: 5 };
/// The verification page, under the issuer.
pub const VERIFICATION_PATH: &str = "/device";
/// New user codes tried when one is taken (1 in 10^13 per stored code).
const USER_CODE_ATTEMPTS: usize = 4;

/// A device's request as the verification page shows it: it is waiting
/// for a decision.
#[derive(Debug, Clone)]
pub struct DeviceRequest {
    pub app: Arc<App>,
    pub user_code: UserCode,
    /// What the device would get: the scopes it asked for that the app still has.
    pub scopes: Scopes,
    pub expires_at: UnixTime,
}

impl Grantd {
    /// Where users approve devices (`verification_uri`).
    pub fn verification_uri(&self) -> String {
        format!("{}{VERIFICATION_PATH}", self.config.issuer)
    }

    /// `POST /oauth/device_authorization` (RFC 8628 §3.1–3.2): the client
    /// authenticates as at the token endpoint, must be enabled for the
    /// device grant, and may ask for the app's scopes (and OpenID Connect's).
    pub async fn device_authorization(
        &self,
        auth: &ClientAuth,
        params: &Params,
    ) -> Result<DeviceAuthorizationResponse, OAuthError> {
        let request = DeviceAuthorizationRequest::read(params)?;
        let app = self.authenticate_client(auth).await?;
        check_grant_enabled(&app, Grant::DeviceCode)?;
        let scopes = check_scopes(&app, request.scope.as_ref(), true)?;
        let now = self.now();
        let device_code = random_token();
        let mut attempts = 0;
        let user_code = loop {
            attempts += 1;
            let user_code = UserCode::parse(&random_chars(UserCode::ALPHABET, UserCode::LEN))?;
            let record = DeviceCode {
                hash: sha256(device_code.as_bytes()),
                user_code: user_code.as_str().to_string(),
                client_id: app.client_id.clone(),
                scope: scopes.to_string(),
                interval: POLL_INTERVAL,
                created_at: now,
                expires_at: now + DEVICE_CODE_TTL,
                last_polled_at: None,
                status: DeviceStatus::Pending,
                user_id: None,
                auth_time: None,
                decided_at: None,
                session_id: None,
            };
            match self.store.insert_device_code(&record).await {
                Ok(()) => break user_code,
                Err(StoreError::Conflict(UniqueKey::UserCode)) if attempts < USER_CODE_ATTEMPTS => {
                    continue
                }
                Err(e) => return Err(e.into()),
            }
        };
        tracing::info!(client_id = %app.client_id, scope = %scopes, "device authorization started");
        let verification_uri = self.verification_uri();
        Ok(DeviceAuthorizationResponse {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
            verification_uri,
            user_code: user_code.to_string(),
            expires_in: DEVICE_CODE_TTL as u64,
            interval: POLL_INTERVAL as u64,
        })
    }

    /// The request a code typed on the verification page stands for. It
    /// must be waiting for a decision; otherwise the error says why (not a
    /// code or unknown GRD-377, expired GRD-378, decided GRD-379).
    pub async fn device_request(&self, typed: &str) -> Result<DeviceRequest, OAuthError> {
        let user_code = UserCode::parse(typed)?;
        let Some(code) = self.store.find_device_code(user_code.as_str()).await? else {
            return Err(OAuthError::user_code_unknown());
        };
        if code.expires_at <= self.now() {
            return Err(OAuthError::user_code_expired(&rfc3339(code.expires_at)));
        }
        match code.status {
            DeviceStatus::Pending => {}
            DeviceStatus::Approved | DeviceStatus::Used => {
                return Err(OAuthError::user_code_decided("approved"))
            }
            DeviceStatus::Denied => return Err(OAuthError::user_code_decided("denied")),
        }
        // An app deleted since takes its device codes with it; this is a race.
        let Some(app) = self.find_app(&code.client_id).await? else {
            return Err(OAuthError::user_code_unknown());
        };
        // The app may have lost scopes since the device asked.
        let scopes = Scopes::from_names(
            Scopes::parse(&code.scope)?
                .iter()
                .filter(|s| app.scopes.contains(s) || OIDC_SCOPES.contains(s)),
        )
        .map_err(|_| OAuthError::server_error())?;
        Ok(DeviceRequest {
            app,
            user_code,
            scopes,
            expires_at: code.expires_at,
        })
    }

    /// The signed-in user lets the device act for them: its next poll gets
    /// tokens. A private app takes only users of its own account.
    pub async fn approve_device(
        &self,
        request: &DeviceRequest,
        user: &User,
        auth_time: UnixTime,
    ) -> Result<(), OAuthError> {
        let app = &request.app;
        if app.distribution == Distribution::Private && user.account_id != app.account_id {
            return Err(OAuthError::account_not_allowed(&app.name));
        }
        let decision = DeviceDecision::Approve {
            user_id: user.id.clone(),
            scope: request.scopes.to_string(),
            auth_time,
        };
        self.decide_device(request, &decision).await?;
        tracing::info!(user_id = %user.id, client_id = %app.client_id, scope = %request.scopes, "device approved");
        Ok(())
    }

    /// The signed-in user refuses: the device's next poll gets access_denied.
    pub async fn deny_device(
        &self,
        request: &DeviceRequest,
        user: &User,
    ) -> Result<(), OAuthError> {
        let decision = DeviceDecision::Deny {
            user_id: user.id.clone(),
        };
        self.decide_device(request, &decision).await?;
        tracing::info!(user_id = %user.id, client_id = %request.app.client_id, "device denied");
        Ok(())
    }

    /// Records a decision, if the request is still waiting for one.
    async fn decide_device(
        &self,
        request: &DeviceRequest,
        decision: &DeviceDecision,
    ) -> Result<(), OAuthError> {
        let code = request.user_code.as_str();
        if self
            .store
            .decide_device_code(code, decision, self.now())
            .await?
        {
            return Ok(());
        }
        // Decided (or gone) since the page was shown: say which.
        Err(match self.device_request(code).await {
            Err(e) => e,
            Ok(_) => OAuthError::user_code_decided("decided"),
        })
    }
}
