//! Checks of purging what expired: what goes, what stays, the limit, purges at once.

use crate::fixtures::{
    auth_code, browser_session, device_code, find_device_code, get_session, get_token, open,
    prefix, race, revoked, session, token, NO_CAP, PURGE_BEFORE,
};
use grantd_core::crypto::random_bytes;
use grantd_core::model::{AuthCode, CodeUse, Session};
use grantd_core::store::{CounterDelta, NewSession, Store};

/// A limit no check reaches.
const NO_LIMIT: u32 = 10_000;
/// How many purges run at once.
const PURGERS: usize = 4;

async fn purge(store: &dyn Store, limit: u32) -> u64 {
    store
        .purge_expired(PURGE_BEFORE, limit)
        .await
        .expect("purge_expired")
}

/// Stores a session as it is (ended or not), without tokens.
async fn store_session(store: &dyn Store, session: &Session) {
    let new = NewSession {
        session: session.clone(),
        tokens: vec![],
        code: None,
        device_code: None,
    };
    open(store, &new, NO_CAP, PURGE_BEFORE).await;
}

pub async fn purge_removes_what_expired_before_the_cut_off(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    let expired = token(&format!("{p}-expired"), &client, PURGE_BEFORE - 10);
    let expired_revoked = revoked(
        &token(&format!("{p}-expired-revoked"), &client, PURGE_BEFORE - 1),
        PURGE_BEFORE - 20,
    );
    let at_cutoff = token(&format!("{p}-at-cutoff"), &client, PURGE_BEFORE);
    let live = token(&format!("{p}-live"), &client, PURGE_BEFORE + 100);
    for t in [&expired, &expired_revoked, &at_cutoff, &live] {
        store.insert_token(t).await.expect("insert_token");
    }
    let old_jti = format!("{p}-old-jti");
    let live_jti = format!("{p}-live-jti");
    for (jti, expires_at) in [(&old_jti, PURGE_BEFORE - 5), (&live_jti, PURGE_BEFORE + 5)] {
        store
            .revoke_jti(jti, expires_at, PURGE_BEFORE - 50)
            .await
            .expect("revoke_jti");
    }
    let code_expired = AuthCode {
        created_at: PURGE_BEFORE - 600,
        ..auth_code(&format!("{p}-code-expired"), &client, PURGE_BEFORE - 1)
    };
    let code_expired_used = AuthCode {
        used_at: Some(PURGE_BEFORE - 550),
        session_id: Some(format!("{p}-session")),
        ..auth_code(
            &format!("{p}-code-expired-used"),
            &client,
            PURGE_BEFORE - 500,
        )
    };
    let code_at_cutoff = auth_code(&format!("{p}-code-at-cutoff"), &client, PURGE_BEFORE);
    let code_live = auth_code(&format!("{p}-code-live"), &client, PURGE_BEFORE + 60);
    for c in [
        &code_expired,
        &code_expired_used,
        &code_at_cutoff,
        &code_live,
    ] {
        store.insert_code(c).await.expect("insert_code");
    }
    let browser_expired = browser_session(&format!("{p}-browser-expired"), &p, PURGE_BEFORE - 1);
    let browser_at_cutoff = browser_session(&format!("{p}-browser-at-cutoff"), &p, PURGE_BEFORE);
    let browser_live = browser_session(&format!("{p}-browser-live"), &p, PURGE_BEFORE + 60);
    for b in [&browser_expired, &browser_at_cutoff, &browser_live] {
        store
            .insert_browser_session(b)
            .await
            .expect("insert_browser_session");
    }
    let ended_at = |id: &str, at| Session {
        ended_at: Some(at),
        end_reason: Some("logout".into()),
        ..session(&format!("{p}-{id}"), &p, &client, PURGE_BEFORE - 1000)
    };
    let session_ended_before = ended_at("ended-before", PURGE_BEFORE - 1);
    let session_ended_at_cutoff = ended_at("ended-at-cutoff", PURGE_BEFORE);
    let session_active = session(&format!("{p}-active"), &p, &client, PURGE_BEFORE - 1000);
    for s in [
        &session_ended_before,
        &session_ended_at_cutoff,
        &session_active,
    ] {
        store_session(store, s).await;
    }

    assert_eq!(
        purge(store, NO_LIMIT).await,
        7,
        "two tokens, one jti, two codes, one browser session and one session \
         expired or ended strictly before the cut-off"
    );
    for c in [&code_expired, &code_expired_used] {
        assert_eq!(
            store
                .consume_code(&c.hash, PURGE_BEFORE)
                .await
                .expect("consume_code"),
            CodeUse::Unknown,
            "an expired code is purged, used or not"
        );
    }
    for c in [&code_at_cutoff, &code_live] {
        assert_eq!(
            store
                .consume_code(&c.hash, PURGE_BEFORE)
                .await
                .expect("consume_code"),
            CodeUse::Fresh(Box::new(AuthCode {
                used_at: Some(PURGE_BEFORE),
                ..c.clone()
            })),
            "a code expiring at or after the cut-off stays"
        );
    }
    let get_browser = |hash: [u8; 32]| async move {
        store
            .get_browser_session(&hash)
            .await
            .expect("get_browser_session")
    };
    assert_eq!(
        get_browser(browser_expired.hash).await,
        None,
        "an expired browser session is purged"
    );
    for b in [&browser_at_cutoff, &browser_live] {
        assert_eq!(
            get_browser(b.hash).await.as_ref(),
            Some(b),
            "a browser session expiring at or after the cut-off stays"
        );
    }
    for t in [&expired, &expired_revoked] {
        assert_eq!(get_token(store, &t.hash).await, None);
    }
    for t in [&at_cutoff, &live] {
        assert_eq!(
            get_token(store, &t.hash).await.as_ref(),
            Some(t),
            "a token expiring at or after the cut-off stays"
        );
    }
    assert!(!store
        .is_jti_revoked(&old_jti)
        .await
        .expect("is_jti_revoked"));
    assert!(store
        .is_jti_revoked(&live_jti)
        .await
        .expect("is_jti_revoked"));
    assert_eq!(
        get_session(store, &session_ended_before.id).await,
        None,
        "a session that ended before the cut-off is purged"
    );
    for s in [&session_ended_at_cutoff, &session_active] {
        assert_eq!(
            get_session(store, &s.id).await.as_ref(),
            Some(s),
            "a session ended at the cut-off, or not ended however old, stays"
        );
    }
    assert_eq!(
        purge(store, NO_LIMIT).await,
        0,
        "a second purge finds nothing"
    );
}

pub async fn purge_removes_device_codes_that_expired(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    let expired: Vec<_> = (0..3)
        .map(|i| device_code(&format!("{p}-expired-{i}"), &client, PURGE_BEFORE - 1 - i))
        .collect();
    let at_cutoff = device_code(&format!("{p}-at-cutoff"), &client, PURGE_BEFORE);
    let live = device_code(&format!("{p}-live"), &client, PURGE_BEFORE + 60);
    for c in expired.iter().chain([&at_cutoff, &live]) {
        store
            .insert_device_code(c)
            .await
            .expect("insert_device_code");
    }
    assert_eq!(purge(store, 2).await, 2, "at most the limit");
    assert_eq!(purge(store, 2).await, 1, "then the rest");
    assert_eq!(purge(store, 2).await, 0);
    for c in &expired {
        assert_eq!(
            find_device_code(store, &c.user_code).await,
            None,
            "an expired device code is purged"
        );
    }
    for c in [&at_cutoff, &live] {
        assert_eq!(
            find_device_code(store, &c.user_code).await.as_ref(),
            Some(c),
            "a device code expiring at or after the cut-off stays"
        );
    }
}

pub async fn purge_deletes_at_most_limit_rows_of_each_kind(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    for i in 0..5 {
        store
            .insert_token(&token(&format!("{p}-t{i}"), &client, PURGE_BEFORE - 1))
            .await
            .expect("insert_token");
    }
    for i in 0..3 {
        store
            .insert_code(&auth_code(&format!("{p}-c{i}"), &client, PURGE_BEFORE - 1))
            .await
            .expect("insert_code");
    }
    store
        .revoke_jti(&format!("{p}-jti"), PURGE_BEFORE - 1, PURGE_BEFORE - 100)
        .await
        .expect("revoke_jti");
    let live = token(&format!("{p}-live"), &client, PURGE_BEFORE + 1);
    store.insert_token(&live).await.expect("insert_token");

    assert_eq!(
        purge(store, 2).await,
        2 + 2 + 1,
        "two tokens, two codes, the one jti"
    );
    assert_eq!(purge(store, 2).await, 2 + 1, "two tokens, the last code");
    assert_eq!(purge(store, 2).await, 1, "the last token");
    assert_eq!(purge(store, 2).await, 0);
    assert_eq!(get_token(store, &live.hash).await, Some(live));
}

/// Purges on several nodes at once: each expired row is counted by one of them.
pub async fn concurrent_purges_remove_each_row_once(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    let expired: Vec<_> = (0..20)
        .map(|i| token(&format!("{p}-t{i}"), &client, PURGE_BEFORE - 1))
        .collect();
    for t in &expired {
        store.insert_token(t).await.expect("insert_token");
    }
    for i in 0..5 {
        store
            .insert_code(&auth_code(&format!("{p}-c{i}"), &client, PURGE_BEFORE - 1))
            .await
            .expect("insert_code");
    }
    let purged: u64 = race(
        (0..PURGERS)
            .map(|_| store.purge_expired(PURGE_BEFORE, NO_LIMIT))
            .collect(),
    )
    .await
    .into_iter()
    .map(|r| r.expect("concurrent purge_expired"))
    .sum();
    // A purge that found another running may have left rows; one more gets them.
    let rest = purge(store, NO_LIMIT).await;
    assert_eq!(
        purged + rest,
        25,
        "every expired row is deleted and counted once"
    );
    for t in &expired {
        assert_eq!(get_token(store, &t.hash).await, None);
    }
    assert_eq!(purge(store, NO_LIMIT).await, 0);
}

pub async fn purge_removes_counters_whose_window_ended(store: &dyn Store) {
    let counter = |window_end: i64| CounterDelta {
        key: random_bytes::<16>(),
        window_start: window_end - 60,
        window_end,
        limit: 100,
        count: 5,
    };
    let ended = counter(PURGE_BEFORE - 1);
    let at_cutoff = counter(PURGE_BEFORE);
    store
        .sync_counters(&[ended, at_cutoff], 0, PURGE_BEFORE - 100)
        .await
        .expect("sync_counters");
    assert_eq!(
        purge(store, NO_LIMIT).await,
        1,
        "a counter whose window ended before the cut-off is purged"
    );
    // Adding nothing shows what is stored: a purged counter starts from nothing.
    let now = PURGE_BEFORE - 100;
    let read = store
        .sync_counters(
            &[
                CounterDelta { count: 0, ..ended },
                CounterDelta {
                    count: 0,
                    ..at_cutoff
                },
            ],
            0,
            now,
        )
        .await
        .expect("sync_counters");
    let count_of = |key: [u8; 16]| {
        read.totals
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.count)
            .expect("a counter added to is reported")
    };
    assert_eq!(count_of(ended.key), 0, "purged");
    assert_eq!(
        count_of(at_cutoff.key),
        5,
        "a counter ending at the cut-off stays"
    );
}
