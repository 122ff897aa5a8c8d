//! The PostgreSQL backend: a connection pool, READ COMMITTED units of work
//! with explicit row locks, and change notifications over LISTEN/NOTIFY.

use crate::codec::{self, db_error};
use crate::rows::AuditRow;
use crate::rows::{
    self, ACCOUNT_COLUMNS, APP_COLUMNS, AUTH_CODE_COLUMNS, BROWSER_SESSION_COLUMNS,
    CONSENT_COLUMNS, COUNTER_COLUMNS, DEVICE_CODE_COLUMNS, JWT_CREDENTIAL_COLUMNS, KEY_COLUMNS,
    LOGIN_STATE_COLUMNS, LOGOUT_DELIVERY_COLUMNS, PUSHED_COLUMNS, REGISTRATION_COLUMNS,
    REGISTRATION_TOKEN_COLUMNS, REJECTION_COLUMNS, SESSION_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS,
};
use async_trait::async_trait;
use grantd_core::clock::UnixTime;
use grantd_core::model::{
    Account, App, AuthCode, BrowserSession, CodeUse, Consent, DeliveryStatus, DeviceCode,
    JwtCredential, LoginState, LogoutDelivery, PushedRequest, PushedUse, Registration,
    RegistrationToken, Role, Session, StoredKey, TokenRecord, User, UserStatus,
};
use grantd_core::store::{
    Cas, Change, CounterDelta, CounterSync, DeviceDecision, LockoutPolicy, LoggedOut, LoginAttempt,
    Logout, LogoutOf, NewSession, PollPace, Polled, RotateOutcome, Rotation, SessionCap,
    SessionOpened, SessionsOf, Store, StoreError, StoreResult,
};
use sqlx::migrate::MigrateError;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgExecutor, PgListener, PgPool, PgPoolOptions,
};
use sqlx::{ConnectOptions, Connection, Postgres, QueryBuilder, Transaction};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Connections in the pool; each unit of work holds one for its transaction.
const POOL_SIZE: u32 = 16;
/// How long connecting (and waiting for a free pooled connection) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The NOTIFY channel of [`Change`]s; payloads are `app:<client_id>` and `keys`.
const CHANNEL: &str = "grantd_changes";
/// Changes a slow subscriber may fall behind by before it sees `Lagged`.
const CHANGE_BUFFER: usize = 256;
/// The longest wait between attempts to reconnect the listener.
const MAX_LISTEN_BACKOFF: Duration = Duration::from_secs(30);
/// Advisory lock (one-`bigint` key space) held by the node purging expired
/// rows (visible in `pg_locks` as objid 1952710657, classid 1735549294).
pub const PURGE_LOCK: i64 = 0x6772_616e_7464_0001;
/// Held while an audit entry is appended (the chain's order).
const AUDIT_LOCK: i64 = 0x6772_616e_7464_0007;
/// Advisory lock class (two-`int4` key space, disjoint from the one above)
/// for one user's sessions of one app, keyed by a hash of both ids.
const SESSION_LOCK_CLASS: i32 = 0x6772_0001;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// grantd's state in a PostgreSQL database, shared by any number of nodes.
///
/// Every [`Store`] method is one transaction at READ COMMITTED. Methods that
/// decide on what they read lock the rows first (`SELECT … FOR UPDATE`, in a
/// fixed order: code, sessions by id, tokens), so concurrent units of work on
/// the same record queue instead of racing, across nodes as within one.
pub struct PgStore {
    pool: PgPool,
    /// Hands out the one connection that LISTENs (kept out of `pool`, whose
    /// connections must stay free for units of work).
    listen_pool: PgPool,
    /// Started by the first [`Store::changes`] call.
    listener: OnceLock<Listener>,
}

impl std::fmt::Debug for PgStore {
    // By hand: the connect options hold the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool.size())
            .field("listening", &self.listener.get().is_some())
            .finish()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// brings its schema up to date and opens a pool of connections.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        Self::open_with(connect_options(url)?).await
    }

    /// [`PgStore::open`] with options already parsed.
    pub(crate) async fn open_with(options: PgConnectOptions) -> StoreResult<PgStore> {
        migrate_with(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| connect_error(e, &options))?;
        // Reconnects use `listen_pool` too; it never lets its connection idle out.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options.clone().application_name("grantd-listener"));
        tracing::info!(database = %describe(&options), "PostgreSQL store open");
        Ok(PgStore {
            pool,
            listen_pool,
            listener: OnceLock::new(),
        })
    }

    /// Brings the schema of the database at `url` up to date and disconnects
    /// (`grantd migrate`).
    pub async fn migrate_only(url: &str) -> StoreResult<()> {
        migrate_with(&connect_options(url)?).await
    }

    /// Closes the pools, waiting for their connections to finish.
    pub async fn close(&self) {
        if let Some(listener) = self.listener.get() {
            listener.task.abort();
        }
        self.pool.close().await;
        self.listen_pool.close().await;
    }

    async fn begin(&self, what: &str) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(|e| db_error(e, what))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.task.abort();
        }
    }
}

/// Parses a `postgres://` URL; the message never repeats the URL (it may hold a password).
fn connect_options(url: &str) -> StoreResult<PgConnectOptions> {
    let invalid = |detail: &dyn std::fmt::Display| {
        StoreError::Unavailable(format!(
            "invalid PostgreSQL URL ({detail}): expected \
             postgres://user:password@host:port/database"
        ))
    };
    if crate::open::Backend::of(url) != crate::open::Backend::Postgres {
        return Err(invalid(&"not a postgres:// or postgresql:// URL"));
    }
    let options = PgConnectOptions::from_str(url).map_err(|e| invalid(&e))?;
    Ok(if options.get_application_name().is_none() {
        options.application_name("grantd")
    } else {
        options
    })
}

/// Where `options` point, for messages: never the password.
fn describe(options: &PgConnectOptions) -> String {
    let server = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let database = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    format!("database {database:?} at {server}")
}

/// Turns a failure to connect into one line saying what is wrong and what to do.
fn connect_error(e: sqlx::Error, options: &PgConnectOptions) -> StoreError {
    let at = describe(options);
    let message = match &e {
        sqlx::Error::Configuration(detail) => {
            format!("invalid PostgreSQL settings ({detail}): check the database URL")
        }
        sqlx::Error::Io(io) => format!(
            "cannot reach PostgreSQL for {at} ({io}): check that the server is running and \
             the database URL's host and port"
        ),
        sqlx::Error::PoolTimedOut => format!(
            "cannot reach PostgreSQL for {at} (no answer within {}s): check that the server \
             is running and the database URL's host and port",
            CONNECT_TIMEOUT.as_secs()
        ),
        sqlx::Error::Tls(detail) => format!(
            "TLS with PostgreSQL for {at} failed ({detail}): check the URL's sslmode and the \
             server's certificate"
        ),
        sqlx::Error::Database(d) => match d.code().as_deref() {
            // invalid_password, invalid_authorization_specification (unknown
            // role, no pg_hba.conf entry).
            Some("28P01") | Some("28000") => format!(
                "PostgreSQL refused user {:?} for {at} ({}): check the user and password in \
                 the database URL",
                options.get_username(),
                d.message()
            ),
            // invalid_catalog_name
            Some("3D000") => format!(
                "{at} does not exist: create it (createdb) or fix the database name in the URL"
            ),
            _ => format!(
                "PostgreSQL refused the connection for {at}: {}",
                d.message()
            ),
        },
        _ => format!("connecting to PostgreSQL for {at}: {e}"),
    };
    StoreError::Unavailable(message)
}

/// One connection, outside any pool, within [`CONNECT_TIMEOUT`].
async fn connect_once(options: &PgConnectOptions) -> StoreResult<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(e, options)),
        Err(_) => Err(connect_error(sqlx::Error::PoolTimedOut, options)),
    }
}

/// Migrates the database on a connection of its own.
///
/// sqlx's migrator takes `pg_advisory_lock` (keyed on the database name) for
/// the whole run (sqlx-core 0.8 `Migrator::run_direct`, sqlx-postgres
/// `Migrate::lock`), so nodes starting together queue and the later ones find
/// the schema current. It does not unlock when a migration fails, so the run
/// gets a connection of its own that is closed afterwards, never a pooled one
/// that would go back to the pool still holding the lock.
async fn migrate_with(options: &PgConnectOptions) -> StoreResult<()> {
    let mut conn = connect_once(options).await?;
    let result = async {
        refuse_newer_schema(&mut conn).await?;
        MIGRATOR.run(&mut conn).await.map_err(migrate_error)
    }
    .await;
    // On failure the connection is dropped, which closes it (and its lock).
    if result.is_ok() {
        let _ = conn.close().await;
    }
    result
}

/// The newest migration this grantd knows.
fn known_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

fn newer_schema(version: i64) -> StoreError {
    StoreError::Unavailable(format!(
        "the database's schema (version {version}) is newer than this grantd knows (version {}): \
         upgrade grantd",
        known_version()
    ))
}

/// Refuses a database a newer grantd has migrated: this one would misread it.
async fn refuse_newer_schema(conn: &mut PgConnection) -> StoreResult<()> {
    let err = |e| db_error(e, "schema version");
    // A new database has no migrations table yet.
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(err)?;
    if !migrated {
        return Ok(());
    }
    let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .map_err(err)?;
    match applied {
        Some(version) if version > known_version() => Err(newer_schema(version)),
        _ => Ok(()),
    }
}

fn migrate_error(e: MigrateError) -> StoreError {
    match e {
        // Applied but unknown here: a newer grantd migrated meanwhile.
        MigrateError::VersionMissing(version) => newer_schema(version),
        MigrateError::VersionMismatch(version) => StoreError::Unavailable(format!(
            "the database's migration {version} differs from this grantd's: it was migrated by \
             a different build of grantd; use that build or restore the database"
        )),
        MigrateError::Dirty(version) => StoreError::Unavailable(format!(
            "migration {version} failed part-way earlier: restore the database from a backup \
             and run `grantd migrate` again"
        )),
        other => StoreError::Unavailable(format!("migrating the database: {other}")),
    }
}

/// Queues a change notification; PostgreSQL delivers it when (and only if)
/// the transaction commits.
async fn notify(conn: &mut PgConnection, payload: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await
        .map_err(|e| db_error(e, "change notification"))?;
    Ok(())
}

fn app_payload(client_id: &str) -> String {
    format!("app:{client_id}")
}

fn parse_change(payload: &str) -> Change {
    match payload.strip_prefix("app:") {
        Some(client_id) => Change::App(client_id.to_string()),
        None if payload == "keys" => Change::Keys,
        // From a newer grantd: whatever it is, caches must not trust themselves.
        None => Change::Resync,
    }
}

/// The task that LISTENs and forwards notifications to subscribers.
struct Listener {
    changes: broadcast::Sender<Change>,
    task: JoinHandle<()>,
}

/// Listens until aborted. Each (re)connection is followed by
/// [`Change::Resync`]: notifications sent while no connection listened are
/// lost, so caches must drop what they hold.
async fn listen(pool: PgPool, changes: broadcast::Sender<Change>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut listener = match start_listening(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for store changes; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_LISTEN_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        // No subscriber is not an error: they come and go.
        let _ = changes.send(Change::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let _ = changes.send(parse_change(notification.payload()));
                }
                // The connection was lost (`Ok(None)`, or an error such as
                // the server terminating it): start over on a fresh listener
                // rather than trust one whose connection may be dead.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the store change listener; reconnecting");
                    break;
                }
            }
        }
        let _ = changes.send(Change::Resync);
    }
}

async fn start_listening(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds an app's fields as `$1..$22`, in [`APP_COLUMNS`] order (without
/// `revision`: `rate_limits` is `$18`, `token_exchange` `$19`,
/// `allowed_origins` `$20`, `jwks` `$21`, `jwks_uri` `$22`, `security` `$23`).
/// The app's settings written as a compare-and-set on its revision, inside
/// `tx` (update_app and update_registration); no notification.
async fn update_app_in(tx: &mut Transaction<'static, Postgres>, app: &App) -> StoreResult<Cas> {
    let what = format!("app {}", app.client_id);
    let err = |e| db_error(e, &what);
    // One binder serves insert and update: the secret hash ($15) and
    // created_at ($16) are bound but not written (sqlx declares every
    // parameter's type, so unused ones are fine).
    let updated = bind_app(
        sqlx::query(
            "UPDATE apps SET account_id = $2, name = $3, platform_type = $4, grants = $5, \
             redirect_uris = $6, scopes = $7, distribution = $8, issue_refresh_tokens = $9, \
             access_token_ttl = $10, refresh_token_ttl = $11, access_token_format = $12, \
             allow_plain_pkce = $13, resource_server = $14, updated_at = $17, \
             rate_limits = $18, token_exchange = $19, allowed_origins = $20, \
             jwks = $21, jwks_uri = $22, security = $23, links = $24, \
             revision = revision + 1 \
             WHERE client_id = $1 AND revision = $25",
        ),
        app,
    )?
    .bind(app.revision)
    .execute(&mut **tx)
    .await
    .map_err(err)?
    .rows_affected();
    if updated > 0 {
        return Ok(Cas::Done);
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM apps WHERE client_id = $1)")
            .bind(&app.client_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(err)?;
    Ok(if exists { Cas::Stale } else { Cas::Missing })
}

fn bind_app<'q>(q: PgQuery<'q>, app: &'q App) -> StoreResult<PgQuery<'q>> {
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
        .bind(codec::rate_limits_to_json(&app.rate_limits))
        .bind(codec::exchange_policy_to_json(app.token_exchange.as_ref()))
        .bind(codec::origins_to_json(&app.allowed_origins))
        .bind(codec::jwks_to_json(app.jwks.as_ref()))
        .bind(app.jwks_uri.as_deref())
        .bind(codec::security_to_json(&app.security))
        .bind(codec::links_to_json(&app.links)))
}

/// Inserts `tokens` in one statement.
async fn insert_tokens<'e>(ex: impl PgExecutor<'e>, tokens: &[TokenRecord]) -> StoreResult<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO tokens ({TOKEN_COLUMNS}) "));
    q.push_values(tokens, |mut row, t| {
        row.push_bind(t.hash.to_vec())
            .push_bind(t.kind.as_str())
            .push_bind(t.id.clone())
            .push_bind(t.client_id.clone())
            .push_bind(t.subject.clone())
            .push_bind(t.account_id.clone())
            .push_bind(t.session_id.clone())
            .push_bind(t.scope.clone())
            .push_bind(t.issued_at)
            .push_bind(t.expires_at)
            .push_bind(t.revoked_at)
            .push_bind(t.rotated_at)
            .push_bind(t.replay.clone())
            .push_bind(t.pair_access_id.clone())
            .push_bind(t.pair_access_expires_at)
            .push_bind(t.exchange.as_ref().and_then(|x| x.audience.clone()))
            .push_bind(codec::actor_to_json(
                t.exchange.as_ref().and_then(|x| x.act.as_ref()),
            ));
    });
    let what = match tokens {
        [one] => format!("token {}", one.id),
        many => format!("{} tokens", many.len()),
    };
    q.build()
        .execute(ex)
        .await
        .map_err(|e| db_error(e, &what))?;
    Ok(())
}

/// Ends the sessions `ids` (those not ended yet), whose rows the caller has
/// locked, and revokes every token of them not revoked yet. Returns how many
/// sessions this ended.
async fn end_locked(
    conn: &mut PgConnection,
    ids: &[String],
    reason: &str,
    now: UnixTime,
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let err = |e| db_error(e, "ending sessions");
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 \
         WHERE id = ANY($3) AND ended_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(err)?
    .rows_affected();
    sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE session_id = ANY($2) AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    Ok(ended)
}

/// Locks and lists the active sessions matching `filter` (a fixed SQL
/// condition on `$1`), in id order so that concurrent lockers never deadlock.
async fn lock_active_sessions(
    conn: &mut PgConnection,
    filter: &str,
    values: &[&str],
) -> StoreResult<Vec<String>> {
    let sql = format!(
        "SELECT id FROM sessions WHERE {filter} AND ended_at IS NULL ORDER BY id FOR UPDATE"
    );
    let mut query = sqlx::query_scalar(&sql);
    for value in values {
        query = query.bind(*value);
    }
    query
        .fetch_all(conn)
        .await
        .map_err(|e| db_error(e, "locking sessions"))
}

/// Deletes at most `limit` rows of `table` matching `condition` (on `$1`).
async fn purge_table(
    conn: &mut PgConnection,
    table: &str,
    condition: &str,
    before: UnixTime,
    limit: u32,
) -> StoreResult<u64> {
    // `ctid` picks the batch without needing a key; the condition is checked
    // again in case a row changed since the subquery saw it.
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE ctid = ANY (ARRAY (\
         SELECT ctid FROM {table} WHERE {condition} LIMIT $2)) AND {condition}"
    ))
    .bind(before)
    .bind(i64::from(limit))
    .execute(conn)
    .await
    .map_err(|e| db_error(e, &format!("purging {table}")))?;
    Ok(done.rows_affected())
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "ping"))?;
        Ok(())
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        if let Some(listener) = self.listener.get() {
            return Some(listener.changes.subscribe());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        // The first subscriber's receiver exists before the task starts, so it
        // sees the task's first Resync.
        let mut first = None;
        let listener = self.listener.get_or_init(|| {
            let (changes, receiver) = broadcast::channel(CHANGE_BUFFER);
            first = Some(receiver);
            Listener {
                task: runtime.spawn(listen(self.listen_pool.clone(), changes.clone())),
                changes,
            }
        });
        Some(first.unwrap_or_else(|| listener.changes.subscribe()))
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("setting {key}")))
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let err = |e| db_error(e, &format!("setting {key}"));
        // Two statements: the second's snapshot sees a row a concurrent insert
        // committed while the first waited on it.
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING \
             RETURNING value",
        )
        .bind(key)
        .bind(value)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        match inserted {
            Some(value) => Ok(value),
            None => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await
                .map_err(err),
        }
    }

    async fn append_audit(
        &self,
        entry: grantd_core::store::NewAuditEntry,
        chain: grantd_core::store::AuditChain,
    ) -> StoreResult<grantd_core::store::AuditEntry> {
        let err = |e| db_error(e, "audit log");
        let mut tx = self.begin("audit log").await?;
        // One appender at a time across nodes: no row to lock before the first entry.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "audit log"))?;
        Ok(rows.into_iter().map(crate::rows::audit_entry).collect())
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("setting {key}")))?;
        Ok(())
    }

    async fn insert_account(&self, account: &Account) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3)"
        ))
        .bind(&account.id)
        .bind(&account.name)
        .bind(account.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("account {}", account.id)))?;
        Ok(())
    }

    async fn get_account(&self, id: &str) -> StoreResult<Option<Account>> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("account {id}")))?
        .map(|row| rows::account(&row))
        .transpose()
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "accounts"))?
        .iter()
        .map(rows::account)
        .collect()
    }

    async fn insert_app(&self, app: &App) -> StoreResult<()> {
        let what = format!("app {}", app.client_id);
        let mut tx = self.begin(&what).await?;
        let sql = format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $19, $20, $21, $22, $23, $24)"
        );
        bind_app(sqlx::query(&sql), app)?
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e, &what))?;
        notify(&mut tx, &app_payload(&app.client_id)).await?;
        tx.commit().await.map_err(|e| db_error(e, &what))
    }

    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("app {client_id}")))?
        .map(|row| rows::app(&row))
        .transpose()
    }

    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, client_id COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "apps"))?
        .iter()
        .map(rows::app)
        .collect()
    }

    async fn update_app(&self, app: &App) -> StoreResult<Cas> {
        let what = format!("app {}", app.client_id);
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let outcome = update_app_in(&mut tx, app).await?;
        if outcome != Cas::Done {
            tx.rollback().await.map_err(err)?;
            return Ok(outcome);
        }
        notify(&mut tx, &app_payload(&app.client_id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(Cas::Done)
    }

    async fn set_app_secret(
        &self,
        client_id: &str,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> StoreResult<bool> {
        let what = format!("app {client_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let updated = sqlx::query(
            "UPDATE apps SET secret_hash = $2, updated_at = $3, revision = revision + 1 \
             WHERE client_id = $1",
        )
        .bind(client_id)
        .bind(secret_hash.as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        }
        notify(&mut tx, &app_payload(client_id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn delete_app(&self, client_id: &str, now: UnixTime) -> StoreResult<bool> {
        let what = format!("app {client_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let deleted = sqlx::query("DELETE FROM apps WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        }
        // Codes before sessions before tokens: the order open_session locks in.
        for sql in [
            "DELETE FROM auth_codes WHERE client_id = $1",
            "DELETE FROM device_codes WHERE client_id = $1",
        ] {
            sqlx::query(sql)
                .bind(client_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        let sessions = lock_active_sessions(&mut tx, "client_id = $1", &[client_id]).await?;
        end_locked(&mut tx, &sessions, "app deleted", now).await?;
        for sql in [
            "DELETE FROM tokens WHERE client_id = $1",
            "DELETE FROM consents WHERE client_id = $1",
            "DELETE FROM rejections WHERE client_id = $1",
            "DELETE FROM token_usage WHERE client_id = $1",
            "DELETE FROM client_registrations WHERE client_id = $1",
        ] {
            sqlx::query(sql)
                .bind(client_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        notify(&mut tx, &app_payload(client_id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        let what = format!("signing key {}", key.kid);
        let mut tx = self.begin(&what).await?;
        sqlx::query(&format!(
            "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.public_jwk)
        .bind(key.sealed_private.as_slice())
        .bind(key.created_at)
        .bind(key.retired_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(e, &what))?;
        notify(&mut tx, "keys").await?;
        tx.commit().await.map_err(|e| db_error(e, &what))
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, kid COLLATE \"C\" DESC"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "signing keys"))?
        .iter()
        .map(rows::key)
        .collect()
    }

    async fn retire_keys_except(&self, kid: &str, at: UnixTime) -> StoreResult<()> {
        let err = |e| db_error(e, "signing keys");
        let mut tx = self.begin("signing keys").await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL",
        )
        .bind(at)
        .bind(kid)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        notify(&mut tx, "keys").await?;
        tx.commit().await.map_err(err)
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<bool> {
        let what = format!("signing key {kid}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let deleted = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        notify(&mut tx, "keys").await?;
        tx.commit().await.map_err(err)?;
        Ok(deleted > 0)
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        insert_tokens(&self.pool, std::slice::from_ref(token)).await
    }

    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "token"))?
        .map(|row| rows::token(&row))
        .transpose()
    }

    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(hash.as_slice())
                .execute(&self.pool)
                .await
                .map_err(|e| db_error(e, "token"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()> {
        revoke_jti_on(&self.pool, jti, expires_at, at).await
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = $1)")
            .bind(jti)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("revoked jti {jti}")))
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO pushed_requests ({PUSHED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&request.hash[..])
        .bind(&request.client_id)
        .bind(&request.params)
        .bind(request.created_at)
        .bind(request.expires_at)
        .bind(request.used_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "pushed request"))?;
        Ok(())
    }

    async fn use_pushed_request(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<PushedUse> {
        let err = |e| db_error(e, "pushed request");
        let mut tx = self.begin("pushed request").await?;
        let fresh = sqlx::query(&format!(
            "UPDATE pushed_requests SET used_at = $2 WHERE hash = $1 AND used_at IS NULL \
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
                "SELECT {PUSHED_COLUMNS} FROM pushed_requests WHERE hash = $1"
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&token.id)
        .bind(&token.label)
        .bind(&token.hash[..])
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.max_uses)
        .bind(token.uses)
        .bind(token.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("registration token {}", token.id)))?;
        Ok(())
    }

    async fn list_registration_tokens(&self) -> StoreResult<Vec<RegistrationToken>> {
        sqlx::query(&format!(
            "SELECT {REGISTRATION_TOKEN_COLUMNS} FROM registration_tokens \
             ORDER BY created_at, id COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
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
            "SELECT {REGISTRATION_TOKEN_COLUMNS} FROM registration_tokens WHERE hash = $1"
        ))
        .bind(&hash[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "registration token"))?
        .map(|row| rows::registration_token(&row))
        .transpose()
    }

    async fn revoke_registration_token(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE registration_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .execute(&self.pool)
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
        let mut tx = self.begin(&what).await?;
        if let Some(id) = initial_token {
            // The UPDATE locks the token's row: concurrent uses queue and
            // each sees the count the one before it left.
            let used = sqlx::query(
                "UPDATE registration_tokens SET uses = uses + 1 \
                 WHERE id = $1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2) \
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
            "INSERT INTO apps ({APP_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $19, $20, $21, $22, $23, $24)"
        );
        bind_app(sqlx::query(&sql), app)?
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query(&format!(
            "INSERT INTO client_registrations ({REGISTRATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
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
        notify(&mut tx, &app_payload(&app.client_id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn get_registration(&self, client_id: &str) -> StoreResult<Option<Registration>> {
        sqlx::query(&format!(
            "SELECT {REGISTRATION_COLUMNS} FROM client_registrations WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
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
        let mut tx = self.begin(&what).await?;
        let outcome = update_app_in(&mut tx, app).await?;
        if outcome != Cas::Done {
            tx.rollback().await.map_err(err)?;
            return Ok(outcome);
        }
        sqlx::query(
            "UPDATE client_registrations SET metadata = $2, updated_at = $3 WHERE client_id = $1",
        )
        .bind(&app.client_id)
        .bind(metadata)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        notify(&mut tx, &app_payload(&app.client_id)).await?;
        tx.commit().await.map_err(err)?;
        Ok(Cas::Done)
    }

    async fn put_dpop_binding(&self, id: &str, jkt: &str, expires_at: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dpop_bindings (id, jkt, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET jkt = excluded.jkt, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(jkt)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, "DPoP binding"))?;
        Ok(())
    }

    async fn get_dpop_binding(&self, id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT jkt FROM dpop_bindings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
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
        // An expired use is replaced, so a jti may come back once its
        // assertion could no longer be replayed.
        let done = sqlx::query(
            "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE client_assertion_jtis.expires_at < $4",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("client assertion jti of {client_id}")))?
        .rows_affected();
        Ok(done > 0)
    }

    async fn purge_expired(&self, before: UnixTime, limit: u32) -> StoreResult<u64> {
        let err = |e| db_error(e, "purge");
        let mut tx = self.begin("purge").await?;
        // One node purges at a time; the others skip this round.
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(PURGE_LOCK)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        if !ours {
            tx.rollback().await.map_err(err)?;
            return Ok(0);
        }
        let mut purged = 0;
        // Sessions before tokens, the order every unit of work locks them in.
        for (table, condition) in [
            ("sessions", "ended_at < $1"),
            ("tokens", "expires_at < $1"),
            ("revoked_jtis", "expires_at < $1"),
            ("client_assertion_jtis", "expires_at < $1"),
            ("pushed_requests", "expires_at < $1"),
            ("dpop_bindings", "expires_at < $1"),
            ("auth_codes", "expires_at < $1"),
            ("device_codes", "expires_at < $1"),
            ("browser_sessions", "expires_at < $1"),
            ("rate_counters", "window_end < $1"),
            // Finished back-channel deliveries stay listed a day.
            (
                "logout_deliveries",
                "status <> 'pending' AND updated_at < $1 - 86400",
            ),
        ] {
            purged += purge_table(&mut tx, table, condition, before, limit).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(purged)
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
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
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("user {}", user.id)))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("user {id}")))?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn find_users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        self.users_where("email = $1", Some(email)).await
    }

    async fn find_users_by_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        self.users_where("phone = $1", Some(phone)).await
    }

    async fn list_users(&self, account_id: Option<&str>) -> StoreResult<Vec<User>> {
        match account_id {
            Some(account_id) => self.users_where("account_id = $1", Some(account_id)).await,
            None => self.users_where("TRUE", None).await,
        }
    }

    async fn set_user_role(&self, id: &str, role: Role) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("role of user {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_user_status(&self, id: &str, status: UserStatus) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("user {id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn reserve_login_attempt(
        &self,
        user_id: &str,
        now: UnixTime,
        policy: &LockoutPolicy,
    ) -> StoreResult<LoginAttempt> {
        let what = format!("login failures of user {user_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        // A zero row to lock when the user has none: concurrent attempts then
        // queue on it instead of each starting from nothing.
        sqlx::query(
            "INSERT INTO login_failures (user_id, failures, window_started_at, locked_until) \
             VALUES ($1, 0, 0, NULL) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        let row = sqlx::query(&format!(
            "SELECT {LOGIN_STATE_COLUMNS} FROM login_failures WHERE user_id = $1 FOR UPDATE"
        ))
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        let current = rows::login_state(&row, user_id)?;
        if let Some(until) = policy.locked_until(&current, now) {
            tx.rollback().await.map_err(err)?;
            return Ok(LoginAttempt::Locked { until });
        }
        let next = policy.after_failure(current, now);
        sqlx::query(
            "UPDATE login_failures SET failures = $2, window_started_at = $3, locked_until = $4 \
             WHERE user_id = $1",
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
        let row = sqlx::query(&format!(
            "SELECT {LOGIN_STATE_COLUMNS} FROM login_failures WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("login failures of user {user_id}")))?;
        match row {
            Some(row) => rows::login_state(&row, user_id),
            None => Ok(LoginState::default()),
        }
    }

    async fn clear_login_failures(&self, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("login failures of user {user_id}")))?;
        Ok(())
    }

    async fn insert_jwt_credential(&self, credential: &JwtCredential) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO jwt_credentials ({JWT_CREDENTIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
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
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("JWT credential {}", credential.id)))?;
        Ok(())
    }

    async fn get_jwt_credential(&self, id: &str) -> StoreResult<Option<JwtCredential>> {
        sqlx::query(&format!(
            "SELECT {JWT_CREDENTIAL_COLUMNS} FROM jwt_credentials WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("JWT credential {id}")))?
        .map(|row| rows::jwt_credential(&row))
        .transpose()
    }

    async fn list_jwt_credentials(&self, user_id: &str) -> StoreResult<Vec<JwtCredential>> {
        sqlx::query(&format!(
            "SELECT {JWT_CREDENTIAL_COLUMNS} FROM jwt_credentials WHERE user_id = $1 \
             ORDER BY created_at, id COLLATE \"C\""
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("JWT credentials of user {user_id}")))?
        .iter()
        .map(rows::jwt_credential)
        .collect()
    }

    async fn revoke_jwt_credential(&self, id: &str, at: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jwt_credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&self.pool)
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
        let session = &new.session;
        let what = format!("session {}", session.id);
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        // The code first: a replay (consume_code) records itself on this row,
        // so after the lock either it already has, or it will see our session.
        if let Some(code) = &new.code {
            let replayed_at: Option<Option<UnixTime>> =
                sqlx::query_scalar("SELECT replayed_at FROM auth_codes WHERE hash = $1 FOR UPDATE")
                    .bind(code.as_slice())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
            // A code gone (its app deleted) stores nothing either, as on SQLite.
            if !matches!(replayed_at, Some(None)) {
                tx.rollback().await.map_err(err)?;
                return Ok(SessionOpened::CodeReplayed);
            }
        }
        // Or the device code: the compare-and-set locks its row, so of
        // concurrent polls one uses it and the others find it used.
        if let Some(device_code) = &new.device_code {
            let used = sqlx::query(
                "UPDATE device_codes SET status = 'used', session_id = $1 \
                 WHERE hash = $2 AND status = 'approved'",
            )
            .bind(&session.id)
            .bind(device_code.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            if used == 0 {
                tx.rollback().await.map_err(err)?;
                return Ok(SessionOpened::DeviceCodeUsed);
            }
        }
        // Then the user's sessions of the app. Row locks alone would let two
        // concurrent opens each miss the other's new session and overshoot the
        // cap, so the pair (user, app) is locked as such first.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || '/' || $3))")
            .bind(SESSION_LOCK_CLASS)
            .bind(&session.user_id)
            .bind(&session.client_id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let others = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = $1 AND client_id = $2 AND ended_at IS NULL \
             ORDER BY id FOR UPDATE"
        ))
        .bind(&session.user_id)
        .bind(&session.client_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?
        .iter()
        .map(rows::session)
        .collect::<StoreResult<Vec<Session>>>()?;
        let evicted = cap.evicted(&others);
        end_locked(&mut tx, &evicted, "session_limit", now).await?;
        sqlx::query(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(&session.client_id)
        .bind(&session.account_id)
        .bind(&session.scope)
        .bind(session.created_at)
        .bind(session.ended_at)
        .bind(&session.end_reason)
        .bind(&session.credential_id)
        .bind(&session.endpoint_id)
        .bind(&session.sid)
        .bind(codec::resources_to_json(&session.resources))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        insert_tokens(&mut *tx, &new.tokens).await?;
        if let Some(code) = &new.code {
            sqlx::query("UPDATE auth_codes SET session_id = $1 WHERE hash = $2")
                .bind(&session.id)
                .bind(code.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(SessionOpened::Opened { evicted })
    }

    async fn count_active_sessions(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(e, "active sessions"))?;
        Ok(n.max(0) as u64)
    }

    async fn get_session(&self, id: &str) -> StoreResult<Option<Session>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("session {id}")))?
        .map(|row| rows::session(&row))
        .transpose()
    }

    async fn end_session(&self, id: &str, reason: &str, now: UnixTime) -> StoreResult<bool> {
        let what = format!("session {id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        // Locked whether or not it ended: its tokens are revoked either way.
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some(found) = found else {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        };
        let ended = end_locked(&mut tx, &[found], reason, now).await?;
        tx.commit().await.map_err(err)?;
        Ok(ended > 0)
    }

    async fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<Option<u64>> {
        let what = format!("password of user {id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(None);
        }
        let ids = lock_active_sessions(&mut tx, "user_id = $1", &[id]).await?;
        let ended = end_locked(&mut tx, &ids, reason, now).await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(ended))
    }

    async fn end_sessions(
        &self,
        of: SessionsOf<'_>,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let (filter, values): (&str, Vec<&str>) = match of {
            SessionsOf::User(user_id) => ("user_id = $1", vec![user_id]),
            SessionsOf::App(client_id) => ("client_id = $1", vec![client_id]),
            SessionsOf::Credential(id) => ("credential_id = $1", vec![id]),
            SessionsOf::UserApp { user_id, client_id } => {
                ("user_id = $1 AND client_id = $2", vec![user_id, client_id])
            }
        };
        let what = format!("sessions where {filter}");
        let err = |e| db_error(e, &what);
        let mut tx = self.begin(&what).await?;
        let ids = lock_active_sessions(&mut tx, filter, &values).await?;
        let ended = end_locked(&mut tx, &ids, reason, now).await?;
        tx.commit().await.map_err(err)?;
        Ok(ended)
    }

    async fn rotate_refresh(
        &self,
        rotation: &Rotation,
        now: UnixTime,
    ) -> StoreResult<RotateOutcome> {
        let what = format!("rotation to refresh token {}", rotation.next.id);
        let err = |e| db_error(e, &what);
        let old_hash = rotation.old_hash.as_slice();
        let mut tx = self.begin(&what).await?;
        // The session row first (as end_session locks it), then the token.
        let session_id: Option<Option<String>> =
            sqlx::query_scalar("SELECT session_id FROM tokens WHERE hash = $1")
                .bind(old_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some(session_id) = session_id else {
            tx.rollback().await.map_err(err)?;
            return Ok(RotateOutcome::Unknown);
        };
        let session_ended = match &session_id {
            Some(session_id) => {
                let ended_at: Option<Option<UnixTime>> =
                    sqlx::query_scalar("SELECT ended_at FROM sessions WHERE id = $1 FOR UPDATE")
                        .bind(session_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                // A session purged away has ended too.
                !matches!(ended_at, Some(None))
            }
            None => false,
        };
        let old = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 FOR UPDATE"
        ))
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?
        .map(|row| rows::token(&row))
        .transpose()?;
        let outcome = match old {
            None => Some(RotateOutcome::Unknown),
            Some(old) if old.rotated_at.is_some() => {
                Some(RotateOutcome::AlreadyRotated(Box::new(old)))
            }
            Some(old) if old.revoked_at.is_some() || session_ended => Some(RotateOutcome::Ended),
            Some(_) => None,
        };
        if let Some(outcome) = outcome {
            tx.rollback().await.map_err(err)?;
            return Ok(outcome);
        }
        sqlx::query("UPDATE tokens SET rotated_at = $1, replay = $2 WHERE hash = $3")
            .bind(now)
            .bind(rotation.replay.as_slice())
            .bind(old_hash)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let mut issued = vec![rotation.next.clone()];
        issued.extend(rotation.access.iter().cloned());
        insert_tokens(&mut *tx, &issued).await?;
        if let Some((jti, expires_at)) = &rotation.revoke_jti {
            revoke_jti_on(&mut *tx, jti, *expires_at, now).await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(RotateOutcome::Rotated)
    }

    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO auth_codes ({AUTH_CODE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
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
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("authorization code of app {}", code.client_id)))?;
        Ok(())
    }

    async fn consume_code(&self, hash: &[u8; 32], now: UnixTime) -> StoreResult<CodeUse> {
        let err = |e| db_error(e, "authorization code");
        // The compare-and-set: of racing exchanges, exactly one changes the row
        // (the others wait on its lock, then find `used_at` set).
        let fresh = sqlx::query(&format!(
            "UPDATE auth_codes SET used_at = $1 WHERE hash = $2 AND used_at IS NULL \
             RETURNING {AUTH_CODE_COLUMNS}"
        ))
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        if let Some(row) = fresh {
            return Ok(CodeUse::Fresh(Box::new(rows::auth_code(&row)?)));
        }
        // A replay: the first one's time is kept (open_session checks it).
        let replayed = sqlx::query(&format!(
            "UPDATE auth_codes SET replayed_at = COALESCE(replayed_at, $1) WHERE hash = $2 \
             RETURNING {AUTH_CODE_COLUMNS}"
        ))
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        Ok(match replayed {
            Some(row) => CodeUse::Replayed(Box::new(rows::auth_code(&row)?)),
            None => CodeUse::Unknown,
        })
    }

    async fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO device_codes ({DEVICE_CODE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
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
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("device code of app {}", code.client_id)))?;
        Ok(())
    }

    async fn find_device_code(&self, user_code: &str) -> StoreResult<Option<DeviceCode>> {
        sqlx::query(&format!(
            "SELECT {DEVICE_CODE_COLUMNS} FROM device_codes WHERE user_code = $1"
        ))
        .bind(user_code)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "device code"))?
        .map(|row| rows::device_code(&row))
        .transpose()
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        decision: &DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // The compare-and-set: a concurrent decision waits on the row lock,
        // then finds the status no longer pending.
        let query = match decision {
            DeviceDecision::Approve {
                user_id,
                scope,
                auth_time,
            } => sqlx::query(
                "UPDATE device_codes SET status = 'approved', user_id = $1, scope = $2, \
                 auth_time = $3, decided_at = $4 WHERE user_code = $5 AND status = 'pending'",
            )
            .bind(user_id)
            .bind(scope)
            .bind(auth_time),
            DeviceDecision::Deny { user_id } => sqlx::query(
                "UPDATE device_codes SET status = 'denied', user_id = $1, decided_at = $2 \
                 WHERE user_code = $3 AND status = 'pending'",
            )
            .bind(user_id),
        };
        let done = query
            .bind(now)
            .bind(user_code)
            .execute(&self.pool)
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
        let mut tx = self.begin("device code").await?;
        // Locked: concurrent polls are paced one after another.
        let Some(code) = sqlx::query(&format!(
            "SELECT {DEVICE_CODE_COLUMNS} FROM device_codes WHERE hash = $1 FOR UPDATE"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?
        .map(|row| rows::device_code(&row))
        .transpose()?
        else {
            tx.rollback().await.map_err(err)?;
            return Ok(None);
        };
        let polled = pace.after_poll(&code, now);
        sqlx::query(
            "UPDATE device_codes SET last_polled_at = $1, poll_interval = $2 WHERE hash = $3",
        )
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
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = $1 AND client_id = $2"
        ))
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("consent of user {user_id} to app {client_id}")))?
        .map(|row| rows::consent(&row))
        .transpose()
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO consents ({CONSENT_COLUMNS}) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
             granted_at = excluded.granted_at"
        ))
        .bind(&consent.user_id)
        .bind(&consent.client_id)
        .bind(&consent.scope)
        .bind(consent.granted_at)
        .execute(&self.pool)
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
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("consent of user {user_id} to app {client_id}")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = $1 \
             ORDER BY granted_at, client_id COLLATE \"C\""
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("consents of user {user_id}")))?
        .iter()
        .map(rows::consent)
        .collect()
    }

    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO browser_sessions ({BROWSER_SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(session.hash.as_slice())
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("browser session of user {}", session.user_id)))?;
        Ok(())
    }

    async fn get_browser_session(&self, hash: &[u8; 32]) -> StoreResult<Option<BrowserSession>> {
        sqlx::query(&format!(
            "SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE hash = $1"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, "browser session"))?
        .map(|row| rows::browser_session(&row))
        .transpose()
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
        let mut tx = self.pool.begin().await.map_err(err)?;
        // Next seq of each app in the batch; None = not a registered app.
        let mut next: std::collections::HashMap<&str, Option<i64>> =
            std::collections::HashMap::new();
        for r in batch {
            let client_id = r.client_id.as_str();
            if !next.contains_key(client_id) {
                // Two nodes' writers append to one app's log one after the other.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext('rejections/' || $1))")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT client_id FROM apps WHERE client_id = $1")
                        .bind(client_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                let seq = match exists {
                    Some(_) => Some(
                        sqlx::query_scalar::<_, i64>(
                            "SELECT COALESCE(MAX(seq), 0) FROM rejections WHERE client_id = $1",
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
                "INSERT INTO rejections ({REJECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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
                sqlx::query("DELETE FROM rejections WHERE client_id = $1 AND seq <= $2")
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
            "SELECT {REJECTION_COLUMNS} FROM rejections WHERE client_id = $1 \
             AND ($2 IS NULL OR code = $2) AND ($3 IS NULL OR endpoint = $3) \
             ORDER BY seq DESC LIMIT $4"
        ))
        .bind(client_id)
        .bind(&filter.code)
        .bind(&filter.endpoint)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("rejections of app {client_id}")))?
        .iter()
        .map(rows::rejection)
        .collect()
    }

    async fn get_rejection(
        &self,
        request_id: &str,
    ) -> StoreResult<Option<grantd_core::rejections::Rejection>> {
        sqlx::query(&format!(
            "SELECT {REJECTION_COLUMNS} FROM rejections WHERE request_id = $1 \
             ORDER BY at DESC, seq DESC LIMIT 1"
        ))
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("rejection {request_id}")))?
        .map(|row| rows::rejection(&row))
        .transpose()
    }

    async fn add_token_usage(&self, counts: &[grantd_core::usage::TokenCount]) -> StoreResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let err = |e| db_error(e, "token usage");
        let mut tx = self.pool.begin().await.map_err(err)?;
        for c in counts {
            sqlx::query(
                "INSERT INTO token_usage (client_id, day, count) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM apps WHERE client_id = $1) \
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
            "SELECT day, count FROM token_usage WHERE client_id = $1 AND day >= $2 ORDER BY day DESC",
        )
        .bind(client_id)
        .bind(since_day)
        .fetch_all(&self.pool)
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
        sqlx::query("DELETE FROM browser_sessions WHERE hash = $1")
            .bind(hash.as_slice())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(e, "browser session"))?;
        Ok(())
    }

    async fn logout(&self, logout: &Logout, now: UnixTime) -> StoreResult<LoggedOut> {
        let err = |e| db_error(e, "logout");
        let mut tx = self.begin("logout").await?;
        if let Some(hash) = &logout.browser_session {
            sqlx::query("DELETE FROM browser_sessions WHERE hash = $1")
                .bind(hash.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        let (filter, key) = match &logout.of {
            LogoutOf::Sid(sid) => ("sid = $1", sid.as_str()),
            LogoutOf::User(id) => ("user_id = $1", id.as_str()),
            LogoutOf::Session(id) => ("id = $1", id.as_str()),
            LogoutOf::App(id) => ("client_id = $1", id.as_str()),
        };
        // The sessions' rows locked first (in id order), as ending them does.
        let ids = lock_active_sessions(&mut tx, filter, &[key]).await?;
        let sessions = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ANY($1) ORDER BY created_at, id"
        ))
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?
        .iter()
        .map(rows::session)
        .collect::<StoreResult<Vec<Session>>>()?;
        end_locked(&mut tx, &ids, &logout.reason, now).await?;
        let mut out = LoggedOut {
            ended: sessions,
            deliveries: Vec::new(),
        };
        let mut targets: Vec<(String, String, Option<String>)> = out
            .ended
            .iter()
            .map(|s| (s.client_id.clone(), s.user_id.clone(), s.sid.clone()))
            .collect();
        targets.sort();
        targets.dedup();
        for (client_id, user_id, sid) in targets {
            let listens: Option<bool> = sqlx::query_scalar(
                "SELECT (links::jsonb ->> 'backchannel_logout_uri') IS NOT NULL \
                 FROM apps WHERE client_id = $1",
            )
            .bind(&client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            if listens != Some(true) {
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
            sqlx::query(&format!(
                "INSERT INTO logout_deliveries ({LOGOUT_DELIVERY_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&d.id)
            .bind(&d.client_id)
            .bind(&d.user_id)
            .bind(&d.sid)
            .bind(d.status.as_str())
            .bind(i64::from(d.attempts))
            .bind(&d.last_error)
            .bind(d.next_attempt_at)
            .bind(d.created_at)
            .bind(d.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            out.deliveries.push(d);
        }
        tx.commit().await.map_err(err)?;
        Ok(out)
    }

    async fn claim_logout_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        // SKIP LOCKED: nodes claiming at once take different rows.
        sqlx::query(&format!(
            "UPDATE logout_deliveries SET next_attempt_at = $2 WHERE id IN ( \
                 SELECT id FROM logout_deliveries \
                 WHERE status = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING {LOGOUT_DELIVERY_COLUMNS}"
        ))
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, "logout deliveries"))?
        .iter()
        .map(rows::logout_delivery)
        .collect()
    }

    async fn record_logout_attempt(&self, d: &LogoutDelivery) -> StoreResult<()> {
        sqlx::query(
            "UPDATE logout_deliveries SET status = $1, attempts = $2, last_error = $3, \
             next_attempt_at = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(d.status.as_str())
        .bind(i64::from(d.attempts))
        .bind(&d.last_error)
        .bind(d.next_attempt_at)
        .bind(d.updated_at)
        .bind(&d.id)
        .execute(&self.pool)
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
            "SELECT {LOGOUT_DELIVERY_COLUMNS} FROM logout_deliveries WHERE client_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(client_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error(e, &format!("logout deliveries of app {client_id}")))?
        .iter()
        .map(rows::logout_delivery)
        .collect()
    }

    fn counters_are_shared(&self) -> bool {
        true
    }

    async fn sync_counters(
        &self,
        deltas: &[CounterDelta],
        cursor: i64,
        now: UnixTime,
    ) -> StoreResult<CounterSync> {
        let err = |e| db_error(e, "rate counters");
        let deltas = codec::sorted_deltas(deltas);
        let mut tx = self.begin("rate counters").await?;
        let mut totals = Vec::with_capacity(deltas.len());
        if !deltas.is_empty() {
            // One statement for every key, in key order (the order every
            // node locks them in); the SET expressions see the stored row.
            let rows = sqlx::query(&format!(
                "INSERT INTO rate_counters AS c \
                 (key, window_start, window_end, lim, count, version) \
                 SELECT d.key, d.window_start, d.window_end, d.lim, d.count, \
                 nextval('rate_counter_versions') \
                 FROM UNNEST($1::bytea[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
                 AS d(key, window_start, window_end, lim, count) ORDER BY d.key \
                 ON CONFLICT (key) DO UPDATE SET \
                 count = CASE WHEN c.window_end <= $6 THEN excluded.count \
                 WHEN excluded.window_end <= c.window_start THEN c.count \
                 ELSE c.count + excluded.count END, \
                 window_start = CASE WHEN c.window_end <= $6 THEN excluded.window_start \
                 ELSE c.window_start END, \
                 window_end = CASE WHEN c.window_end <= $6 THEN excluded.window_end \
                 ELSE c.window_end END, \
                 lim = excluded.lim, version = excluded.version \
                 RETURNING {COUNTER_COLUMNS}"
            ))
            .bind(deltas.iter().map(|d| d.key.to_vec()).collect::<Vec<_>>())
            .bind(deltas.iter().map(|d| d.window_start).collect::<Vec<_>>())
            .bind(deltas.iter().map(|d| d.window_end).collect::<Vec<_>>())
            .bind(
                deltas
                    .iter()
                    .map(|d| i64::from(d.limit))
                    .collect::<Vec<_>>(),
            )
            .bind(
                deltas
                    .iter()
                    .map(|d| i64::from(d.count))
                    .collect::<Vec<_>>(),
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
            for row in &rows {
                totals.push(rows::counter_total(row)?);
            }
        }
        // Versions are numbered before their transactions commit, so a
        // change committed just after this read may carry a version below
        // `newest` and not be reported to this node; it learns that total
        // when it next counts the key itself (one sync later).
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(max(version), 0) FROM rate_counters")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        let near = sqlx::query(&format!(
            "SELECT {COUNTER_COLUMNS} FROM rate_counters \
             WHERE version > $1 AND version <= $2 AND window_end > $3 AND count * 2 >= lim \
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
}

impl PgStore {
    /// Users matching `filter` (a fixed SQL condition on `$1`), oldest first.
    async fn users_where(&self, filter: &str, value: Option<&str>) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY created_at, id COLLATE \"C\""
        );
        let mut q = sqlx::query(&sql);
        if let Some(value) = value {
            q = q.bind(value);
        }
        q.fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, "users"))?
            .iter()
            .map(rows::user)
            .collect()
    }
}

/// Records that `jti` is revoked until `expires_at`; revoking again keeps the
/// first revocation time and the later expiry.
async fn revoke_jti_on<'e>(
    ex: impl PgExecutor<'e>,
    jti: &str,
    expires_at: UnixTime,
    at: UnixTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO revoked_jtis (jti, expires_at, revoked_at) VALUES ($1, $2, $3) \
         ON CONFLICT (jti) DO UPDATE \
         SET expires_at = GREATEST(revoked_jtis.expires_at, excluded.expires_at)",
    )
    .bind(jti)
    .bind(expires_at)
    .bind(at)
    .execute(ex)
    .await
    .map_err(|e| db_error(e, &format!("revoked jti {jti}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_payloads_round_trip() {
        assert_eq!(parse_change(&app_payload("a:b")), Change::App("a:b".into()));
        assert_eq!(parse_change("keys"), Change::Keys);
        // Something a newer grantd sends: drop the caches rather than guess.
        assert_eq!(parse_change("users"), Change::Resync);
    }

    #[test]
    fn urls_are_checked_without_echoing_them() {
        let bad = |url: &str| match connect_options(url) {
            Err(StoreError::Unavailable(m)) => m,
            other => panic!("expected Unavailable, got {other:?}"),
        };
        assert!(bad("sqlite://x.db").contains("invalid PostgreSQL URL"));
        let m = bad("postgres://u:hunter2@h:port/db");
        assert!(!m.contains("hunter2"), "{m}");
        let options = connect_options("postgresql://u:hunter2@h:5433/db").expect("valid");
        assert_eq!(options.get_application_name(), Some("grantd"));
        let described = describe(&options);
        assert_eq!(described, "database \"db\" at h:5433");
        assert!(!format!("{:?}", described).contains("hunter2"));
    }
}

/// Fresh PostgreSQL databases for tests, one per test, dropped afterwards.
pub mod testing {
    use super::{connect_once, connect_options, db_error, PgStore};
    use grantd_core::store::StoreResult;
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    use std::sync::Arc;

    /// The environment variable naming the server tests create databases on,
    /// e.g. `postgres://postgres@127.0.0.1:5432/test` (its database is only
    /// used to run `CREATE DATABASE`).
    pub const URL_VAR: &str = "GRANTD_TEST_DATABASE_URL";
    /// Every test database's name starts with this. Leftovers (from a test
    /// process that was killed) can be dropped by hand:
    /// `SELECT format('DROP DATABASE %I WITH (FORCE);', datname) FROM pg_database
    /// WHERE datname LIKE 'grantd_t_%' \gexec` in psql.
    pub const PREFIX: &str = "grantd_t_";

    /// The server [`URL_VAR`] names, or `None` (with a note on stderr) when
    /// it is unset, so the test can skip; except under CI (`CI=true`), where
    /// the PostgreSQL tests must run: then it panics.
    pub fn server_url() -> Option<String> {
        let url = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty());
        if url.is_none() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{URL_VAR} is unset under CI: the PostgreSQL tests must run"
            );
            eprintln!("note: {URL_VAR} is unset; skipping a PostgreSQL test");
        }
        url
    }

    /// A database created for one test, not migrated; dropped (with every
    /// connection to it) when this is dropped.
    pub struct EmptyDatabase {
        url: String,
        options: PgConnectOptions,
        database: DropDatabase,
    }

    impl EmptyDatabase {
        /// A fresh database on the server of [`server_url`]; `None` to skip.
        pub async fn create() -> Option<EmptyDatabase> {
            let url = server_url()?;
            Some(
                Self::create_on(&url)
                    .await
                    .unwrap_or_else(|e| panic!("creating a test database: {e}")),
            )
        }

        /// A fresh database on the server of `url`.
        pub async fn create_on(url: &str) -> StoreResult<EmptyDatabase> {
            let server = connect_options(url)?;
            let name = format!(
                "{PREFIX}{}",
                grantd_core::crypto::random_id(16).to_ascii_lowercase()
            );
            let mut conn = connect_once(&server).await?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .map_err(|e| db_error(e, "test database"))?;
            let _ = conn.close().await;
            Ok(EmptyDatabase {
                url: with_database(url, &name),
                options: server.clone().database(&name),
                database: DropDatabase { server, name },
            })
        }

        /// The database's URL (for a store or a grantd process under test).
        pub fn url(&self) -> &str {
            &self.url
        }

        pub fn name(&self) -> &str {
            &self.database.name
        }

        /// Opens (and so migrates) a store on the database.
        pub async fn open(&self) -> StoreResult<PgStore> {
            PgStore::open_with(self.options.clone()).await
        }
    }

    /// A database created for one test, with a migrated store on it; dropped
    /// (with every connection to it) when this is dropped.
    pub struct TestDatabase {
        // Fields drop in order: the store's connections close before the drop.
        store: Arc<PgStore>,
        database: EmptyDatabase,
    }

    impl TestDatabase {
        /// A fresh database with a store on the server of [`server_url`];
        /// `None` to skip.
        pub async fn create() -> Option<TestDatabase> {
            let database = EmptyDatabase::create().await?;
            let store = database
                .open()
                .await
                .unwrap_or_else(|e| panic!("opening a store on a test database: {e}"));
            Some(TestDatabase {
                store: Arc::new(store),
                database,
            })
        }

        pub fn store(&self) -> Arc<PgStore> {
            self.store.clone()
        }

        /// The database's URL (for another store or a grantd process under test).
        pub fn url(&self) -> &str {
            self.database.url()
        }

        pub fn name(&self) -> &str {
            self.database.name()
        }
    }

    impl std::ops::Deref for TestDatabase {
        type Target = PgStore;

        fn deref(&self) -> &PgStore {
            &self.store
        }
    }

    /// Drops database `name` on drop.
    struct DropDatabase {
        server: PgConnectOptions,
        name: String,
    }

    impl Drop for DropDatabase {
        fn drop(&mut self) {
            let server = self.server.clone();
            let name = std::mem::take(&mut self.name);
            // Drop may run inside an async runtime, which must not block on
            // itself: the statement runs on a thread with a runtime of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let mut conn = server.connect().await.map_err(|e| e.to_string())?;
                    // FORCE: the store's pools may still hold connections.
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    let _ = conn.close().await;
                    Ok::<_, String>(name)
                })
            })
            .join();
            match dropped {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("note: could not drop a test database: {e}"),
                Err(_) => eprintln!("note: dropping a test database panicked"),
            }
        }
    }

    /// `url` with its database replaced by `name` (query parameters kept).
    fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        let base = match base[authority_start..].find('/') {
            Some(slash) => &base[..authority_start + slash],
            None => base,
        };
        match query {
            Some(query) => format!("{base}/{name}?{query}"),
            None => format!("{base}/{name}"),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::with_database;

        #[test]
        fn database_replaced_in_url() {
            assert_eq!(
                with_database("postgres://u:p@h:5432/test", "x"),
                "postgres://u:p@h:5432/x"
            );
            assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
            assert_eq!(
                with_database("postgresql://h/db?sslmode=disable", "x"),
                "postgresql://h/x?sslmode=disable"
            );
        }
    }
}
