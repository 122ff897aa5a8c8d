//! The storage trait grantd-core talks to; grantd-store implements it.

use crate::clock::UnixTime;
use crate::model::{
    Account, App, AuthCode, BrowserSession, CodeUse, Consent, JwtCredential, LoginState,
    RotateOutcome, Session, StoredKey, TokenRecord, User, UserStatus,
};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the operation.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A unique key already exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A stored row could not be read back (a bug or a hand-edited database).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything grantd persists. Each method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;

    /// Server-wide settings (admin token hash, default account id…).
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets `key` unless it exists; returns the value that is now stored.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

    async fn insert_app(&self, app: &App) -> StoreResult<()>;
    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>>;
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    /// Replaces the app; false if it does not exist.
    async fn update_app(&self, app: &App) -> StoreResult<bool>;
    /// Deletes the app with its tokens, codes and consents, and ends its
    /// sessions; false if it did not exist.
    async fn delete_app(&self, client_id: &str) -> StoreResult<bool>;

    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()>;

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>>;
    /// Marks the token revoked; false if it was unknown or already revoked.
    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool>;

    /// Records that the JWT access token `jti` is revoked until it expires.
    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Deletes tokens, revocation records, codes and browser sessions that
    /// expired before `before`, and sessions that ended before it.
    async fn purge_expired(&self, before: UnixTime) -> StoreResult<u64>;

    /// `Conflict` if the email, or the extension number within the account, is taken.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// Case-insensitive on the email.
    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
    async fn find_users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>>;
    /// Every user, or those of one account.
    async fn list_users(&self, account_id: Option<&str>) -> StoreResult<Vec<User>>;
    /// False if the user does not exist.
    async fn set_user_status(&self, id: &str, status: UserStatus) -> StoreResult<bool>;

    /// Counts a failed password, atomically: a failure after `window` seconds
    /// since the window started starts a new window; reaching `threshold`
    /// failures sets `locked_until = now + lock_for`. Returns the new state.
    async fn record_login_failure(
        &self,
        user_id: &str,
        now: UnixTime,
        window: i64,
        threshold: u32,
        lock_for: i64,
    ) -> StoreResult<LoginState>;
    async fn get_login_state(&self, user_id: &str) -> StoreResult<LoginState>;
    async fn clear_login_failures(&self, user_id: &str) -> StoreResult<()>;

    async fn insert_jwt_credential(&self, credential: &JwtCredential) -> StoreResult<()>;
    async fn get_jwt_credential(&self, id: &str) -> StoreResult<Option<JwtCredential>>;
    async fn list_jwt_credentials(&self, user_id: &str) -> StoreResult<Vec<JwtCredential>>;
    /// False if unknown or already revoked.
    async fn revoke_jwt_credential(&self, id: &str, at: UnixTime) -> StoreResult<bool>;

    /// Inserts `session`, then ends (reason `session_limit`) the oldest active
    /// sessions of the same user and app so at most `max_active` remain, all in
    /// one transaction. Returns the ids it ended.
    async fn open_session(
        &self,
        session: &Session,
        max_active: u32,
        now: UnixTime,
    ) -> StoreResult<Vec<String>>;
    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>>;
    /// Ends the session and revokes every stored token of it (refresh and
    /// opaque access tokens) in one transaction. False if unknown or already ended.
    async fn end_session(&self, id: &str, reason: &str, now: UnixTime) -> StoreResult<bool>;
    /// Ends every active session of the user (as [`Store::end_session`]);
    /// returns how many.
    async fn end_user_sessions(
        &self,
        user_id: &str,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<u64>;
    /// Sets `pair_first_used_at = now` if it is not set.
    async fn mark_session_used(&self, id: &str, now: UnixTime) -> StoreResult<()>;

    /// In one transaction: if the refresh token `old_hash` is not rotated,
    /// set its `rotated_at = now` and `replay`, insert `new` (the next refresh
    /// token of the session), insert `new_access` when the access token is
    /// opaque, and clear the session's `pair_first_used_at`; answer `Rotated`.
    /// If it was already rotated, change nothing and answer `AlreadyRotated`
    /// with the stored record (so concurrent refreshes never fork a session).
    async fn rotate_refresh(
        &self,
        old_hash: &[u8; 32],
        new: &TokenRecord,
        new_access: Option<&TokenRecord>,
        replay: &[u8],
        now: UnixTime,
    ) -> StoreResult<RotateOutcome>;

    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Atomically marks the code used (`used_at = now`) if it was not, and
    /// answers `Fresh` with it; `Replayed` if it had been used (recording the
    /// first replay's time for [`Store::set_code_session`]); `Unknown`.
    async fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<CodeUse>;
    /// Records the session the code's exchange opened; true if the code was
    /// presented again meanwhile (the exchange must then end that session).
    async fn set_code_session(&self, hash: &[u8; 32], session_id: &str) -> StoreResult<bool>;

    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>>;
    /// Inserts or replaces the consent of (user, app).
    async fn put_consent(&self, consent: &Consent) -> StoreResult<()>;
    /// False if there was none.
    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool>;
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>>;

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;
    async fn get_browser_session(&self, hash: &[u8; 32]) -> StoreResult<Option<BrowserSession>>;
    async fn delete_browser_session(&self, hash: &[u8; 32]) -> StoreResult<()>;
}
