//! Checks of stored tokens and revoked JWT ids, alone and many at once.

use crate::fixtures::{get_token, hash, join_all, prefix, revoked, token, T};
use grantd_core::model::{Actor, ExchangeClaims, TokenKind, TokenRecord};
use grantd_core::store::{Store, StoreError, UniqueKey};
use std::future::Future;
use std::pin::Pin;

/// How many writers of each kind run at once.
const RACERS: usize = 50;
/// How many token inserts run at once (more than a backend's batch, if it batches).
const INSERTS: usize = 150;

pub async fn tokens_round_trip_and_revoke_once(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    let full = token(&format!("{p}-full"), &client, T + 3600);
    let bare = TokenRecord {
        hash: hash(&format!("{p}-bare")),
        kind: TokenKind::Access,
        id: format!("{p}-bare"),
        client_id: client.clone(),
        subject: client.clone(),
        account_id: None,
        session_id: None,
        scope: String::new(),
        issued_at: T,
        expires_at: T + 3600,
        revoked_at: None,
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
        exchange: None,
    };
    // An opaque access token made by a token exchange: audience and a nested actor chain.
    let exchanged = TokenRecord {
        kind: TokenKind::Access,
        exchange: Some(ExchangeClaims {
            audience: Some("billing-api".to_string()),
            act: Some(Actor {
                sub: "service-b".to_string(),
                client_id: Some("service-b".to_string()),
                act: Some(Box::new(Actor {
                    sub: "Zoë \"a\"".to_string(),
                    client_id: None,
                    act: None,
                })),
            }),
        }),
        ..token(&format!("{p}-exchanged"), &client, T + 3600)
    };
    let actor_only = TokenRecord {
        kind: TokenKind::Access,
        exchange: Some(ExchangeClaims {
            audience: None,
            act: Some(Actor {
                sub: "service-c".to_string(),
                client_id: None,
                act: None,
            }),
        }),
        ..token(&format!("{p}-actor-only"), &client, T + 3600)
    };
    let rotated = TokenRecord {
        rotated_at: Some(T + 5),
        replay: Some((0..=255u8).chain([0, 0, 255]).collect()),
        pair_access_id: Some(format!("{p}-pair-access")),
        pair_access_expires_at: Some(T + 900),
        ..token(&format!("{p}-rotated"), &client, T + 3600)
    };
    let empty_replay = TokenRecord {
        rotated_at: Some(T + 6),
        replay: Some(vec![]),
        ..token(&format!("{p}-empty-replay"), &client, T + 3600)
    };
    let born_revoked = revoked(
        &token(&format!("{p}-born-revoked"), &client, T + 3600),
        T - 1,
    );
    assert_eq!(get_token(store, &full.hash).await, None);
    for t in [
        &full,
        &bare,
        &exchanged,
        &actor_only,
        &rotated,
        &empty_replay,
        &born_revoked,
    ] {
        store.insert_token(t).await.expect("insert_token");
        assert_eq!(
            get_token(store, &t.hash).await.as_ref(),
            Some(t),
            "every field of a token round-trips (no replay and an empty one differ)"
        );
    }

    let same_hash = TokenRecord {
        id: format!("{p}-other-id"),
        ..full.clone()
    };
    assert!(
        matches!(
            store.insert_token(&same_hash).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate hash is a conflict on the token's key"
    );
    let same_id = TokenRecord {
        hash: hash(&format!("{p}-other-hash")),
        ..full.clone()
    };
    assert!(
        matches!(
            store.insert_token(&same_id).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate id is a conflict on the token's key"
    );
    assert_eq!(get_token(store, &same_id.hash).await, None);
    assert_eq!(get_token(store, &full.hash).await.as_ref(), Some(&full));

    assert!(
        !store
            .revoke_token(&hash(&format!("{p}-unknown")), T)
            .await
            .expect("revoke_token"),
        "revoking an unknown token returns false"
    );
    assert!(
        store
            .revoke_token(&full.hash, T + 10)
            .await
            .expect("revoke_token"),
        "revoking a live token returns true"
    );
    assert_eq!(
        get_token(store, &full.hash).await,
        Some(revoked(&full, T + 10))
    );
    assert!(
        !store
            .revoke_token(&full.hash, T + 20)
            .await
            .expect("revoke_token"),
        "revoking twice returns false"
    );
    assert_eq!(
        get_token(store, &full.hash).await,
        Some(revoked(&full, T + 10)),
        "revoking twice keeps the first time"
    );
    assert!(
        !store
            .revoke_token(&born_revoked.hash, T + 20)
            .await
            .expect("revoke_token"),
        "a token stored revoked is already revoked"
    );
    assert_eq!(
        get_token(store, &bare.hash).await,
        Some(bare),
        "revoking touches only its token"
    );
}

pub async fn revoked_jtis_are_remembered(store: &dyn Store) {
    let p = prefix();
    let jti = format!("{p}-jti");
    let is_revoked =
        |jti: String| async move { store.is_jti_revoked(&jti).await.expect("is_jti_revoked") };
    assert!(!is_revoked(jti.clone()).await);
    store
        .revoke_jti(&jti, T + 3600, T)
        .await
        .expect("revoke_jti");
    assert!(is_revoked(jti.clone()).await);
    store
        .revoke_jti(&jti, T + 1800, T + 5)
        .await
        .expect("revoking a jti twice is not an error");
    assert!(is_revoked(jti).await);
    assert!(
        !is_revoked(format!("{p}-other")).await,
        "revocation is per jti"
    );
}

pub async fn concurrent_writes_and_reads_all_land(store: &dyn Store) {
    let p = prefix();
    let records: Vec<TokenRecord> = (0..RACERS)
        .map(|i| token(&format!("{p}-{i}"), &format!("{p}-client"), T + 3600))
        .collect();
    let jtis: Vec<String> = (0..RACERS).map(|i| format!("{p}-jti-{i}")).collect();
    let setting = format!("{p}-setting");
    store.put_setting(&setting, "v").await.expect("put_setting");

    // Writes of two kinds and reads, interleaved.
    let mut ops: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = Vec::new();
    for (record, jti) in records.iter().zip(&jtis) {
        ops.push(Box::pin(async move {
            store
                .insert_token(record)
                .await
                .expect("concurrent insert_token");
        }));
        let setting = &setting;
        ops.push(Box::pin(async move {
            let value = store
                .get_setting(setting)
                .await
                .expect("concurrent get_setting");
            assert_eq!(value.as_deref(), Some("v"));
        }));
        ops.push(Box::pin(async move {
            store
                .revoke_jti(jti, T + 3600, T)
                .await
                .expect("concurrent revoke_jti");
        }));
    }
    join_all(ops).await;

    for t in &records {
        assert_eq!(get_token(store, &t.hash).await.as_ref(), Some(t));
    }
    for jti in &jtis {
        assert!(store.is_jti_revoked(jti).await.expect("is_jti_revoked"));
    }
}

/// Many inserts at once (a backend may batch them): each is answered for
/// itself, a duplicate among them fails alone, and all the others are stored.
pub async fn concurrent_token_inserts_fail_only_the_duplicate(store: &dyn Store) {
    let p = prefix();
    let mut tokens: Vec<TokenRecord> = (0..INSERTS)
        .map(|i| token(&format!("{p}-many-{i}"), &format!("{p}-app"), T + 3600))
        .collect();
    tokens.push(tokens[7].clone());
    let results = join_all(tokens.iter().map(|t| store.insert_token(t)).collect()).await;
    let failed: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].is_err())
        .collect();
    assert_eq!(failed.len(), 1, "exactly the duplicate fails: {failed:?}");
    assert!(failed[0] == 7 || failed[0] == INSERTS);
    assert!(matches!(
        results[failed[0]],
        Err(StoreError::Conflict(UniqueKey::PrimaryKey))
    ));
    for t in &tokens[..INSERTS] {
        assert_eq!(get_token(store, &t.hash).await.as_ref(), Some(t));
    }
}

pub async fn assertion_jtis_are_used_once_per_app_until_they_expire(store: &dyn Store) {
    let p = prefix();
    let (app, other) = (format!("{p}-app"), format!("{p}-other"));
    let jti = format!("{p}-jti");
    let use_jti = |client: String, exp, now| {
        let jti = jti.clone();
        async move {
            store
                .use_assertion_jti(&client, &jti, exp, now)
                .await
                .expect("use_assertion_jti")
        }
    };
    assert!(
        use_jti(app.clone(), T + 60, T).await,
        "the first use is recorded"
    );
    assert!(
        !use_jti(app.clone(), T + 60, T + 1).await,
        "a second use is a replay"
    );
    assert!(
        !use_jti(app.clone(), T + 600, T + 60).await,
        "still a replay at the moment it expires"
    );
    assert!(
        use_jti(other.clone(), T + 60, T + 1).await,
        "jtis are per app: another app's assertion may carry the same one"
    );
    assert!(
        use_jti(app.clone(), T + 300, T + 61).await,
        "once the first use has expired, the jti may be used again"
    );
    assert!(
        !use_jti(app.clone(), T + 300, T + 62).await,
        "and that use is recorded"
    );
    // Purged once expired: the other app's use (until T + 60) goes, this one stays.
    let purged = store
        .purge_expired(T + 100, 1000)
        .await
        .expect("purge_expired");
    assert!(purged >= 1, "the expired use is purged");
    assert!(
        use_jti(other, T + 160, T + 101).await,
        "a purged use is forgotten"
    );
    assert!(!use_jti(app, T + 300, T + 101).await, "a live use is kept");
}

pub async fn concurrent_identical_assertion_jtis_have_one_winner(store: &dyn Store) {
    let p = prefix();
    let (app, jti) = (format!("{p}-app"), format!("{p}-jti"));
    let racers: Vec<Pin<Box<dyn Future<Output = bool> + Send + '_>>> = (0..RACERS)
        .map(|_| {
            let (app, jti) = (app.clone(), jti.clone());
            Box::pin(async move {
                store
                    .use_assertion_jti(&app, &jti, T + 60, T)
                    .await
                    .expect("use_assertion_jti")
            }) as Pin<Box<dyn Future<Output = bool> + Send + '_>>
        })
        .collect();
    let results = join_all(racers).await;
    let winners = results.iter().filter(|&&won| won).count();
    assert_eq!(winners, 1, "exactly one of {RACERS} identical uses wins");
}
