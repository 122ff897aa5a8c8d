//! grantd's storage backends: [`SqliteStore`] implements
//! [`grantd_core::store::Store`]. The suite every backend must pass is the
//! `grantd-store-conformance` crate (a dev-dependency), run by `tests/sqlite.rs`.

mod batch;
mod codec;

pub mod sqlite;

pub use sqlite::SqliteStore;
