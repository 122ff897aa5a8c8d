//! Moving a store: `grantd store copy` (SQLite → PostgreSQL, every row of
//! every table, verified by count) and `grantd backup` (an online SQLite copy).
//!
//! Both backends share table and column names, so the copy is driven by one
//! description of the schema ([`TABLES`]) instead of per-record code: rows are
//! read as typed values from SQLite and written with the same types to
//! PostgreSQL, in one transaction on the target, so a failed copy leaves it
//! empty.
//!
//! Request counters (`rate_counters`) are not copied: they last a minute or
//! so, and a copied database starts with none. Nor are the jtis of used
//! client assertions (`client_assertion_jtis`): an assertion lives ten
//! minutes at most, so a copied database starts with none of them either;
//! pushed authorization requests (`pushed_requests`) live a minute.

use crate::codec::db_error;
use grantd_core::store::{StoreError, StoreResult};
use sqlx::postgres::PgArguments;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{Arguments, PgPool, Row, SqlitePool};
use std::str::FromStr;

/// A column's type, as both backends store it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bytes,
    /// INTEGER 0/1 in SQLite, BOOLEAN in PostgreSQL.
    Bool,
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table grantd keeps, parents before children, with its columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    ("settings", &[("key", Text), ("value", Text)]),
    (
        "accounts",
        &[("id", Text), ("name", Text), ("created_at", Int)],
    ),
    (
        "users",
        &[
            ("id", Text),
            ("account_id", Text),
            ("email", Text),
            ("phone", Text),
            ("extension_number", Text),
            ("name", Text),
            ("role", Text),
            ("status", Text),
            ("password_hash", Text),
            ("created_at", Int),
        ],
    ),
    (
        "apps",
        &[
            ("client_id", Text),
            ("account_id", Text),
            ("name", Text),
            ("platform_type", Text),
            ("grants", Text),
            ("redirect_uris", Text),
            ("scopes", Text),
            ("distribution", Text),
            ("issue_refresh_tokens", Bool),
            ("access_token_ttl", Int),
            ("refresh_token_ttl", Int),
            ("access_token_format", Text),
            ("allow_plain_pkce", Bool),
            ("resource_server", Bool),
            ("secret_hash", Bytes),
            ("created_at", Int),
            ("updated_at", Int),
            ("revision", Int),
            ("rate_limits", Text),
            ("token_exchange", Text),
            ("allowed_origins", Text),
            ("jwks", Text),
            ("jwks_uri", Text),
            ("security", Text),
            ("links", Text),
        ],
    ),
    (
        "signing_keys",
        &[
            ("kid", Text),
            ("alg", Text),
            ("public_jwk", Text),
            ("sealed_private", Bytes),
            ("created_at", Int),
            ("retired_at", Int),
        ],
    ),
    (
        "jwt_credentials",
        &[
            ("id", Text),
            ("user_id", Text),
            ("account_id", Text),
            ("label", Text),
            ("allowed_apps", Text),
            ("expires_at", Int),
            ("created_at", Int),
            ("revoked_at", Int),
        ],
    ),
    (
        "sessions",
        &[
            ("id", Text),
            ("user_id", Text),
            ("client_id", Text),
            ("account_id", Text),
            ("scope", Text),
            ("created_at", Int),
            ("ended_at", Int),
            ("end_reason", Text),
            ("credential_id", Text),
            ("endpoint_id", Text),
            ("sid", Text),
            ("resources", Text),
        ],
    ),
    (
        "logout_deliveries",
        &[
            ("id", Text),
            ("client_id", Text),
            ("user_id", Text),
            ("sid", Text),
            ("status", Text),
            ("attempts", Int),
            ("last_error", Text),
            ("next_attempt_at", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "tokens",
        &[
            ("hash", Bytes),
            ("kind", Text),
            ("id", Text),
            ("client_id", Text),
            ("subject", Text),
            ("account_id", Text),
            ("session_id", Text),
            ("scope", Text),
            ("issued_at", Int),
            ("expires_at", Int),
            ("revoked_at", Int),
            ("rotated_at", Int),
            ("replay", Bytes),
            ("pair_access_id", Text),
            ("pair_access_expires_at", Int),
            ("audience", Text),
            ("act", Text),
        ],
    ),
    (
        "dpop_bindings",
        &[("id", Text), ("jkt", Text), ("expires_at", Int)],
    ),
    (
        "revoked_jtis",
        &[("jti", Text), ("expires_at", Int), ("revoked_at", Int)],
    ),
    (
        "login_failures",
        &[
            ("user_id", Text),
            ("failures", Int),
            ("window_started_at", Int),
            ("locked_until", Int),
        ],
    ),
    (
        "auth_codes",
        &[
            ("hash", Bytes),
            ("client_id", Text),
            ("user_id", Text),
            ("account_id", Text),
            ("redirect_uri", Text),
            ("redirect_uri_sent", Bool),
            ("scope", Text),
            ("nonce", Text),
            ("code_challenge", Text),
            ("code_challenge_method", Text),
            ("auth_time", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
            ("session_id", Text),
            ("replayed_at", Int),
            ("sid", Text),
            ("resources", Text),
        ],
    ),
    (
        "device_codes",
        &[
            ("hash", Bytes),
            ("user_code", Text),
            ("client_id", Text),
            ("scope", Text),
            ("poll_interval", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("last_polled_at", Int),
            ("status", Text),
            ("user_id", Text),
            ("auth_time", Int),
            ("decided_at", Int),
            ("session_id", Text),
        ],
    ),
    (
        "consents",
        &[
            ("user_id", Text),
            ("client_id", Text),
            ("scope", Text),
            ("granted_at", Int),
        ],
    ),
    (
        "rejections",
        &[
            ("client_id", Text),
            ("seq", Int),
            ("request_id", Text),
            ("at", Int),
            ("endpoint", Text),
            ("grant_type", Text),
            ("code", Text),
            ("description", Text),
            ("client_ip", Text),
            ("user_agent", Text),
            ("trace", Text),
        ],
    ),
    (
        "registration_tokens",
        &[
            ("id", Text),
            ("label", Text),
            ("hash", Bytes),
            ("created_at", Int),
            ("expires_at", Int),
            ("max_uses", Int),
            ("uses", Int),
            ("revoked_at", Int),
        ],
    ),
    (
        "client_registrations",
        &[
            ("client_id", Text),
            ("token_hash", Bytes),
            ("metadata", Text),
            ("initial_token_id", Text),
            ("initial_token_label", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "token_usage",
        &[("client_id", Text), ("day", Int), ("count", Int)],
    ),
    (
        "browser_sessions",
        &[
            ("hash", Bytes),
            ("user_id", Text),
            ("auth_time", Int),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    ),
    (
        "audit_log",
        &[
            ("seq", Int),
            ("at", Int),
            ("kind", Text),
            ("actor", Text),
            ("subject", Text),
            ("source", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    ),
];

/// Rows read and written per statement (at most 18 columns each, well under
/// PostgreSQL's 65,535 bound parameters).
const PAGE: i64 = 500;

/// One column's value of one row.
#[derive(Debug)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
}

/// How many rows of each table were copied (source and target agree).
#[derive(Debug, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Opens a SQLite database read-only (the source of a copy; a running
/// server may keep writing it, WAL gives the copy one consistent snapshot).
pub async fn open_sqlite_source(url_or_path: &str) -> StoreResult<SqlitePool> {
    let options = if url_or_path.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url_or_path)
            .map_err(|e| StoreError::Unavailable(format!("invalid SQLite URL: {e}")))?
    } else {
        SqliteConnectOptions::new().filename(url_or_path)
    };
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.read_only(true).create_if_missing(false))
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open the source database: {e}")))
}

/// Copies every row of `from` into `to`, whose tables must be empty (run
/// its migrations first). All in one transaction on the target, committed
/// only once every table's count matches the source's.
pub async fn copy_sqlite_to_postgres(from: &SqlitePool, to_url: &str) -> StoreResult<CopyReport> {
    let err = |e| db_error(e, "store copy");
    let to = PgPool::connect(to_url).await.map_err(err)?;
    // One read transaction: every table is read from the same snapshot.
    let mut source = from.begin().await.map_err(err)?;
    let mut target = to.begin().await.map_err(err)?;
    for (table, _) in TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *target)
            .await
            .map_err(err)?;
        if rows > 0 {
            return Err(StoreError::Unavailable(format!(
                "the target database already holds data (table {table} has {rows} rows): \
                 copy into a new, empty database (create it, run `grantd migrate`, then copy)"
            )));
        }
    }
    let mut report = CopyReport::default();
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let select = format!(
            "SELECT rowid AS grantd_rowid, {} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            names.join(", ")
        );
        let mut after: i64 = 0;
        let mut copied: u64 = 0;
        loop {
            let rows = sqlx::query(&select)
                .bind(after)
                .bind(PAGE)
                .fetch_all(&mut *source)
                .await
                .map_err(err)?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("grantd_rowid").map_err(err)?;
            let values = rows
                .iter()
                .map(|row| read_row(row, columns))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            insert_rows(&mut target, table, &names, values).await?;
            copied += rows.len() as u64;
        }
        let source_count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *source)
            .await
            .map_err(err)?;
        let target_count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *target)
            .await
            .map_err(err)?;
        if source_count != target_count || copied != source_count as u64 {
            return Err(StoreError::Unavailable(format!(
                "table {table}: {source_count} rows in the source but {target_count} in the \
                 target; nothing was committed"
            )));
        }
        report.tables.push((table, copied));
    }
    target.commit().await.map_err(err)?;
    source.rollback().await.map_err(err)?;
    Ok(report)
}

fn read_row(row: &SqliteRow, columns: &[(&str, Kind)]) -> Result<Vec<Value>, sqlx::Error> {
    columns
        .iter()
        .map(|(name, kind)| {
            Ok(match kind {
                Int => Value::Int(row.try_get(*name)?),
                Text => Value::Text(row.try_get(*name)?),
                Bytes => Value::Bytes(row.try_get(*name)?),
                Bool => Value::Bool(row.try_get(*name)?),
            })
        })
        .collect()
}

async fn insert_rows(
    target: &mut sqlx::PgConnection,
    table: &str,
    names: &[&str],
    rows: Vec<Vec<Value>>,
) -> StoreResult<()> {
    let mut args = PgArguments::default();
    let mut tuples = Vec::with_capacity(rows.len());
    let mut n = 0;
    for row in rows {
        let mut placeholders = Vec::with_capacity(row.len());
        for value in row {
            n += 1;
            placeholders.push(format!("${n}"));
            let added = match value {
                Value::Int(v) => args.add(v),
                Value::Text(v) => args.add(v),
                Value::Bytes(v) => args.add(v),
                Value::Bool(v) => args.add(v),
            };
            added.map_err(|e| StoreError::Unavailable(format!("table {table}: {e}")))?;
        }
        tuples.push(format!("({})", placeholders.join(", ")));
    }
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        names.join(", "),
        tuples.join(", ")
    );
    sqlx::query_with(&sql, args)
        .execute(target)
        .await
        .map_err(|e| db_error(e, &format!("copying table {table}")))?;
    Ok(())
}

/// Writes a consistent copy of a live SQLite database to `path` (which must
/// not exist), without stopping writers (`VACUUM INTO`).
pub async fn backup_sqlite(from: &SqlitePool, path: &std::path::Path) -> StoreResult<()> {
    if path.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} exists; give a new file name",
            path.display()
        )));
    }
    let target = path.to_str().ok_or_else(|| {
        StoreError::Unavailable(format!("{} is not a UTF-8 path", path.display()))
    })?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(from)
        .await
        .map_err(|e| db_error(e, "backup"))?;
    Ok(())
}
