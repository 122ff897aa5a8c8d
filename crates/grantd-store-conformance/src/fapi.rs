//! Checks of pushed authorization requests (single use, races) and DPoP key bindings.

use crate::fixtures::{hash, join_all, prefix, T};
use grantd_core::model::{PushedRequest, PushedUse};
use grantd_core::store::Store;
use std::future::Future;
use std::pin::Pin;

const RACERS: usize = 50;

fn pushed(p: &str) -> PushedRequest {
    PushedRequest {
        hash: hash(&format!("{p}-request-uri")),
        client_id: format!("{p}-client"),
        params: r#"[["response_type","code"],["scope","openid"]]"#.into(),
        created_at: T,
        expires_at: T + 60,
        used_at: None,
    }
}

pub async fn pushed_requests_are_used_once_and_purged_when_expired(store: &dyn Store) {
    let p = prefix();
    let request = pushed(&p);
    store
        .insert_pushed_request(&request)
        .await
        .expect("insert_pushed_request");
    match store
        .use_pushed_request(&request.hash, T + 5)
        .await
        .expect("use_pushed_request")
    {
        PushedUse::Fresh(found) => assert_eq!(
            found,
            PushedRequest {
                used_at: Some(T + 5),
                ..request.clone()
            },
            "the first use answers the request as stored, now used"
        ),
        other => panic!("the first use must be fresh, got {other:?}"),
    }
    match store
        .use_pushed_request(&request.hash, T + 6)
        .await
        .expect("use_pushed_request")
    {
        PushedUse::Used(found) => assert_eq!(found.used_at, Some(T + 5), "the first use's time"),
        other => panic!("a second use must say used, got {other:?}"),
    }
    assert_eq!(
        store
            .use_pushed_request(&hash(&format!("{p}-never-pushed")), T)
            .await
            .expect("use_pushed_request"),
        PushedUse::Unknown
    );
    store.purge_expired(T + 61, 1000).await.expect("purge");
    assert_eq!(
        store
            .use_pushed_request(&request.hash, T + 62)
            .await
            .expect("use_pushed_request"),
        PushedUse::Unknown,
        "purged once expired"
    );
}

pub async fn concurrent_uses_of_a_pushed_request_have_one_winner(store: &dyn Store) {
    let p = prefix();
    let request = pushed(&p);
    store
        .insert_pushed_request(&request)
        .await
        .expect("insert_pushed_request");
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let h = request.hash;
            Box::pin(async move {
                matches!(
                    store
                        .use_pushed_request(&h, T + 1)
                        .await
                        .expect("use_pushed_request"),
                    PushedUse::Fresh(_)
                )
            }) as Pin<Box<dyn Future<Output = bool> + Send + '_>>
        })
        .collect();
    let winners = join_all(racers).await.iter().filter(|&&won| won).count();
    assert_eq!(winners, 1, "exactly one of {RACERS} uses gets the request");
}

pub async fn dpop_bindings_round_trip_replace_and_expire(store: &dyn Store) {
    let p = prefix();
    let id = format!("token:{p}");
    assert_eq!(store.get_dpop_binding(&id).await.expect("get"), None);
    store
        .put_dpop_binding(&id, "jkt-one", T + 60)
        .await
        .expect("put_dpop_binding");
    assert_eq!(
        store.get_dpop_binding(&id).await.expect("get").as_deref(),
        Some("jkt-one")
    );
    store
        .put_dpop_binding(&id, "jkt-two", T + 120)
        .await
        .expect("put_dpop_binding again");
    assert_eq!(
        store.get_dpop_binding(&id).await.expect("get").as_deref(),
        Some("jkt-two"),
        "a second binding replaces the first"
    );
    store.purge_expired(T + 121, 1000).await.expect("purge");
    assert_eq!(
        store.get_dpop_binding(&id).await.expect("get"),
        None,
        "purged once expired"
    );
}
