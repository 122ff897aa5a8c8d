//! grantd's storage backends: [`SqliteStore`] implements
//! [`grantd_core::store::Store`]; [`conformance`] is the suite every backend must pass.

mod batch;
mod codec;

pub mod sqlite;

pub use sqlite::SqliteStore;
