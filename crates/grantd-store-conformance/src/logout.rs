//! Checks of logout: a sign-in's sessions ended with its browser session in
//! one unit of work, back-channel deliveries queued for the apps that listen,
//! claimed under a lease (once, even when nodes race), and their outcomes.

use crate::fixtures::{
    bare_app, browser_session, full_app, get_session, get_token, new_session, open, prefix, race,
    session, setup_account, NO_CAP, T,
};
use grantd_core::model::{DeliveryStatus, LogoutDelivery, Session, TokenKind};
use grantd_core::store::{Logout, LogoutOf, Store};
use std::collections::BTreeSet;

/// Opens `id` for `user` with `client_id` under the browser sign-in `sid`.
async fn open_with_sid(
    store: &dyn Store,
    id: &str,
    user: &str,
    client_id: &str,
    sid: Option<&str>,
) -> Session {
    let s = Session {
        sid: sid.map(str::to_string),
        resources: vec!["https://api.example.com/".into()],
        ..session(id, user, client_id, T)
    };
    open(store, &new_session(&s), NO_CAP, T).await;
    s
}

/// A listening app (`full_app` has a backchannel_logout_uri) and a quiet one.
async fn apps(store: &dyn Store, p: &str) -> (String, String) {
    let owner = format!("{p}-acct");
    setup_account(store, &owner).await;
    let (listening, quiet) = (format!("{p}-listening"), format!("{p}-quiet"));
    store
        .insert_app(&full_app(&listening, &owner))
        .await
        .expect("insert_app");
    store
        .insert_app(&bare_app(&quiet, &owner))
        .await
        .expect("insert_app");
    (listening, quiet)
}

fn logout(of: LogoutOf, browser: Option<[u8; 32]>, p: &str) -> Logout {
    Logout {
        of,
        browser_session: browser,
        reason: "logout".into(),
        delivery_prefix: format!("{p}-logout"),
        first_attempt_at: T + 10,
    }
}

pub async fn logout_of_a_sign_in_ends_its_sessions_and_queues_deliveries(store: &dyn Store) {
    let p = prefix();
    let (listening, quiet) = apps(store, &p).await;
    let (user, sid, other_sid) = (format!("{p}-user"), format!("{p}-sid"), format!("{p}-sid2"));
    let a = open_with_sid(store, &format!("{p}-a"), &user, &listening, Some(&sid)).await;
    let b = open_with_sid(store, &format!("{p}-b"), &user, &quiet, Some(&sid)).await;
    let c = open_with_sid(
        store,
        &format!("{p}-c"),
        &user,
        &listening,
        Some(&other_sid),
    )
    .await;
    let browser = browser_session(&format!("{p}-browser"), &user, T + 3600);
    store
        .insert_browser_session(&browser)
        .await
        .expect("insert_browser_session");

    let out = store
        .logout(
            &logout(LogoutOf::Sid(sid.clone()), Some(browser.hash), &p),
            T + 5,
        )
        .await
        .expect("logout");
    let ended: BTreeSet<&str> = out.ended.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ended, BTreeSet::from([a.id.as_str(), b.id.as_str()]));
    assert_eq!(out.ended[0].sid.as_deref(), Some(sid.as_str()));
    assert_eq!(out.ended[0].resources, a.resources, "resources round-trip");
    for s in [&a, &b] {
        let stored = get_session(store, &s.id).await.expect("the session");
        assert_eq!(stored.ended_at, Some(T + 5));
        assert_eq!(stored.end_reason.as_deref(), Some("logout"));
        let refresh = crate::fixtures::first_pair(s)
            .into_iter()
            .find(|t| t.kind == TokenKind::Refresh)
            .expect("a refresh token");
        assert_eq!(
            get_token(store, &refresh.hash)
                .await
                .expect("the token")
                .revoked_at,
            Some(T + 5)
        );
    }
    assert_eq!(get_session(store, &c.id).await.unwrap().ended_at, None);
    assert!(store
        .get_browser_session(&browser.hash)
        .await
        .expect("get_browser_session")
        .is_none());

    // One delivery, for the app that listens, with the sign-in's sid.
    let expected = LogoutDelivery {
        id: format!("{p}-logout.0"),
        client_id: listening.clone(),
        user_id: user.clone(),
        sid: Some(sid.clone()),
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_error: None,
        next_attempt_at: Some(T + 10),
        created_at: T + 5,
        updated_at: T + 5,
    };
    assert_eq!(out.deliveries, vec![expected.clone()]);
    assert_eq!(
        store
            .list_logout_deliveries(&listening, 10)
            .await
            .expect("list_logout_deliveries"),
        vec![expected]
    );
    assert!(store
        .list_logout_deliveries(&quiet, 10)
        .await
        .expect("list_logout_deliveries")
        .is_empty());

    // Again: nothing left to end, nothing queued.
    let again = store
        .logout(&logout(LogoutOf::Sid(sid), None, &format!("{p}-2")), T + 6)
        .await
        .expect("logout");
    assert!(again.ended.is_empty() && again.deliveries.is_empty());
}

pub async fn logout_of_a_user_queues_one_delivery_per_app_and_sign_in(store: &dyn Store) {
    let p = prefix();
    let (listening, _quiet) = apps(store, &p).await;
    let user = format!("{p}-user");
    open_with_sid(store, &format!("{p}-a"), &user, &listening, Some("s1")).await;
    open_with_sid(store, &format!("{p}-b"), &user, &listening, Some("s1")).await;
    open_with_sid(store, &format!("{p}-c"), &user, &listening, Some("s2")).await;
    open_with_sid(store, &format!("{p}-d"), &user, &listening, None).await;
    let out = store
        .logout(&logout(LogoutOf::User(user.clone()), None, &p), T + 5)
        .await
        .expect("logout");
    assert_eq!(out.ended.len(), 4);
    let sids: BTreeSet<Option<&str>> = out.deliveries.iter().map(|d| d.sid.as_deref()).collect();
    assert_eq!(sids, BTreeSet::from([None, Some("s1"), Some("s2")]));
    let ids: BTreeSet<&str> = out.deliveries.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "each delivery its own id");
}

pub async fn claimed_deliveries_are_leased_and_their_outcome_recorded(store: &dyn Store) {
    let p = prefix();
    let (listening, _) = apps(store, &p).await;
    let user = format!("{p}-user");
    open_with_sid(store, &format!("{p}-a"), &user, &listening, Some("s1")).await;
    let out = store
        .logout(
            &logout(LogoutOf::Session(format!("{p}-a")), None, &p),
            T + 5,
        )
        .await
        .expect("logout");
    let id = out.deliveries[0].id.clone();
    let mine = |v: Vec<LogoutDelivery>| -> Vec<LogoutDelivery> {
        v.into_iter().filter(|d| d.id == id).collect()
    };
    // Not due yet.
    assert!(mine(
        store
            .claim_logout_deliveries(T + 9, T + 39, 100)
            .await
            .unwrap()
    )
    .is_empty());
    let claimed = mine(
        store
            .claim_logout_deliveries(T + 10, T + 40, 100)
            .await
            .unwrap(),
    );
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].next_attempt_at, Some(T + 40));
    // Leased: not claimed again until the lease ends.
    assert!(mine(
        store
            .claim_logout_deliveries(T + 20, T + 50, 100)
            .await
            .unwrap()
    )
    .is_empty());
    assert_eq!(
        mine(
            store
                .claim_logout_deliveries(T + 40, T + 70, 100)
                .await
                .unwrap()
        )
        .len(),
        1
    );
    // A failed attempt, retried later; then delivered, never claimed again.
    let failed = LogoutDelivery {
        attempts: 1,
        last_error: Some("answered HTTP 500".into()),
        next_attempt_at: Some(T + 41),
        updated_at: T + 40,
        ..claimed[0].clone()
    };
    store.record_logout_attempt(&failed).await.expect("record");
    let listed = store.list_logout_deliveries(&listening, 10).await.unwrap();
    assert_eq!(listed, vec![failed.clone()]);
    let again = mine(
        store
            .claim_logout_deliveries(T + 41, T + 71, 100)
            .await
            .unwrap(),
    );
    assert_eq!(again.len(), 1);
    let delivered = LogoutDelivery {
        status: DeliveryStatus::Delivered,
        attempts: 2,
        last_error: None,
        next_attempt_at: None,
        updated_at: T + 41,
        ..failed
    };
    store
        .record_logout_attempt(&delivered)
        .await
        .expect("record");
    assert!(mine(
        store
            .claim_logout_deliveries(T + 9999, T + 99999, 100)
            .await
            .unwrap()
    )
    .is_empty());
    assert_eq!(
        store.list_logout_deliveries(&listening, 10).await.unwrap(),
        vec![delivered]
    );
}

/// Nodes claiming at once: every delivery goes to exactly one of them.
pub async fn concurrent_claims_take_each_delivery_once(store: &dyn Store) {
    const DELIVERIES: usize = 12;
    const CLAIMERS: usize = 6;
    let p = prefix();
    let (listening, _) = apps(store, &p).await;
    let mut ours = BTreeSet::new();
    for n in 0..DELIVERIES {
        let user = format!("{p}-user{n}");
        open_with_sid(store, &format!("{p}-s{n}"), &user, &listening, Some("sid")).await;
        let out = store
            .logout(&logout(LogoutOf::User(user), None, &format!("{p}-{n}")), T)
            .await
            .expect("logout");
        ours.insert(out.deliveries[0].id.clone());
    }
    let claims = race(
        (0..CLAIMERS)
            .map(|_| store.claim_logout_deliveries(T + 10, T + 40, 3))
            .collect(),
    )
    .await;
    let mut seen = Vec::new();
    for c in claims {
        seen.extend(
            c.expect("claim_logout_deliveries")
                .into_iter()
                .map(|d| d.id)
                .filter(|id| ours.contains(id)),
        );
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a delivery claimed twice: {seen:?}"
    );
}

pub async fn finished_deliveries_are_purged_a_day_later(store: &dyn Store) {
    let p = prefix();
    let (listening, _) = apps(store, &p).await;
    for n in 0..2 {
        let user = format!("{p}-user{n}");
        open_with_sid(store, &format!("{p}-s{n}"), &user, &listening, None).await;
        store
            .logout(&logout(LogoutOf::User(user), None, &format!("{p}-{n}")), T)
            .await
            .expect("logout");
    }
    let listed = store.list_logout_deliveries(&listening, 10).await.unwrap();
    let done = LogoutDelivery {
        status: DeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: None,
        updated_at: T + 1,
        ..listed[0].clone()
    };
    store.record_logout_attempt(&done).await.expect("record");
    store.purge_expired(T + 86_400, 1000).await.expect("purge");
    assert_eq!(
        store
            .list_logout_deliveries(&listening, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    store.purge_expired(T + 86_402, 1000).await.expect("purge");
    let left = store.list_logout_deliveries(&listening, 10).await.unwrap();
    assert_eq!(left.len(), 1, "the pending one stays: {left:?}");
    assert_eq!(left[0].status, DeliveryStatus::Pending);
}
