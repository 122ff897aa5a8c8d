//! Checks of the token usage counts: added up per app and day, read from a
//! day on, only for registered apps, gone with the app; concurrent flushes
//! lose nothing.

use crate::fixtures::{bare_app, join_all, prefix, setup_account, T};
use grantd_core::store::Store;
use grantd_core::usage::{day_of, TokenCount};

fn count(client_id: &str, day: i64, count: u64) -> TokenCount {
    TokenCount {
        client_id: client_id.to_string(),
        day,
        count,
    }
}

async fn app(store: &dyn Store, p: &str, name: &str) -> String {
    let client_id = format!("{p}-{name}");
    store
        .insert_app(&bare_app(&client_id, &format!("{p}-acct")))
        .await
        .expect("insert_app");
    client_id
}

pub async fn token_usage_adds_up_per_app_and_day(store: &dyn Store) {
    let p = prefix();
    setup_account(store, &format!("{p}-acct")).await;
    let a = app(store, &p, "a").await;
    let b = app(store, &p, "b").await;
    let today = day_of(T);
    store
        .add_token_usage(&[
            count(&a, today - 20, 7),
            count(&a, today - 1, 2),
            count(&a, today, 3),
            count(&b, today, 5),
            count(&format!("{p}-nobody"), today, 9),
        ])
        .await
        .expect("add_token_usage");
    store
        .add_token_usage(&[count(&a, today, 4)])
        .await
        .expect("add_token_usage");
    store.add_token_usage(&[]).await.expect("nothing to add");

    let got = store
        .token_usage(&a, today - 13)
        .await
        .expect("token_usage");
    assert_eq!(
        got,
        [count(&a, today, 7), count(&a, today - 1, 2)],
        "newest day first, from the day asked, counts added up"
    );
    assert_eq!(
        store
            .token_usage(&a, today - 30)
            .await
            .expect("usage")
            .len(),
        3
    );
    assert_eq!(
        store.token_usage(&b, today).await.expect("usage"),
        [count(&b, today, 5)],
        "each app its own"
    );
    assert!(
        store
            .token_usage(&format!("{p}-nobody"), 0)
            .await
            .expect("usage")
            .is_empty(),
        "no counts for an app that is not registered"
    );

    assert!(store.delete_app(&a, T).await.expect("delete_app"));
    assert!(
        store.token_usage(&a, 0).await.expect("usage").is_empty(),
        "the counts go with their app"
    );
}

pub async fn concurrent_usage_flushes_lose_nothing(store: &dyn Store) {
    let p = prefix();
    setup_account(store, &format!("{p}-acct")).await;
    let a = app(store, &p, "a").await;
    let b = app(store, &p, "b").await;
    let today = day_of(T);
    let flushes = (0..8u64).map(|i| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            // Node after node flushes both apps' counts for the same day.
            store
                .add_token_usage(&[count(&a, today, i + 1), count(&b, today, 1)])
                .await
                .expect("add_token_usage");
        }
    });
    join_all(flushes.collect()).await;
    assert_eq!(
        store.token_usage(&a, today).await.expect("usage"),
        [count(&a, today, 36)]
    );
    assert_eq!(
        store.token_usage(&b, today).await.expect("usage"),
        [count(&b, today, 8)]
    );
}
