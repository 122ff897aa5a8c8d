//! Store latency: [`TimedStore`] wraps any [`Store`] and records how long
//! each operation took in `grantd_store_duration_seconds{operation}` (the
//! method's name, so the labels are bounded), through the `metrics` facade:
//! a no-op until the binary installs the exporter.

use crate::clock::UnixTime;
use crate::model::{
    Account, App, AuthCode, BrowserSession, CodeUse, Consent, DeviceCode, JwtCredential,
    LoginState, Role, Session, StoredKey, TokenRecord, User, UserStatus,
};
use crate::model::{PushedRequest, PushedUse, Registration, RegistrationToken};
use crate::store::*;
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// A [`Store`] that times every operation of the one it wraps.
pub struct TimedStore {
    inner: Arc<dyn Store>,
}

impl TimedStore {
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(Self { inner })
    }
}

/// Runs `f`, recording its time under `operation` whatever it answered.
async fn timed<T>(operation: &'static str, f: impl Future<Output = T>) -> T {
    let began = Instant::now();
    let out = f.await;
    metrics::histogram!("grantd_store_duration_seconds", "operation" => operation)
        .record(began.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl Store for TimedStore {
    async fn ping(&self) -> StoreResult<()> {
        timed("ping", self.inner.ping()).await
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        self.inner.changes()
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        timed("get_setting", self.inner.get_setting(key)).await
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        timed(
            "put_setting_if_absent",
            self.inner.put_setting_if_absent(key, value),
        )
        .await
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        timed("put_setting", self.inner.put_setting(key, value)).await
    }

    async fn append_audit(
        &self,
        entry: NewAuditEntry,
        chain: AuditChain,
    ) -> StoreResult<AuditEntry> {
        timed("append_audit", self.inner.append_audit(entry, chain)).await
    }

    async fn list_audit(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        timed("list_audit", self.inner.list_audit(after, limit)).await
    }

    async fn insert_account(&self, account: &Account) -> StoreResult<()> {
        timed("insert_account", self.inner.insert_account(account)).await
    }

    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>> {
        timed("get_account", self.inner.get_account(id)).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        timed("list_accounts", self.inner.list_accounts()).await
    }

    async fn insert_app(&self, app: &App) -> StoreResult<()> {
        timed("insert_app", self.inner.insert_app(app)).await
    }

    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        timed("get_app", self.inner.get_app(client_id)).await
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        timed("list_apps", self.inner.list_apps()).await
    }

    async fn update_app(&self, app: &App) -> StoreResult<Cas> {
        timed("update_app", self.inner.update_app(app)).await
    }

    async fn set_app_secret(
        &self,
        client_id: &str,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> StoreResult<bool> {
        timed(
            "set_app_secret",
            self.inner.set_app_secret(client_id, secret_hash, now),
        )
        .await
    }

    async fn delete_app(&self, client_id: &str, now: UnixTime) -> StoreResult<bool> {
        timed("delete_app", self.inner.delete_app(client_id, now)).await
    }

    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        timed("insert_key", self.inner.insert_key(key)).await
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        timed("list_keys", self.inner.list_keys()).await
    }

    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()> {
        timed("retire_keys_except", self.inner.retire_keys_except(kid, at)).await
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<bool> {
        timed("delete_key", self.inner.delete_key(kid)).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        timed("insert_token", self.inner.insert_token(token)).await
    }

    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
        timed("get_token", self.inner.get_token(hash)).await
    }

    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool> {
        timed("revoke_token", self.inner.revoke_token(hash, at)).await
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()> {
        timed("revoke_jti", self.inner.revoke_jti(jti, expires_at, at)).await
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        timed("is_jti_revoked", self.inner.is_jti_revoked(jti)).await
    }

    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        timed(
            "use_assertion_jti",
            self.inner
                .use_assertion_jti(client_id, jti, expires_at, now),
        )
        .await
    }

    async fn purge_expired(&self, before: UnixTime, limit: u32) -> StoreResult<u64> {
        timed("purge_expired", self.inner.purge_expired(before, limit)).await
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        timed("insert_user", self.inner.insert_user(user)).await
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        timed("get_user", self.inner.get_user(id)).await
    }

    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        timed("find_users_by_email", self.inner.find_users_by_email(email)).await
    }

    async fn find_users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        timed("find_users_by_phone", self.inner.find_users_by_phone(phone)).await
    }

    async fn list_users(&self, account_id: Option<&str>) -> StoreResult<Vec<User>> {
        timed("list_users", self.inner.list_users(account_id)).await
    }

    async fn set_user_status(&self, id: &str, status: UserStatus) -> StoreResult<bool> {
        timed("set_user_status", self.inner.set_user_status(id, status)).await
    }

    async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<Option<u64>> {
        timed(
            "set_user_password",
            self.inner.set_user_password(id, password_hash, reason, now),
        )
        .await
    }

    async fn reserve_login_attempt(
        &self,
        user_id: &str,
        now: UnixTime,
        policy: &LockoutPolicy,
    ) -> StoreResult<LoginAttempt> {
        timed(
            "reserve_login_attempt",
            self.inner.reserve_login_attempt(user_id, now, policy),
        )
        .await
    }

    async fn get_login_state(&self, user_id: &str) -> StoreResult<LoginState> {
        timed("get_login_state", self.inner.get_login_state(user_id)).await
    }

    async fn clear_login_failures(&self, user_id: &str) -> StoreResult<()> {
        timed(
            "clear_login_failures",
            self.inner.clear_login_failures(user_id),
        )
        .await
    }

    async fn insert_jwt_credential(&self, credential: &JwtCredential) -> StoreResult<()> {
        timed(
            "insert_jwt_credential",
            self.inner.insert_jwt_credential(credential),
        )
        .await
    }

    async fn get_jwt_credential(&self, id: &str) -> StoreResult<Option<JwtCredential>> {
        timed("get_jwt_credential", self.inner.get_jwt_credential(id)).await
    }

    async fn list_jwt_credentials(&self, user_id: &str) -> StoreResult<Vec<JwtCredential>> {
        timed(
            "list_jwt_credentials",
            self.inner.list_jwt_credentials(user_id),
        )
        .await
    }

    async fn revoke_jwt_credential(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        timed(
            "revoke_jwt_credential",
            self.inner.revoke_jwt_credential(id, at),
        )
        .await
    }

    async fn open_session(
        &self,
        new: &NewSession,
        cap: &SessionCap,
        now: UnixTime,
    ) -> StoreResult<SessionOpened> {
        timed("open_session", self.inner.open_session(new, cap, now)).await
    }

    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>> {
        timed("get_session", self.inner.get_session(id)).await
    }

    async fn count_active_sessions(&self) -> StoreResult<u64> {
        timed("count_active_sessions", self.inner.count_active_sessions()).await
    }

    async fn end_session(&self, id: &str, reason: &str, now: UnixTime) -> StoreResult<bool> {
        timed("end_session", self.inner.end_session(id, reason, now)).await
    }

    async fn end_sessions(
        &self,
        of: SessionsOf<'_>,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<u64> {
        timed("end_sessions", self.inner.end_sessions(of, reason, now)).await
    }

    async fn rotate_refresh(
        &self,
        rotation: &Rotation,
        now: UnixTime,
    ) -> StoreResult<RotateOutcome> {
        timed("rotate_refresh", self.inner.rotate_refresh(rotation, now)).await
    }

    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        timed("insert_code", self.inner.insert_code(code)).await
    }

    async fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<CodeUse> {
        timed("consume_code", self.inner.consume_code(hash, now)).await
    }

    async fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()> {
        timed("insert_device_code", self.inner.insert_device_code(code)).await
    }

    async fn find_device_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
        timed("find_device_code", self.inner.find_device_code(user_code)).await
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool> {
        timed(
            "decide_device_code",
            self.inner.decide_device_code(user_code, decision, now),
        )
        .await
    }

    async fn poll_device_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        pace: &PollPace,
    ) -> StoreResult<Option<Polled>> {
        timed(
            "poll_device_code",
            self.inner.poll_device_code(hash, now, pace),
        )
        .await
    }

    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        timed("get_consent", self.inner.get_consent(user_id, client_id)).await
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        timed("put_consent", self.inner.put_consent(consent)).await
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        timed(
            "delete_consent",
            self.inner.delete_consent(user_id, client_id),
        )
        .await
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        timed("list_consents", self.inner.list_consents(user_id)).await
    }

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        timed(
            "insert_browser_session",
            self.inner.insert_browser_session(session),
        )
        .await
    }

    fn counters_are_shared(&self) -> bool {
        self.inner.counters_are_shared()
    }

    async fn sync_counters(
        &self,
        deltas: &[CounterDelta],
        cursor: i64,
        now: UnixTime,
    ) -> StoreResult<CounterSync> {
        timed(
            "sync_counters",
            self.inner.sync_counters(deltas, cursor, now),
        )
        .await
    }

    async fn get_browser_session(&self, hash: &[u8; 32]) -> StoreResult<Option<BrowserSession>> {
        timed("get_browser_session", self.inner.get_browser_session(hash)).await
    }

    async fn delete_browser_session(&self, hash: &[u8; 32]) -> StoreResult<()> {
        timed(
            "delete_browser_session",
            self.inner.delete_browser_session(hash),
        )
        .await
    }

    async fn logout(&self, logout: &Logout, now: UnixTime) -> StoreResult<LoggedOut> {
        timed("logout", self.inner.logout(logout, now)).await
    }

    async fn claim_logout_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::LogoutDelivery>> {
        timed(
            "claim_logout_deliveries",
            self.inner.claim_logout_deliveries(now, lease_until, limit),
        )
        .await
    }

    async fn record_logout_attempt(
        &self,
        delivery: &crate::model::LogoutDelivery,
    ) -> StoreResult<()> {
        timed(
            "record_logout_attempt",
            self.inner.record_logout_attempt(delivery),
        )
        .await
    }

    async fn list_logout_deliveries(
        &self,
        client_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::LogoutDelivery>> {
        timed(
            "list_logout_deliveries",
            self.inner.list_logout_deliveries(client_id, limit),
        )
        .await
    }

    async fn record_rejections(
        &self,
        batch: &[crate::rejections::Rejection],
        keep: u32,
    ) -> StoreResult<()> {
        timed(
            "record_rejections",
            self.inner.record_rejections(batch, keep),
        )
        .await
    }

    async fn list_rejections(
        &self,
        client_id: &str,
        filter: &crate::rejections::RejectionFilter,
    ) -> StoreResult<Vec<crate::rejections::Rejection>> {
        timed(
            "list_rejections",
            self.inner.list_rejections(client_id, filter),
        )
        .await
    }

    async fn get_rejection(
        &self,
        request_id: &str,
    ) -> StoreResult<Option<crate::rejections::Rejection>> {
        timed("get_rejection", self.inner.get_rejection(request_id)).await
    }

    async fn set_user_role(&self, id: &str, role: Role) -> StoreResult<bool> {
        timed("set_user_role", self.inner.set_user_role(id, role)).await
    }

    async fn add_token_usage(&self, counts: &[crate::usage::TokenCount]) -> StoreResult<()> {
        timed("add_token_usage", self.inner.add_token_usage(counts)).await
    }

    async fn token_usage(
        &self,
        client_id: &str,
        since_day: i64,
    ) -> StoreResult<Vec<crate::usage::TokenCount>> {
        timed("token_usage", self.inner.token_usage(client_id, since_day)).await
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        timed(
            "insert_pushed_request",
            self.inner.insert_pushed_request(request),
        )
        .await
    }

    async fn use_pushed_request(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<PushedUse> {
        timed(
            "use_pushed_request",
            self.inner.use_pushed_request(hash, now),
        )
        .await
    }

    async fn insert_registration_token(&self, token: &RegistrationToken) -> StoreResult<()> {
        timed(
            "insert_registration_token",
            self.inner.insert_registration_token(token),
        )
        .await
    }

    async fn list_registration_tokens(&self) -> StoreResult<Vec<RegistrationToken>> {
        timed(
            "list_registration_tokens",
            self.inner.list_registration_tokens(),
        )
        .await
    }

    async fn find_registration_token(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<RegistrationToken>> {
        timed(
            "find_registration_token",
            self.inner.find_registration_token(hash),
        )
        .await
    }

    async fn revoke_registration_token(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        timed(
            "revoke_registration_token",
            self.inner.revoke_registration_token(id, at),
        )
        .await
    }

    async fn register_app(
        &self,
        app: &App,
        registration: &Registration,
        initial_token: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        timed(
            "register_app",
            self.inner
                .register_app(app, registration, initial_token, now),
        )
        .await
    }

    async fn get_registration(&self, client_id: &str) -> StoreResult<Option<Registration>> {
        timed("get_registration", self.inner.get_registration(client_id)).await
    }

    async fn update_registration(
        &self,
        app: &App,
        metadata: &str,
        now: UnixTime,
    ) -> StoreResult<Cas> {
        timed(
            "update_registration",
            self.inner.update_registration(app, metadata, now),
        )
        .await
    }

    async fn put_dpop_binding(&self, id: &str, jkt: &str, expires_at: UnixTime) -> StoreResult<()> {
        timed(
            "put_dpop_binding",
            self.inner.put_dpop_binding(id, jkt, expires_at),
        )
        .await
    }

    async fn get_dpop_binding(&self, id: &str) -> StoreResult<Option<String>> {
        timed("get_dpop_binding", self.inner.get_dpop_binding(id)).await
    }
}
