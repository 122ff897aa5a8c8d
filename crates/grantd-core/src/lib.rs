//! What grantd does: apps, accounts, keys, tokens and the token pipeline.
//! Storage is reached through [`store::Store`], time through [`clock::Clock`].

pub mod apps;
pub mod audit;
pub mod authorize;
pub mod cache;
pub mod client_assertion;
pub mod clock;
pub mod console;
pub mod console_admin;
pub mod credentials;
pub mod crypto;
pub mod device;
pub mod dpop;
pub mod grants;
pub mod interop;
pub mod key_sets;
pub mod keys;
pub mod logout;
pub mod model;
pub mod oidc;
pub mod origins;
pub mod own_token;
pub mod par;
pub mod rate_limits;
pub mod registration;
pub mod rejections;
pub mod request_object;
pub mod resource;
pub mod session_policy;
pub mod sessions;
pub mod store;
pub mod timed_store;
pub mod tokens;
pub mod trace;
pub mod usage;
pub mod users;

use crate::cache::AppCache;
use crate::clock::{Clock, UnixTime};
use crate::crypto::{
    b64url, constant_time_eq, random_bytes, random_numeric_id, random_token, sha256, Kek, KeyedHash,
};
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
    /// What an exchanged refresh token presented after the grace window does.
    pub refresh_reuse: RefreshReuse,
    /// Active sessions per user and app; the oldest ends beyond this.
    pub max_sessions: u32,
    /// Seconds a session lasts at most, refreshes or not (0 = no limit).
    pub session_max_lifetime: i64,
    pub lockout_threshold: u32,
    pub lockout_window: i64,
    pub lockout_duration: i64,
    /// Clients may register themselves without an initial access token
    /// (RFC 7591 open registration).
    pub registration_open: bool,
}

/// What a refresh token presented again after its grace window does
/// (`refresh.reuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefreshReuse {
    /// End the session for public clients (RFC 9700 §4.14.2: reuse is how
    /// a stolen token shows itself) and refuse the stale token, keeping the
    /// session, for confidential clients, which authenticated: theirs is a
    /// race between their own workers (RingCentral's rule).
    #[default]
    ByClientType,
    /// End the session whatever the client (RFC 9700).
    EndSession,
    /// Refuse the stale token and keep the session (RingCentral).
    Reject,
}

impl RefreshReuse {
    pub const NAMES: &'static str = "end-session, reject (default: end-session for public clients, reject for confidential ones)";

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "end-session" => Some(Self::EndSession),
            "reject" => Some(Self::Reject),
            "auto" | "by-client-type" => Some(Self::ByClientType),
            _ => None,
        }
    }

    /// Whether reuse by a client of this kind ends its session.
    pub fn ends_session(self, confidential: bool) -> bool {
        match self {
            Self::EndSession => true,
            Self::Reject => false,
            Self::ByClientType => !confidential,
        }
    }
}

/// 2024-03-31T00:00:00Z, when RingCentral retired the password grant.
pub const DEFAULT_LEGACY_SUNSET: UnixTime = 1_711_843_200;

impl Default for Policy {
    fn default() -> Self {
        Self {
            password_sunset: DEFAULT_LEGACY_SUNSET,
            implicit_sunset: DEFAULT_LEGACY_SUNSET,
            refresh_grace: 10,
            refresh_reuse: RefreshReuse::default(),
            max_sessions: 5,
            session_max_lifetime: 90 * 86_400,
            lockout_threshold: 5,
            lockout_window: 900,
            lockout_duration: 900,
            registration_open: false,
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

/// The shortest admin token grantd accepts, in bytes: guessing it must be
/// hopeless even for someone who reads the database.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 32;

/// Why grantd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("GRANTD_ADMIN_TOKEN is {0} bytes long; it must be at least {MIN_ADMIN_TOKEN_BYTES}. Make one with: openssl rand -base64 32")]
    AdminTokenTooShort(usize),
}

/// What first start produced and must be shown once.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// A generated admin token, 32 random bytes (only when none was
    /// configured or stored).
    pub admin_token: Option<String>,
}

/// The authorization server's state, shared by every request.
pub struct Grantd {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keys: KeyRing,
    pub config: CoreConfig,
    pub default_account_id: String,
    secret: KeyedHash,
    admin_key: KeyedHash,
    admin_token: AdminTokenHash,
    apps: AppCache,
    /// Web origins that apps allow to call grantd from a browser (CORS).
    pub origins: origins::OriginIndex,
    /// The key sets fetched from apps' `jwks_uri`s.
    pub key_sets: key_sets::KeySets,
}

/// How the admin token is stored.
#[derive(Debug, Clone, Copy)]
enum AdminTokenHash {
    /// HMAC-SHA-256 under a key derived from the server secret.
    Keyed([u8; 32]),
    /// Plain SHA-256, as grantd stored it before the keyed hash; accepted
    /// until the token is next set through `GRANTD_ADMIN_TOKEN`.
    Legacy([u8; 32]),
}

const SETTING_ADMIN_TOKEN: &str = "admin_token_hmac";
const SETTING_LEGACY_ADMIN_TOKEN: &str = "admin_token_sha256";
const SETTING_DEFAULT_ACCOUNT: &str = "default_account_id";
/// 32 random bytes (base64url) made at first start and shared by every node:
/// the key of the admin token's hash and of the rate-limit counters' keys.
const SETTING_SERVER_SECRET: &str = "server_secret";

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
        if let Some(token) = &config.admin_token {
            if token.len() < MIN_ADMIN_TOKEN_BYTES {
                return Err(StartError::AdminTokenTooShort(token.len()));
            }
        }
        let keys = KeyRing::open(
            &*store,
            kek,
            config.signing_alg,
            &config.issuer,
            clock.clone(),
        )
        .await?;
        let default_account_id = Self::default_account(&*store, now).await?;
        let secret = Self::server_secret(&*store).await?;
        let admin_key = secret.derive("admin token");
        let mut first = FirstStart::default();
        let admin_token = Self::admin_token(&*store, &admin_key, &config, &mut first).await?;
        let key_sets = key_sets::KeySets::new(Arc::new(key_sets::NoFetcher), clock.clone());
        let grantd = Self {
            store,
            clock,
            keys,
            config,
            default_account_id,
            secret,
            admin_key,
            admin_token,
            apps: AppCache::new(Duration::from_secs(5)),
            origins: origins::OriginIndex::default(),
            key_sets,
        };
        grantd.origins.rebuild(&grantd.store.list_apps().await?);
        Ok((grantd, first))
    }

    /// Fetches apps' key sets (`jwks_uri`) with `fetcher`; until this is
    /// called, no set is fetched.
    pub fn set_key_set_fetcher(&mut self, fetcher: Arc<dyn key_sets::KeySetFetcher>) {
        self.key_sets = key_sets::KeySets::new(fetcher, self.clock.clone());
    }

    /// The server secret, made at first start by whichever node gets there first.
    async fn server_secret(store: &dyn Store) -> Result<KeyedHash, StoreError> {
        let stored = match store.get_setting(SETTING_SERVER_SECRET).await? {
            Some(s) => s,
            None => {
                store
                    .put_setting_if_absent(SETTING_SERVER_SECRET, &b64url(&random_bytes::<32>()))
                    .await?
            }
        };
        use base64::Engine;
        match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(stored.trim()) {
            Ok(bytes) if bytes.len() >= 32 => Ok(KeyedHash::new(&bytes)),
            _ => Err(StoreError::Corrupt(format!(
                "setting {SETTING_SERVER_SECRET} is not 32 base64url bytes"
            ))),
        }
    }

    /// The admin token's stored hash. A configured token is stored (as a
    /// keyed hash, retiring an older plain SHA-256); without one, the stored
    /// hash serves, and on first start a token is made and shown once.
    async fn admin_token(
        store: &dyn Store,
        key: &KeyedHash,
        config: &CoreConfig,
        first: &mut FirstStart,
    ) -> Result<AdminTokenHash, StoreError> {
        let stored = |name: &'static str| async move {
            Ok::<_, StoreError>(
                store
                    .get_setting(name)
                    .await?
                    .filter(|v| !v.is_empty())
                    .map(|v| unhex(&v).unwrap_or([0; 32])),
            )
        };
        if let Some(token) = &config.admin_token {
            let h = key.digest(&[token.as_bytes()]);
            store.put_setting(SETTING_ADMIN_TOKEN, &hex(&h)).await?;
            if stored(SETTING_LEGACY_ADMIN_TOKEN).await?.is_some() {
                // No setting is ever deleted; an empty value is none.
                store.put_setting(SETTING_LEGACY_ADMIN_TOKEN, "").await?;
                tracing::info!(
                    "the admin token is now stored as a keyed hash; its plain SHA-256 was removed"
                );
            }
            return Ok(AdminTokenHash::Keyed(h));
        }
        if let Some(h) = stored(SETTING_ADMIN_TOKEN).await? {
            return Ok(AdminTokenHash::Keyed(h));
        }
        if let Some(h) = stored(SETTING_LEGACY_ADMIN_TOKEN).await? {
            tracing::warn!(
                "the admin token is stored as a plain SHA-256 by an older grantd; it still works. \
                 Start once with GRANTD_ADMIN_TOKEN set (to the same token or a new one) to store it as a keyed hash"
            );
            return Ok(AdminTokenHash::Legacy(h));
        }
        let token = random_token();
        let h = hex(&key.digest(&[token.as_bytes()]));
        let stored = store.put_setting_if_absent(SETTING_ADMIN_TOKEN, &h).await?;
        if stored == h {
            first.admin_token = Some(token);
        }
        Ok(AdminTokenHash::Keyed(unhex(&stored).unwrap_or([0; 32])))
    }

    /// A key for hashing values every node must hash alike (rate-limit keys),
    /// derived from the server secret for `purpose`.
    pub fn keyed_hash(&self, purpose: &str) -> KeyedHash {
        self.secret.derive(purpose)
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
        let right = match &self.admin_token {
            AdminTokenHash::Keyed(h) => {
                constant_time_eq(&self.admin_key.digest(&[token.as_bytes()]), h)
            }
            AdminTokenHash::Legacy(h) => constant_time_eq(&sha256(token.as_bytes()), h),
        };
        if right {
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
                match self.store.get_app(client_id).await {
                    Ok(Some(app)) => self.origins.set(&app),
                    Ok(None) => self.origins.remove(client_id),
                    Err(e) => tracing::warn!(error = %e, "reading a changed app for CORS failed"),
                }
                false
            }
            Change::Keys => true,
            Change::Resync => {
                self.apps.clear();
                self.refresh_origins().await;
                true
            }
        };
        if reload_keys {
            if let Err(e) = self.keys.reload(&*self.store).await {
                tracing::warn!(error = %e, "reloading signing keys after a change failed");
            }
        }
    }

    /// Rebuilds the CORS origin index from the store (at a resync, and
    /// periodically: changes made through the CLI on SQLite have no feed).
    pub async fn refresh_origins(&self) {
        match self.store.list_apps().await {
            Ok(apps) => self.origins.rebuild(&apps),
            Err(e) => tracing::warn!(error = %e, "reloading the apps' CORS origins failed"),
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

    async fn verify_own_token(
        &self,
        token: &grantd_protocol::Secret,
    ) -> Result<Result<own_token::OwnToken, own_token::Refused>, OAuthError> {
        Grantd::verify_own_token(self, token.expose()).await
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
