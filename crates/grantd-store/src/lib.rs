//! grantd's storage backends: [`SqliteStore`] and [`PgStore`] implement
//! [`grantd_core::store::Store`]; [`open()`] picks one by URL; [`portable`]
//! copies and backs up a store. The suite every backend must pass is the
//! `grantd-store-conformance` crate (a dev-dependency).

mod codec;
mod direct;
pub mod open;
pub mod portable;
pub mod postgres;
mod rows;
pub mod sqlite;
mod writer;

pub use open::open;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
