//! Checks of sessions and refresh: opening under the cap, ending, rotating, and their races.

use crate::fixtures::{
    first_pair, get_session, get_token, hash, new_session, open, prefix, race, revoked, session,
    session_token, NO_CAP, T,
};
use grantd_core::clock::UnixTime;
use grantd_core::model::{Session, TokenKind, TokenRecord};
use grantd_core::store::{
    NewSession, RotateOutcome, Rotation, SessionCap, SessionOpened, SessionsOf, Store, StoreError,
    UniqueKey,
};
use std::collections::BTreeSet;

/// How many refreshes race to rotate one refresh token.
const ROTATION_RACERS: usize = 20;
/// How many sessions one user opens with one app at once, and the cap they race.
const OPEN_RACERS: usize = 20;
const RACED_CAP: u32 = 5;
/// How many sessions are ended while they rotate.
const END_ROUNDS: usize = 20;

fn cap(max_active: u32) -> SessionCap {
    SessionCap { max_active }
}

/// `session` as ending at `at` for `reason` leaves it.
fn ended(session: &Session, at: UnixTime, reason: &str) -> Session {
    Session {
        ended_at: Some(at),
        end_reason: Some(reason.to_string()),
        ..session.clone()
    }
}

/// The session and every token of it are as they were opened (a live one goes on).
async fn assert_as_opened(store: &dyn Store, new: &NewSession) {
    assert_eq!(
        get_session(store, &new.session.id).await.as_ref(),
        Some(&new.session),
        "session {} is as it was opened",
        new.session.id
    );
    for t in &new.tokens {
        assert_eq!(
            get_token(store, &t.hash).await.as_ref(),
            Some(t),
            "the tokens of session {} are as they were stored",
            new.session.id
        );
    }
}

/// The session ended at `at` for `reason`, and every token of it was revoked then.
async fn assert_ended(store: &dyn Store, new: &NewSession, at: UnixTime, reason: &str) {
    assert_eq!(
        get_session(store, &new.session.id).await,
        Some(ended(&new.session, at, reason)),
        "session {} ended at {at} for {reason}",
        new.session.id
    );
    for t in &new.tokens {
        assert_eq!(
            get_token(store, &t.hash).await,
            Some(revoked(t, at)),
            "ending a session revokes its tokens at the same time"
        );
    }
}

pub async fn open_session_stores_the_session_and_its_tokens(store: &dyn Store) {
    let p = prefix();
    let (user, app) = (format!("{p}-user"), format!("{p}-app"));
    let s = Session {
        credential_id: Some(format!("{p}-credential")),
        ..session(&format!("{p}-s"), &user, &app, T)
    };
    let first = new_session(&s);
    assert_eq!(get_session(store, &s.id).await, None);
    assert_eq!(
        store
            .open_session(&first, &NO_CAP, T)
            .await
            .expect("open_session"),
        SessionOpened::Opened { evicted: vec![] },
        "a first session ends nothing"
    );
    assert_as_opened(store, &first).await;

    // Every other shape of session round-trips too, with a token stored
    // revoked (the tombstone of a declined refresh token) and without any.
    let odd = Session {
        scope: String::new(),
        ended_at: Some(T + 3),
        end_reason: Some("logout — ünïcode".to_string()),
        ..session(&format!("{p}-odd"), &user, &app, T + 1)
    };
    let tombstone = revoked(
        &session_token(&format!("{p}-tombstone"), TokenKind::Refresh, &odd),
        T + 1,
    );
    let no_tokens = NewSession {
        session: session(&format!("{p}-no-tokens"), &user, &app, T + 2),
        tokens: vec![],
        code: None,
        device_code: None,
    };
    for new in [
        NewSession {
            session: odd,
            tokens: vec![tombstone],
            code: None,
            device_code: None,
        },
        no_tokens,
    ] {
        open(store, &new, NO_CAP, T + 5).await;
        assert_as_opened(store, &new).await;
    }
    assert_as_opened(store, &first).await;
}

/// A session id or token taken: nothing of the unit of work stays, not
/// even the sessions the cap would have ended.
pub async fn open_session_refused_changes_nothing(store: &dyn Store) {
    let p = prefix();
    let (user, app) = (format!("{p}-user"), format!("{p}-app"));
    let first = new_session(&session(&format!("{p}-first"), &user, &app, T));
    open(store, &first, NO_CAP, T).await;

    let same_id = NewSession {
        tokens: first_pair(&session(&format!("{p}-other-tokens"), &user, &app, T)),
        ..new_session(&session(&first.session.id, &user, &app, T + 1))
    };
    let taken_token = NewSession {
        tokens: vec![
            session_token(&format!("{p}-fresh"), TokenKind::Access, &first.session),
            first.tokens[0].clone(),
        ],
        ..new_session(&session(&format!("{p}-second"), &user, &app, T + 1))
    };
    for (refused, why) in [
        (&same_id, "a session id taken"),
        (&taken_token, "a token hash taken"),
    ] {
        assert!(
            matches!(
                store.open_session(refused, &cap(1), T + 10).await,
                Err(StoreError::Conflict(UniqueKey::PrimaryKey))
            ),
            "{why} is a conflict on the primary key"
        );
        assert_as_opened(store, &first).await;
    }
    assert_eq!(
        get_session(store, &taken_token.session.id).await,
        None,
        "a refused session is not stored"
    );
    for t in same_id.tokens.iter().chain(&taken_token.tokens[..1]) {
        assert_eq!(get_token(store, &t.hash).await, None, "nor are its tokens");
    }
}

pub async fn open_session_ends_the_oldest_beyond_the_cap(store: &dyn Store) {
    let p = prefix();
    let (user, app) = (format!("{p}-user"), format!("{p}-app"));
    let opened: Vec<NewSession> = (0..5)
        .map(|i| new_session(&session(&format!("{p}-s{i}"), &user, &app, T + i)))
        .collect();
    // Sessions of another app, of another user, and an ended one do not count.
    let other_app = new_session(&session(
        &format!("{p}-other-app"),
        &user,
        &format!("{p}-app-2"),
        T - 10,
    ));
    let other_user = new_session(&session(
        &format!("{p}-other-user"),
        &format!("{p}-user-2"),
        &app,
        T - 10,
    ));
    let already_ended = NewSession {
        session: ended(
            &session(&format!("{p}-already-ended"), &user, &app, T - 20),
            T - 5,
            "logout",
        ),
        tokens: vec![],
        code: None,
        device_code: None,
    };
    for s in [&other_app, &other_user, &already_ended] {
        assert!(open(store, s, cap(1), T).await.is_empty());
    }

    assert!(open(store, &opened[0], cap(2), T + 10).await.is_empty());
    assert!(
        open(store, &opened[1], cap(2), T + 11).await.is_empty(),
        "up to the cap, nothing ends"
    );
    assert_eq!(
        open(store, &opened[2], cap(2), T + 12).await,
        vec![opened[0].session.id.clone()],
        "one over the cap ends the oldest"
    );
    assert_ended(store, &opened[0], T + 12, "session_limit").await;
    assert_as_opened(store, &opened[1]).await;
    assert_as_opened(store, &opened[2]).await;

    assert_eq!(
        open(store, &opened[3], cap(1), T + 13).await,
        vec![opened[1].session.id.clone(), opened[2].session.id.clone()],
        "a lower cap ends every session beyond it, oldest first"
    );
    assert_ended(store, &opened[1], T + 13, "session_limit").await;
    assert_ended(store, &opened[2], T + 13, "session_limit").await;
    assert_as_opened(store, &opened[3]).await;

    assert_eq!(
        open(store, &opened[4], cap(0), T + 14).await,
        vec![opened[3].session.id.clone()],
        "the session being opened always stays, even with a cap of 0"
    );
    assert_ended(store, &opened[3], T + 14, "session_limit").await;
    assert_as_opened(store, &opened[4]).await;

    // The cap goes by creation time, not by the order sessions were opened in.
    let late_but_old = new_session(&session(&format!("{p}-late-but-old"), &user, &app, T - 100));
    assert!(open(store, &late_but_old, cap(2), T + 15).await.is_empty());
    let newest = new_session(&session(&format!("{p}-newest"), &user, &app, T + 20));
    assert_eq!(
        open(store, &newest, cap(2), T + 16).await,
        vec![late_but_old.session.id.clone()],
        "the session created first ends first"
    );
    assert_ended(store, &late_but_old, T + 16, "session_limit").await;
    assert_as_opened(store, &opened[4]).await;

    assert_ended(store, &opened[0], T + 12, "session_limit").await;
    for s in [&other_app, &other_user, &already_ended] {
        assert_as_opened(store, s).await;
    }
}

pub async fn end_session_revokes_every_token_of_it(store: &dyn Store) {
    let p = prefix();
    let (user, app) = (format!("{p}-user"), format!("{p}-app"));
    let s = new_session(&session(&format!("{p}-s"), &user, &app, T));
    let other = new_session(&session(&format!("{p}-other"), &user, &app, T + 1));
    for x in [&s, &other] {
        open(store, x, NO_CAP, T).await;
    }
    // Tokens stored apart from the session's first pair are its tokens too.
    let rotated = TokenRecord {
        rotated_at: Some(T + 1),
        replay: Some(vec![1, 2, 3]),
        ..session_token(&format!("{p}-rotated"), TokenKind::Refresh, &s.session)
    };
    let revoked_before = revoked(
        &session_token(
            &format!("{p}-revoked-before"),
            TokenKind::Access,
            &s.session,
        ),
        T + 2,
    );
    let no_session = TokenRecord {
        session_id: None,
        ..session_token(&format!("{p}-no-session"), TokenKind::Access, &s.session)
    };
    for t in [&rotated, &revoked_before, &no_session] {
        store.insert_token(t).await.expect("insert_token");
    }

    assert!(
        store
            .end_session(&s.session.id, "logout", T + 50)
            .await
            .expect("end_session"),
        "ending a live session returns true"
    );
    assert_ended(store, &s, T + 50, "logout").await;
    assert_eq!(
        get_token(store, &rotated.hash).await,
        Some(revoked(&rotated, T + 50)),
        "a rotated token of the session is revoked too"
    );
    assert_eq!(
        get_token(store, &revoked_before.hash).await,
        Some(revoked_before),
        "a token revoked before keeps its revocation time"
    );
    assert_eq!(
        get_token(store, &no_session.hash).await,
        Some(no_session),
        "tokens outside the session stay"
    );
    assert_as_opened(store, &other).await;

    assert!(
        !store
            .end_session(&s.session.id, "admin", T + 60)
            .await
            .expect("end_session"),
        "ending twice returns false"
    );
    assert_ended(store, &s, T + 50, "logout").await;
    assert!(
        !store
            .end_session(&format!("{p}-unknown"), "logout", T)
            .await
            .expect("end_session"),
        "ending an unknown session returns false"
    );
    assert_eq!(get_session(store, &format!("{p}-unknown")).await, None);
}

/// Opens `sessions`, ends those `of` names, and checks that exactly the
/// marked ones ended (their tokens with them) and the count.
async fn check_end_sessions(
    store: &dyn Store,
    sessions: &[(NewSession, bool)],
    of: SessionsOf<'_>,
) {
    let already_ended = Session {
        ended_at: Some(T - 1),
        end_reason: Some("logout".into()),
        ..sessions[0].0.session.clone()
    };
    let already_ended = NewSession {
        session: Session {
            id: format!("{}-already-ended", already_ended.id),
            ..already_ended
        },
        tokens: vec![],
        code: None,
        device_code: None,
    };
    for (s, _) in sessions {
        open(store, s, NO_CAP, T).await;
    }
    open(store, &already_ended, NO_CAP, T).await;
    let expected = sessions.iter().filter(|(_, ends)| *ends).count() as u64;
    assert_eq!(
        store
            .end_sessions(of, "bulk — ünïcode", T + 10)
            .await
            .expect("end_sessions"),
        expected,
        "end_sessions counts the sessions it ended, not those ended before"
    );
    for (s, ends) in sessions {
        if *ends {
            assert_ended(store, s, T + 10, "bulk — ünïcode").await;
        } else {
            assert_as_opened(store, s).await;
        }
    }
    assert_as_opened(store, &already_ended).await;
    assert_eq!(
        store
            .end_sessions(of, "again", T + 11)
            .await
            .expect("end_sessions"),
        0,
        "ending again ends nothing"
    );
}

pub async fn active_sessions_are_counted_until_they_end(store: &dyn Store) {
    let p = prefix();
    let before = store.count_active_sessions().await.unwrap();
    let opened: Vec<NewSession> = (0..3)
        .map(|i| {
            new_session(&session(
                &format!("{p}-s{i}"),
                &format!("{p}-user"),
                &format!("{p}-app"),
                T + i,
            ))
        })
        .collect();
    for new in &opened {
        open(store, new, NO_CAP, T + 10).await;
    }
    assert_eq!(
        store.count_active_sessions().await.unwrap(),
        before + 3,
        "each opened session counts"
    );
    assert!(store
        .end_session(&opened[1].session.id, "test", T + 20)
        .await
        .unwrap());
    assert_eq!(
        store.count_active_sessions().await.unwrap(),
        before + 2,
        "an ended session no longer counts"
    );
}

pub async fn end_sessions_of_a_user(store: &dyn Store) {
    let p = prefix();
    let (user, other) = (format!("{p}-user"), format!("{p}-other"));
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let sessions = [
        (
            new_session(&session(&format!("{p}-s0"), &user, &a, T)),
            true,
        ),
        (
            new_session(&session(&format!("{p}-s1"), &user, &b, T + 1)),
            true,
        ),
        (
            new_session(&session(&format!("{p}-s2"), &other, &a, T + 2)),
            false,
        ),
    ];
    check_end_sessions(store, &sessions, SessionsOf::User(&user)).await;
}

pub async fn end_sessions_of_an_app(store: &dyn Store) {
    let p = prefix();
    let (user, other) = (format!("{p}-user"), format!("{p}-other"));
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let sessions = [
        (
            new_session(&session(&format!("{p}-s0"), &user, &a, T)),
            true,
        ),
        (
            new_session(&session(&format!("{p}-s1"), &other, &a, T + 1)),
            true,
        ),
        (
            new_session(&session(&format!("{p}-s2"), &user, &b, T + 2)),
            false,
        ),
    ];
    check_end_sessions(store, &sessions, SessionsOf::App(&a)).await;
}

pub async fn end_sessions_of_a_credential(store: &dyn Store) {
    let p = prefix();
    let (user, a, b) = (format!("{p}-user"), format!("{p}-a"), format!("{p}-b"));
    let (credential, other_credential) = (format!("{p}-cred"), format!("{p}-other-cred"));
    let with = |id: &str, client_id: &str, credential_id: Option<&String>| {
        new_session(&Session {
            credential_id: credential_id.cloned(),
            ..session(&format!("{p}-{id}"), &user, client_id, T)
        })
    };
    let sessions = [
        (with("s0", &a, Some(&credential)), true),
        (with("s1", &b, Some(&credential)), true),
        (with("s2", &a, Some(&other_credential)), false),
        (with("s3", &a, None), false),
    ];
    check_end_sessions(store, &sessions, SessionsOf::Credential(&credential)).await;
}

pub async fn end_sessions_of_a_user_with_an_app(store: &dyn Store) {
    let p = prefix();
    let (user, other_user) = (format!("{p}-user"), format!("{p}-other-user"));
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let with = |id: &str, user_id: &str, client_id: &str| {
        new_session(&session(&format!("{p}-{id}"), user_id, client_id, T))
    };
    let sessions = [
        (with("s0", &user, &a), true),
        (with("s1", &user, &a), true),
        (with("s2", &user, &b), false),
        (with("s3", &other_user, &a), false),
    ];
    let of = SessionsOf::UserApp {
        user_id: &user,
        client_id: &a,
    };
    check_end_sessions(store, &sessions, of).await;
}

/// A session whose refresh token is paired with a JWT access token, to rotate.
async fn rotation_setup(store: &dyn Store, p: &str) -> (Session, TokenRecord) {
    let s = session(
        &format!("{p}-s"),
        &format!("{p}-user"),
        &format!("{p}-app"),
        T,
    );
    let old = TokenRecord {
        pair_access_id: Some(format!("{p}-jwt-0")),
        pair_access_expires_at: Some(T + 900),
        ..session_token(&format!("{p}-old"), TokenKind::Refresh, &s)
    };
    let new = NewSession {
        session: s.clone(),
        tokens: vec![old.clone()],
        code: None,
        device_code: None,
    };
    open(store, &new, NO_CAP, T).await;
    (s, old)
}

/// The rotation of `old` into a pair named `name`: a refresh token and an
/// opaque access token, revoking the JWT access token `old` was paired with.
fn rotation(p: &str, name: &str, s: &Session, old: &TokenRecord) -> Rotation {
    let access = TokenRecord {
        issued_at: T + 100,
        expires_at: T + 1000,
        ..session_token(&format!("{p}-{name}-access"), TokenKind::Access, s)
    };
    let next = TokenRecord {
        issued_at: T + 100,
        expires_at: T + 100 + 86_400,
        pair_access_id: Some(access.id.clone()),
        pair_access_expires_at: Some(access.expires_at),
        ..session_token(&format!("{p}-{name}-refresh"), TokenKind::Refresh, s)
    };
    Rotation {
        old_hash: old.hash,
        next,
        access: Some(access),
        replay: format!("sealed response {name}").into_bytes(),
        revoke_jti: old.pair_access_id.clone().zip(old.pair_access_expires_at),
    }
}

async fn rotate(store: &dyn Store, rotation: &Rotation, now: UnixTime) -> RotateOutcome {
    store
        .rotate_refresh(rotation, now)
        .await
        .expect("rotate_refresh")
}

async fn jti_revoked(store: &dyn Store, jti: &str) -> bool {
    store.is_jti_revoked(jti).await.expect("is_jti_revoked")
}

/// Nothing of `rotation` was stored.
async fn assert_not_stored(store: &dyn Store, rotation: &Rotation) {
    assert_eq!(get_token(store, &rotation.next.hash).await, None);
    if let Some(access) = &rotation.access {
        assert_eq!(get_token(store, &access.hash).await, None);
    }
}

/// What the old token reads back as once `rotation` rotated it at `at`.
fn rotated(old: &TokenRecord, rotation: &Rotation, at: UnixTime) -> TokenRecord {
    TokenRecord {
        rotated_at: Some(at),
        replay: Some(rotation.replay.clone()),
        ..old.clone()
    }
}

pub async fn rotate_refresh_stores_the_next_pair_and_revokes_the_jti(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    let first = Rotation {
        replay: (0..=255u8).chain([0, 0]).collect(),
        ..rotation(&p, "first", &s, &old)
    };
    let jti = format!("{p}-jwt-0");
    assert!(!jti_revoked(store, &jti).await);

    assert_eq!(
        rotate(store, &first, T + 100).await,
        RotateOutcome::Rotated,
        "the first rotation rotates"
    );
    assert_eq!(
        get_token(store, &old.hash).await,
        Some(rotated(&old, &first, T + 100)),
        "the old token records when and what it was rotated into (and is not revoked)"
    );
    assert_eq!(
        get_token(store, &first.next.hash).await.as_ref(),
        Some(&first.next),
        "the new refresh token is stored"
    );
    assert_eq!(
        get_token(store, &first.access.as_ref().expect("access").hash).await,
        first.access.clone(),
        "the opaque access token is stored"
    );
    assert!(
        jti_revoked(store, &jti).await,
        "the old JWT access token is revoked in the same unit of work"
    );
    assert_eq!(
        get_session(store, &s.id).await,
        Some(s.clone()),
        "the session goes on"
    );

    // The new token rotates in turn; without an opaque access token or a
    // JWT to revoke, only the refresh token is stored.
    let second = Rotation {
        access: None,
        replay: vec![],
        revoke_jti: None,
        ..rotation(&p, "second", &s, &first.next)
    };
    assert_eq!(
        rotate(store, &second, T + 200).await,
        RotateOutcome::Rotated
    );
    assert_eq!(
        get_token(store, &second.next.hash).await.as_ref(),
        Some(&second.next)
    );
    let not_given = rotation(&p, "second", &s, &first.next).access;
    assert_eq!(
        get_token(store, &not_given.expect("an access token").hash).await,
        None,
        "no access token is stored when none is given"
    );
    assert_eq!(
        get_token(store, &first.next.hash).await,
        Some(rotated(&first.next, &second, T + 200)),
        "an empty replay blob is stored as such"
    );

    // A client that declines a new refresh token rotates into a tombstone,
    // stored as given (revoked).
    let tombstone = revoked(
        &TokenRecord {
            expires_at: T + 300,
            ..session_token(&format!("{p}-tombstone"), TokenKind::Refresh, &s)
        },
        T + 300,
    );
    let third = Rotation {
        next: tombstone.clone(),
        access: None,
        revoke_jti: None,
        ..rotation(&p, "third", &s, &second.next)
    };
    assert_eq!(rotate(store, &third, T + 300).await, RotateOutcome::Rotated);
    assert_eq!(get_token(store, &tombstone.hash).await, Some(tombstone));
    assert_eq!(get_session(store, &s.id).await, Some(s));
}

pub async fn rotate_refresh_twice_answers_already_rotated(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    let first = rotation(&p, "first", &s, &old);
    assert_eq!(rotate(store, &first, T + 100).await, RotateOutcome::Rotated);
    let after = rotated(&old, &first, T + 100);

    let second = Rotation {
        revoke_jti: Some((format!("{p}-jwt-other"), T + 900)),
        ..rotation(&p, "second", &s, &old)
    };
    assert_eq!(
        rotate(store, &second, T + 101).await,
        RotateOutcome::AlreadyRotated(Box::new(after.clone())),
        "a second rotation answers with the first one's record"
    );
    assert_eq!(get_token(store, &old.hash).await, Some(after));
    assert_not_stored(store, &second).await;
    assert!(
        !jti_revoked(store, &format!("{p}-jwt-other")).await,
        "a rotation that did not happen revokes nothing"
    );
}

pub async fn rotate_refresh_refused_rolls_back(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    let jti = format!("{p}-jwt-0");
    let taken = session_token(&format!("{p}-taken"), TokenKind::Refresh, &s);
    store.insert_token(&taken).await.expect("insert_token");

    // A new token clashing with a stored one rolls the whole rotation back.
    let good = rotation(&p, "good", &s, &old);
    let clashing_access = Rotation {
        access: good.access.clone().map(|a| TokenRecord {
            hash: taken.hash,
            ..a
        }),
        ..good.clone()
    };
    let clashing_refresh = Rotation {
        next: TokenRecord {
            id: taken.id.clone(),
            ..good.next.clone()
        },
        access: None,
        ..good.clone()
    };
    for (refused, why) in [
        (&clashing_access, "an access token with a taken hash"),
        (&clashing_refresh, "a refresh token with a taken id"),
    ] {
        assert!(
            matches!(
                store.rotate_refresh(refused, T + 100).await,
                Err(StoreError::Conflict(UniqueKey::PrimaryKey))
            ),
            "{why} is a conflict on the token's key"
        );
        assert_eq!(
            get_token(store, &old.hash).await.as_ref(),
            Some(&old),
            "a failed rotation leaves the old token unrotated"
        );
        assert_eq!(
            get_token(store, &good.next.hash).await,
            None,
            "a failed rotation stores nothing"
        );
        assert!(
            !jti_revoked(store, &jti).await,
            "a failed rotation revokes nothing"
        );
    }

    assert_eq!(
        rotate(store, &good, T + 100).await,
        RotateOutcome::Rotated,
        "after the failures the rotation still works"
    );
}

pub async fn rotate_refresh_of_an_unknown_token_answers_unknown(store: &dyn Store) {
    let p = prefix();
    let (s, _) = rotation_setup(store, &p).await;
    let ghost_old = session_token(&format!("{p}-never-stored"), TokenKind::Refresh, &s);
    let ghost = Rotation {
        revoke_jti: Some((format!("{p}-jwt-ghost"), T + 900)),
        ..rotation(&p, "ghost", &s, &ghost_old)
    };
    assert_eq!(rotate(store, &ghost, T + 100).await, RotateOutcome::Unknown);
    assert_not_stored(store, &ghost).await;
    assert!(!jti_revoked(store, &format!("{p}-jwt-ghost")).await);
    assert_eq!(
        get_token(store, &hash(&format!("{p}-never-stored"))).await,
        None
    );
}

/// A rotation that comes after the session ended or its token was revoked
/// stores nothing, so an ended session never comes back to life.
pub async fn rotate_refresh_after_the_end_answers_ended(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    assert!(store
        .end_session(&s.id, "logout", T + 90)
        .await
        .expect("end_session"));
    let late = rotation(&p, "late", &s, &old);
    assert_eq!(
        rotate(store, &late, T + 100).await,
        RotateOutcome::Ended,
        "a token of an ended session does not rotate"
    );
    assert_not_stored(store, &late).await;
    assert_eq!(
        get_token(store, &old.hash).await,
        Some(revoked(&old, T + 90)),
        "the old token stays as the end left it"
    );
    assert!(!jti_revoked(store, &format!("{p}-jwt-0")).await);

    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    assert!(store
        .revoke_token(&old.hash, T + 90)
        .await
        .expect("revoke_token"));
    let late = rotation(&p, "late", &s, &old);
    assert_eq!(
        rotate(store, &late, T + 100).await,
        RotateOutcome::Ended,
        "a revoked token does not rotate, even in a live session"
    );
    assert_not_stored(store, &late).await;
    assert_eq!(
        get_token(store, &old.hash).await,
        Some(revoked(&old, T + 90))
    );
    assert!(!jti_revoked(store, &format!("{p}-jwt-0")).await);
    assert_eq!(get_session(store, &s.id).await, Some(s));
}

pub async fn concurrent_rotations_never_fork_a_session(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    let rotations: Vec<Rotation> = (0..ROTATION_RACERS)
        .map(|i| rotation(&p, &format!("racer-{i}"), &s, &old))
        .collect();
    let outcomes: Vec<RotateOutcome> = race(
        rotations
            .iter()
            .map(|r| store.rotate_refresh(r, T + 100))
            .collect(),
    )
    .await
    .into_iter()
    .map(|o| o.expect("concurrent rotate_refresh"))
    .collect();
    let winners: Vec<usize> = (0..ROTATION_RACERS)
        .filter(|&i| outcomes[i] == RotateOutcome::Rotated)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one racer rotates: {outcomes:?}");
    let winner = &rotations[winners[0]];
    let stored_old = rotated(&old, winner, T + 100);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(
                *outcome,
                RotateOutcome::AlreadyRotated(Box::new(stored_old.clone())),
                "every other racer gets the winner's replay"
            );
        }
    }
    assert_eq!(get_token(store, &old.hash).await, Some(stored_old));
    for (i, r) in rotations.iter().enumerate() {
        if i == winners[0] {
            assert_eq!(get_token(store, &r.next.hash).await.as_ref(), Some(&r.next));
        } else {
            assert_not_stored(store, r).await;
        }
    }
}

/// One user opening many sessions with one app at once (a script logging in
/// in parallel): the cap holds however the opens interleave.
pub async fn concurrent_opens_leave_exactly_the_cap_active(store: &dyn Store) {
    let p = prefix();
    let (user, app) = (format!("{p}-user"), format!("{p}-app"));
    let news: Vec<NewSession> = (0..OPEN_RACERS)
        .map(|i| {
            new_session(&session(
                &format!("{p}-s{i:02}"),
                &user,
                &app,
                T + i as UnixTime,
            ))
        })
        .collect();
    let raced_cap = cap(RACED_CAP);
    let outcomes = race(
        news.iter()
            .map(|n| store.open_session(n, &raced_cap, T + 100))
            .collect(),
    )
    .await;
    let mut evicted: Vec<String> = Vec::new();
    for outcome in outcomes {
        match outcome.expect("concurrent open_session") {
            SessionOpened::Opened { evicted: e } => evicted.extend(e),
            SessionOpened::CodeReplayed | SessionOpened::DeviceCodeUsed => {
                panic!("no code was given")
            }
        }
    }
    let evicted_set: BTreeSet<&String> = evicted.iter().collect();
    assert_eq!(
        evicted_set.len(),
        evicted.len(),
        "no session is ended twice: {evicted:?}"
    );
    let mut active = 0;
    for n in &news {
        let stored = get_session(store, &n.session.id)
            .await
            .expect("every opened session is stored");
        if stored.ended_at.is_none() {
            active += 1;
            assert!(!evicted_set.contains(&n.session.id));
            assert_as_opened(store, n).await;
        } else {
            assert!(
                evicted_set.contains(&n.session.id),
                "an ended session was reported by the open that ended it"
            );
            assert_ended(store, n, T + 100, "session_limit").await;
        }
    }
    assert_eq!(
        active, RACED_CAP,
        "exactly the cap stays active after {OPEN_RACERS} concurrent opens"
    );
    assert_eq!(evicted.len(), OPEN_RACERS - RACED_CAP as usize);
}

/// A logout racing a refresh of the same session: afterwards no token of
/// the session is live. Either the rotation came first (and the end revoked
/// what it stored) or it found the session ended and stored nothing.
pub async fn ending_a_session_while_it_rotates_leaves_no_live_token(store: &dyn Store) {
    let rounds: Vec<(String, Session, TokenRecord, Rotation)> = {
        let mut rounds = Vec::new();
        for _ in 0..END_ROUNDS {
            let p = prefix();
            let (s, old) = rotation_setup(store, &p).await;
            let r = rotation(&p, "raced", &s, &old);
            rounds.push((p, s, old, r));
        }
        rounds
    };
    #[derive(Debug)]
    enum Raced {
        End(bool),
        Rotate(RotateOutcome),
    }
    let mut racers: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Raced> + Send + '_>>> =
        Vec::new();
    for (_, s, _, r) in &rounds {
        racers.push(Box::pin(async move {
            Raced::End(
                store
                    .end_session(&s.id, "logout", T + 100)
                    .await
                    .expect("concurrent end_session"),
            )
        }));
        racers.push(Box::pin(async move {
            Raced::Rotate(
                store
                    .rotate_refresh(r, T + 100)
                    .await
                    .expect("concurrent rotate_refresh"),
            )
        }));
    }
    let outcomes = race(racers).await;

    for ((p, s, old, r), pair) in rounds.iter().zip(outcomes.chunks(2)) {
        let (ended_it, outcome) = match pair {
            [Raced::End(e), Raced::Rotate(o)] => (*e, o),
            other => panic!("outcomes out of order: {other:?}"),
        };
        assert!(ended_it, "the only end of a live session ends it");
        assert_eq!(
            get_session(store, &s.id).await,
            Some(ended(s, T + 100, "logout"))
        );
        let access = r.access.as_ref().expect("access");
        match outcome {
            RotateOutcome::Rotated => {
                assert_eq!(
                    get_token(store, &old.hash).await,
                    Some(revoked(&rotated(old, r, T + 100), T + 100))
                );
                for t in [&r.next, access] {
                    assert_eq!(
                        get_token(store, &t.hash).await,
                        Some(revoked(t, T + 100)),
                        "a rotation before the end has its tokens revoked by it"
                    );
                }
                assert!(jti_revoked(store, &format!("{p}-jwt-0")).await);
            }
            RotateOutcome::Ended => {
                assert_eq!(
                    get_token(store, &old.hash).await,
                    Some(revoked(old, T + 100))
                );
                assert_not_stored(store, r).await;
                assert!(!jti_revoked(store, &format!("{p}-jwt-0")).await);
            }
            other => panic!("a rotation racing an end either rotates or ends: {other:?}"),
        }
    }
}

/// A new password replaces the hash and ends every live session of that
/// user (and no one else's) in one unit of work; an unknown user changes nothing.
pub async fn set_user_password_ends_the_users_sessions(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    crate::fixtures::setup_account(store, &acct).await;
    let user = crate::fixtures::full_user(&format!("{p}-user"), &acct);
    let other = crate::fixtures::bare_user(&format!("{p}-other"), &acct);
    store.insert_user(&user).await.expect("insert_user");
    store.insert_user(&other).await.expect("insert_user");
    let app = format!("{p}-app");
    let mine = new_session(&session(&format!("{p}-s0"), &user.id, &app, T));
    let theirs = new_session(&session(&format!("{p}-s1"), &other.id, &app, T));
    open(store, &mine, NO_CAP, T).await;
    open(store, &theirs, NO_CAP, T).await;
    assert_eq!(
        store
            .set_user_password(&user.id, "$argon2id$new", "password changed", T + 5)
            .await
            .expect("set_user_password"),
        Some(1)
    );
    let stored = store.get_user(&user.id).await.expect("get_user");
    assert_eq!(
        stored.and_then(|u| u.password_hash).as_deref(),
        Some("$argon2id$new")
    );
    assert_ended(store, &mine, T + 5, "password changed").await;
    assert_as_opened(store, &theirs).await;
    assert_eq!(
        store
            .set_user_password(
                &format!("{p}-ghost"),
                "$argon2id$x",
                "password changed",
                T + 6
            )
            .await
            .expect("set_user_password"),
        None
    );
}
