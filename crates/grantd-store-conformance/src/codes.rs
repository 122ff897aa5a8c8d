//! Checks of authorization codes: round trips, single use, the link to the session, and replays racing exchanges.

use crate::fixtures::{
    auth_code, get_session, get_token, hash, new_session, open, prefix, race, session, NO_CAP, T,
};
use grantd_core::clock::UnixTime;
use grantd_core::model::{AuthCode, CodeUse};
use grantd_core::store::{NewSession, SessionCap, SessionOpened, Store, StoreError, UniqueKey};

/// How many token requests race to exchange one authorization code.
const CODE_RACERS: usize = 20;
/// How many codes see their exchange race a replay.
const REPLAY_ROUNDS: usize = 20;

async fn consume(store: &dyn Store, hash: &[u8; 32], now: UnixTime) -> CodeUse {
    store.consume_code(hash, now).await.expect("consume_code")
}

fn used(code: &AuthCode, at: UnixTime) -> AuthCode {
    AuthCode {
        used_at: Some(at),
        ..code.clone()
    }
}

/// The session an exchange of `code` opens, with its first pair.
fn exchange(code: &AuthCode, id: &str) -> NewSession {
    NewSession {
        code: Some(code.hash),
        ..new_session(&session(id, &code.user_id, &code.client_id, T + 100))
    }
}

pub async fn auth_codes_round_trip_and_are_used_once(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let unknown = hash(&format!("{p}-unknown"));
    for _ in 0..2 {
        assert_eq!(
            consume(store, &unknown, T).await,
            CodeUse::Unknown,
            "an unknown code is Unknown, and consuming it does not create it"
        );
    }

    let full = auth_code(&format!("{p}-full"), &client, T + 600);
    let bare = AuthCode {
        redirect_uri_sent: false,
        scope: String::new(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        ..auth_code(&format!("{p}-bare"), &client, T + 600)
    };
    let plain = AuthCode {
        code_challenge: Some("a plain verifier, ~._-".to_string()),
        code_challenge_method: Some("plain".to_string()),
        ..auth_code(&format!("{p}-plain"), &client, T + 600)
    };
    let born_used = AuthCode {
        used_at: Some(T + 5),
        session_id: Some(format!("{p}-born-session")),
        ..auth_code(&format!("{p}-born-used"), &client, T + 600)
    };
    let expired = auth_code(&format!("{p}-expired"), &client, T - 1);
    for c in [&full, &bare, &plain, &born_used, &expired] {
        store.insert_code(c).await.expect("insert_code");
    }
    let impostor = AuthCode {
        client_id: format!("{p}-impostor"),
        ..bare.clone()
    };
    assert!(
        matches!(
            store.insert_code(&impostor).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate code hash is a conflict on the primary key"
    );

    // The first use wins and sees every field as stored (so the refused
    // insert changed nothing); later uses see the first one's time.
    assert_eq!(
        consume(store, &full.hash, T + 100).await,
        CodeUse::Fresh(Box::new(used(&full, T + 100))),
        "the first use is Fresh, with used_at = now and every field round-tripped"
    );
    assert_eq!(
        consume(store, &full.hash, T + 200).await,
        CodeUse::Replayed(Box::new(used(&full, T + 100))),
        "a second use is Replayed and keeps the first use's time"
    );
    assert_eq!(
        consume(store, &bare.hash, T + 101).await,
        CodeUse::Fresh(Box::new(used(&bare, T + 101))),
        "absent optional fields round-trip; using one code leaves the others unused"
    );
    assert_eq!(
        consume(store, &plain.hash, T + 102).await,
        CodeUse::Fresh(Box::new(used(&plain, T + 102)))
    );
    assert_eq!(
        consume(store, &born_used.hash, T + 103).await,
        CodeUse::Replayed(Box::new(born_used.clone())),
        "a code stored used is Replayed"
    );
    assert_eq!(
        consume(store, &expired.hash, T + 104).await,
        CodeUse::Fresh(Box::new(used(&expired, T + 104))),
        "the store does not judge expiry (the caller does); purge_expired removes expired codes"
    );
    assert_eq!(
        consume(store, &plain.hash, T + 400).await,
        CodeUse::Replayed(Box::new(used(&plain, T + 102)))
    );
}

pub async fn open_session_links_the_code_to_the_session(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let code = auth_code(&format!("{p}-code"), &client, T + 600);
    let other = auth_code(&format!("{p}-other"), &client, T + 600);
    for c in [&code, &other] {
        store.insert_code(c).await.expect("insert_code");
        assert!(matches!(
            consume(store, &c.hash, T + 100).await,
            CodeUse::Fresh(_)
        ));
    }

    let new = exchange(&code, &format!("{p}-session"));
    assert!(
        open(store, &new, NO_CAP, T + 100).await.is_empty(),
        "a code used once, and not presented again, opens its session"
    );
    assert_eq!(
        get_session(store, &new.session.id).await.as_ref(),
        Some(&new.session)
    );
    assert_eq!(
        consume(store, &code.hash, T + 200).await,
        CodeUse::Replayed(Box::new(AuthCode {
            session_id: Some(new.session.id.clone()),
            ..used(&code, T + 100)
        })),
        "a replay sees the session the exchange opened (to end it)"
    );
    assert_eq!(
        consume(store, &other.hash, T + 200).await,
        CodeUse::Replayed(Box::new(used(&other, T + 100))),
        "opening a session links only its own code"
    );
}

/// A replay that came between the exchange's use of the code and its
/// session: the exchange must not issue anything (the replay could not
/// revoke what did not exist yet).
pub async fn open_session_after_a_replay_stores_nothing(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let code = auth_code(&format!("{p}-code"), &client, T + 600);
    store.insert_code(&code).await.expect("insert_code");
    assert!(matches!(
        consume(store, &code.hash, T + 100).await,
        CodeUse::Fresh(_)
    ));
    assert_eq!(
        consume(store, &code.hash, T + 101).await,
        CodeUse::Replayed(Box::new(used(&code, T + 100)))
    );

    // An active session the cap would end, had the exchange gone through.
    let earlier = new_session(&session(&format!("{p}-earlier"), &code.user_id, &client, T));
    open(store, &earlier, NO_CAP, T).await;
    let late = exchange(&code, &format!("{p}-late"));
    assert_eq!(
        store
            .open_session(&late, &SessionCap { max_active: 1 }, T + 102)
            .await
            .expect("open_session"),
        SessionOpened::CodeReplayed,
        "an exchange whose code was replayed meanwhile is refused"
    );
    assert_eq!(
        get_session(store, &late.session.id).await,
        None,
        "nothing is stored"
    );
    for t in &late.tokens {
        assert_eq!(get_token(store, &t.hash).await, None);
    }
    assert_eq!(
        get_session(store, &earlier.session.id).await.as_ref(),
        Some(&earlier.session),
        "and no session is ended for it"
    );
    assert_eq!(
        consume(store, &code.hash, T + 103).await,
        CodeUse::Replayed(Box::new(used(&code, T + 100))),
        "the code links no session"
    );
}

pub async fn concurrent_consume_code_has_one_winner(store: &dyn Store) {
    let p = prefix();
    let code = auth_code(&format!("{p}-raced"), &format!("{p}-app"), T + 600);
    store.insert_code(&code).await.expect("insert_code");
    // Each racer uses its own time, so the winner is recognisable.
    let outcomes: Vec<CodeUse> = race(
        (0..CODE_RACERS)
            .map(|i| store.consume_code(&code.hash, T + 100 + i as UnixTime))
            .collect(),
    )
    .await
    .into_iter()
    .map(|o| o.expect("concurrent consume_code"))
    .collect();
    let winners: Vec<usize> = (0..CODE_RACERS)
        .filter(|&i| matches!(outcomes[i], CodeUse::Fresh(_)))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one racer gets the code Fresh: {outcomes:?}"
    );
    let won = used(&code, T + 100 + winners[0] as UnixTime);
    assert_eq!(outcomes[winners[0]], CodeUse::Fresh(Box::new(won.clone())));
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(
                *outcome,
                CodeUse::Replayed(Box::new(won.clone())),
                "every other racer sees it Replayed, used at the winner's time"
            );
        }
    }
    assert_eq!(
        consume(store, &code.hash, T + 1000).await,
        CodeUse::Replayed(Box::new(won))
    );
}

/// What one of two token requests presenting the same code got.
#[derive(Debug)]
enum Presented {
    /// It used the code first and tried to open its session.
    Exchanged(NewSession, SessionOpened),
    /// It found the code used: a replay.
    Replayed(AuthCode),
}

/// One token request presenting a code, as core runs it: consume the code;
/// if it was fresh, open the session with it.
async fn present(store: &dyn Store, code: [u8; 32], new: NewSession) -> Presented {
    match store
        .consume_code(&code, T + 100)
        .await
        .expect("concurrent consume_code")
    {
        CodeUse::Fresh(_) => {
            let opened = store
                .open_session(&new, &NO_CAP, T + 100)
                .await
                .expect("concurrent open_session");
            Presented::Exchanged(new, opened)
        }
        CodeUse::Replayed(record) => Presented::Replayed(*record),
        CodeUse::Unknown => panic!("the code is stored"),
    }
}

/// Two requests with one code at once, as core runs them (consume the
/// code; the first opens a session with it): either the session opened and
/// the replay found it on the code (so core ends it), or the replay came
/// first and the exchange stored nothing. Never a session the replay missed.
pub async fn an_exchange_racing_a_replay_is_caught_either_way(store: &dyn Store) {
    let p = prefix();
    let codes: Vec<AuthCode> = (0..REPLAY_ROUNDS)
        .map(|i| auth_code(&format!("{p}-code-{i}"), &format!("{p}-app"), T + 600))
        .collect();
    for c in &codes {
        store.insert_code(c).await.expect("insert_code");
    }
    let mut racers = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        for request in ["a", "b"] {
            let new = exchange(code, &format!("{p}-{i}-{request}"));
            racers.push(present(store, code.hash, new));
        }
    }
    let outcomes = race(racers).await;

    for pair in outcomes.chunks(2) {
        let (new, opened, replay) = match pair {
            [Presented::Exchanged(n, o), Presented::Replayed(r)]
            | [Presented::Replayed(r), Presented::Exchanged(n, o)] => (n, o, r),
            other => panic!("one request exchanges the code, the other replays it: {other:?}"),
        };
        match opened {
            SessionOpened::Opened { evicted } => {
                assert!(evicted.is_empty());
                assert_eq!(
                    replay.session_id.as_ref(),
                    Some(&new.session.id),
                    "a replay after the session opened finds it on the code"
                );
                assert_eq!(
                    get_session(store, &new.session.id).await.as_ref(),
                    Some(&new.session)
                );
            }
            SessionOpened::DeviceCodeUsed => panic!("no device code was given"),
            SessionOpened::CodeReplayed => {
                assert_eq!(
                    replay.session_id, None,
                    "a replay before the session opened finds none"
                );
                assert_eq!(
                    get_session(store, &new.session.id).await,
                    None,
                    "an exchange the replay beat stores no session"
                );
                for t in &new.tokens {
                    assert_eq!(get_token(store, &t.hash).await, None, "and no token");
                }
            }
        }
    }
}
