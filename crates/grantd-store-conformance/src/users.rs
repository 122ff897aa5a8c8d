//! Checks of users (round trips, lookups, unique keys, status) and of the failed-password lockout.

use crate::fixtures::{bare_user, full_user, prefix, race, random_digits, setup_account, T};
use grantd_core::clock::UnixTime;
use grantd_core::model::{LoginState, Role, User, UserStatus};
use grantd_core::store::{LockoutPolicy, LoginAttempt, Store, StoreError, UniqueKey};

/// How many sign-ins race for one user.
const RACERS: usize = 50;

fn state(failures: u32, window_started_at: UnixTime, locked_until: Option<UnixTime>) -> LoginState {
    LoginState {
        failures,
        window_started_at,
        locked_until,
    }
}

fn policy(window: i64, threshold: u32, lock_for: i64) -> LockoutPolicy {
    LockoutPolicy {
        window,
        threshold,
        lock_for,
    }
}

async fn reserve(
    store: &dyn Store,
    user_id: &str,
    now: UnixTime,
    policy: &LockoutPolicy,
) -> LoginAttempt {
    store
        .reserve_login_attempt(user_id, now, policy)
        .await
        .expect("reserve_login_attempt")
}

async fn login_state(store: &dyn Store, user_id: &str) -> LoginState {
    store
        .get_login_state(user_id)
        .await
        .expect("get_login_state")
}

pub async fn users_round_trip_and_are_found_by_email_and_phone(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    let other_acct = format!("{p}-other-acct");
    setup_account(store, &acct).await;
    setup_account(store, &other_acct).await;
    let get = |id: String| async move { store.get_user(&id).await.expect("get_user") };

    let full = full_user(&format!("{p}-full"), &acct);
    let bare = bare_user(&format!("{p}-bare"), &acct);
    assert_eq!(get(full.id.clone()).await, None);
    store.insert_user(&full).await.expect("insert_user");
    store.insert_user(&bare).await.expect("insert_user");
    assert_eq!(
        get(full.id.clone()).await,
        Some(full.clone()),
        "every field of a user round-trips"
    );
    assert_eq!(
        get(bare.id.clone()).await,
        Some(bare.clone()),
        "missing optional fields round-trip"
    );
    for role in [
        grantd_core::model::Role::Admin,
        grantd_core::model::Role::Developer,
        grantd_core::model::Role::User,
    ] {
        let u = User {
            role,
            ..bare_user(&format!("{p}-role-{}", role.as_str()), &other_acct)
        };
        store.insert_user(&u).await.expect("insert_user");
        assert_eq!(get(u.id.clone()).await, Some(u));
    }

    // The email is stored as given (core normalises it) and found as stored.
    let email = full.email.clone().expect("an email");
    assert_eq!(
        store
            .find_users_by_email(&email)
            .await
            .expect("find_users_by_email"),
        vec![full.clone()]
    );
    assert!(
        store
            .find_users_by_email(&format!("{p}-nobody@example.com"))
            .await
            .expect("find_users_by_email")
            .is_empty(),
        "an unknown email finds nobody"
    );

    // Several users share a phone number, told apart by extension (and account).
    let phone = format!("+1650{}", random_digits());
    let sharing: Vec<User> = [("201", &acct), ("202", &acct), ("201", &other_acct)]
        .into_iter()
        .enumerate()
        .map(|(i, (ext, account_id))| User {
            email: None,
            phone: Some(phone.clone()),
            extension_number: Some(ext.to_string()),
            created_at: T + 10 + i as UnixTime,
            ..full_user(&format!("{p}-phone-{i}"), account_id)
        })
        .collect();
    for u in &sharing {
        store.insert_user(u).await.expect("insert_user");
    }
    let mut found = store
        .find_users_by_phone(&phone)
        .await
        .expect("find_users_by_phone");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, sharing, "every user with the phone number is found");
    assert!(store
        .find_users_by_phone(&format!("{phone}9"))
        .await
        .expect("find_users_by_phone")
        .is_empty());

    let ours = |users: Vec<User>| {
        let mut v: Vec<String> = users
            .into_iter()
            .filter(|u| u.id.starts_with(&p))
            .map(|u| u.id)
            .collect();
        v.sort();
        v
    };
    let mut in_acct = vec![
        full.id.clone(),
        bare.id.clone(),
        sharing[0].id.clone(),
        sharing[1].id.clone(),
    ];
    in_acct.sort();
    let listed = store.list_users(Some(&acct)).await.expect("list_users");
    assert!(
        listed.iter().all(|u| u.account_id == acct),
        "listing one account lists only its users"
    );
    assert_eq!(ours(listed), in_acct);
    assert_eq!(
        ours(store.list_users(None).await.expect("list_users")).len(),
        in_acct.len() + 3 + 1,
        "listing without an account lists every user"
    );
    assert!(store
        .list_users(Some(&format!("{p}-no-such-account")))
        .await
        .expect("list_users")
        .is_empty());
}

pub async fn user_conflicts_name_the_unique_key(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    let other_acct = format!("{p}-other-acct");
    setup_account(store, &acct).await;
    setup_account(store, &other_acct).await;
    let first = full_user(&format!("{p}-first"), &acct);
    store.insert_user(&first).await.expect("insert_user");

    let same_email = User {
        email: first.email.clone(),
        extension_number: Some("999".to_string()),
        ..full_user(&format!("{p}-same-email"), &other_acct)
    };
    let same_ext = User {
        email: Some(format!("{p}-other@example.com")),
        ..full_user(&format!("{p}-same-ext"), &acct)
    };
    let same_id = User {
        email: Some(format!("{p}-third@example.com")),
        extension_number: Some("998".to_string()),
        ..full_user(&first.id, &acct)
    };
    for (refused, key, why) in [
        (&same_email, UniqueKey::UserEmail, "an email taken anywhere"),
        (
            &same_ext,
            UniqueKey::UserExtension,
            "an extension number taken in the account",
        ),
        (&same_id, UniqueKey::PrimaryKey, "a user id taken"),
    ] {
        match store.insert_user(refused).await {
            Err(StoreError::Conflict(k)) => assert_eq!(k, key, "{why}: the conflict names {key:?}"),
            other => panic!("{why}: expected Conflict({key:?}), got {other:?}"),
        }
    }
    for refused in [&same_email, &same_ext] {
        assert_eq!(
            store.get_user(&refused.id).await.expect("get_user"),
            None,
            "a refused insert stores nothing"
        );
    }
    assert_eq!(
        store.get_user(&first.id).await.expect("get_user"),
        Some(first.clone()),
        "a refused insert changes nothing"
    );

    // The same extension in another account, and users without email or
    // extension, are fine.
    let elsewhere = User {
        email: Some(format!("{p}-elsewhere@example.com")),
        ..full_user(&format!("{p}-elsewhere"), &other_acct)
    };
    store
        .insert_user(&elsewhere)
        .await
        .expect("an extension number is unique only within its account");
    for i in 0..3 {
        store
            .insert_user(&bare_user(&format!("{p}-bare-{i}"), &acct))
            .await
            .expect("many users may lack an email and an extension");
    }
}

pub async fn set_user_status_changes_only_its_user(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    setup_account(store, &acct).await;
    let full = full_user(&format!("{p}-full"), &acct);
    let bare = bare_user(&format!("{p}-bare"), &acct);
    store.insert_user(&full).await.expect("insert_user");
    store.insert_user(&bare).await.expect("insert_user");
    let get = |id: String| async move { store.get_user(&id).await.expect("get_user") };

    assert!(store
        .set_user_status(&full.id, UserStatus::Disabled)
        .await
        .expect("set_user_status"));
    assert_eq!(
        get(full.id.clone()).await,
        Some(User {
            status: UserStatus::Disabled,
            ..full.clone()
        })
    );
    assert!(store
        .set_user_status(&full.id, UserStatus::Enabled)
        .await
        .expect("set_user_status"));
    assert_eq!(get(full.id.clone()).await, Some(full));
    assert!(
        !store
            .set_user_status(&format!("{p}-ghost"), UserStatus::Disabled)
            .await
            .expect("set_user_status"),
        "setting the status of an unknown user returns false"
    );
    assert_eq!(
        get(bare.id.clone()).await,
        Some(bare),
        "a status change touches only its user"
    );
}

pub async fn set_user_role_changes_only_its_user(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    setup_account(store, &acct).await;
    let full = full_user(&format!("{p}-full"), &acct);
    let bare = bare_user(&format!("{p}-bare"), &acct);
    store.insert_user(&full).await.expect("insert_user");
    store.insert_user(&bare).await.expect("insert_user");
    let get = |id: String| async move { store.get_user(&id).await.expect("get_user") };

    for role in [Role::Admin, Role::Developer, Role::User] {
        assert!(store
            .set_user_role(&full.id, role)
            .await
            .expect("set_user_role"));
        assert_eq!(
            get(full.id.clone()).await,
            Some(User {
                role,
                ..full.clone()
            })
        );
    }
    assert!(
        !store
            .set_user_role(&format!("{p}-ghost"), Role::Admin)
            .await
            .expect("set_user_role"),
        "setting the role of an unknown user returns false"
    );
    assert_eq!(
        get(bare.id.clone()).await,
        Some(bare),
        "a role change touches only its user"
    );
}

pub async fn reserve_login_attempt_counts_before_the_password_is_checked(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let lockout = policy(60, 3, 300);
    let reserved = |s: LoginState| LoginAttempt::Reserved(s);

    assert_eq!(
        login_state(store, &user).await,
        LoginState::default(),
        "a user who never failed has the default state"
    );
    assert_eq!(
        reserve(store, &user, T, &lockout).await,
        reserved(state(1, T, None)),
        "an attempt counts as a failure before the password is checked"
    );
    assert_eq!(
        reserve(store, &user, T + 10, &lockout).await,
        reserved(state(2, T, None))
    );
    assert_eq!(
        login_state(store, &user).await,
        state(2, T, None),
        "the state is stored"
    );
    // `window` seconds after it started, the window is over: a new one starts.
    assert_eq!(
        reserve(store, &user, T + 60, &lockout).await,
        reserved(state(1, T + 60, None)),
        "an attempt once the window has passed starts a new window"
    );
    assert_eq!(
        reserve(store, &user, T + 61, &lockout).await,
        reserved(state(2, T + 60, None))
    );
    assert_eq!(
        reserve(store, &user, T + 119, &lockout).await,
        reserved(state(3, T + 60, Some(T + 419))),
        "the attempt that reaches the threshold is let through, and locks"
    );
    assert_eq!(
        login_state(store, &user).await,
        state(3, T + 60, Some(T + 419))
    );
    assert_eq!(
        reserve(store, &user, T + 500, &lockout).await,
        reserved(state(1, T + 500, None)),
        "a lock that has run out is not carried into a new window"
    );

    // Threshold 1 locks on the first attempt (0 acts as 1); users are counted apart.
    for (other, threshold) in [(format!("{p}-other"), 1), (format!("{p}-zero"), 0)] {
        assert_eq!(
            reserve(store, &other, T, &policy(60, threshold, 30)).await,
            reserved(state(1, T, Some(T + 30)))
        );
    }
    assert_eq!(
        login_state(store, &user).await,
        state(1, T + 500, None),
        "failures are per user"
    );
}

pub async fn reserve_login_attempt_refuses_while_locked_and_writes_nothing(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let lockout = policy(60, 2, 300);
    reserve(store, &user, T, &lockout).await;
    reserve(store, &user, T + 1, &lockout).await;
    let locked = state(2, T, Some(T + 301));
    assert_eq!(login_state(store, &user).await, locked);

    for now in [T + 2, T + 100, T + 300] {
        assert_eq!(
            reserve(store, &user, now, &lockout).await,
            LoginAttempt::Locked { until: T + 301 },
            "while locked, an attempt is refused with the lock's end"
        );
        assert_eq!(
            login_state(store, &user).await,
            locked,
            "a refused attempt is not recorded"
        );
    }
    assert_eq!(
        reserve(store, &user, T + 301, &lockout).await,
        LoginAttempt::Reserved(state(1, T + 301, None)),
        "the lock ends at its end"
    );
}

/// Once a window holds the threshold, each attempt after the lock ran out
/// (still in the window) locks again.
pub async fn a_lock_that_ran_out_does_not_buy_fresh_guesses(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    // A long window, a short lock.
    let lockout = policy(1000, 2, 100);
    reserve(store, &user, T, &lockout).await;
    assert_eq!(
        reserve(store, &user, T + 1, &lockout).await,
        LoginAttempt::Reserved(state(2, T, Some(T + 101)))
    );
    assert_eq!(
        reserve(store, &user, T + 50, &lockout).await,
        LoginAttempt::Locked { until: T + 101 }
    );
    assert_eq!(
        reserve(store, &user, T + 200, &lockout).await,
        LoginAttempt::Reserved(state(3, T, Some(T + 300))),
        "past the threshold, an attempt after the lock ran out locks again"
    );
    assert_eq!(
        reserve(store, &user, T + 201, &lockout).await,
        LoginAttempt::Locked { until: T + 300 }
    );
}

pub async fn clear_login_failures_forgets_the_count_and_the_lock(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let other = format!("{p}-other");
    let lockout = policy(60, 2, 300);
    for u in [&user, &other] {
        reserve(store, u, T, &lockout).await;
        reserve(store, u, T + 1, &lockout).await;
    }
    store
        .clear_login_failures(&user)
        .await
        .expect("clear_login_failures");
    assert_eq!(
        login_state(store, &user).await,
        LoginState::default(),
        "clearing forgets the failures and the lock"
    );
    assert_eq!(
        reserve(store, &user, T + 2, &lockout).await,
        LoginAttempt::Reserved(state(1, T + 2, None)),
        "counting starts over after clearing"
    );
    assert_eq!(
        login_state(store, &other).await,
        state(2, T, Some(T + 301)),
        "clearing touches only its user"
    );
    store
        .clear_login_failures(&format!("{p}-never-failed"))
        .await
        .expect("clearing a user without failures is not an error");
}

pub async fn concurrent_reservations_are_each_counted_once(store: &dyn Store) {
    let user = format!("{}-user", prefix());
    let lockout = policy(60, u32::MAX, 300);
    let outcomes = race(
        (0..RACERS)
            .map(|_| store.reserve_login_attempt(&user, T, &lockout))
            .collect(),
    )
    .await;
    let mut counts: Vec<u32> = outcomes
        .into_iter()
        .map(|o| match o.expect("concurrent reserve_login_attempt") {
            LoginAttempt::Reserved(s) => s.failures,
            locked => panic!("nobody reaches a threshold of u32::MAX: {locked:?}"),
        })
        .collect();
    counts.sort_unstable();
    let expected: Vec<u32> = (1..=RACERS as u32).collect();
    assert_eq!(counts, expected, "every attempt is counted exactly once");
    assert_eq!(login_state(store, &user).await.failures, RACERS as u32);
}

/// A burst of guesses at one user: at most the threshold reach the password check.
pub async fn concurrent_reservations_let_exactly_the_threshold_through(store: &dyn Store) {
    let user = format!("{}-user", prefix());
    let lockout = policy(60, 5, 300);
    let outcomes: Vec<LoginAttempt> = race(
        (0..RACERS)
            .map(|_| store.reserve_login_attempt(&user, T, &lockout))
            .collect(),
    )
    .await
    .into_iter()
    .map(|o| o.expect("concurrent reserve_login_attempt"))
    .collect();
    let mut reserved: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            LoginAttempt::Reserved(s) => Some(s.failures),
            LoginAttempt::Locked { .. } => None,
        })
        .collect();
    reserved.sort_unstable();
    assert_eq!(
        reserved,
        vec![1, 2, 3, 4, 5],
        "exactly the threshold are let through, each counted once"
    );
    let locked = outcomes
        .iter()
        .filter(|o| **o == LoginAttempt::Locked { until: T + 300 })
        .count();
    assert_eq!(
        locked,
        RACERS - 5,
        "every other attempt is refused with the lock the fifth set"
    );
    assert_eq!(login_state(store, &user).await, state(5, T, Some(T + 300)));
}
