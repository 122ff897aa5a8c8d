//! The behaviour every [`Store`] backend must show, one check per behaviour, and [`tests!`] to run them.
//!
//! A backend's test file calls the macro once with a factory of fresh stores:
//!
//! ```ignore
//! async fn fresh() -> Arc<SqliteStore> {
//!     Arc::new(SqliteStore::open_in_memory().await.expect("a fresh store"))
//! }
//! grantd_store_conformance::tests!(fresh);
//! ```
//!
//! and gets one `#[test]` per check, each on a fresh store on its own
//! multi-threaded runtime, so one failure does not hide the others. The
//! factory (an async fn, an async closure, or `|| async { … }`) returns
//! anything that is a [`StoreHandle`]: an `Arc` or `Box` of a store, or a
//! [`Guarded`] store that keeps something else alive until the check is done:
//!
//! ```ignore
//! grantd_store_conformance::tests!(async || {
//!     let scratch = ScratchDatabase::create().await; // dropped after the store
//!     let store = PgStore::connect(scratch.url()).await.expect("connect");
//!     Guarded::new(store, scratch)
//! });
//! ```
//!
//! The handle is dropped inside the check's runtime, after the check, also
//! when it failed; a guard whose teardown is async can run it from `Drop`
//! with `tokio::task::block_in_place(|| Handle::current().block_on(…))`.
//!
//! Every check is a `pub async fn name(store: &dyn Store)` that panics on the
//! first deviation, and may also be called directly (racing checks then poll
//! their racers on one task if the runtime is current-thread). A check's
//! records carry a random prefix, so its assertions concern only its own rows;
//! `keys_*` (which retires every other key) and `purge_*` (which count what
//! they delete) want a store of their own, which the macro gives every check.

use grantd_core::store::Store;
use std::future::Future;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

mod fixtures;

pub mod apps;
pub mod audit;
pub mod codes;
pub mod consents;
pub mod counters;
pub mod credentials;
pub mod devices;
pub mod fapi;
pub mod keys;
pub mod logout;
pub mod purge;
pub mod registrations;
pub mod rejections;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod usage;
pub mod users;

/// The longest a check may take before it is deemed stuck (a lock never released).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// One `#[test]` per check, each calling the check on a fresh store from
/// `$factory`: an expression that can be called with no argument and returns
/// a future of a [`StoreHandle`] (an async closure, `|| async { … }`, or the
/// path of an async fn).
///
/// `tests!(optional: factory)` takes a factory whose future gives an
/// `Option` of a handle: `None` skips the check (a backend whose server is
/// not configured here; its factory decides when skipping is not allowed).
///
/// This is the list of checks: adding a check is one line here.
#[macro_export]
macro_rules! tests {
    (optional: $factory:expr $(,)?) => {
        $crate::tests!(@ optional $factory);
    };
    (@ $mode:ident $factory:expr) => {
        $crate::__tests_for! { $mode $factory;
            settings::ping,
            settings::put_setting_if_absent_keeps_the_first_value,
            settings::concurrent_put_setting_if_absent_agree_on_one_value,
            settings::accounts_round_trip_and_refuse_a_duplicate_id,

            apps::apps_round_trip_every_field,
            apps::insert_app_stores_revision_one,
            apps::update_app_is_a_compare_and_set_on_the_revision,
            apps::update_app_never_writes_the_secret_or_created_at,
            apps::update_app_sets_allow_plain_pkce_both_ways,
            apps::update_app_sets_and_clears_the_token_exchange_policy,
            apps::update_app_switches_between_jwks_and_jwks_uri,
            apps::set_app_secret_replaces_the_hash_and_moves_the_revision,
            apps::delete_app_removes_what_was_issued_and_ends_sessions_at_now,
            apps::concurrent_update_app_with_one_revision_lets_one_through,
            apps::concurrent_update_app_and_set_app_secret_lose_nothing,
            apps::app_changes_are_announced,

            keys::keys_round_trip_and_retire_all_but_one,
            keys::key_changes_are_announced,
            keys::a_deleted_key_is_gone_and_deleting_again_says_so,

            tokens::tokens_round_trip_and_revoke_once,
            tokens::revoked_jtis_are_remembered,
            tokens::concurrent_writes_and_reads_all_land,
            tokens::concurrent_token_inserts_fail_only_the_duplicate,
            tokens::assertion_jtis_are_used_once_per_app_until_they_expire,
            tokens::concurrent_identical_assertion_jtis_have_one_winner,

            fapi::pushed_requests_are_used_once_and_purged_when_expired,
            fapi::concurrent_uses_of_a_pushed_request_have_one_winner,
            fapi::dpop_bindings_round_trip_replace_and_expire,
            logout::logout_of_a_sign_in_ends_its_sessions_and_queues_deliveries,
            logout::logout_of_a_user_queues_one_delivery_per_app_and_sign_in,
            logout::claimed_deliveries_are_leased_and_their_outcome_recorded,
            logout::concurrent_claims_take_each_delivery_once,
            logout::finished_deliveries_are_purged_a_day_later,

            registrations::registration_tokens_round_trip_and_revoke_once,
            registrations::register_app_uses_the_initial_token_within_its_limits,
            registrations::concurrent_registrations_never_exceed_max_uses,
            registrations::update_registration_is_a_compare_and_set_and_goes_with_the_app,

            users::users_round_trip_and_are_found_by_email_and_phone,
            users::user_conflicts_name_the_unique_key,
            users::set_user_status_changes_only_its_user,
            users::set_user_role_changes_only_its_user,
            users::reserve_login_attempt_counts_before_the_password_is_checked,
            users::reserve_login_attempt_refuses_while_locked_and_writes_nothing,
            users::a_lock_that_ran_out_does_not_buy_fresh_guesses,
            users::clear_login_failures_forgets_the_count_and_the_lock,
            users::concurrent_reservations_are_each_counted_once,
            users::concurrent_reservations_let_exactly_the_threshold_through,

            credentials::jwt_credentials_round_trip_and_revoke_once,

            sessions::open_session_stores_the_session_and_its_tokens,
            sessions::open_session_refused_changes_nothing,
            sessions::open_session_ends_the_oldest_beyond_the_cap,
            sessions::end_session_revokes_every_token_of_it,
            sessions::end_sessions_of_a_user,
            sessions::active_sessions_are_counted_until_they_end,
            sessions::set_user_password_ends_the_users_sessions,
            sessions::end_sessions_of_an_app,
            sessions::end_sessions_of_a_credential,
            sessions::end_sessions_of_a_user_with_an_app,
            sessions::rotate_refresh_stores_the_next_pair_and_revokes_the_jti,
            sessions::rotate_refresh_twice_answers_already_rotated,
            sessions::rotate_refresh_refused_rolls_back,
            sessions::rotate_refresh_of_an_unknown_token_answers_unknown,
            sessions::rotate_refresh_after_the_end_answers_ended,
            sessions::concurrent_rotations_never_fork_a_session,
            sessions::concurrent_opens_leave_exactly_the_cap_active,
            sessions::ending_a_session_while_it_rotates_leaves_no_live_token,

            codes::auth_codes_round_trip_and_are_used_once,
            codes::open_session_links_the_code_to_the_session,
            codes::open_session_after_a_replay_stores_nothing,
            codes::concurrent_consume_code_has_one_winner,
            codes::an_exchange_racing_a_replay_is_caught_either_way,

            devices::device_codes_round_trip_and_user_codes_are_unique,
            devices::decide_device_code_is_a_compare_and_set_on_pending,
            devices::poll_device_code_paces_the_polls_and_records_them,
            devices::open_session_uses_an_approved_device_code_once,
            devices::concurrent_polls_after_approval_open_one_session,
            devices::concurrent_polls_are_paced_one_after_another,
            devices::concurrent_decisions_have_one_winner,
            devices::delete_app_removes_its_device_codes,

            consents::consents_are_upserted_per_user_and_app,
            consents::browser_sessions_round_trip_and_delete,

            rejections::rejections_round_trip_newest_first_and_filter,
            rejections::rejection_log_keeps_the_newest_per_app,
            rejections::concurrent_recorders_number_one_log,

            usage::token_usage_adds_up_per_app_and_day,
            usage::concurrent_usage_flushes_lose_nothing,

            purge::purge_removes_what_expired_before_the_cut_off,
            purge::purge_deletes_at_most_limit_rows_of_each_kind,
            purge::purge_removes_device_codes_that_expired,
            purge::concurrent_purges_remove_each_row_once,
            purge::purge_removes_counters_whose_window_ended,

            counters::counters_add_up_within_their_window,
            counters::counters_near_their_limit_reach_every_node,
            counters::concurrent_counter_syncs_lose_nothing,

            audit::audit_entries_chain_in_order,
            audit::concurrent_audit_appends_keep_one_chain,
        }
    };
    ($factory:expr $(,)?) => {
        $crate::tests!(@ required $factory);
    };
}

/// Expands a list of `module::check` into one test each (see [`tests!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __tests_for {
    (@handle required $factory:expr) => {
        ($factory)().await
    };
    (@handle optional $factory:expr) => {
        match ($factory)().await {
            ::std::option::Option::Some(handle) => handle,
            ::std::option::Option::None => {
                ::std::eprintln!("skipped: this backend's server is not configured");
                return;
            }
        }
    };
    ($mode:ident $factory:expr; $($module:ident :: $check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::__run(async {
                    let handle = $crate::__tests_for!(@handle $mode $factory);
                    let outcome =
                        $crate::__contain($crate::$module::$check($crate::StoreHandle::store(&handle)))
                            .await;
                    // Dropped here, failed or not, while the runtime still
                    // runs: the store can close and a guard can tear down.
                    ::std::mem::drop(handle);
                    $crate::__settle(outcome);
                });
            }
        )*
    };
}

/// Runs one check on a fresh multi-threaded runtime with four workers, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` would,
/// without asking the caller for tokio's macros.
#[doc(hidden)]
pub fn __run(test: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test);
}

/// What became of a check: done, or the panic that failed it.
#[doc(hidden)]
pub type Outcome = std::thread::Result<()>;

/// Runs a check, turning a panic, or running past [`CHECK_TIMEOUT`], into
/// an [`Outcome`], so the store is dropped before the test fails.
#[doc(hidden)]
pub async fn __contain(check: impl Future<Output = ()>) -> Outcome {
    let outcome = CatchUnwind(Box::pin(tokio::time::timeout(CHECK_TIMEOUT, check))).await;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_elapsed)) => Err(Box::new(format!(
            "the check did not finish in {CHECK_TIMEOUT:?} (a lock never released?)"
        ))),
        Err(panic) => Err(panic),
    }
}

/// Fails the test if the check failed (its message was printed when it panicked).
#[doc(hidden)]
pub fn __settle(outcome: Outcome) {
    if let Err(panic) = outcome {
        if let Some(message) = panic.downcast_ref::<String>() {
            // A timeout is reported here; a panic was reported when it happened.
            if message.starts_with("the check did not finish") {
                panic!("{message}");
            }
        }
        std::panic::resume_unwind(panic);
    }
}

/// A future whose panics are caught and returned (tokio has no `catch_unwind`).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// What a factory hands the suite: the store, and whatever has to live as
/// long as it does.
pub trait StoreHandle {
    fn store(&self) -> &dyn Store;
}

impl<H> StoreHandle for H
where
    H: Deref,
    H::Target: AsDynStore,
{
    fn store(&self) -> &dyn Store {
        self.deref().as_dyn_store()
    }
}

/// A store seen as `dyn Store`, whether it is a concrete type or already one.
pub trait AsDynStore {
    fn as_dyn_store(&self) -> &dyn Store;
}

impl<S: Store> AsDynStore for S {
    fn as_dyn_store(&self) -> &dyn Store {
        self
    }
}

impl AsDynStore for dyn Store {
    fn as_dyn_store(&self) -> &dyn Store {
        self
    }
}

/// A store with a guard dropped after it (a scratch database to remove, a
/// server to stop): `Guarded::new(store, guard)` derefs to the store.
pub struct Guarded<S: ?Sized, G> {
    // Fields drop in order: the store lets go of its connections before the
    // guard tears down what they were connected to.
    store: Box<S>,
    guard: G,
}

impl<S: Store, G> Guarded<S, G> {
    pub fn new(store: S, guard: G) -> Self {
        Self {
            store: Box::new(store),
            guard,
        }
    }
}

impl<G> Guarded<dyn Store, G> {
    pub fn boxed(store: Box<dyn Store>, guard: G) -> Self {
        Self { store, guard }
    }
}

impl<S: ?Sized, G> Guarded<S, G> {
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<S: ?Sized, G> Deref for Guarded<S, G> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn is_handle<H: StoreHandle>() {}

    #[test]
    fn a_store_handle_comes_in_every_shape() {
        is_handle::<Arc<dyn Store>>();
        is_handle::<Box<dyn Store>>();
        is_handle::<&dyn Store>();
        is_handle::<Guarded<dyn Store, std::fs::File>>();
    }
}
