//! The storage trait grantd-core talks to; grantd-store implements it.
//!
//! The store stores; grantd-core decides. Each method is one unit of work
//! (one transaction) for one operation of grantd, so an operation is never
//! half done and never races itself across nodes. Where an operation needs a
//! rule applied to the state it finds (which sessions a cap ends, what a failed
//! password does to the lockout), core passes the rule in as a policy value
//! ([`SessionCap`], [`LockoutPolicy`]) and the store applies it inside the
//! transaction, to rows it has locked.
//!
//! Isolation: SQLite serializes every write (one writer connection, `BEGIN
//! IMMEDIATE`). PostgreSQL runs at READ COMMITTED; each method's doc says which
//! row it locks first, so concurrent units of work on the same record queue
//! behind each other instead of racing.

use crate::clock::UnixTime;
use crate::model::{
    Account, App, AuthCode, BrowserSession, CodeUse, Consent, DeviceCode, DeviceStatus,
    JwtCredential, LoginState, PushedRequest, PushedUse, Registration, RegistrationToken, Role,
    Session, StoredKey, TokenRecord, User, UserStatus,
};
use async_trait::async_trait;

/// Which unique key an insert clashed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// The record's own id (client id, user id, token hash, kid, …).
    PrimaryKey,
    /// A user's email (unique across the server).
    UserEmail,
    /// A user's extension number (unique within the account).
    UserExtension,
    /// A device code's user code (unique among stored device codes).
    UserCode,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the operation.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A unique key already exists.
    #[error("already exists: {0:?}")]
    Conflict(UniqueKey),
    /// A stored row could not be read back (a bug or a hand-edited database).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The outcome of a compare-and-set on a record with a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Written; the stored revision is now one more than the one expected.
    Done,
    /// Someone changed the record since it was read; nothing was written.
    Stale,
    /// No such record.
    Missing,
}

/// How many active sessions one user may hold with one app, and which of
/// them end when a new one opens. The rule is core's; the store applies it
/// to the sessions it has locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCap {
    pub max_active: u32,
}

impl SessionCap {
    /// Of the other active sessions of the same user and app (in any
    /// order), the ids that must end so that the new session and the newest
    /// others together number at most `max_active`. The new session always
    /// stays. Oldest first.
    pub fn evicted(&self, others: &[Session]) -> Vec<String> {
        let keep = self.max_active.saturating_sub(1) as usize;
        let mut others: Vec<&Session> = others.iter().filter(|s| s.ended_at.is_none()).collect();
        // Newest first; ids break ties so every backend picks the same ones.
        others.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let mut doomed: Vec<String> = others.iter().skip(keep).map(|s| s.id.clone()).collect();
        doomed.reverse();
        doomed
    }
}

/// Failed-password lockout (a pure state machine; the store applies it
/// atomically per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Seconds a window of failures lasts.
    pub window: i64,
    /// Failures in one window that lock the user (0 acts as 1).
    pub threshold: u32,
    /// Seconds a lock lasts.
    pub lock_for: i64,
}

impl LockoutPolicy {
    /// When the user is locked at `now`, until when.
    pub fn locked_until(&self, state: &LoginState, now: UnixTime) -> Option<UnixTime> {
        state.locked_until.filter(|&until| until > now)
    }

    /// The state after one more failed (or reserved) attempt at `now`.
    ///
    /// A failure `window` or more seconds after the window started opens a
    /// new one. Once a window holds `threshold` failures, each further
    /// failure in it locks again, so a lock that ran out does not buy a fresh
    /// set of guesses. A lock still running is never shortened.
    pub fn after_failure(&self, current: LoginState, now: UnixTime) -> LoginState {
        let running_lock = self.locked_until(&current, now);
        let (failures, window_started_at) = if current.failures > 0
            && now.saturating_sub(current.window_started_at) < self.window
        {
            (
                current.failures.saturating_add(1),
                current.window_started_at,
            )
        } else {
            (1, now)
        };
        let locked_until = if failures >= self.threshold.max(1) {
            let until = now.saturating_add(self.lock_for);
            Some(running_lock.map_or(until, |running| running.max(until)))
        } else {
            running_lock
        };
        LoginState {
            failures,
            window_started_at,
            locked_until,
        }
    }
}

/// What [`Store::reserve_login_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// The user was locked: nothing was recorded and the password must not be checked.
    Locked { until: UnixTime },
    /// The attempt was counted as a failure in advance (the state after it);
    /// the caller may now check the password, and clears the count if it was right.
    Reserved(LoginState),
}

/// A new session with what was issued in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub session: Session,
    /// The stored tokens of the first pair: the refresh token and, when the
    /// access token is opaque, the access token.
    pub tokens: Vec<TokenRecord>,
    /// The authorization code whose exchange opens the session (its hash).
    pub code: Option<[u8; 32]>,
    /// The approved device code whose exchange opens the session (its hash):
    /// marked used, with the session, in the same unit of work.
    pub device_code: Option<[u8; 32]>,
}

/// What [`Store::open_session`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOpened {
    /// Stored; these other sessions ended under the cap (oldest first).
    Opened { evicted: Vec<String> },
    /// The code was presented again before this exchange stored anything:
    /// nothing was stored.
    CodeReplayed,
    /// The device code was no longer approved (another poll used it, or it
    /// is gone): nothing was stored.
    DeviceCodeUsed,
}

/// A user's decision on the verification page of the device flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecision {
    /// `user_id`, signed in at `auth_time`, lets the device act for them with `scope`.
    Approve {
        user_id: String,
        scope: String,
        auth_time: UnixTime,
    },
    Deny {
        user_id: String,
    },
}

/// How a device's polling is paced (RFC 8628 §3.5): a poll sooner than the
/// interval after the previous one must slow down, and the interval grows
/// by `slow_down_by` for it and every later poll. The rule is core's; the
/// store applies it to the code's row, locked, so concurrent polls are
/// paced one after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPace {
    pub slow_down_by: i64,
}

impl PollPace {
    /// The code as a poll at `now` leaves it (polled now, its interval
    /// raised if the poll came too soon). Only a pending code is paced: once
    /// the user has decided, the answer is final however soon it is asked.
    pub fn after_poll(&self, code: &DeviceCode, now: UnixTime) -> Polled {
        let too_soon = code.status == DeviceStatus::Pending
            && code
                .last_polled_at
                .is_some_and(|last| now.saturating_sub(last) < code.interval);
        let interval = if too_soon {
            code.interval.saturating_add(self.slow_down_by)
        } else {
            code.interval
        };
        Polled {
            code: DeviceCode {
                last_polled_at: Some(now),
                interval,
                ..code.clone()
            },
            slow_down: too_soon,
        }
    }
}

/// What [`Store::poll_device_code`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    /// The code as stored after the poll.
    pub code: DeviceCode,
    /// The poll came too soon (the interval is already raised).
    pub slow_down: bool,
}

/// One refresh: the old refresh token is exchanged for `next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub old_hash: [u8; 32],
    /// The session's next refresh token (or an already-expired tombstone when
    /// the client declined one).
    pub next: TokenRecord,
    /// The new access token, when it is opaque.
    pub access: Option<TokenRecord>,
    /// The exchange's response sealed for the grace-window replay.
    pub replay: Vec<u8>,
    /// The old access token (JWT `jti`, expiry) to revoke with the exchange.
    pub revoke_jti: Option<(String, UnixTime)>,
}

/// What [`Store::rotate_refresh`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// This call rotated the token; the new one is stored.
    Rotated,
    /// Another call rotated it first; here is the record as stored now.
    AlreadyRotated(Box<TokenRecord>),
    /// The old token was revoked, or its session ended, before this call
    /// could rotate it: nothing was stored.
    Ended,
    /// No such refresh token.
    Unknown,
}

/// Whose sessions [`Store::end_sessions`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsOf<'a> {
    User(&'a str),
    App(&'a str),
    /// Those opened with this JWT credential.
    Credential(&'a str),
    /// A user's sessions with one app.
    UserApp {
        user_id: &'a str,
        client_id: &'a str,
    },
}

/// Whose sessions a logout ends (back-channel logout deliveries follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOf {
    /// Those opened under one browser sign-in (OIDC `sid`).
    Sid(String),
    /// Every session of a user (disabled, or signed out everywhere).
    User(String),
    /// One session.
    Session(String),
    /// Every session of an app.
    App(String),
}

/// A logout as one unit of work: the browser session deleted (if any), the
/// sessions ended with their tokens, and one back-channel delivery queued
/// per (app, `sid`) of the ended sessions whose app has a
/// `backchannel_logout_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    pub of: LogoutOf,
    /// The signed-in browser's session (its cookie's hash), deleted too.
    pub browser_session: Option<[u8; 32]>,
    pub reason: String,
    /// The deliveries' ids are `{delivery_prefix}.{n}` (unique per logout).
    pub delivery_prefix: String,
    /// When the first delivery attempt is due.
    pub first_attempt_at: UnixTime,
}

/// What a [`Logout`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedOut {
    /// The sessions it ended (as they were before).
    pub ended: Vec<Session>,
    /// The deliveries it queued.
    pub deliveries: Vec<crate::model::LogoutDelivery>,
}

/// A change another node must see at once (cached apps, the key ring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The app was created, changed, its secret rotated, or deleted.
    App(String),
    /// A signing key was added or retired.
    Keys,
    /// Notifications may have been missed (the listener reconnected): drop every cache.
    Resync,
}

/// Requests counted on one node since its last [`Store::sync_counters`],
/// for one rate-limit key (a keyed hash: the store never sees an address,
/// client id or username) in the window `[window_start, window_end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterDelta {
    pub key: [u8; 16],
    /// The window the node counted in: it starts at the key's first request
    /// (on whichever node) and lasts the limit's number of seconds.
    pub window_start: UnixTime,
    pub window_end: UnixTime,
    /// The key's limit, so that counters near it can be found.
    pub limit: u32,
    pub count: u32,
}

/// A counter as stored: every node's requests in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterTotal {
    pub key: [u8; 16],
    pub window_start: UnixTime,
    pub window_end: UnixTime,
    pub count: u64,
}

/// What [`Store::sync_counters`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterSync {
    /// The totals of the counters just added to, then those of counters near
    /// their limit that changed since the cursor given.
    pub totals: Vec<CounterTotal>,
    /// Pass to the next call.
    pub cursor: i64,
}

/// Everything grantd persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;

    /// Changes made through any store on the same database (other nodes
    /// included), as they commit; `None` if the backend cannot tell (caches
    /// then rely on their time-to-live).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }

    /// Server-wide settings (admin token hash, default account id…).
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets `key` unless it exists; returns the value that is now stored.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    /// Appends a security event to the audit log, chained to the last entry:
    /// in one transaction that holds the log's write lock, the next `seq` and
    /// the last entry's hash are read and `chain` (core's rule) computes the
    /// new entry's hash from them.
    async fn append_audit(
        &self,
        entry: NewAuditEntry,
        chain: AuditChain,
    ) -> StoreResult<AuditEntry>;
    /// Audit entries with `seq` greater than `after`, oldest first, at most `limit`.
    async fn list_audit(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;

    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

    /// Stores a new app at revision 1 (whatever `app.revision` says).
    async fn insert_app(&self, app: &App) -> StoreResult<()>;
    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>>;
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    /// Writes the app's settings (everything but its secret hash and
    /// `created_at`) if the stored revision is still `app.revision`, and
    /// moves the revision on by one. Notifies [`Change::App`].
    async fn update_app(&self, app: &App) -> StoreResult<Cas>;
    /// Replaces the secret hash (and `updated_at`), moving the revision on;
    /// false if the app does not exist. Notifies [`Change::App`].
    async fn set_app_secret(
        &self,
        client_id: &str,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Deletes the app with its tokens, codes, device codes, consents,
    /// rejection log, usage counts and registration (RFC 7591), and
    /// ends its sessions (reason `app deleted`, at `now`); false if it did not exist.
    /// Notifies [`Change::App`].
    async fn delete_app(&self, client_id: &str, now: UnixTime) -> StoreResult<bool>;

    /// Notifies [`Change::Keys`].
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    /// Newest first.
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Notifies [`Change::Keys`].
    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()>;
    /// Removes a key (a compromised one: what it signed stops verifying);
    /// false if there was none. Notifies [`Change::Keys`].
    async fn delete_key(&self, kid: &str) -> StoreResult<bool>;

    /// Stores a token outside any session (client_credentials' opaque access tokens).
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>>;
    /// Marks the token revoked; false if it was unknown or already revoked.
    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool>;

    /// Records that the JWT access token `jti` is revoked until it expires.
    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Keeps a pushed authorization request (RFC 9126) until it expires.
    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()>;
    /// Marks the pushed request with this `request_uri` hash used at `now`
    /// and answers it (`Fresh`), or answers that it was used before or is
    /// unknown. A compare-and-set: of concurrent uses exactly one is `Fresh`.
    async fn use_pushed_request(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<PushedUse>;
    /// Records that `id` (an opaque token, a code, a session's refresh
    /// tokens) is bound to the DPoP key with thumbprint `jkt` until
    /// `expires_at`. A second binding of the same id replaces the first.
    async fn put_dpop_binding(&self, id: &str, jkt: &str, expires_at: UnixTime) -> StoreResult<()>;
    /// The DPoP key thumbprint `id` is bound to, if any.
    async fn get_dpop_binding(&self, id: &str) -> StoreResult<Option<String>>;
    /// Records that `client_id` authenticated with a client assertion
    /// whose `jti` is good until `expires_at` (RFC 7523 §3: single use).
    /// True if this call recorded it; false if the same app used the same
    /// jti before and that use has not expired at `now` (a replay). One
    /// atomic step: of concurrent identical calls exactly one answers true.
    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Keeps an initial access token (RFC 7591 §3), by its hash.
    async fn insert_registration_token(&self, token: &RegistrationToken) -> StoreResult<()>;
    /// Every initial access token, oldest first.
    async fn list_registration_tokens(&self) -> StoreResult<Vec<RegistrationToken>>;
    /// The initial access token with this hash, if any.
    async fn find_registration_token(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<RegistrationToken>>;
    /// Marks the token `id` revoked at `at`; false if there is no such token
    /// or it was revoked before.
    async fn revoke_registration_token(&self, id: &str, at: UnixTime) -> StoreResult<bool>;
    /// One registration (RFC 7591): uses the initial access token
    /// `initial_token` once (when given), then stores the app and its
    /// registration. The use is a compare-and-set: the token must still be
    /// unrevoked, unexpired at `now` and below its `max_uses`, else nothing
    /// is written and the answer is false (of concurrent registrations with
    /// a token of one use left, one is stored).
    async fn register_app(
        &self,
        app: &App,
        registration: &Registration,
        initial_token: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// The registration of the app `client_id`, if it registered itself.
    async fn get_registration(&self, client_id: &str) -> StoreResult<Option<Registration>>;
    /// RFC 7592 update: the app (a compare-and-set on its revision, as
    /// [`Store::update_app`]) and the registration's metadata, in one unit
    /// of work; nothing is written unless the app's update is `Done`.
    async fn update_registration(
        &self,
        app: &App,
        metadata: &str,
        now: UnixTime,
    ) -> StoreResult<Cas>;

    /// Deletes at most `limit` rows of each kind: tokens, revocation records,
    /// codes, device codes, browser sessions and request counters that expired
    /// before `before`, sessions that ended before it, and back-channel logout
    /// deliveries finished a day before it. Returns how many rows went. Runs
    /// on one node at a time (another node purging makes this return 0).
    async fn purge_expired(&self, before: UnixTime, limit: u32) -> StoreResult<u64>;

    /// `Conflict(UserEmail)` if the email is taken, `Conflict(UserExtension)`
    /// if the extension number is taken within the account. The email is
    /// stored as given (core normalises it).
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// Exact match on the stored (normalised) email.
    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
    async fn find_users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>>;
    /// Every user, or those of one account.
    async fn list_users(&self, account_id: Option<&str>) -> StoreResult<Vec<User>>;
    /// False if the user does not exist.
    async fn set_user_status(&self, id: &str, status: UserStatus) -> StoreResult<bool>;
    /// False if the user does not exist.
    async fn set_user_role(&self, id: &str, role: Role) -> StoreResult<bool>;
    /// Replaces a user's password hash and ends every active session of the
    /// user (reason `reason`), in one unit of work: a session opened with
    /// the old password cannot outlive the change. `None`: no such user.
    async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<Option<u64>>;

    /// Before a password is checked: with the user's lockout row locked, if
    /// `policy` says the user is locked at `now`, change nothing and answer
    /// `Locked`; otherwise record the attempt as a failure
    /// (`policy.after_failure`) and answer `Reserved` with the new state. So
    /// of any number of concurrent attempts, at most the threshold are let
    /// through to the password check.
    async fn reserve_login_attempt(
        &self,
        user_id: &str,
        now: UnixTime,
        policy: &LockoutPolicy,
    ) -> StoreResult<LoginAttempt>;
    /// The user's lockout state (default when none is stored).
    async fn get_login_state(&self, user_id: &str) -> StoreResult<LoginState>;
    /// A right password: forget the user's failures (and a lock their own
    /// reservation set).
    async fn clear_login_failures(&self, user_id: &str) -> StoreResult<()>;

    async fn insert_jwt_credential(&self, credential: &JwtCredential) -> StoreResult<()>;
    async fn get_jwt_credential(&self, id: &str) -> StoreResult<Option<JwtCredential>>;
    async fn list_jwt_credentials(&self, user_id: &str) -> StoreResult<Vec<JwtCredential>>;
    /// False if unknown or already revoked.
    async fn revoke_jwt_credential(&self, id: &str, at: UnixTime) -> StoreResult<bool>;

    /// In one unit of work: if `new.code` is set and that code was presented
    /// again meanwhile (its `replayed_at` is set), store nothing and answer
    /// `CodeReplayed`; if `new.device_code` is set and that device code is
    /// not approved (any more), store nothing and answer `DeviceCodeUsed`;
    /// otherwise mark the device code used, insert the session and its
    /// tokens, record the session on the code or device code, and end
    /// (reason `session_limit`, at `now`) the other active sessions of the
    /// same user and app that `cap` chooses. PostgreSQL locks the code (or
    /// device code) row first, then the user's sessions of the app.
    async fn open_session(
        &self,
        new: &NewSession,
        cap: &SessionCap,
        now: UnixTime,
    ) -> StoreResult<SessionOpened>;
    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>>;
    /// How many sessions have not ended (the `grantd_active_sessions` gauge).
    async fn count_active_sessions(&self) -> StoreResult<u64>;
    /// Ends the session and revokes every stored token of it (refresh and
    /// opaque access tokens) in one unit of work. False if unknown or already
    /// ended. PostgreSQL locks the session row first.
    async fn end_session(&self, id: &str, reason: &str, now: UnixTime) -> StoreResult<bool>;
    /// Ends every active session of a user, an app or a credential (as
    /// [`Store::end_session`]); returns how many.
    async fn end_sessions(
        &self,
        of: SessionsOf<'_>,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<u64>;

    /// In one unit of work, with the session row locked first (PostgreSQL):
    /// if the old refresh token is unknown, answer `Unknown`; if it was
    /// rotated, change nothing and answer `AlreadyRotated` with the stored
    /// record (so concurrent refreshes never fork a session); if it is
    /// revoked or its session ended, answer `Ended`. Otherwise set its
    /// `rotated_at = now` and `replay`, insert `next` and `access`, record
    /// `revoke_jti`, and answer `Rotated`.
    async fn rotate_refresh(
        &self,
        rotation: &Rotation,
        now: UnixTime,
    ) -> StoreResult<RotateOutcome>;

    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Atomically marks the code used (`used_at = now`) if it was not, and
    /// answers `Fresh` with it; `Replayed` if it had been used (recording the
    /// first replay's time, which [`Store::open_session`] checks); `Unknown`.
    async fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<CodeUse>;

    /// `Conflict(UserCode)` if its user code is taken (by any stored code,
    /// expired or not), `Conflict(PrimaryKey)` if its hash is.
    async fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()>;
    /// The device code with this user code (in normal form).
    async fn find_device_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>>;
    /// The user's decision, as a compare-and-set on `status = pending`: sets
    /// the status (approved or denied), `user_id`, `decided_at = now` and,
    /// for an approval, `scope` and `auth_time`. False (and nothing written)
    /// if the code is unknown or was decided already. The store does not
    /// judge expiry (a poll does).
    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// A poll by the device: with the code's row locked, applies
    /// `pace.after_poll` and stores its `last_polled_at` and `interval`;
    /// answers what it decided, or `None` for an unknown code. The code is
    /// used by [`Store::open_session`], not here.
    async fn poll_device_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        pace: &PollPace,
    ) -> StoreResult<Option<Polled>>;

    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>>;
    /// Inserts or replaces the consent of (user, app).
    async fn put_consent(&self, consent: &Consent) -> StoreResult<()>;
    /// False if there was none.
    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool>;
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>>;

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// Whether other grantd processes share this database, so that request
    /// counters (the failed-authentication limit, the rate-limit groups)
    /// must go through [`Store::sync_counters`] to hold across them. A
    /// single-node backend (SQLite) says no, and the server counts in memory
    /// only.
    fn counters_are_shared(&self) -> bool {
        false
    }

    /// One node's periodic exchange of request counters, in one unit of
    /// work. Adds each delta to its key's counter: a counter whose window
    /// ended at `now` starts over with the delta's window; a delta for a
    /// window that ended before the stored one began is dropped. Answers the
    /// totals of the counters added to, then those of every other counter
    /// changed (by any node) after `cursor` (0 the first time) whose window
    /// has not ended at `now` and whose count is at least half its limit, so
    /// a key paused on one node is paused on all. Deltas may come in any
    /// order (a key named twice counts their sum).
    ///
    /// A backend that keeps no counters answers nothing.
    async fn sync_counters(
        &self,
        deltas: &[CounterDelta],
        cursor: i64,
        now: UnixTime,
    ) -> StoreResult<CounterSync> {
        let _ = (deltas, now);
        Ok(CounterSync {
            totals: Vec::new(),
            cursor,
        })
    }
    async fn get_browser_session(&self, hash: &[u8; 32]) -> StoreResult<Option<BrowserSession>>;
    async fn delete_browser_session(&self, hash: &[u8; 32]) -> StoreResult<()>;

    /// In one unit of work: deletes `logout.browser_session`, ends every
    /// active session `logout.of` names (revoking their tokens, reason
    /// `logout.reason`), and queues a pending delivery (due at
    /// `first_attempt_at`) for each distinct (client id, sid) among them whose
    /// app has a `backchannel_logout_uri`.
    async fn logout(&self, logout: &Logout, now: UnixTime) -> StoreResult<LoggedOut>;
    /// Claims up to `limit` pending deliveries due at `now` (oldest due
    /// first) by moving their `next_attempt_at` to `lease_until`, so another
    /// node (or this one, after a crash) tries them only once that passes.
    async fn claim_logout_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::LogoutDelivery>>;
    /// Stores an attempt's outcome: `status`, `attempts`, `last_error`,
    /// `next_attempt_at` and `updated_at` of the delivery `id`.
    async fn record_logout_attempt(
        &self,
        delivery: &crate::model::LogoutDelivery,
    ) -> StoreResult<()>;
    /// An app's deliveries, newest first.
    async fn list_logout_deliveries(
        &self,
        client_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<crate::model::LogoutDelivery>>;
    /// Appends rejections (their `seq` is ignored: each gets the next of its
    /// app's log) of apps that exist (others are skipped), and trims each
    /// app's log to its newest `keep`; one unit of work.
    async fn record_rejections(
        &self,
        batch: &[crate::rejections::Rejection],
        keep: u32,
    ) -> StoreResult<()>;
    /// An app's rejections, newest first, filtered by code and endpoint.
    async fn list_rejections(
        &self,
        client_id: &str,
        filter: &crate::rejections::RejectionFilter,
    ) -> StoreResult<Vec<crate::rejections::Rejection>>;
    /// The newest rejection with this request id.
    async fn get_rejection(
        &self,
        request_id: &str,
    ) -> StoreResult<Option<crate::rejections::Rejection>>;

    /// Adds each count to its app's day (apps that do not exist are
    /// skipped); one unit of work.
    async fn add_token_usage(&self, counts: &[crate::usage::TokenCount]) -> StoreResult<()>;
    /// An app's token counts from `since_day` (days since the epoch) on,
    /// newest day first.
    async fn token_usage(
        &self,
        client_id: &str,
        since_day: i64,
    ) -> StoreResult<Vec<crate::usage::TokenCount>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, created_at: UnixTime) -> Session {
        Session {
            id: id.into(),
            user_id: "u".into(),
            client_id: "c".into(),
            account_id: "a".into(),
            scope: String::new(),
            created_at,
            ended_at: None,
            end_reason: None,
            credential_id: None,
            endpoint_id: None,
            sid: None,
            resources: Vec::new(),
        }
    }

    #[test]
    fn cap_ends_the_oldest_beyond_the_limit() {
        let cap = SessionCap { max_active: 3 };
        let others = [
            session("b", 2),
            session("a", 1),
            session("d", 4),
            session("c", 3),
        ];
        // The new one and the two newest stay.
        assert_eq!(cap.evicted(&others), vec!["a", "b"]);
        assert!(SessionCap { max_active: 5 }.evicted(&others).is_empty());
        assert_eq!(SessionCap { max_active: 1 }.evicted(&others).len(), 4);
    }

    fn pending(interval: i64, last_polled_at: Option<UnixTime>) -> DeviceCode {
        DeviceCode {
            hash: [7; 32],
            user_code: "BCDFGHJKLM".into(),
            client_id: "c".into(),
            scope: String::new(),
            interval,
            created_at: 0,
            expires_at: 600,
            last_polled_at,
            status: DeviceStatus::Pending,
            user_id: None,
            auth_time: None,
            decided_at: None,
            session_id: None,
        }
    }

    #[test]
    fn polls_are_paced_while_pending() {
        let pace = PollPace { slow_down_by: 5 };
        // The first poll, and one a full interval later, are in time.
        let first = pace.after_poll(&pending(5, None), 100);
        assert!(!first.slow_down);
        assert_eq!(
            (first.code.last_polled_at, first.code.interval),
            (Some(100), 5)
        );
        assert!(!pace.after_poll(&first.code, 105).slow_down);
        // Sooner: slow down, and the interval grows for this poll and the next.
        let early = pace.after_poll(&first.code, 104);
        assert!(early.slow_down);
        assert_eq!(
            (early.code.last_polled_at, early.code.interval),
            (Some(104), 10)
        );
        assert!(pace.after_poll(&early.code, 113).slow_down);
        assert!(!pace.after_poll(&early.code, 114).slow_down);
        // Once decided, the answer is given however soon it is asked.
        let approved = DeviceCode {
            status: DeviceStatus::Approved,
            ..early.code.clone()
        };
        let again = pace.after_poll(&approved, 104);
        assert!(!again.slow_down);
        assert_eq!(again.code.interval, 10);
    }

    #[test]
    fn lockout_state_machine() {
        let p = LockoutPolicy {
            window: 900,
            threshold: 3,
            lock_for: 600,
        };
        let mut s = LoginState::default();
        s = p.after_failure(s, 1000);
        assert_eq!(
            (s.failures, s.window_started_at, s.locked_until),
            (1, 1000, None)
        );
        s = p.after_failure(s, 1001);
        s = p.after_failure(s, 1002);
        assert_eq!(s.locked_until, Some(1602));
        assert_eq!(p.locked_until(&s, 1500), Some(1602));
        assert_eq!(p.locked_until(&s, 1602), None);
        // After the lock, inside the window: one more failure locks again.
        s = p.after_failure(s, 1700);
        assert_eq!(s.locked_until, Some(2300));
        // A new window starts over.
        s = p.after_failure(s, 5000);
        assert_eq!((s.failures, s.locked_until), (1, None));
    }
}

/// A security event to record (`crate::audit` says which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: UnixTime,
    pub kind: String,
    /// Who: a user id, `admin` (the admin token or the CLI), or a client id.
    pub actor: String,
    /// What it was done to: a client id, user id, credential id, key id.
    pub subject: String,
    /// From where: the client's address, or `cli`.
    pub source: String,
    /// JSON with the event's particulars (never a secret).
    pub detail: String,
}

/// A stored audit entry; `hash` covers `prev_hash` and every other field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: UnixTime,
    pub kind: String,
    pub actor: String,
    pub subject: String,
    pub source: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// How an entry's hash is computed from the previous hash, its `seq` and
/// its fields (core's rule, applied by the store inside its transaction).
pub type AuditChain = fn(prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> String;
