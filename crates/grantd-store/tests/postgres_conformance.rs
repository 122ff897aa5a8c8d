//! The conformance suite on `PgStore`: one test per check, each on a fresh
//! database of the server `GRANTD_TEST_DATABASE_URL` names (skipped when it
//! is unset, except under CI, where a missing server fails the run).

use grantd_store::postgres::testing::TestDatabase;

grantd_store_conformance::tests!(optional: || async { TestDatabase::create().await });
