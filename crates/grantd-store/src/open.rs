//! Opening the store a database URL names: PostgreSQL for `postgres://` and
//! `postgresql://` URLs, SQLite for anything else (a `sqlite:` URL or a path).

use crate::{PgStore, SqliteStore};
use grantd_core::store::{Store, StoreError};
use std::sync::Arc;

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        match scheme.map(str::to_ascii_lowercase).as_deref() {
            Some("postgres") | Some("postgresql") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// Opens (and migrates) the store at `url`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match Backend::of(url) {
        Backend::Postgres => Arc::new(PgStore::open(url).await?),
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await?),
    })
}

/// Brings the schema of the database at `url` up to date, and nothing else
/// (`grantd migrate`).
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    match Backend::of(url) {
        Backend::Postgres => PgStore::migrate_only(url).await,
        Backend::Sqlite => {
            // Opening a SQLite store migrates it.
            SqliteStore::open(url).await?.close().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn backend_by_scheme() {
        assert_eq!(Backend::of("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of("postgresql://h"), Backend::Postgres);
        assert_eq!(Backend::of("PostgreSQL://h"), Backend::Postgres);
        assert_eq!(Backend::of("sqlite://grantd.db"), Backend::Sqlite);
        assert_eq!(Backend::of("sqlite::memory:"), Backend::Sqlite);
        assert_eq!(Backend::of("/var/lib/grantd/grantd.db"), Backend::Sqlite);
        assert_eq!(Backend::of("postgres.db"), Backend::Sqlite);
    }
}
