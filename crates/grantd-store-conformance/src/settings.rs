//! Checks of the server's settings and of accounts.

use crate::fixtures::{account, prefix, race, T};
use grantd_core::model::Account;
use grantd_core::store::{Store, StoreError, UniqueKey};

/// How many tasks race to set one setting.
const RACERS: usize = 50;

pub async fn ping(store: &dyn Store) {
    store.ping().await.expect("ping");
}

pub async fn put_setting_if_absent_keeps_the_first_value(store: &dyn Store) {
    let p = prefix();
    let key = format!("{p}-setting");
    let get = |key: String| async move { store.get_setting(&key).await.expect("get_setting") };
    assert_eq!(get(key.clone()).await, None);

    let first = store
        .put_setting_if_absent(&key, "first ✓")
        .await
        .expect("put_setting_if_absent");
    assert_eq!(first, "first ✓", "an absent setting takes the value");
    let again = store
        .put_setting_if_absent(&key, "second")
        .await
        .expect("put_setting_if_absent");
    assert_eq!(again, "first ✓", "a present setting keeps its value");
    assert_eq!(get(key.clone()).await.as_deref(), Some("first ✓"));

    store.put_setting(&key, "third").await.expect("put_setting");
    assert_eq!(
        get(key.clone()).await.as_deref(),
        Some("third"),
        "put_setting overwrites"
    );
    assert_eq!(
        store
            .put_setting_if_absent(&key, "fourth")
            .await
            .expect("put_setting_if_absent"),
        "third"
    );

    let other = format!("{p}-other");
    store.put_setting(&other, "").await.expect("put_setting");
    assert_eq!(
        get(other).await.as_deref(),
        Some(""),
        "an empty value is a value"
    );
    assert_eq!(
        get(key).await.as_deref(),
        Some("third"),
        "settings are independent"
    );
}

pub async fn concurrent_put_setting_if_absent_agree_on_one_value(store: &dyn Store) {
    let key = format!("{}-raced", prefix());
    let candidates: Vec<String> = (0..RACERS).map(|i| format!("value-{i}")).collect();
    let results: Vec<String> = race(
        candidates
            .iter()
            .map(|v| store.put_setting_if_absent(&key, v))
            .collect(),
    )
    .await
    .into_iter()
    .map(|r| r.expect("concurrent put_setting_if_absent"))
    .collect();
    let winner = results[0].clone();
    assert!(
        results.iter().all(|r| *r == winner),
        "every racer sees the same value: {results:?}"
    );
    assert!(
        candidates.contains(&winner),
        "the winner is one of the racers"
    );
    assert_eq!(
        store.get_setting(&key).await.expect("get_setting"),
        Some(winner)
    );
}

pub async fn accounts_round_trip_and_refuse_a_duplicate_id(store: &dyn Store) {
    let p = prefix();
    let a = account(&format!("{p}-a"), "Acme, \"Inc.\" — ünïcode", T);
    let b = account(&format!("{p}-b"), "", T + 10);
    assert_eq!(store.get_account(&a.id).await.expect("get_account"), None);
    store.insert_account(&a).await.expect("insert_account");
    store.insert_account(&b).await.expect("insert_account");
    assert_eq!(
        store.get_account(&a.id).await.expect("get_account"),
        Some(a.clone())
    );
    assert_eq!(
        store.get_account(&b.id).await.expect("get_account"),
        Some(b.clone())
    );

    let dup = account(&a.id, "Someone else", T + 99);
    assert!(
        matches!(
            store.insert_account(&dup).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate account id is a conflict on the primary key"
    );
    assert_eq!(
        store.get_account(&a.id).await.expect("get_account"),
        Some(a.clone()),
        "a refused insert changes nothing"
    );

    let mut listed: Vec<Account> = store
        .list_accounts()
        .await
        .expect("list_accounts")
        .into_iter()
        .filter(|x| x.id.starts_with(&p))
        .collect();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(listed, vec![a, b]);
}
