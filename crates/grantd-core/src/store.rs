//! The storage trait grantd-core talks to; grantd-store implements it.

use crate::clock::UnixTime;
use crate::model::{Account, App, StoredKey, TokenRecord};
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
    /// Deletes the app and its tokens; false if it did not exist.
    async fn delete_app(&self, client_id: &str) -> StoreResult<bool>;

    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()>;
    async fn delete_key(&self, kid: &str) -> StoreResult<()>;

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>>;
    /// Marks the token revoked; false if it was unknown or already revoked.
    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool>;

    /// Records that the JWT access token `jti` is revoked until it expires.
    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Deletes tokens and revocation records that expired before `before`.
    async fn purge_expired(&self, before: UnixTime) -> StoreResult<u64>;
}
