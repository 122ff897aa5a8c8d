//! Checks of device codes (RFC 8628): round trips, the user's decision,
//! paced polls, the one exchange that opens a session, and their races.

use crate::fixtures::{
    device_code, find_device_code, full_app, get_session, get_token, new_session, prefix, race,
    session, setup_account, NO_CAP, T,
};
use grantd_core::clock::UnixTime;
use grantd_core::model::{DeviceCode, DeviceStatus};
use grantd_core::store::{
    DeviceDecision, NewSession, PollPace, Polled, SessionOpened, Store, StoreError, UniqueKey,
};

/// RFC 8628's pace: every slow_down adds 5 seconds.
const PACE: PollPace = PollPace { slow_down_by: 5 };
/// How many polls race on one device code.
const POLL_RACERS: usize = 20;
/// How many decisions race on one device code.
const DECISION_RACERS: usize = 10;
/// When the approving user signed in.
const AUTH_TIME: UnixTime = T - 30;

async fn insert(store: &dyn Store, code: &DeviceCode) {
    store
        .insert_device_code(code)
        .await
        .expect("insert_device_code");
}

async fn poll(store: &dyn Store, hash: &[u8; 32], now: UnixTime) -> Option<Polled> {
    store
        .poll_device_code(hash, now, &PACE)
        .await
        .expect("poll_device_code")
}

async fn decide(
    store: &dyn Store,
    user_code: &str,
    decision: &DeviceDecision,
    now: UnixTime,
) -> bool {
    store
        .decide_device_code(user_code, decision, now)
        .await
        .expect("decide_device_code")
}

fn approval(user_id: &str) -> DeviceDecision {
    DeviceDecision::Approve {
        user_id: user_id.to_string(),
        scope: "ReadAccounts".to_string(),
        auth_time: AUTH_TIME,
    }
}

fn denial(user_id: &str) -> DeviceDecision {
    DeviceDecision::Deny {
        user_id: user_id.to_string(),
    }
}

/// `code` as [`approval`] by `user_id` at `at` leaves it.
fn approved(code: &DeviceCode, user_id: &str, at: UnixTime) -> DeviceCode {
    DeviceCode {
        status: DeviceStatus::Approved,
        user_id: Some(user_id.to_string()),
        scope: "ReadAccounts".to_string(),
        auth_time: Some(AUTH_TIME),
        decided_at: Some(at),
        ..code.clone()
    }
}

/// `code` as [`denial`] by `user_id` at `at` leaves it.
fn denied(code: &DeviceCode, user_id: &str, at: UnixTime) -> DeviceCode {
    DeviceCode {
        status: DeviceStatus::Denied,
        user_id: Some(user_id.to_string()),
        decided_at: Some(at),
        ..code.clone()
    }
}

/// The session the exchange of `code` for `user_id` opens, with its first pair.
fn exchange(code: &DeviceCode, user_id: &str, id: &str) -> NewSession {
    NewSession {
        device_code: Some(code.hash),
        ..new_session(&session(id, user_id, &code.client_id, T + 100))
    }
}

async fn open_session(store: &dyn Store, new: &NewSession) -> SessionOpened {
    store
        .open_session(new, &NO_CAP, T + 100)
        .await
        .expect("open_session")
}

/// Nothing of `new` was stored.
async fn assert_not_stored(store: &dyn Store, new: &NewSession, why: &str) {
    assert_eq!(get_session(store, &new.session.id).await, None, "{why}");
    for t in &new.tokens {
        assert_eq!(get_token(store, &t.hash).await, None, "{why}: no token");
    }
}

pub async fn device_codes_round_trip_and_user_codes_are_unique(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let pending = device_code(&format!("{p}-pending"), &client, T + 600);
    assert_eq!(find_device_code(store, &pending.user_code).await, None);
    // Every optional field set, and values a backend might mangle.
    let used = DeviceCode {
        scope: String::new(),
        interval: 15,
        last_polled_at: Some(T + 20),
        status: DeviceStatus::Used,
        user_id: Some(format!("{p}-user \"ünïcode\"")),
        auth_time: Some(T - 3600),
        decided_at: Some(T + 10),
        session_id: Some(format!("{p}-session")),
        ..device_code(&format!("{p}-used"), &client, T + 600)
    };
    for c in [&pending, &used] {
        insert(store, c).await;
    }
    for c in [&pending, &used] {
        assert_eq!(
            find_device_code(store, &c.user_code).await.as_ref(),
            Some(c),
            "every field of a device code round-trips, found by its user code"
        );
    }

    let same_user_code = DeviceCode {
        client_id: format!("{p}-other-app"),
        ..device_code(&format!("{p}-other"), &client, T + 600)
    };
    let same_user_code = DeviceCode {
        user_code: pending.user_code.clone(),
        ..same_user_code
    };
    assert!(
        matches!(
            store.insert_device_code(&same_user_code).await,
            Err(StoreError::Conflict(UniqueKey::UserCode))
        ),
        "a user code taken is a conflict on the user code"
    );
    let same_hash = DeviceCode {
        hash: pending.hash,
        ..device_code(&format!("{p}-same-hash"), &client, T + 600)
    };
    assert!(
        matches!(
            store.insert_device_code(&same_hash).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a device code hash taken is a conflict on the primary key"
    );
    assert_eq!(
        find_device_code(store, &pending.user_code).await,
        Some(pending),
        "the refused inserts changed nothing"
    );
    assert_eq!(find_device_code(store, &same_hash.user_code).await, None);
}

pub async fn decide_device_code_is_a_compare_and_set_on_pending(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let (alice, bob) = (format!("{p}-alice"), format!("{p}-bob"));
    let to_approve = device_code(&format!("{p}-approve"), &client, T + 600);
    let to_deny = device_code(&format!("{p}-deny"), &client, T + 600);
    let untouched = device_code(&format!("{p}-untouched"), &client, T + 600);
    let expired = device_code(&format!("{p}-expired"), &client, T - 1);
    for c in [&to_approve, &to_deny, &untouched, &expired] {
        insert(store, c).await;
    }

    assert!(decide(store, &to_approve.user_code, &approval(&alice), T + 10).await);
    let after = approved(&to_approve, &alice, T + 10);
    assert_eq!(
        find_device_code(store, &to_approve.user_code)
            .await
            .as_ref(),
        Some(&after),
        "an approval stores the user, the scope approved, auth_time and decided_at"
    );
    assert!(
        !decide(store, &to_approve.user_code, &approval(&bob), T + 11).await,
        "a decided code is not decided again"
    );
    assert!(!decide(store, &to_approve.user_code, &denial(&bob), T + 11).await);
    assert_eq!(
        find_device_code(store, &to_approve.user_code).await,
        Some(after),
        "a refused decision writes nothing"
    );

    assert!(decide(store, &to_deny.user_code, &denial(&bob), T + 12).await);
    let after = denied(&to_deny, &bob, T + 12);
    assert_eq!(
        find_device_code(store, &to_deny.user_code).await.as_ref(),
        Some(&after),
        "a denial stores the user and decided_at, and keeps the scope asked"
    );
    assert!(!decide(store, &to_deny.user_code, &approval(&alice), T + 13).await);
    assert_eq!(
        find_device_code(store, &to_deny.user_code).await,
        Some(after)
    );

    assert!(
        !decide(store, &format!("{p}-unknown"), &approval(&alice), T).await,
        "an unknown user code is not decided"
    );
    assert!(
        decide(store, &expired.user_code, &approval(&alice), T + 14).await,
        "the store does not judge expiry (a poll does)"
    );
    assert_eq!(
        find_device_code(store, &untouched.user_code).await,
        Some(untouched),
        "a decision changes only its own code"
    );
}

pub async fn poll_device_code_paces_the_polls_and_records_them(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let unknown = device_code(&format!("{p}-unknown"), &client, T + 600);
    assert_eq!(poll(store, &unknown.hash, T).await, None);
    assert_eq!(
        poll(store, &unknown.hash, T).await,
        None,
        "polling an unknown code does not create it"
    );

    let code = device_code(&format!("{p}-code"), &client, T + 600);
    let other = device_code(&format!("{p}-other"), &client, T + 600);
    for c in [&code, &other] {
        insert(store, c).await;
    }
    let first = DeviceCode {
        last_polled_at: Some(T),
        ..code.clone()
    };
    assert_eq!(
        poll(store, &code.hash, T).await,
        Some(Polled {
            code: first.clone(),
            slow_down: false
        }),
        "the first poll is in time and recorded"
    );
    let early = DeviceCode {
        last_polled_at: Some(T + 4),
        interval: 10,
        ..code.clone()
    };
    assert_eq!(
        poll(store, &code.hash, T + 4).await,
        Some(Polled {
            code: early.clone(),
            slow_down: true
        }),
        "a poll sooner than the interval slows down, and the interval grows"
    );
    assert_eq!(
        find_device_code(store, &code.user_code).await,
        Some(early),
        "the poll and the new interval are stored"
    );
    let in_time = poll(store, &code.hash, T + 14).await.expect("polled");
    assert!(
        !in_time.slow_down,
        "a poll the new interval later is in time"
    );
    assert_eq!(in_time.code.interval, 10);

    assert!(
        decide(
            store,
            &code.user_code,
            &approval(&format!("{p}-user")),
            T + 15
        )
        .await
    );
    let decided = poll(store, &code.hash, T + 15).await.expect("polled");
    assert!(
        !decided.slow_down,
        "a decided code answers however soon it is polled"
    );
    assert_eq!(
        decided.code,
        DeviceCode {
            last_polled_at: Some(T + 15),
            interval: 10,
            ..approved(&code, &format!("{p}-user"), T + 15)
        }
    );
    assert_eq!(
        find_device_code(store, &other.user_code).await,
        Some(other),
        "a poll changes only its own code"
    );
}

pub async fn open_session_uses_an_approved_device_code_once(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let user = format!("{p}-user");
    let pending = device_code(&format!("{p}-pending"), &client, T + 600);
    let refused = device_code(&format!("{p}-denied"), &client, T + 600);
    let code = device_code(&format!("{p}-code"), &client, T + 600);
    for c in [&pending, &refused, &code] {
        insert(store, c).await;
    }
    assert!(decide(store, &refused.user_code, &denial(&user), T + 10).await);
    assert!(decide(store, &code.user_code, &approval(&user), T + 10).await);

    for (c, what) in [(&pending, "pending"), (&refused, "denied")] {
        let new = exchange(c, &user, &format!("{p}-{what}-session"));
        assert_eq!(
            open_session(store, &new).await,
            SessionOpened::DeviceCodeUsed,
            "a {what} device code opens no session"
        );
        assert_not_stored(store, &new, "nothing is stored").await;
    }
    assert_eq!(
        find_device_code(store, &pending.user_code)
            .await
            .map(|c| c.status),
        Some(DeviceStatus::Pending),
        "and the code is not used"
    );

    let first = exchange(&code, &user, &format!("{p}-first"));
    assert_eq!(
        open_session(store, &first).await,
        SessionOpened::Opened { evicted: vec![] }
    );
    assert_eq!(
        get_session(store, &first.session.id).await.as_ref(),
        Some(&first.session)
    );
    for t in &first.tokens {
        assert_eq!(get_token(store, &t.hash).await.as_ref(), Some(t));
    }
    assert_eq!(
        find_device_code(store, &code.user_code).await,
        Some(DeviceCode {
            status: DeviceStatus::Used,
            session_id: Some(first.session.id.clone()),
            ..approved(&code, &user, T + 10)
        }),
        "the approved code is used, with the session it opened"
    );

    let second = exchange(&code, &user, &format!("{p}-second"));
    assert_eq!(
        open_session(store, &second).await,
        SessionOpened::DeviceCodeUsed,
        "a used device code opens no second session"
    );
    assert_not_stored(store, &second, "nothing of the second exchange is stored").await;
    let unknown = device_code(&format!("{p}-unknown"), &client, T + 600);
    let orphan = exchange(&unknown, &user, &format!("{p}-orphan"));
    assert_eq!(
        open_session(store, &orphan).await,
        SessionOpened::DeviceCodeUsed,
        "an unknown device code opens no session"
    );
    assert_not_stored(store, &orphan, "nothing is stored for an unknown code").await;
}

/// What one poll of an approved code got, as core runs it.
#[derive(Debug, PartialEq, Eq)]
enum Exchanged {
    /// It opened this session.
    Opened(String),
    /// The code was used by another poll (seen at the poll, or when opening).
    Used,
}

/// A poll as core runs it: poll; if the code is approved, open the session with it.
async fn poll_and_exchange(store: &dyn Store, code: &DeviceCode, new: NewSession) -> Exchanged {
    let polled = store
        .poll_device_code(&code.hash, T + 100, &PACE)
        .await
        .expect("concurrent poll_device_code")
        .expect("the code is stored");
    match polled.code.status {
        DeviceStatus::Approved => {}
        DeviceStatus::Used => return Exchanged::Used,
        other => panic!("an approved code polled as {other:?}"),
    }
    match store
        .open_session(&new, &NO_CAP, T + 100)
        .await
        .expect("concurrent open_session")
    {
        SessionOpened::Opened { .. } => Exchanged::Opened(new.session.id.clone()),
        SessionOpened::DeviceCodeUsed => Exchanged::Used,
        SessionOpened::CodeReplayed => panic!("no authorization code was given"),
    }
}

/// The device polls many times at once after the user approved: exactly
/// one poll gets a session (tokens), and nothing of the others is stored.
pub async fn concurrent_polls_after_approval_open_one_session(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let code = device_code(&format!("{p}-code"), &format!("{p}-app"), T + 600);
    insert(store, &code).await;
    assert!(decide(store, &code.user_code, &approval(&user), T + 10).await);

    let sessions: Vec<NewSession> = (0..POLL_RACERS)
        .map(|i| exchange(&code, &user, &format!("{p}-session-{i:02}")))
        .collect();
    let outcomes = race(
        sessions
            .iter()
            .map(|new| poll_and_exchange(store, &code, new.clone()))
            .collect(),
    )
    .await;
    let winners: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Exchanged::Opened(id) => Some(id),
            Exchanged::Used => None,
        })
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one poll gets tokens: {outcomes:?}"
    );
    let winner = winners[0];
    assert_eq!(
        find_device_code(store, &code.user_code)
            .await
            .and_then(|c| c.session_id),
        Some(winner.clone()),
        "the code records the winner's session"
    );
    for new in &sessions {
        if new.session.id == *winner {
            assert_eq!(
                get_session(store, winner).await.as_ref(),
                Some(&new.session)
            );
        } else {
            assert_not_stored(store, new, "a poll that lost stores nothing").await;
        }
    }
}

/// Polls of one pending code at the same second: the store paces them one
/// after another, so one is in time and each other slows down once more.
pub async fn concurrent_polls_are_paced_one_after_another(store: &dyn Store) {
    let p = prefix();
    let code = device_code(&format!("{p}-code"), &format!("{p}-app"), T + 600);
    insert(store, &code).await;
    let polls: Vec<Polled> = race(
        (0..POLL_RACERS)
            .map(|_| store.poll_device_code(&code.hash, T + 100, &PACE))
            .collect(),
    )
    .await
    .into_iter()
    .map(|r| {
        r.expect("concurrent poll_device_code")
            .expect("the code is stored")
    })
    .collect();
    assert_eq!(
        polls.iter().filter(|p| !p.slow_down).count(),
        1,
        "exactly one of the polls is in time"
    );
    let mut intervals: Vec<i64> = polls.iter().map(|p| p.code.interval).collect();
    intervals.sort();
    let expected: Vec<i64> = (0..POLL_RACERS as i64)
        .map(|i| code.interval + PACE.slow_down_by * i)
        .collect();
    assert_eq!(
        intervals, expected,
        "each poll saw the one before it: no two read the same interval"
    );
    assert_eq!(
        find_device_code(store, &code.user_code).await,
        Some(DeviceCode {
            last_polled_at: Some(T + 100),
            interval: expected[POLL_RACERS - 1],
            ..code
        })
    );
}

/// Approvals and denials of one code at once (two browsers): one decides.
pub async fn concurrent_decisions_have_one_winner(store: &dyn Store) {
    let p = prefix();
    let code = device_code(&format!("{p}-code"), &format!("{p}-app"), T + 600);
    insert(store, &code).await;
    let decisions: Vec<DeviceDecision> = (0..DECISION_RACERS)
        .map(|i| {
            let user = format!("{p}-user-{i}");
            if i.is_multiple_of(2) {
                approval(&user)
            } else {
                denial(&user)
            }
        })
        .collect();
    let outcomes = race(
        decisions
            .iter()
            .map(|d| store.decide_device_code(&code.user_code, d, T + 10))
            .collect(),
    )
    .await
    .into_iter()
    .map(|r| r.expect("concurrent decide_device_code"))
    .collect::<Vec<bool>>();
    let winners: Vec<usize> = (0..DECISION_RACERS).filter(|&i| outcomes[i]).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one decision counts: {outcomes:?}"
    );
    let i = winners[0];
    let user = format!("{p}-user-{i}");
    let expected = if i.is_multiple_of(2) {
        approved(&code, &user, T + 10)
    } else {
        denied(&code, &user, T + 10)
    };
    assert_eq!(
        find_device_code(store, &code.user_code).await,
        Some(expected),
        "the stored decision is the winner's"
    );
}

pub async fn delete_app_removes_its_device_codes(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let doomed = full_app(&format!("{p}-doomed"), &owner);
    let kept = full_app(&format!("{p}-kept"), &owner);
    for app in [&doomed, &kept] {
        store.insert_app(app).await.expect("insert_app");
    }
    let doomed_code = device_code(&format!("{p}-doomed-code"), &doomed.client_id, T + 600);
    let kept_code = device_code(&format!("{p}-kept-code"), &kept.client_id, T + 600);
    for c in [&doomed_code, &kept_code] {
        insert(store, c).await;
    }
    assert!(store
        .delete_app(&doomed.client_id, T + 10)
        .await
        .expect("delete_app"));
    assert_eq!(
        find_device_code(store, &doomed_code.user_code).await,
        None,
        "deleting an app deletes its device codes"
    );
    assert_eq!(poll(store, &doomed_code.hash, T + 20).await, None);
    assert_eq!(
        find_device_code(store, &kept_code.user_code).await,
        Some(kept_code),
        "and only its own"
    );
}
