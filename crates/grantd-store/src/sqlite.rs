//! The SQLite backend: one writer connection, a small pool of readers, WAL.

use crate::codec::{self, corrupt, db_error};
use async_trait::async_trait;
use grantd_core::clock::UnixTime;
use grantd_core::model::{Account, App, StoredKey, TokenRecord};
use grantd_core::store::{Store, StoreError, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Decode, Row, Sqlite, Type};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How long a connection waits on a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers run concurrently under WAL; writers are serialized through one connection.
const READER_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// grantd's state in one SQLite file.
///
/// Every write goes through a pool of exactly one connection, so writers queue
/// in the process instead of failing with `SQLITE_BUSY`; reads use a separate
/// pool and, thanks to WAL, never wait for the writer.
#[derive(Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The database file to delete on drop ([`SqliteStore::open_in_memory`]).
    temp: Option<TempFile>,
}

impl SqliteStore {
    /// Opens (creating it if missing) and migrates the database at
    /// `url_or_path`: a `sqlite:` URL (`sqlite://grantd.db`, `sqlite::memory:`)
    /// or a path to the database file.
    pub async fn open(url_or_path: &str) -> Result<SqliteStore, StoreError> {
        let in_memory = url_or_path.starts_with("sqlite:")
            && (url_or_path.contains(":memory:") || url_or_path.contains("mode=memory"));
        let options = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path).map_err(|e| {
                StoreError::Unavailable(format!("invalid SQLite URL {url_or_path:?}: {e}"))
            })?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let store = Self::connect(options, in_memory).await?;
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
        let mut store = Self::connect(SqliteConnectOptions::new().filename(&temp.0), false).await?;
        store.temp = Some(temp);
        Ok(store)
    }

    async fn connect(options: SqliteConnectOptions, in_memory: bool) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(e.to_string());
        if in_memory {
            // An in-memory database lives as long as its last connection: one
            // connection, never recycled, serves reads and writes.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(unavailable)?;
            migrate(&pool).await?;
            return Ok(Self {
                writer: pool.clone(),
                reader: pool,
                temp: None,
            });
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        migrate(&writer).await?;
        // `query_only` makes a write that strays onto a reader fail loudly
        // instead of racing the writer for the lock.
        let reader = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(unavailable)?;
        Ok(Self {
            writer,
            reader,
            temp: None,
        })
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

/// Reads column `column` of a row of `what`, or says the row is corrupt.
fn col<'r, T>(row: &'r SqliteRow, what: &str, column: &str) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column).map_err(|e| corrupt(what, column, e))
}

fn account_from_row(row: &SqliteRow) -> StoreResult<Account> {
    let id: String = col(row, "account", "id")?;
    let what = format!("account {id}");
    Ok(Account {
        name: col(row, &what, "name")?,
        created_at: col(row, &what, "created_at")?,
        id,
    })
}

const APP_COLUMNS: &str = "client_id, account_id, name, platform_type, grants, redirect_uris, \
     scopes, distribution, issue_refresh_tokens, access_token_ttl, refresh_token_ttl, \
     access_token_format, secret_hash, created_at, updated_at";

fn app_from_row(row: &SqliteRow) -> StoreResult<App> {
    let client_id: String = col(row, "app", "client_id")?;
    let what = format!("app {client_id}");
    let w = what.as_str();
    let secret_hash: Option<Vec<u8>> = col(row, w, "secret_hash")?;
    Ok(App {
        account_id: col(row, w, "account_id")?,
        name: col(row, w, "name")?,
        platform_type: codec::platform_type(w, col(row, w, "platform_type")?)?,
        grants: codec::grants_from_json(w, col(row, w, "grants")?)?,
        redirect_uris: codec::redirect_uris_from_json(w, col(row, w, "redirect_uris")?)?,
        scopes: codec::scopes_from_json(w, col(row, w, "scopes")?)?,
        distribution: codec::distribution(w, col(row, w, "distribution")?)?,
        issue_refresh_tokens: col(row, w, "issue_refresh_tokens")?,
        access_token_ttl: codec::ttl_from_db(
            w,
            "access_token_ttl",
            col(row, w, "access_token_ttl")?,
        )?,
        refresh_token_ttl: codec::ttl_from_db(
            w,
            "refresh_token_ttl",
            col(row, w, "refresh_token_ttl")?,
        )?,
        access_token_format: codec::access_token_format(w, col(row, w, "access_token_format")?)?,
        secret_hash: secret_hash
            .map(|h| codec::digest(w, "secret_hash", &h))
            .transpose()?,
        created_at: col(row, w, "created_at")?,
        updated_at: col(row, w, "updated_at")?,
        client_id,
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<StoredKey> {
    let kid: String = col(row, "signing key", "kid")?;
    let what = format!("signing key {kid}");
    let w = what.as_str();
    Ok(StoredKey {
        alg: codec::signing_alg(w, col(row, w, "alg")?)?,
        public_jwk: col(row, w, "public_jwk")?,
        sealed_private: col(row, w, "sealed_private")?,
        created_at: col(row, w, "created_at")?,
        retired_at: col(row, w, "retired_at")?,
        kid,
    })
}

const TOKEN_COLUMNS: &str = "hash, kind, id, client_id, subject, account_id, session_id, scope, \
     issued_at, expires_at, revoked_at";

fn token_from_row(row: &SqliteRow) -> StoreResult<TokenRecord> {
    let id: String = col(row, "token", "id")?;
    let what = format!("token {id}");
    let w = what.as_str();
    let hash: Vec<u8> = col(row, w, "hash")?;
    Ok(TokenRecord {
        hash: codec::digest(w, "hash", &hash)?,
        kind: codec::token_kind(w, col(row, w, "kind")?)?,
        client_id: col(row, w, "client_id")?,
        subject: col(row, w, "subject")?,
        account_id: col(row, w, "account_id")?,
        session_id: col(row, w, "session_id")?,
        scope: col(row, w, "scope")?,
        issued_at: col(row, w, "issued_at")?,
        expires_at: col(row, w, "expires_at")?,
        revoked_at: col(row, w, "revoked_at")?,
        id,
    })
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
        let what = format!("setting {key}");
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| db_error(e, &what))
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
        let what = format!("app {}", app.client_id);
        sqlx::query(&format!(
            "INSERT INTO apps ({APP_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&app.client_id)
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
        .bind(app.secret_hash.as_ref().map(|h| h.as_slice()))
        .bind(app.created_at)
        .bind(app.updated_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &what))?;
        Ok(())
    }

    async fn get_app(&self, client_id: &str) -> StoreResult<Option<App>> {
        sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE client_id = ?"
        ))
        .bind(client_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, &format!("app {client_id}")))?
        .map(|row| app_from_row(&row))
        .transpose()
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

    async fn update_app(&self, app: &App) -> StoreResult<bool> {
        let what = format!("app {}", app.client_id);
        let done = sqlx::query(
            "UPDATE apps SET account_id = ?, name = ?, platform_type = ?, grants = ?, \
             redirect_uris = ?, scopes = ?, distribution = ?, issue_refresh_tokens = ?, \
             access_token_ttl = ?, refresh_token_ttl = ?, access_token_format = ?, \
             secret_hash = ?, created_at = ?, updated_at = ? \
             WHERE client_id = ?",
        )
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
        .bind(app.secret_hash.as_ref().map(|h| h.as_slice()))
        .bind(app.created_at)
        .bind(app.updated_at)
        .bind(&app.client_id)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &what))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_app(&self, client_id: &str) -> StoreResult<bool> {
        let what = format!("app {client_id}");
        let err = |e| db_error(e, &what);
        let mut tx = self.writer.begin().await.map_err(err)?;
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
        sqlx::query("DELETE FROM tokens WHERE client_id = ?")
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

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.writer)
            .await
            .map_err(|e| db_error(e, &format!("signing key {kid}")))?;
        Ok(())
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(token.hash.as_slice())
        .bind(token.kind.as_str())
        .bind(&token.id)
        .bind(&token.client_id)
        .bind(&token.subject)
        .bind(&token.account_id)
        .bind(&token.session_id)
        .bind(&token.scope)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .bind(token.revoked_at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("token {}", token.id)))?;
        Ok(())
    }

    async fn get_token(&self, hash: &[u8; 32]) -> StoreResult<Option<TokenRecord>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?"
        ))
        .bind(hash.as_slice())
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| db_error(e, "token"))?
        .map(|row| token_from_row(&row))
        .transpose()
    }

    async fn revoke_token(&self, hash: &[u8; 32], at: UnixTime) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(hash.as_slice())
                .execute(&self.writer)
                .await
                .map_err(|e| db_error(e, "token"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime, at: UnixTime) -> StoreResult<()> {
        // Revoking again keeps the first revocation time and the later expiry.
        sqlx::query(
            "INSERT INTO revoked_jtis (jti, expires_at, revoked_at) VALUES (?, ?, ?) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(expires_at)
        .bind(at)
        .execute(&self.writer)
        .await
        .map_err(|e| db_error(e, &format!("revoked jti {jti}")))?;
        Ok(())
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM revoked_jtis WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| db_error(e, &format!("revoked jti {jti}")))?;
        Ok(found.is_some())
    }

    async fn purge_expired(&self, before: UnixTime) -> StoreResult<u64> {
        let err = |e| db_error(e, "purge");
        let mut tx = self.writer.begin().await.map_err(err)?;
        let tokens = sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        let jtis = sqlx::query("DELETE FROM revoked_jtis WHERE expires_at < ?")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        tx.commit().await.map_err(err)?;
        Ok(tokens + jtis)
    }
}
