//! grantd's storage backends: [`SqliteStore`] and [`PgStore`] implement
//! [`grantd_core::store::Store`]; [`open()`] picks one by URL; [`portable`]
//! copies and backs up a store. The suite every backend must pass is the
//! `grantd-store-conformance` crate (a dev-dependency), run by `tests/sqlite.rs`
//! and `tests/postgres.rs`.

mod batch;
mod codec;
pub mod open;
pub mod portable;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use open::open;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
