//! Checks of signing keys: round trips, duplicates, retirement.

use crate::fixtures::{expect_change, prefix, T};
use grantd_core::model::{SigningAlg, StoredKey};
use grantd_core::store::{Change, Store, StoreError, UniqueKey};

/// Needs a store of its own: `retire_keys_except` retires every other key.
pub async fn keys_round_trip_and_retire_all_but_one(store: &dyn Store) {
    let p = prefix();
    let sealed: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let active_before = StoredKey {
        kid: format!("{p}-k1"),
        alg: SigningAlg::ES256,
        public_jwk: r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tOfQb6x4p6bo5SJ4Dmg0pjsgEFk0"}"#.to_string(),
        sealed_private: sealed,
        created_at: T,
        retired_at: None,
    };
    let already_retired = StoredKey {
        kid: format!("{p}-k2"),
        alg: SigningAlg::RS256,
        public_jwk: r#"{"kty":"RSA"}"#.to_string(),
        sealed_private: vec![0, 0, 0, 255],
        created_at: T - 1000,
        retired_at: Some(T - 100),
    };
    let newest = StoredKey {
        kid: format!("{p}-k3"),
        alg: SigningAlg::EdDSA,
        public_jwk: r#"{"kty":"OKP","crv":"Ed25519"}"#.to_string(),
        sealed_private: vec![],
        created_at: T + 1,
        retired_at: None,
    };
    for k in [&active_before, &already_retired, &newest] {
        store.insert_key(k).await.expect("insert_key");
    }
    let listed = || async {
        store
            .list_keys()
            .await
            .expect("list_keys")
            .into_iter()
            .filter(|k| k.kid.starts_with(&p))
            .collect::<Vec<StoredKey>>()
    };
    assert_eq!(
        listed().await,
        vec![
            newest.clone(),
            active_before.clone(),
            already_retired.clone()
        ],
        "every field of a key round-trips, and the newest is listed first"
    );

    let dup = StoredKey {
        sealed_private: vec![1],
        ..newest.clone()
    };
    assert!(
        matches!(
            store.insert_key(&dup).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate kid is a conflict on the primary key"
    );

    store
        .retire_keys_except(&newest.kid, T + 5)
        .await
        .expect("retire_keys_except");
    assert_eq!(
        listed().await,
        vec![
            newest.clone(),
            StoredKey {
                retired_at: Some(T + 5),
                ..active_before
            },
            already_retired,
        ],
        "retiring keeps earlier retirement times and spares the named key"
    );
}

/// A backend that can tell other nodes of changes announces new and
/// retired keys, so every node's key ring follows at once.
pub async fn key_changes_are_announced(store: &dyn Store) {
    let Some(mut changes) = store.changes() else {
        return;
    };
    let p = prefix();
    let key = StoredKey {
        kid: format!("{p}-k"),
        alg: SigningAlg::EdDSA,
        public_jwk: r#"{"kty":"OKP","crv":"Ed25519"}"#.to_string(),
        sealed_private: vec![1, 2, 3],
        created_at: T,
        retired_at: None,
    };
    store.insert_key(&key).await.expect("insert_key");
    expect_change(&mut changes, &Change::Keys, "insert_key").await;
    store
        .retire_keys_except(&format!("{p}-none"), T + 1)
        .await
        .expect("retire_keys_except");
    expect_change(&mut changes, &Change::Keys, "retire_keys_except").await;
    assert!(store.delete_key(&key.kid).await.expect("delete_key"));
    expect_change(&mut changes, &Change::Keys, "delete_key").await;
}

pub async fn a_deleted_key_is_gone_and_deleting_again_says_so(store: &dyn Store) {
    let p = prefix();
    let key = |kid: &str| StoredKey {
        kid: format!("{p}-{kid}"),
        alg: SigningAlg::EdDSA,
        public_jwk: r#"{"kty":"OKP","crv":"Ed25519"}"#.to_string(),
        sealed_private: vec![1, 2, 3],
        created_at: T,
        retired_at: None,
    };
    let (leaked, kept) = (key("leaked"), key("kept"));
    for k in [&leaked, &kept] {
        store.insert_key(k).await.expect("insert_key");
    }
    assert!(store.delete_key(&leaked.kid).await.expect("delete_key"));
    assert!(!store
        .delete_key(&leaked.kid)
        .await
        .expect("delete_key again"));
    let kids: Vec<String> = store
        .list_keys()
        .await
        .expect("list_keys")
        .into_iter()
        .map(|k| k.kid)
        .filter(|kid| kid.starts_with(&p))
        .collect();
    assert_eq!(kids, vec![kept.kid], "only the other key is left");
}
