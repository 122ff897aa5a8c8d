//! What grantd does: apps, accounts, keys, tokens and the token pipeline.
//! Storage is reached through [`store::Store`], time through [`clock::Clock`].

pub mod apps;
pub mod authorize;
pub mod cache;
pub mod clock;
pub mod credentials;
pub mod crypto;
pub mod device;
pub mod grants;
pub mod keys;
pub mod model;
pub mod oidc;
pub mod resource;
pub mod sessions;
pub mod store;
pub mod tokens;
pub mod users;

use crate::cache::AppCache;
use crate::clock::{Clock, UnixTime};
use crate::crypto::{constant_time_eq, random_numeric_id, random_token, sha256, Kek};
use crate::keys::{KeyError, KeyRing};
use crate::model::{Account, SigningAlg};
use crate::store::{Change, Store, StoreError};
use grantd_protocol::OAuthError;
use std::sync::Arc;
use std::time::Duration;

/// Settings the core needs (the binary reads them from flags, env and TOML).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// `iss` of every token, and the base of every URL grantd publishes.
    pub issuer: String,
    /// `aud` of access tokens (RFC 9068): the operator's API.
    pub audience: String,
    pub signing_alg: SigningAlg,
    /// The admin token from configuration (`GRANTD_ADMIN_TOKEN`), if set.
    pub admin_token: Option<String>,
    /// Seconds of clock skew tolerated on JWTs presented to grantd.
    pub jwt_leeway: i64,
    pub policy: Policy,
}

/// The operator's policies: legacy grants, refresh grace, sessions, lockout.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The password grant works before this time (with Deprecation and
    /// Sunset headers) and is refused from it on.
    pub password_sunset: UnixTime,
    /// The same for the implicit flow.
    pub implicit_sunset: UnixTime,
    /// Seconds after its exchange that a refresh token still replays the
    /// answer (a client that lost the response recovers); after that, reuse
    /// ends the session.
    pub refresh_grace: i64,
    /// Active sessions per user and app; the oldest ends beyond this.
    pub max_sessions: u32,
    /// Seconds a session lasts at most, refreshes or not (0 = no limit).
    pub session_max_lifetime: i64,
    pub lockout_threshold: u32,
    pub lockout_window: i64,
    pub lockout_duration: i64,
}

/// 2024-03-31T00:00:00Z, when RingCentral retired the password grant.
pub const DEFAULT_LEGACY_SUNSET: UnixTime = 1_711_843_200;

impl Default for Policy {
    fn default() -> Self {
        Self {
            password_sunset: DEFAULT_LEGACY_SUNSET,
            implicit_sunset: DEFAULT_LEGACY_SUNSET,
            refresh_grace: 10,
            max_sessions: 5,
            session_max_lifetime: 90 * 86_400,
            lockout_threshold: 5,
            lockout_window: 900,
            lockout_duration: 900,
        }
    }
}

impl Policy {
    pub fn session_cap(&self) -> crate::store::SessionCap {
        crate::store::SessionCap {
            max_active: self.max_sessions,
        }
    }

    pub fn lockout(&self) -> crate::store::LockoutPolicy {
        crate::store::LockoutPolicy {
            window: self.lockout_window,
            threshold: self.lockout_threshold,
            lock_for: self.lockout_duration,
        }
    }
}

/// Why grantd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// What first start produced and must be shown once.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// A generated admin token (only when none was configured or stored).
    pub admin_token: Option<String>,
}

/// The authorization server's state, shared by every request.
pub struct Grantd {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: KeyRing,
    pub config: CoreConfig,
    pub default_account_id: String,
    admin_token_hash: [u8; 32],
    apps: AppCache,
}

const SETTING_ADMIN_TOKEN: &str = "admin_token_sha256";
const SETTING_DEFAULT_ACCOUNT: &str = "default_account_id";

impl Grantd {
    /// Opens grantd on a migrated store: loads or creates the signing keys,
    /// the default account and the admin token.
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        kek: Kek,
        config: CoreConfig,
    ) -> Result<(Self, FirstStart), StartError> {
        let now = clock.now();
        let keys = KeyRing::open(&*store, kek, config.signing_alg, &config.issuer, now).await?;
        let default_account_id = Self::default_account(&*store, now).await?;
        let mut first = FirstStart::default();
        let admin_token_hash = match &config.admin_token {
            Some(token) => {
                let h = hex(&sha256(token.as_bytes()));
                store.put_setting(SETTING_ADMIN_TOKEN, &h).await?;
                h
            }
            None => match store.get_setting(SETTING_ADMIN_TOKEN).await? {
                Some(h) => h,
                None => {
                    let token = random_token();
                    let stored = store
                        .put_setting_if_absent(SETTING_ADMIN_TOKEN, &hex(&sha256(token.as_bytes())))
                        .await?;
                    if stored == hex(&sha256(token.as_bytes())) {
                        first.admin_token = Some(token);
                    }
                    stored
                }
            },
        };
        let grantd = Self {
            store,
            clock,
            keys,
            config,
            default_account_id,
            admin_token_hash: unhex(&admin_token_hash).unwrap_or([0; 32]),
            apps: AppCache::new(Duration::from_secs(5)),
        };
        Ok((grantd, first))
    }

    async fn default_account(store: &dyn Store, now: UnixTime) -> Result<String, StoreError> {
        if let Some(id) = store.get_setting(SETTING_DEFAULT_ACCOUNT).await? {
            return Ok(id);
        }
        let candidate = random_numeric_id();
        let id = store
            .put_setting_if_absent(SETTING_DEFAULT_ACCOUNT, &candidate)
            .await?;
        if id == candidate {
            store
                .insert_account(&Account {
                    id: id.clone(),
                    name: "Default account".into(),
                    created_at: now,
                })
                .await?;
        }
        Ok(id)
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Checks a bearer token presented to the admin API.
    pub fn check_admin_token(&self, token: Option<&str>) -> Result<(), OAuthError> {
        let token = token.ok_or_else(OAuthError::admin_auth_missing)?;
        if constant_time_eq(&sha256(token.as_bytes()), &self.admin_token_hash) {
            Ok(())
        } else {
            Err(OAuthError::admin_auth_wrong())
        }
    }

    /// The named account (which must exist), or the default one.
    pub async fn account_or_default(&self, id: Option<String>) -> Result<String, OAuthError> {
        match id {
            Some(id) => Ok(self
                .store
                .get_account(&id)
                .await?
                .ok_or_else(|| OAuthError::account_not_found(&id))?
                .id),
            None => Ok(self.default_account_id.clone()),
        }
    }

    pub async fn create_account(&self, name: &str) -> Result<Account, OAuthError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OAuthError::invalid_parameter(
                "name",
                "an account needs a name of 1 to 100 characters",
            ));
        }
        let account = Account {
            id: random_numeric_id(),
            name: name.to_string(),
            created_at: self.now(),
        };
        self.store.insert_account(&account).await?;
        Ok(account)
    }

    /// Applies a change committed on another node (or through the CLI) to
    /// this node's caches, so it takes effect here at once.
    pub async fn apply_change(&self, change: &Change) {
        let reload_keys = match change {
            Change::App(client_id) => {
                self.apps.forget(client_id);
                false
            }
            Change::Keys => true,
            Change::Resync => {
                self.apps.clear();
                true
            }
        };
        if reload_keys {
            if let Err(e) = self.keys.reload(&*self.store, self.now()).await {
                tracing::warn!(error = %e, "reloading signing keys after a change failed");
            }
        }
    }

    /// Follows the store's change feed until it closes (a backend without
    /// one returns at once; caches then rely on their time-to-live).
    pub async fn follow_changes(self: Arc<Self>) {
        let Some(mut changes) = self.store.changes() else {
            return;
        };
        loop {
            match changes.recv().await {
                Ok(change) => self.apply_change(&change).await,
                // Fell behind: some changes were missed, so forget everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    self.apply_change(&Change::Resync).await
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Deletes what expired over an hour ago (ended sessions are kept that
    /// long so their tokens answer "session ended"), in batches so no
    /// transaction holds the database for long. Returns how many rows went.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        const BATCH: u32 = 1000;
        let before = self.now() - 3600;
        let mut total = 0;
        loop {
            let n = self.store.purge_expired(before, BATCH).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The store answers (for `/readyz`).
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}

/// The authentications grants use, as the narrow interface they see.
#[async_trait::async_trait]
impl grants::Authenticate for Grantd {
    async fn verify_assertion(
        &self,
        app: &model::App,
        assertion: &grantd_protocol::Secret,
    ) -> Result<(model::User, String), OAuthError> {
        Grantd::verify_assertion(self, app, assertion).await
    }

    async fn authenticate_user(
        &self,
        login: &users::Login,
        password: grantd_protocol::Secret,
    ) -> Result<model::User, OAuthError> {
        Grantd::authenticate_user(self, login, password).await
    }
}

/// Store failures reach clients as the catalog's server errors; the cause
/// goes to the log only.
impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store operation failed");
        match e {
            StoreError::Unavailable(_) => OAuthError::store_unavailable(),
            StoreError::Conflict(_) | StoreError::Corrupt(_) => OAuthError::server_error(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
