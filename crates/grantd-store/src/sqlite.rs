//! The SQLite backend: WAL, a small pool of readers, and the writes on one
//! connection: the hot units of work on the writer thread (`writer.rs`,
//! group commit), the rare ones (apps, users, settings, logs) through sqlx.

use crate::codec::{self, db_error};
use crate::direct::Readers;
use crate::rows::AuditRow;
use crate::rows::Cols;
use crate::rows::{
    self, account as account_from_row, app as app_from_row, auth_code as auth_code_from_row,
    browser_session as browser_session_from_row, consent as consent_from_row,
    device_code as device_code_from_row, jwt_credential as jwt_credential_from_row,
    key as key_from_row, login_state as login_state_from_row,
    logout_delivery as logout_delivery_from_row, rejection as rejection_from_row,
    session as session_from_row, token as token_from_row, user as user_from_row, APP_COLUMNS,
    AUTH_CODE_COLUMNS, BROWSER_SESSION_COLUMNS, CONSENT_COLUMNS, COUNTER_COLUMNS,
    DEVICE_CODE_COLUMNS, JWT_CREDENTIAL_COLUMNS, LOGOUT_DELIVERY_COLUMNS, PUSHED_COLUMNS,
    REGISTRATION_COLUMNS, REGISTRATION_TOKEN_COLUMNS, REJECTION_COLUMNS, SESSION_COLUMNS,
    TOKEN_COLUMNS, USER_COLUMNS,
};
use crate::writer::{self, Writer};
use async_trait::async_trait;
use grantd_core::clock::UnixTime;
use grantd_core::model::{
    Account, App, AuthCode, BrowserSession, CodeUse, Consent, DeliveryStatus, DeviceCode,
    JwtCredential, LoginState, LogoutDelivery, PushedRequest, PushedUse, Registration,
    RegistrationToken, Role, Session, StoredKey, TokenRecord, User, UserStatus,
};
use grantd_core::store::{
    Cas, CounterDelta, CounterSync, DeviceDecision, LockoutPolicy, LoggedOut, LoginAttempt, Logout,
    LogoutOf, NewSession, PollPace, Polled, RotateOutcome, Rotation, SessionCap, SessionOpened,
    SessionsOf, Store, StoreError, StoreResult,
};
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How long a connection waits on a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers run concurrently under WAL; writers are serialized through one connection.
const READER_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// grantd's state in one SQLite file.
///
/// The operations of every request (sessions, tokens, codes, revocations)
/// are units of work on the writer thread ([`Writer`]), group-committed;
/// the rest of the writes (registering apps and users, settings, the logs)
/// go through a sqlx pool of exactly one connection, so they queue in the
/// process. The two take SQLite's write lock in turn (`BEGIN IMMEDIATE`,
/// waiting up to [`BUSY_TIMEOUT`]). Reads use a separate pool and, thanks to
/// WAL, never wait for a writer.
#[derive(Debug)]
pub struct SqliteStore {
    /// Declared first so it is dropped (its thread told to end) before the
    /// temporary file is removed.
    hot: Writer,
    /// The point lookups of requests, run in place (`direct.rs`).
    direct: Readers,
    writer: SqlitePool,
    reader: SqlitePool,
    /// The WAL checkpointer's task, stopped on drop.
    _checkpoints: AbortOnDrop,
    /// The database file to delete on drop ([`SqliteStore::open_in_memory`]).
    temp: Option<TempFile>,
}

impl SqliteStore {
    /// Opens (creating it if missing) and migrates the database at
    /// `url_or_path`: a `sqlite:` URL (`sqlite://grantd.db`, `sqlite::memory:`)
    /// or a path to the database file.
    pub async fn open(url_or_path: &str) -> Result<SqliteStore, StoreError> {
        if url_or_path.starts_with("sqlite:")
            && (url_or_path.contains(":memory:") || url_or_path.contains("mode=memory"))
        {
            // Two connections write (the writer thread and sqlx), which an
            // in-memory database cannot share: a temporary file stands in.
            return Self::open_in_memory().await;
        }
        let options = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path).map_err(|e| {
                StoreError::Unavailable(format!("invalid SQLite URL {url_or_path:?}: {e}"))
            })?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let store = Self::connect(options).await?;
        tracing::info!(database = url_or_path, "SQLite store open");
        Ok(store)
    }

    /// A fresh, migrated store for tests, in a temporary file that is deleted
    /// when the store is dropped (a real file, so the reader and writer pools
    /// see the same database).
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let path = std::env::temp_dir().join(format!(
            "grantd-test-{}-{}.db",
            std::process::id(),
            grantd_core::crypto::random_id(16)
        ));
        let temp = TempFile(path);
        let mut store = Self::connect(SqliteConnectOptions::new().filename(&temp.0)).await?;
        store.temp = Some(temp);
        Ok(store)
    }

    async fn connect(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(e.to_string());
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        migrate(&writer).await?;
        let hot = Writer::open(options.get_filename(), BUSY_TIMEOUT)?;
        let direct = Readers::new(options.get_filename(), BUSY_TIMEOUT);
        // `query_only` makes a write that strays onto a reader fail loudly
        // instead of racing the writer for the lock.
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(READER_CONNECTIONS)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(unavailable)?;
        let checkpoints = AbortOnDrop(tokio::spawn(checkpoint_every_second(writer.clone())));
        Ok(Self {
            hot,
            direct,
            writer,
            reader,
            _checkpoints: checkpoints,
            temp: None,
        })
    }

    /// A write transaction that takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`), so one that reads before it writes never fails on
    /// upgrading its lock, even with another process writing the file.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// Closes both pools, waiting for their connections to finish.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| StoreError::Unavailable(format!("migrating the database: {e}")))
}

/// Copies the WAL into the database file once a second, without waiting on
/// readers or writers (`PASSIVE`), on the sqlx write connection: the writer
/// thread never checkpoints, so no request waits for one.
async fn checkpoint_every_second(writer: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&writer)
            .await
        {
            if writer.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
        }
    }
}

/// A task aborted when its owner is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A database file (and its WAL and shared-memory files) removed on drop.
#[derive(Debug)]
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(Path::new(&path));
        }
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds an app's fields in [`APP_COLUMNS`] order (as ?1..?25).
/// The app's settings written as a compare-and-set on its revision, inside
/// `tx` (update_app and update_registration).
async fn update_app_in(tx: &mut Transaction<'static, Sqlite>, app: &App) -> StoreResult<Cas> {
    // Numbered parameters in APP_COLUMNS order, so one binder serves
    // insert and update; the secret (?15) and created_at (?16) are not
    // written here.
    let what = format!("app {}", app.client_id);
    let err = |e| db_error(e, &what);
    let done = bind_app(
        sqlx::query(
            "UPDATE apps SET account_id = ?2, name = ?3, platform_type = ?4, grants = ?5, \
             redirect_uris = ?6, scopes = ?7, distribution = ?8, issue_refresh_tokens = ?9, \
             access_token_ttl = ?10, refresh_token_ttl = ?11, access_token_format = ?12, \
             allow_plain_pkce = ?13, resource_server = ?14, updated_at = ?17, \
             rate_limits = ?19, token_exchange = ?20, allowed_origins = ?21, jwks = ?22, \
             jwks_uri = ?23, security = ?24, links = ?25, \
             revision = revision + 1 \
             WHERE client_id = ?1 AND revision = ?18",
        ),
        app,
    )?
    .execute(&mut **tx)
    .await
    .map_err(err)?
    .rows_affected();
    if done > 0 {
        return Ok(Cas::Done);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM apps WHERE client_id = ?")
        .bind(&app.client_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(err)?;
    Ok(if exists.is_some() {
        Cas::Stale
    } else {
        Cas::Missing
    })
}

fn bind_app<'q>(q: SqliteQuery<'q>, app: &'q App) -> StoreResult<SqliteQuery<'q>> {
    Ok(q.bind(&app.client_id)
        .bind(&app.account_id)
        .bind(&app.name)
        .bind(app.platform_type.as_str())
        .bind(codec::grants_to_json(&app.grants))
        .bind(codec::redirect_uris_to_json(&app.redirect_uris))
        .bind(codec::scopes_to_json(&app.scopes))
        .bind(app.distribution.as_str())
        .bind(app.issue_refresh_tokens)
        .bind(codec::ttl_to_db("access_token_ttl", app.access_token_ttl)?)
        .bind(codec::ttl_to_db(
            "refresh_token_ttl",
            app.refresh_token_ttl,
        )?)
        .bind(app.access_token_format.as_str())
        .bind(app.allow_plain_pkce)
        .bind(app.resource_server)
        .bind(app.secret_hash.as_ref().map(|h| h.as_slice()))
        .bind(app.created_at)
        .bind(app.updated_at)
        .bind(app.revision)
        .bind(codec::rate_limits_to_json(&app.rate_limits))
        .bind(codec::exchange_policy_to_json(app.token_exchange.as_ref()))
        .bind(codec::origins_to_json(&app.allowed_origins))
        .bind(codec::jwks_to_json(app.jwks.as_ref()))
        .bind(app.jwks_uri.as_deref())
        .bind(codec::security_to_json(&app.security))
        .bind(codec::links_to_json(&app.links)))
}

/// The writer thread's side of the hot operations: plain functions on its
/// connection, each statement prepared once and cached.
mod hot {
    use super::*;

    /// Inserts `token` as it is.
    pub fn insert_token(conn: &Connection, token: &TokenRecord) -> rusqlite::Result<()> {
        let exchange = token.exchange.as_ref();
        conn.prepare_cached(&format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))?
        .execute(params![
            token.hash.as_slice(),
            token.kind.as_str(),
            token.id,
            token.client_id,
            token.subject,
            token.account_id,
            token.session_id,
            token.scope,
            token.issued_at,
            token.expires_at,
            token.revoked_at,
            token.rotated_at,
            token.replay.as_deref(),
            token.pair_access_id,
            token.pair_access_expires_at,
            exchange.and_then(|x| x.audience.as_deref()),
            codec::actor_to_json(exchange.and_then(|x| x.act.as_ref())),
        ])?;
        Ok(())
    }

    /// Records `jti` revoked. Revoking again keeps the first revocation time
    /// and the later expiry.
    pub fn revoke_jti(
        conn: &Connection,
        jti: &str,
        expires_at: UnixTime,
        at: UnixTime,
    ) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO revoked_jtis (jti, expires_at, revoked_at) VALUES (?, ?, ?) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        )?
        .execute(params![jti, expires_at, at])?;
        Ok(())
    }

    /// Ends session `id` (if it is not ended) and revokes its tokens that are
    /// not revoked (whether or not it was ended before). True if this call
    /// ended it.
    pub fn end_session(
        conn: &Connection,
        id: &str,
        reason: &str,
        now: UnixTime,
    ) -> rusqlite::Result<bool> {
        let ended = conn
            .prepare_cached(
                "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
            )?
            .execute(params![now, reason, id])?;
        conn.prepare_cached(
            "UPDATE tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL",
        )?
        .execute(params![now, id])?;
        Ok(ended > 0)
    }

    /// [`Store::logout`] on the writer's connection.
    pub fn logout(
        conn: &Connection,
        logout: &Logout,
        now: UnixTime,
    ) -> rusqlite::Result<LoggedOut> {
        if let Some(hash) = &logout.browser_session {
            conn.prepare_cached("DELETE FROM browser_sessions WHERE hash = ?")?
                .execute(params![hash.as_slice()])?;
        }
        let (filter, key) = match &logout.of {
            LogoutOf::Sid(sid) => ("sid = ?", sid),
            LogoutOf::User(id) => ("user_id = ?", id),
            LogoutOf::Session(id) => ("id = ?", id),
            LogoutOf::App(id) => ("client_id = ?", id),
        };
        let sessions = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE {filter} AND ended_at IS NULL \
                 ORDER BY created_at, id"
            ))?
            .query_map(params![key], |row| {
                session_from_row(row).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })?
            .collect::<rusqlite::Result<Vec<Session>>>()?;
        let mut out = LoggedOut::default();
        for s in sessions {
            if end_session(conn, &s.id, &logout.reason, now)? {
                out.ended.push(s);
            }
        }
        let mut targets: Vec<(String, String, Option<String>)> = out
            .ended
            .iter()
            .map(|s| (s.client_id.clone(), s.user_id.clone(), s.sid.clone()))
            .collect();
        targets.sort();
        targets.dedup();
        for (client_id, user_id, sid) in targets {
            let listens: bool = conn
                .prepare_cached(
                    "SELECT json_extract(links, '$.backchannel_logout_uri') IS NOT NULL \
                     FROM apps WHERE client_id = ?",
                )?
                .query_row(params![client_id], |row| row.get(0))
                .optional()?
                .unwrap_or(false);
            if !listens {
                continue;
            }
            let d = LogoutDelivery {
                id: format!("{}.{}", logout.delivery_prefix, out.deliveries.len()),
                client_id,
                user_id,
                sid,
                status: DeliveryStatus::Pending,
                attempts: 0,
                last_error: None,
                next_attempt_at: Some(logout.first_attempt_at),
                created_at: now,
                updated_at: now,
            };
            conn.prepare_cached(&format!(
                "INSERT INTO logout_deliveries ({LOGOUT_DELIVERY_COLUMNS}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))?
            .execute(params![
                d.id,
                d.client_id,
                d.user_id,
                d.sid,
                d.status.as_str(),
                d.attempts,
                d.last_error,
                d.next_attempt_at,
                d.created_at,
                d.updated_at,
            ])?;
            out.deliveries.push(d);
        }
        Ok(out)
    }

    pub fn open_session(
        conn: &Connection,
        new: &NewSession,
        cap: &SessionCap,
        now: UnixTime,
    ) -> rusqlite::Result<SessionOpened> {
        let session = &new.session;
        if let Some(code) = &new.code {
            // The replay check and the link to the session are one write: a
            // replay either came first (nothing is stored) or finds the
            // session recorded on the code (and ends it).
            let linked = conn
                .prepare_cached(
                    "UPDATE auth_codes SET session_id = ? WHERE hash = ? AND replayed_at IS NULL",
                )?
                .execute(params![session.id, code.as_slice()])?;
            if linked == 0 {
                return Ok(SessionOpened::CodeReplayed);
            }
        }
        if let Some(device_code) = &new.device_code {
            // The compare-and-set: of concurrent polls, one uses the code.
            let used = conn
                .prepare_cached(
                    "UPDATE device_codes SET status = 'used', session_id = ? \
                     WHERE hash = ? AND status = 'approved'",
                )?
                .execute(params![session.id, device_code.as_slice()])?;
            if used == 0 {
                return Ok(SessionOpened::DeviceCodeUsed);
            }
        }
        // The cap needs each other session's age only.
        let others = conn
            .prepare_cached(
                "SELECT id, created_at FROM sessions \
                 WHERE user_id = ? AND client_id = ? AND ended_at IS NULL",
            )?
            .query_map(params![session.user_id, session.client_id], |row| {
                Ok(Session {
                    id: row.get(0)?,
                    created_at: row.get(1)?,
                    ended_at: None,
                    ..session.clone()
                })
            })?
            .collect::<rusqlite::Result<Vec<Session>>>()?;
        let evicted = cap.evicted(&others);
        for id in &evicted {
            end_session(conn, id, "session_limit", now)?;
        }
        conn.prepare_cached(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))?
        .execute(params![
            session.id,
            session.user_id,
            session.client_id,
            session.account_id,
            session.scope,
            session.created_at,
            session.ended_at,
            session.end_reason,
            session.credential_id,
            session.endpoint_id,
            session.sid,
            codec::resources_to_json(&session.resources),
        ])?;
        for token in &new.tokens {
            insert_token(conn, token)?;
        }
        Ok(SessionOpened::Opened { evicted })
    }

    /// What a rotation found; the record of an already rotated token is
    /// read afterwards, by a reader.
    pub enum Found {
        Rotated,
        AlreadyRotated,
        Ended,
        Unknown,
    }

    pub fn rotate_refresh(
        conn: &Connection,
        rotation: &Rotation,
        now: UnixTime,
    ) -> rusqlite::Result<Found> {
        let old = conn
            .prepare_cached("SELECT rotated_at, revoked_at, session_id FROM tokens WHERE hash = ?")?
            .query_row(params![rotation.old_hash.as_slice()], |row| {
                Ok((
                    row.get::<_, Option<UnixTime>>(0)?,
                    row.get::<_, Option<UnixTime>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()?;
        let Some((rotated_at, revoked_at, session_id)) = old else {
            return Ok(Found::Unknown);
        };
        if rotated_at.is_some() {
            return Ok(Found::AlreadyRotated);
        }
        let session_ended = match &session_id {
            Some(id) => {
                let ended_at: Option<Option<UnixTime>> = conn
                    .prepare_cached("SELECT ended_at FROM sessions WHERE id = ?")?
                    .query_row(params![id], |row| row.get(0))
                    .optional()?;
                !matches!(ended_at, Some(None))
            }
            None => false,
        };
        if revoked_at.is_some() || session_ended {
            return Ok(Found::Ended);
        }
        // The write lock is held (the batch's BEGIN IMMEDIATE), so what was
        // read above still holds: this update is the compare-and-set's "set".
        conn.prepare_cached("UPDATE tokens SET rotated_at = ?, replay = ? WHERE hash = ?")?
            .execute(params![
                now,
                rotation.replay.as_slice(),
                rotation.old_hash.as_slice()
            ])?;
        insert_token(conn, &rotation.next)?;
        if let Some(access) = &rotation.access {
            insert_token(conn, access)?;
        }
        if let Some((jti, expires_at)) = &rotation.revoke_jti {
            revoke_jti(conn, jti, *expires_at, now)?;
        }
        Ok(Found::Rotated)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(|e| db_error(e, "ping"))?;
        Ok(())
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.direct.one(
            &format!("setting {key}"),
            "SELECT value FROM settings WHERE key = ?",
            params![key],
            |row| row.col("setting", "value"),
        )
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let what = format!("setting {key}");
        let err = |e| db_error(e, &what);
        let mut tx = self.writer.begin().await.map_err(err)?;
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let stored: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(stored)
    }

    async fn append_audit(
        &self,
        entry: grantd_core::store::NewAuditEntry,
        chain: grantd_core::store::AuditChain,
    ) -> StoreResult<grantd_core::store::AuditEntry> {
        let err = |e| db_error(e, "audit log");
        // The write lock first: the last entry read is still the last at commit.
        let mut tx = self.write_tx().await.map_err(err)?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, grantd_core::audit::GENESIS.to_string()),
        };
        let hash = chain(&prev_hash, seq, &entry);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, kind, actor, subject, source, detail, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(entry.at)
        .bind(&entry.kind)
        .bind(&entry.actor)
        .bind(&entry.subject)
        .bind(&entry.source)
        .bind(&entry.detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(grantd_core::store::AuditEntry {
            seq,
            at: entry.at,
            kind: entry.kind,
            actor: entry.actor,
            subject: entry.subject,
            source: entry.source,
            detail: entry.detail,
            prev_hash,
            hash,
        })
    }

    async fn list_audit(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<grantd_core::store::AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, at, kind, actor, subject, source, detail, prev_hash, hash \
             FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "audit log"))?;
        Ok(rows.into_iter().map(crate::rows::audit_entry).collect())
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("setting {key}")))?;
        Ok(())
    }

    async fn insert_account(&self, account: &Account) -> StoreResult<()> {
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)")
            .bind(&account.id)
            .bind(&account.name)
            .bind(account.created_at)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("account {}", account.id)))?;
        Ok(())
    }

    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>> {
        sqlx::query("SELECT id, name, created_at FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| db_error(e, &format!("account {id}")))?
            .map(|row| account_from_row(&row))
            .transpose()
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        sqlx::query("SELECT id, name, created_at FROM accounts ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await
            .map_err(|e| db_error(e, "accounts"))?
            .iter()
            .map(account_from_row)
            .collect()
    }

    async fn insert_app(&self, app: &App) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO apps ({APP_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 1, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
        );
        bind_app(sqlx::query(&sql), app)?
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("app {}", app.client_id)))?;
        Ok(())
    }

    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        self.direct.one(
            &format!("app {client_id}"),
            &format!("SELECT {APP_COLUMNS} FROM apps WHERE client_id = ?"),
            params![client_id],
            |row| app_from_row(row),
        )
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, client_id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "apps"))?
        .iter()
        .map(app_from_row)
        .collect()
    }

    async fn update_app(&self, app: &App) -> StoreResult<Cas> {
        let what = format!("app {}", app.client_id);
        let err = |e| db_error(e, &what);
        let mut tx = self.write_tx().await.map_err(err)?;
        let outcome = update_app_in(&mut tx, app).await?;
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }

    async fn set_app_secret(
        &self,
        client_id: &str,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE apps SET secret_hash = ?, updated_at = ?, revision = revision + 1 \
             WHERE client_id = ?",
        )
        .bind(secret_hash.as_slice())
        .bind(now)
        .bind(client_id)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("app {client_id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_app(&self, client_id: &str, now: UnixTime) -> StoreResult<bool> {
        let what = format!("app {client_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.write_tx().await.map_err(err)?;
        let deleted = sqlx::query("DELETE FROM apps WHERE client_id = ?")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        }
        // Everything issued to the app goes with it; its sessions end.
        for sql in [
            "DELETE FROM tokens WHERE client_id = ?",
            "DELETE FROM auth_codes WHERE client_id = ?",
            "DELETE FROM device_codes WHERE client_id = ?",
            "DELETE FROM consents WHERE client_id = ?",
            "DELETE FROM rejections WHERE client_id = ?",
            "DELETE FROM token_usage WHERE client_id = ?",
            "DELETE FROM client_registrations WHERE client_id = ?",
        ] {
            sqlx::query(sql)
                .bind(client_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        sqlx::query(
            "UPDATE sessions SET ended_at = ?, end_reason = 'app deleted' \
             WHERE client_id = ? AND ended_at IS NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private, created_at, retired_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.public_jwk)
        .bind(key.sealed_private.as_slice())
        .bind(key.created_at)
        .bind(key.retired_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("signing key {}", key.kid)))?;
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        sqlx::query(
            "SELECT kid, alg, public_jwk, sealed_private, created_at, retired_at \
             FROM signing_keys ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "signing keys"))?
        .iter()
        .map(key_from_row)
        .collect()
    }

    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL")
            .bind(at)
            .bind(kid)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "signing keys"))?;
        Ok(())
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("signing key {kid}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let token = token.clone();
        self.hot
            .run(move |conn| {
                hot::insert_token(conn, &token)
                    .map_err(|e| writer::db_error(&e, &format!("token {}", token.id)))
            })
            .await
    }

    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
        self.direct.one(
            "token",
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?"),
            params![hash.as_slice()],
            |row| token_from_row(row),
        )
    }

    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool> {
        let hash = *hash;
        self.hot
            .run(move |conn| {
                conn.prepare_cached(
                    "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL",
                )
                .and_then(|mut update| update.execute(params![at, hash.as_slice()]))
                .map(|changed| changed > 0)
                .map_err(|e| writer::db_error(&e, "token"))
            })
            .await
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()> {
        let jti = jti.to_string();
        self.hot
            .run(move |conn| {
                hot::revoke_jti(conn, &jti, expires_at, at)
                    .map_err(|e| writer::db_error(&e, &format!("revoked jti {jti}")))
            })
            .await
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let found = self.direct.one(
            &format!("revoked jti {jti}"),
            "SELECT 1 FROM revoked_jtis WHERE jti = ?",
            params![jti],
            |_| Ok(()),
        )?;
        Ok(found.is_some())
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO pushed_requests ({PUSHED_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ))
        .bind(&request.hash[..])
        .bind(&request.client_id)
        .bind(&request.params)
        .bind(request.created_at)
        .bind(request.expires_at)
        .bind(request.used_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "pushed request"))?;
        Ok(())
    }

    async fn use_pushed_request(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<PushedUse> {
        let err = |e| db_error(e, "pushed request");
        let mut tx = self.write_tx().await.map_err(err)?;
        let fresh = sqlx::query(&format!(
            "UPDATE pushed_requests SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL \
             RETURNING {PUSHED_COLUMNS}"
        ))
        .bind(&hash[..])
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let found = match fresh {
            Some(row) => PushedUse::Fresh(rows::pushed_request(&row)?),
            None => match sqlx::query(&format!(
                "SELECT {PUSHED_COLUMNS} FROM pushed_requests WHERE hash = ?1"
            ))
            .bind(&hash[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?
            {
                Some(row) => PushedUse::Used(rows::pushed_request(&row)?),
                None => PushedUse::Unknown,
            },
        };
        tx.commit().await.map_err(err)?;
        Ok(found)
    }

    async fn insert_registration_token(&self, token: &RegistrationToken) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO registration_tokens ({REGISTRATION_TOKEN_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ))
        .bind(&token.id)
        .bind(&token.label)
        .bind(&token.hash[..])
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.max_uses)
        .bind(token.uses)
        .bind(token.revoked_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("registration token {}", token.id)))?;
        Ok(())
    }

    async fn list_registration_tokens(&self) -> StoreResult<Vec<RegistrationToken>> {
        sqlx::query(&format!(
            "SELECT {REGISTRATION_TOKEN_COLUMNS} FROM registration_tokens ORDER BY created_at, id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "registration tokens"))?
        .iter()
        .map(rows::registration_token)
        .collect()
    }

    async fn find_registration_token(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<RegistrationToken>> {
        sqlx::query(&format!(
            "SELECT {REGISTRATION_TOKEN_COLUMNS} FROM registration_tokens WHERE hash = ?1"
        ))
        .bind(&hash[..])
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, "registration token"))?
        .map(|row| rows::registration_token(&row))
        .transpose()
    }

    async fn revoke_registration_token(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE registration_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("registration token {id}")))?
        .rows_affected();
        Ok(done > 0)
    }

    async fn register_app(
        &self,
        app: &App,
        registration: &Registration,
        initial_token: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let what = format!("app {}", app.client_id);
        let err = |e| db_error(e, &what);
        let mut tx = self.write_tx().await.map_err(err)?;
        if let Some(id) = initial_token {
            let used = sqlx::query(
                "UPDATE registration_tokens SET uses = uses + 1 \
                 WHERE id = ?1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > ?2) \
                 AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            if used == 0 {
                tx.rollback().await.map_err(err)?;
                return Ok(false);
            }
        }
        let sql = format!(
            "INSERT INTO apps ({APP_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 1, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
        );
        bind_app(sqlx::query(&sql), app)?
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query(&format!(
            "INSERT INTO client_registrations ({REGISTRATION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))
        .bind(&registration.client_id)
        .bind(&registration.token_hash[..])
        .bind(&registration.metadata)
        .bind(&registration.initial_token_id)
        .bind(&registration.initial_token_label)
        .bind(registration.created_at)
        .bind(registration.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn get_registration(&self, client_id: &str) -> StoreResult<Option<Registration>> {
        sqlx::query(&format!(
            "SELECT {REGISTRATION_COLUMNS} FROM client_registrations WHERE client_id = ?1"
        ))
        .bind(client_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("registration of {client_id}")))?
        .map(|row| rows::registration(&row))
        .transpose()
    }

    async fn update_registration(
        &self,
        app: &App,
        metadata: &str,
        now: UnixTime,
    ) -> StoreResult<Cas> {
        let what = format!("registration of {}", app.client_id);
        let err = |e| db_error(e, &what);
        let mut tx = self.write_tx().await.map_err(err)?;
        let outcome = update_app_in(&mut tx, app).await?;
        if outcome != Cas::Done {
            tx.rollback().await.map_err(err)?;
            return Ok(outcome);
        }
        sqlx::query(
            "UPDATE client_registrations SET metadata = ?2, updated_at = ?3 WHERE client_id = ?1",
        )
        .bind(&app.client_id)
        .bind(metadata)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(Cas::Done)
    }

    async fn put_dpop_binding(&self, id: &str, jkt: &str, expires_at: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dpop_bindings (id, jkt, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET jkt = excluded.jkt, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(jkt)
        .bind(expires_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, "DPoP binding"))?;
        Ok(())
    }

    async fn get_dpop_binding(&self, id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT jkt FROM dpop_bindings WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| db_error(e, "DPoP binding"))
    }

    async fn use_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let (client_id, jti) = (client_id.to_string(), jti.to_string());
        self.hot
            .run(move |conn| {
                // An expired use is replaced, so a jti may come back once its
                // assertion could no longer be replayed.
                conn.prepare_cached(
                    "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) \
                     VALUES (?1, ?2, ?3) \
                     ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
                     WHERE client_assertion_jtis.expires_at < ?4",
                )
                .and_then(|mut upsert| upsert.execute(params![client_id, jti, expires_at, now]))
                .map(|changed| changed > 0)
                .map_err(|e| writer::db_error(&e, &format!("client assertion jti of {client_id}")))
            })
            .await
    }

    async fn purge_expired(&self, before: UnixTime, limit: u32) -> StoreResult<u64> {
        let err = |e| db_error(e, "purge");
        let mut tx = self.write_tx().await.map_err(err)?;
        let mut total = 0;
        // Ended sessions are kept an hour past the cut-off by the caller,
        // long enough for their tokens to answer "session ended".
        for sql in [
            "DELETE FROM tokens WHERE rowid IN \
             (SELECT rowid FROM tokens WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM revoked_jtis WHERE rowid IN \
             (SELECT rowid FROM revoked_jtis WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM client_assertion_jtis WHERE rowid IN \
             (SELECT rowid FROM client_assertion_jtis WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM pushed_requests WHERE rowid IN \
             (SELECT rowid FROM pushed_requests WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM dpop_bindings WHERE rowid IN \
             (SELECT rowid FROM dpop_bindings WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM auth_codes WHERE rowid IN \
             (SELECT rowid FROM auth_codes WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM device_codes WHERE rowid IN \
             (SELECT rowid FROM device_codes WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM browser_sessions WHERE rowid IN \
             (SELECT rowid FROM browser_sessions WHERE expires_at < ?1 LIMIT ?2)",
            "DELETE FROM sessions WHERE rowid IN \
             (SELECT rowid FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?1 LIMIT ?2)",
            "DELETE FROM rate_counters WHERE rowid IN \
             (SELECT rowid FROM rate_counters WHERE window_end < ?1 LIMIT ?2)",
            // Finished back-channel deliveries stay listed a day.
            "DELETE FROM logout_deliveries WHERE rowid IN \
             (SELECT rowid FROM logout_deliveries \
              WHERE status <> 'pending' AND updated_at < ?1 - 86400 LIMIT ?2)",
        ] {
            total += sqlx::query(sql)
                .bind(before)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(total)
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&user.id)
        .bind(&user.account_id)
        .bind(&user.email)
        .bind(&user.phone)
        .bind(&user.extension_number)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.status.as_str())
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("user {}", user.id)))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.direct.one(
            &format!("user {id}"),
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"),
            params![id],
            |row| user_from_row(row),
        )
    }

    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = ? ORDER BY created_at, id"
        ))
        .bind(email)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "users by email"))?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn find_users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE phone = ? ORDER BY created_at, id"
        ))
        .bind(phone)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, "users by phone"))?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn list_users(&self, account_id: Option<&str>) -> StoreResult<Vec<User>> {
        let rows = match account_id {
            Some(account_id) => {
                sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE account_id = ? ORDER BY created_at, id"
                ))
                .bind(account_id)
                .fetch_all(&self.reader)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
                ))
                .fetch_all(&self.reader)
                .await
            }
        };
        rows.map_err(|e| db_error(e, "users"))?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn set_user_role(&self, id: &str, role: Role) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("role of user {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_user_status(&self, id: &str, status: UserStatus) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET status = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("user {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<Option<u64>> {
        let (id, password_hash, reason) = (
            id.to_string(),
            password_hash.to_string(),
            reason.to_string(),
        );
        self.hot
            .run(move |conn| {
                // The new password and the end of every session are one unit of work.
                let change = || -> rusqlite::Result<Option<u64>> {
                    let changed = conn
                        .prepare_cached("UPDATE users SET password_hash = ? WHERE id = ?")?
                        .execute(params![password_hash, id])?;
                    if changed == 0 {
                        return Ok(None);
                    }
                    let ids = conn
                        .prepare_cached(
                            "SELECT id FROM sessions WHERE user_id = ? AND ended_at IS NULL",
                        )?
                        .query_map(params![id], |row| row.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()?;
                    let mut ended = 0;
                    for sid in &ids {
                        if hot::end_session(conn, sid, &reason, now)? {
                            ended += 1;
                        }
                    }
                    Ok(Some(ended))
                };
                change().map_err(|e| writer::db_error(&e, &format!("password of user {id}")))
            })
            .await
    }

    async fn reserve_login_attempt(
        &self,
        user_id: &str,
        now: UnixTime,
        policy: &LockoutPolicy,
    ) -> StoreResult<LoginAttempt> {
        let what = format!("login failures of user {user_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.write_tx().await.map_err(err)?;
        let current = sqlx::query(
            "SELECT failures, window_started_at, locked_until FROM login_failures \
             WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?
        .map(|row| login_state_from_row(&row, user_id))
        .transpose()?
        .unwrap_or_default();
        if let Some(until) = policy.locked_until(&current, now) {
            tx.rollback().await.map_err(err)?;
            return Ok(LoginAttempt::Locked { until });
        }
        let next = policy.after_failure(current, now);
        sqlx::query(
            "INSERT INTO login_failures (user_id, failures, window_started_at, locked_until) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET failures = excluded.failures, \
             window_started_at = excluded.window_started_at, \
             locked_until = excluded.locked_until",
        )
        .bind(user_id)
        .bind(i64::from(next.failures))
        .bind(next.window_started_at)
        .bind(next.locked_until)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(LoginAttempt::Reserved(next))
    }

    async fn get_login_state(&self, user_id: &str) -> StoreResult<LoginState> {
        let row = sqlx::query(
            "SELECT failures, window_started_at, locked_until FROM login_failures \
             WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("login failures of user {user_id}")))?;
        match row {
            Some(row) => login_state_from_row(&row, user_id),
            None => Ok(LoginState::default()),
        }
    }

    async fn clear_login_failures(&self, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("login failures of user {user_id}")))?;
        Ok(())
    }

    async fn insert_jwt_credential(&self, credential: &JwtCredential) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO jwt_credentials ({JWT_CREDENTIAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&credential.id)
        .bind(&credential.user_id)
        .bind(&credential.account_id)
        .bind(&credential.label)
        .bind(
            credential
                .allowed_apps
                .as_deref()
                .map(codec::strings_to_json),
        )
        .bind(credential.expires_at)
        .bind(credential.created_at)
        .bind(credential.revoked_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("JWT credential {}", credential.id)))?;
        Ok(())
    }

    async fn get_jwt_credential(&self, id: &str) -> StoreResult<Option<JwtCredential>> {
        self.direct.one(
            &format!("JWT credential {id}"),
            &format!("SELECT {JWT_CREDENTIAL_COLUMNS} FROM jwt_credentials WHERE id = ?"),
            params![id],
            |row| jwt_credential_from_row(row),
        )
    }

    async fn list_jwt_credentials(&self, user_id: &str) -> StoreResult<Vec<JwtCredential>> {
        sqlx::query(&format!(
            "SELECT {JWT_CREDENTIAL_COLUMNS} FROM jwt_credentials WHERE user_id = ? \
             ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("JWT credentials of user {user_id}")))?
        .iter()
        .map(jwt_credential_from_row)
        .collect()
    }

    async fn revoke_jwt_credential(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jwt_credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("JWT credential {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn open_session(
        &self,
        new: &NewSession,
        cap: &SessionCap,
        now: UnixTime,
    ) -> StoreResult<SessionOpened> {
        let (new, cap) = (new.clone(), *cap);
        self.hot
            .run(move |conn| {
                hot::open_session(conn, &new, &cap, now)
                    .map_err(|e| writer::db_error(&e, &format!("session {}", new.session.id)))
            })
            .await
    }

    async fn count_active_sessions(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
            .fetch_one(&self.reader)
            .await
            .map_err(|e| db_error(e, "active sessions"))?;
        Ok(n.max(0) as u64)
    }

    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>> {
        self.direct.one(
            &format!("session {id}"),
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?"),
            params![id],
            |row| session_from_row(row),
        )
    }

    async fn end_sessions(
        &self,
        of: SessionsOf<'_>,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let (sql, keys, what): (&str, Vec<String>, String) = match of {
            SessionsOf::User(id) => (
                "SELECT id FROM sessions WHERE user_id = ? AND ended_at IS NULL",
                vec![id.to_string()],
                format!("sessions of user {id}"),
            ),
            SessionsOf::App(id) => (
                "SELECT id FROM sessions WHERE client_id = ? AND ended_at IS NULL",
                vec![id.to_string()],
                format!("sessions of app {id}"),
            ),
            SessionsOf::Credential(id) => (
                "SELECT id FROM sessions WHERE credential_id = ? AND ended_at IS NULL",
                vec![id.to_string()],
                format!("sessions of JWT credential {id}"),
            ),
            SessionsOf::UserApp { user_id, client_id } => (
                "SELECT id FROM sessions WHERE user_id = ? AND client_id = ? AND ended_at IS NULL",
                vec![user_id.to_string(), client_id.to_string()],
                format!("sessions of user {user_id} with app {client_id}"),
            ),
        };
        let reason = reason.to_string();
        self.hot
            .run(move |conn| {
                let ended = || -> rusqlite::Result<u64> {
                    let ids = conn
                        .prepare_cached(sql)?
                        .query_map(rusqlite::params_from_iter(&keys), |row| row.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()?;
                    let mut ended = 0;
                    for id in &ids {
                        if hot::end_session(conn, id, &reason, now)? {
                            ended += 1;
                        }
                    }
                    Ok(ended)
                };
                ended().map_err(|e| writer::db_error(&e, &what))
            })
            .await
    }

    async fn end_session(&self, id: &str, reason: &str, now: UnixTime) -> StoreResult<bool> {
        let (id, reason) = (id.to_string(), reason.to_string());
        self.hot
            .run(move |conn| {
                hot::end_session(conn, &id, &reason, now)
                    .map_err(|e| writer::db_error(&e, &format!("session {id}")))
            })
            .await
    }

    async fn rotate_refresh(
        &self,
        rotation: &Rotation,
        now: UnixTime,
    ) -> StoreResult<RotateOutcome> {
        let old_hash = rotation.old_hash;
        let rotation = rotation.clone();
        let rotated = self
            .hot
            .run(move |conn| {
                hot::rotate_refresh(conn, &rotation, now).map_err(|e| {
                    writer::db_error(
                        &e,
                        &format!("rotation to refresh token {}", rotation.next.id),
                    )
                })
            })
            .await?;
        Ok(match rotated {
            hot::Found::Rotated => RotateOutcome::Rotated,
            hot::Found::Ended => RotateOutcome::Ended,
            hot::Found::Unknown => RotateOutcome::Unknown,
            // A rotated token's row no longer changes but for its
            // revocation, so reading it after the commit reads what the
            // rotation found (or a later revocation, which is as true).
            hot::Found::AlreadyRotated => match self.get_token(&old_hash).await? {
                Some(old) => RotateOutcome::AlreadyRotated(Box::new(old)),
                None => RotateOutcome::Unknown,
            },
        })
    }

    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO auth_codes ({AUTH_CODE_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(code.hash.as_slice())
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.account_id)
        .bind(&code.redirect_uri)
        .bind(code.redirect_uri_sent)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(&code.code_challenge_method)
        .bind(code.auth_time)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.used_at)
        .bind(&code.session_id)
        .bind(&code.sid)
        .bind(codec::resources_to_json(&code.resources))
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("authorization code of app {}", code.client_id)))?;
        Ok(())
    }

    async fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<CodeUse> {
        let code = *hash;
        let swapped = self
            .hot
            .run(move |conn| {
                let swap = || -> rusqlite::Result<bool> {
                    // The compare-and-set: of racing exchanges, exactly one changes the row.
                    let swapped = conn
                        .prepare_cached(
                            "UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL",
                        )?
                        .execute(params![now, code.as_slice()])?;
                    if swapped == 0 {
                        conn.prepare_cached(
                            "UPDATE auth_codes SET replayed_at = ? \
                             WHERE hash = ? AND replayed_at IS NULL",
                        )?
                        .execute(params![now, code.as_slice()])?;
                    }
                    Ok(swapped > 0)
                };
                swap().map_err(|e| writer::db_error(&e, "authorization code"))
            })
            .await?;
        // Read after the commit: the row is what the swap left (the use and
        // the replay are only ever set, never cleared, while a code lives).
        let stored = sqlx::query(&format!(
            "SELECT {AUTH_CODE_COLUMNS} FROM auth_codes WHERE hash = ?"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, "authorization code"))?
        .map(|row| auth_code_from_row(&row))
        .transpose()?;
        Ok(match stored {
            Some(code) if swapped => CodeUse::Fresh(Box::new(code)),
            Some(code) => CodeUse::Replayed(Box::new(code)),
            None => CodeUse::Unknown,
        })
    }

    async fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO device_codes ({DEVICE_CODE_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(code.hash.as_slice())
        .bind(&code.user_code)
        .bind(&code.client_id)
        .bind(&code.scope)
        .bind(code.interval)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.last_polled_at)
        .bind(code.status.as_str())
        .bind(&code.user_id)
        .bind(code.auth_time)
        .bind(code.decided_at)
        .bind(&code.session_id)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("device code of app {}", code.client_id)))?;
        Ok(())
    }

    async fn find_device_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
        sqlx::query(&format!(
            "SELECT {DEVICE_CODE_COLUMNS} FROM device_codes WHERE user_code = ?"
        ))
        .bind(user_code)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, "device code"))?
        .map(|row| device_code_from_row(&row))
        .transpose()
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // One statement: the compare-and-set on `pending`.
        let query = match decision {
            DeviceDecision::Approve {
                user_id,
                scope,
                auth_time,
            } => sqlx::query(
                "UPDATE device_codes SET status = 'approved', user_id = ?, scope = ?, \
                 auth_time = ?, decided_at = ? WHERE user_code = ? AND status = 'pending'",
            )
            .bind(user_id)
            .bind(scope)
            .bind(auth_time),
            DeviceDecision::Deny { user_id } => sqlx::query(
                "UPDATE device_codes SET status = 'denied', user_id = ?, decided_at = ? \
                 WHERE user_code = ? AND status = 'pending'",
            )
            .bind(user_id),
        };
        let done = query
            .bind(now)
            .bind(user_code)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "device code"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn poll_device_code(
        &self,
        hash: &[u8; 32],
        now: UnixTime,
        pace: &PollPace,
    ) -> StoreResult<Option<Polled>> {
        let err = |e| db_error(e, "device code");
        let mut tx = self.write_tx().await.map_err(err)?;
        let Some(code) = sqlx::query(&format!(
            "SELECT {DEVICE_CODE_COLUMNS} FROM device_codes WHERE hash = ?"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?
        .map(|row| device_code_from_row(&row))
        .transpose()?
        else {
            tx.rollback().await.map_err(err)?;
            return Ok(None);
        };
        // The write lock is held, so the pace is decided on the latest poll.
        let polled = pace.after_poll(&code, now);
        sqlx::query("UPDATE device_codes SET last_polled_at = ?, poll_interval = ? WHERE hash = ?")
            .bind(polled.code.last_polled_at)
            .bind(polled.code.interval)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(Some(polled))
    }

    async fn get_consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        self.direct.one(
            &format!("consent of user {user_id} to app {client_id}"),
            &format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = ? AND client_id = ?"),
            params![user_id, client_id],
            |row| consent_from_row(row),
        )
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO consents ({CONSENT_COLUMNS}) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
             granted_at = excluded.granted_at"
        ))
        .bind(&consent.user_id)
        .bind(&consent.client_id)
        .bind(&consent.scope)
        .bind(consent.granted_at)
        .execute(&self.writer)
        .await
        .map_err(|e| {
            db_error(
                e,
                &format!(
                    "consent of user {} to app {}",
                    consent.user_id, consent.client_id
                ),
            )
        })?;
        Ok(())
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM consents WHERE user_id = ? AND client_id = ?")
            .bind(user_id)
            .bind(client_id)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("consent of user {user_id} to app {client_id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = ? \
             ORDER BY granted_at, client_id"
        ))
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("consents of user {user_id}")))?
        .iter()
        .map(consent_from_row)
        .collect()
    }

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO browser_sessions ({BROWSER_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        ))
        .bind(session.hash.as_slice())
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("browser session of user {}", session.user_id)))?;
        Ok(())
    }

    async fn get_browser_session(&self, hash: &[u8; 32]) -> StoreResult<Option<BrowserSession>> {
        self.direct.one(
            "browser session",
            &format!("SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE hash = ?"),
            params![hash.as_slice()],
            |row| browser_session_from_row(row),
        )
    }

    async fn sync_counters(
        &self,
        deltas: &[CounterDelta],
        cursor: i64,
        now: UnixTime,
    ) -> StoreResult<CounterSync> {
        let err = |e| db_error(e, "rate counters");
        let mut tx = self.write_tx().await.map_err(err)?;
        let mut totals = Vec::with_capacity(deltas.len());
        let deltas = codec::sorted_deltas(deltas);
        if !deltas.is_empty() {
            // One writer: the next version is simply one more than the last.
            let version: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM rate_counters")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?;
            for d in &deltas {
                let row = sqlx::query(&format!(
                    "INSERT INTO rate_counters \
                     (key, window_start, window_end, lim, count, version) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (key) DO UPDATE SET \
                     count = CASE WHEN window_end <= ?7 THEN excluded.count \
                     WHEN excluded.window_end <= window_start THEN count \
                     ELSE count + excluded.count END, \
                     window_start = CASE WHEN window_end <= ?7 THEN excluded.window_start \
                     ELSE window_start END, \
                     window_end = CASE WHEN window_end <= ?7 THEN excluded.window_end \
                     ELSE window_end END, \
                     lim = excluded.lim, version = excluded.version \
                     RETURNING {COUNTER_COLUMNS}"
                ))
                .bind(&d.key[..])
                .bind(d.window_start)
                .bind(d.window_end)
                .bind(i64::from(d.limit))
                .bind(i64::from(d.count))
                .bind(version)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(err)?;
                totals.push(rows::counter_total(&row)?);
            }
        }
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM rate_counters")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let near = sqlx::query(&format!(
            "SELECT {COUNTER_COLUMNS} FROM rate_counters \
             WHERE version > ?1 AND version <= ?2 AND window_end > ?3 AND count * 2 >= lim \
             ORDER BY key"
        ))
        .bind(cursor)
        .bind(newest)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        for row in &near {
            let total = rows::counter_total(row)?;
            if deltas.binary_search_by(|d| d.key.cmp(&total.key)).is_err() {
                totals.push(total);
            }
        }
        Ok(CounterSync {
            totals,
            cursor: cursor.max(newest),
        })
    }

    async fn record_rejections(
        &self,
        batch: &[grantd_core::rejections::Rejection],
        keep: u32,
    ) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let err = |e| db_error(e, "rejection log");
        let mut tx = self.write_tx().await.map_err(err)?;
        // Next seq of each app in the batch; None = not a registered app.
        let mut next: std::collections::HashMap<&str, Option<i64>> =
            std::collections::HashMap::new();
        for r in batch {
            let client_id = r.client_id.as_str();
            if !next.contains_key(client_id) {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT client_id FROM apps WHERE client_id = ?1")
                        .bind(client_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                let seq = match exists {
                    Some(_) => Some(
                        sqlx::query_scalar::<_, i64>(
                            "SELECT COALESCE(MAX(seq), 0) FROM rejections WHERE client_id = ?1",
                        )
                        .bind(client_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?,
                    ),
                    None => None,
                };
                next.insert(client_id, seq);
            }
            let Some(Some(seq)) = next.get_mut(client_id) else {
                continue;
            };
            *seq += 1;
            let trace = serde_json::to_string(&r.trace)
                .map_err(|e| StoreError::Corrupt(format!("rejection trace: {e}")))?;
            sqlx::query(&format!(
                "INSERT INTO rejections ({REJECTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))
            .bind(client_id)
            .bind(*seq)
            .bind(&r.request_id)
            .bind(r.at)
            .bind(&r.endpoint)
            .bind(&r.grant)
            .bind(&r.code)
            .bind(&r.description)
            .bind(&r.client_ip)
            .bind(&r.user_agent)
            .bind(trace)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        for (client_id, seq) in &next {
            if let Some(seq) = seq {
                sqlx::query("DELETE FROM rejections WHERE client_id = ?1 AND seq <= ?2")
                    .bind(*client_id)
                    .bind(*seq - i64::from(keep))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(())
    }

    async fn list_rejections(
        &self,
        client_id: &str,
        filter: &grantd_core::rejections::RejectionFilter,
    ) -> StoreResult<Vec<grantd_core::rejections::Rejection>> {
        let limit = filter.limit.clamp(1, grantd_core::rejections::KEEP_PER_APP);
        sqlx::query(&format!(
            "SELECT {REJECTION_COLUMNS} FROM rejections WHERE client_id = ?1 \
             AND (?2 IS NULL OR code = ?2) AND (?3 IS NULL OR endpoint = ?3) \
             ORDER BY seq DESC LIMIT ?4"
        ))
        .bind(client_id)
        .bind(&filter.code)
        .bind(&filter.endpoint)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("rejections of app {client_id}")))?
        .iter()
        .map(rejection_from_row)
        .collect()
    }

    async fn get_rejection(
        &self,
        request_id: &str,
    ) -> StoreResult<Option<grantd_core::rejections::Rejection>> {
        sqlx::query(&format!(
            "SELECT {REJECTION_COLUMNS} FROM rejections WHERE request_id = ?1 \
             ORDER BY at DESC, seq DESC LIMIT 1"
        ))
        .bind(request_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("rejection {request_id}")))?
        .map(|row| rejection_from_row(&row))
        .transpose()
    }

    async fn add_token_usage(&self, counts: &[grantd_core::usage::TokenCount]) -> StoreResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let err = |e| db_error(e, "token usage");
        let mut tx = self.write_tx().await.map_err(err)?;
        for c in counts {
            sqlx::query(
                "INSERT INTO token_usage (client_id, day, count) \
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM apps WHERE client_id = ?1) \
                 ON CONFLICT (client_id, day) DO UPDATE SET count = token_usage.count + excluded.count",
            )
            .bind(&c.client_id)
            .bind(c.day)
            .bind(i64::try_from(c.count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(())
    }

    async fn token_usage(
        &self,
        client_id: &str,
        since_day: i64,
    ) -> StoreResult<Vec<grantd_core::usage::TokenCount>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT day, count FROM token_usage WHERE client_id = ?1 AND day >= ?2 ORDER BY day DESC",
        )
        .bind(client_id)
        .bind(since_day)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("token usage of app {client_id}")))?;
        Ok(rows
            .into_iter()
            .map(|(day, count)| grantd_core::usage::TokenCount {
                client_id: client_id.to_string(),
                day,
                count: u64::try_from(count).unwrap_or(0),
            })
            .collect())
    }

    async fn delete_browser_session(&self, hash: &[u8; 32]) -> StoreResult<()> {
        sqlx::query("DELETE FROM browser_sessions WHERE hash = ?")
            .bind(hash.as_slice())
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, "browser session"))?;
        Ok(())
    }

    async fn logout(&self, logout: &Logout, now: UnixTime) -> StoreResult<LoggedOut> {
        let logout = logout.clone();
        self.hot
            .run(move |conn| {
                hot::logout(conn, &logout, now).map_err(|e| writer::db_error(&e, "logout"))
            })
            .await
    }

    async fn claim_logout_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        // Asked every second: a reader answers "none due" without the write lock.
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM logout_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, "logout deliveries"))?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self
            .write_tx()
            .await
            .map_err(|e| db_error(e, "logout deliveries"))?;
        let due: Vec<LogoutDelivery> = sqlx::query(&format!(
            "SELECT {LOGOUT_DELIVERY_COLUMNS} FROM logout_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, id LIMIT ?"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(e, "logout deliveries"))?
        .iter()
        .map(logout_delivery_from_row)
        .collect::<StoreResult<_>>()?;
        for d in &due {
            sqlx::query("UPDATE logout_deliveries SET next_attempt_at = ? WHERE id = ?")
                .bind(lease_until)
                .bind(&d.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(e, &format!("logout delivery {}", d.id)))?;
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "logout deliveries"))?;
        Ok(due
            .into_iter()
            .map(|d| LogoutDelivery {
                next_attempt_at: Some(lease_until),
                ..d
            })
            .collect())
    }

    async fn record_logout_attempt(&self, d: &LogoutDelivery) -> StoreResult<()> {
        sqlx::query(
            "UPDATE logout_deliveries SET status = ?, attempts = ?, last_error = ?, \
             next_attempt_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(d.status.as_str())
        .bind(i64::from(d.attempts))
        .bind(&d.last_error)
        .bind(d.next_attempt_at)
        .bind(d.updated_at)
        .bind(&d.id)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("logout delivery {}", d.id)))?;
        Ok(())
    }

    async fn list_logout_deliveries(
        &self,
        client_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        sqlx::query(&format!(
            "SELECT {LOGOUT_DELIVERY_COLUMNS} FROM logout_deliveries WHERE client_id = ? \
             ORDER BY created_at DESC, id DESC LIMIT ?"
        ))
        .bind(client_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("logout deliveries of app {client_id}")))?
        .iter()
        .map(logout_delivery_from_row)
        .collect()
    }
}
