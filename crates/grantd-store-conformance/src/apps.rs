//! Checks of apps: round trips, the compare-and-set update, the secret, deletion, and their races.

use crate::fixtures::{
    auth_code, bare_app, exchange_policy, expect_change, full_app, get_app, get_session, get_token,
    hash, new_session, open, prefix, race, session, setup_account, token, NO_CAP, T,
};
use grantd_core::model::{
    AccessTokenFormat, App, CodeUse, Consent, Distribution, ExchangePolicy, JwkSet, TokenRecord,
};
use grantd_core::store::{Cas, Change, Store, StoreError, UniqueKey};
use grantd_protocol::{Grant, PlatformType};

/// How many updates race with one revision in hand.
const UPDATE_RACERS: usize = 10;
/// How many apps see an update race a secret rotation.
const SECRET_RACES: usize = 10;
/// How often core reads an app again after a stale update before giving up.
const UPDATE_ATTEMPTS: usize = 20;

/// What `app` reads back as after a successful update to it from `stored`:
/// the settings of `app`, the secret and creation time of `stored`, the next revision.
fn updated(app: &App, stored: &App) -> App {
    App {
        secret_hash: stored.secret_hash,
        created_at: stored.created_at,
        revision: stored.revision + 1,
        ..app.clone()
    }
}

pub async fn apps_round_trip_every_field(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;

    let full = full_app(&format!("{p}-full"), &owner);
    let bare = bare_app(&format!("{p}-bare"), &owner);
    assert_eq!(get_app(store, &full.client_id).await, None);
    store.insert_app(&full).await.expect("insert_app");
    store.insert_app(&bare).await.expect("insert_app");
    assert_eq!(
        get_app(store, &full.client_id).await,
        Some(full.clone()),
        "every field of an app round-trips"
    );
    assert_eq!(
        get_app(store, &bare.client_id).await,
        Some(bare.clone()),
        "empty lists and a missing secret round-trip"
    );

    // Every platform type, grant, distribution and format round-trips.
    for (i, platform_type) in PlatformType::ALL.into_iter().enumerate() {
        let mut app = bare_app(&format!("{p}-platform-{i}"), &owner);
        app.platform_type = platform_type;
        app.grants = platform_type.allowed_grants().to_vec();
        app.grants.sort();
        app.distribution = if i % 2 == 0 {
            Distribution::Private
        } else {
            Distribution::Public
        };
        app.access_token_format = if i % 2 == 0 {
            AccessTokenFormat::Jwt
        } else {
            AccessTokenFormat::Opaque
        };
        store.insert_app(&app).await.expect("insert_app");
        assert_eq!(get_app(store, &app.client_id).await, Some(app.clone()));
    }
    let mut all_grants = bare_app(&format!("{p}-all-grants"), &owner);
    all_grants.grants = Grant::ALL.to_vec();
    store.insert_app(&all_grants).await.expect("insert_app");
    assert_eq!(
        get_app(store, &all_grants.client_id).await,
        Some(all_grants)
    );

    let mut dup = bare_app(&full.client_id, &owner);
    dup.name = "impostor".into();
    assert!(
        matches!(
            store.insert_app(&dup).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate client_id is a conflict on the primary key"
    );
    assert_eq!(
        get_app(store, &full.client_id).await,
        Some(full.clone()),
        "a refused insert changes nothing"
    );

    let listed: Vec<App> = store
        .list_apps()
        .await
        .expect("list_apps")
        .into_iter()
        .filter(|a| a.client_id.starts_with(&p))
        .collect();
    assert_eq!(listed.len(), 2 + PlatformType::ALL.len() + 1);
    assert!(listed.contains(&full) && listed.contains(&bare));
}

pub async fn insert_app_stores_revision_one(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = App {
        revision: 7,
        ..full_app(&format!("{p}-app"), &owner)
    };
    store.insert_app(&app).await.expect("insert_app");
    assert_eq!(
        get_app(store, &app.client_id).await.map(|a| a.revision),
        Some(1),
        "a new app is at revision 1 whatever the record says"
    );
}

pub async fn update_app_is_a_compare_and_set_on_the_revision(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    let other_owner = format!("{p}-other-owner");
    setup_account(store, &owner).await;
    setup_account(store, &other_owner).await;
    let full = full_app(&format!("{p}-full"), &owner);
    let bystander = bare_app(&format!("{p}-bystander"), &owner);
    store.insert_app(&full).await.expect("insert_app");
    store.insert_app(&bystander).await.expect("insert_app");

    // Every setting changes, the account included.
    let changed = App {
        name: "renamed".into(),
        updated_at: T + 60,
        ..bare_app(&full.client_id, &other_owner)
    };
    assert_eq!(
        store.update_app(&changed).await.expect("update_app"),
        Cas::Done,
        "an update at the stored revision is done"
    );
    let after_first = updated(&changed, &full);
    assert_eq!(after_first.revision, 2);
    assert_eq!(
        get_app(store, &full.client_id).await,
        Some(after_first.clone()),
        "an update writes every setting and moves the revision on by one"
    );

    let stale = App {
        name: "from an old read".into(),
        ..full.clone()
    };
    assert_eq!(
        store.update_app(&stale).await.expect("update_app"),
        Cas::Stale,
        "an update at a revision that moved on is stale"
    );
    let ahead = App {
        revision: 99,
        ..stale.clone()
    };
    assert_eq!(
        store.update_app(&ahead).await.expect("update_app"),
        Cas::Stale,
        "an update at a revision never stored is stale"
    );
    assert_eq!(
        get_app(store, &full.client_id).await,
        Some(after_first.clone()),
        "a stale update writes nothing"
    );

    let back = App {
        updated_at: T + 70,
        revision: 2,
        ..full_app(&full.client_id, &owner)
    };
    assert_eq!(
        store.update_app(&back).await.expect("update_app"),
        Cas::Done
    );
    assert_eq!(
        get_app(store, &full.client_id).await,
        Some(updated(&back, &after_first)),
        "the next revision updates in turn"
    );

    let ghost = full_app(&format!("{p}-ghost"), &owner);
    assert_eq!(
        store.update_app(&ghost).await.expect("update_app"),
        Cas::Missing,
        "updating an unknown app is Missing"
    );
    assert_eq!(
        get_app(store, &ghost.client_id).await,
        None,
        "update does not insert"
    );
    assert_eq!(
        get_app(store, &bystander.client_id).await,
        Some(bystander),
        "an update touches only its app"
    );
}

/// The secret changes only through `set_app_secret`, and `created_at` never.
pub async fn update_app_never_writes_the_secret_or_created_at(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let confidential = full_app(&format!("{p}-confidential"), &owner);
    let public = bare_app(&format!("{p}-public"), &owner);
    store.insert_app(&confidential).await.expect("insert_app");
    store.insert_app(&public).await.expect("insert_app");

    for (stored, secret_hash) in [
        (&confidential, None),
        (&public, Some(hash("a secret for a public app"))),
    ] {
        let attempt = App {
            secret_hash,
            created_at: T + 1000,
            ..(*stored).clone()
        };
        assert_eq!(
            store.update_app(&attempt).await.expect("update_app"),
            Cas::Done
        );
        let read = get_app(store, &stored.client_id).await.expect("the app");
        assert_eq!(
            (read.secret_hash, read.created_at, read.revision),
            (stored.secret_hash, stored.created_at, 2),
            "update_app keeps the stored secret hash and created_at"
        );
    }
    let other_secret = App {
        secret_hash: Some(hash("another secret")),
        revision: 2,
        ..confidential.clone()
    };
    assert_eq!(
        store.update_app(&other_secret).await.expect("update_app"),
        Cas::Done
    );
    assert_eq!(
        get_app(store, &confidential.client_id)
            .await
            .and_then(|a| a.secret_hash),
        confidential.secret_hash,
        "an update carrying another secret keeps the stored one"
    );
}

/// `allow_plain_pkce` round-trips through insert, list and update, on its own.
pub async fn update_app_sets_allow_plain_pkce_both_ways(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let plain = App {
        allow_plain_pkce: true,
        ..bare_app(&format!("{p}-plain"), &owner)
    };
    let s256_only = App {
        allow_plain_pkce: false,
        ..full_app(&format!("{p}-s256"), &owner)
    };
    for app in [&plain, &s256_only] {
        store.insert_app(app).await.expect("insert_app");
        assert_eq!(
            get_app(store, &app.client_id).await,
            Some(app.clone()),
            "allow_plain_pkce = {} round-trips",
            app.allow_plain_pkce
        );
    }
    let ours = |apps: Vec<App>| {
        let mut v: Vec<(String, bool)> = apps
            .into_iter()
            .filter(|a| a.client_id.starts_with(&p))
            .map(|a| (a.client_id, a.allow_plain_pkce))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ours(store.list_apps().await.expect("list_apps")),
        vec![
            (plain.client_id.clone(), true),
            (s256_only.client_id.clone(), false)
        ],
        "list_apps reads allow_plain_pkce"
    );

    // An update that changes only the flag changes it, both ways.
    for (app, flag) in [(&plain, false), (&s256_only, true)] {
        let flipped = App {
            allow_plain_pkce: flag,
            ..app.clone()
        };
        assert_eq!(
            store.update_app(&flipped).await.expect("update_app"),
            Cas::Done
        );
        assert_eq!(
            get_app(store, &app.client_id).await,
            Some(updated(&flipped, app)),
            "update_app sets allow_plain_pkce to {flag}"
        );
    }
    assert_eq!(
        ours(store.list_apps().await.expect("list_apps")),
        vec![
            (plain.client_id.clone(), false),
            (s256_only.client_id.clone(), true)
        ]
    );
}

pub async fn update_app_sets_and_clears_the_token_exchange_policy(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = bare_app(&format!("{p}-exchanger"), &owner);
    store.insert_app(&app).await.expect("insert_app");
    assert_eq!(get_app(store, &app.client_id).await, Some(app.clone()));
    let mut stored = app;
    for policy in [
        Some(exchange_policy()),
        Some(ExchangePolicy::default()),
        Some(ExchangePolicy {
            max_scope: None,
            ..exchange_policy()
        }),
        None,
    ] {
        let changed = App {
            token_exchange: policy.clone(),
            ..stored.clone()
        };
        assert_eq!(
            store.update_app(&changed).await.expect("update_app"),
            Cas::Done
        );
        let expected = updated(&changed, &stored);
        assert_eq!(
            get_app(store, &expected.client_id).await,
            Some(expected.clone()),
            "update_app sets the token exchange policy to {policy:?}"
        );
        let listed = store.list_apps().await.expect("list_apps");
        assert_eq!(
            listed
                .iter()
                .find(|a| a.client_id == expected.client_id)
                .map(|a| a.token_exchange.clone()),
            Some(policy),
            "list_apps reads the token exchange policy"
        );
        stored = expected;
    }
}

pub async fn update_app_switches_between_jwks_and_jwks_uri(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = App {
        jwks_uri: Some("http://127.0.0.1:8080/jwks".into()),
        ..bare_app(&format!("{p}-keys"), &owner)
    };
    store.insert_app(&app).await.expect("insert_app");
    assert_eq!(get_app(store, &app.client_id).await, Some(app.clone()));
    let mut stored = app;
    for (jwks, jwks_uri) in [
        (Some(JwkSet { keys: Vec::new() }), None),
        (None, Some("https://keys.example.com/.well-known/jwks.json")),
        (None, None),
    ] {
        let changed = App {
            jwks: jwks.clone(),
            jwks_uri: jwks_uri.map(str::to_string),
            ..stored.clone()
        };
        assert_eq!(
            store.update_app(&changed).await.expect("update_app"),
            Cas::Done
        );
        let expected = updated(&changed, &stored);
        assert_eq!(
            get_app(store, &expected.client_id).await,
            Some(expected.clone()),
            "update_app sets jwks {jwks:?} and jwks_uri {jwks_uri:?}"
        );
        let listed = store.list_apps().await.expect("list_apps");
        assert_eq!(
            listed
                .iter()
                .find(|a| a.client_id == expected.client_id)
                .map(|a| a.jwks_uri.clone()),
            Some(jwks_uri.map(str::to_string)),
            "list_apps reads jwks_uri"
        );
        stored = expected;
    }
}

pub async fn set_app_secret_replaces_the_hash_and_moves_the_revision(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let confidential = full_app(&format!("{p}-confidential"), &owner);
    let public = bare_app(&format!("{p}-public"), &owner);
    store.insert_app(&confidential).await.expect("insert_app");
    store.insert_app(&public).await.expect("insert_app");

    let rotated = hash("rotated");
    assert!(
        store
            .set_app_secret(&confidential.client_id, &rotated, T + 100)
            .await
            .expect("set_app_secret"),
        "setting the secret of an app returns true"
    );
    let after = App {
        secret_hash: Some(rotated),
        updated_at: T + 100,
        revision: 2,
        ..confidential.clone()
    };
    assert_eq!(
        get_app(store, &confidential.client_id).await,
        Some(after.clone()),
        "the secret hash and updated_at change, the revision moves on, the rest stays"
    );
    assert_eq!(
        store.update_app(&confidential).await.expect("update_app"),
        Cas::Stale,
        "an update read before the secret changed is stale"
    );
    assert_eq!(get_app(store, &confidential.client_id).await, Some(after));

    assert!(store
        .set_app_secret(&public.client_id, &hash("first"), T + 5)
        .await
        .expect("set_app_secret"));
    assert_eq!(
        get_app(store, &public.client_id).await,
        Some(App {
            secret_hash: Some(hash("first")),
            updated_at: T + 5,
            revision: 2,
            ..public
        }),
        "an app without a secret gets one"
    );

    let ghost = format!("{p}-ghost");
    assert!(
        !store
            .set_app_secret(&ghost, &hash("x"), T)
            .await
            .expect("set_app_secret"),
        "setting the secret of an unknown app returns false"
    );
    assert_eq!(get_app(store, &ghost).await, None);
}

pub async fn delete_app_removes_what_was_issued_and_ends_sessions_at_now(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let doomed = full_app(&format!("{p}-doomed"), &owner);
    let kept = full_app(&format!("{p}-kept"), &owner);
    store.insert_app(&doomed).await.expect("insert_app");
    store.insert_app(&kept).await.expect("insert_app");

    let doomed_tokens: Vec<TokenRecord> = (0..3)
        .map(|i| token(&format!("{p}-doomed-{i}"), &doomed.client_id, T + 3600))
        .collect();
    let kept_token = token(&format!("{p}-kept-0"), &kept.client_id, T + 3600);
    for t in doomed_tokens.iter().chain([&kept_token]) {
        store.insert_token(t).await.expect("insert_token");
    }
    let user = format!("{p}-user");
    let consent = |client_id: &str| Consent {
        user_id: user.clone(),
        client_id: client_id.to_string(),
        scope: "a".into(),
        granted_at: T,
    };
    for c in [consent(&doomed.client_id), consent(&kept.client_id)] {
        store.put_consent(&c).await.expect("put_consent");
    }
    let doomed_code = auth_code(&format!("{p}-doomed-code"), &doomed.client_id, T + 600);
    let kept_code = auth_code(&format!("{p}-kept-code"), &kept.client_id, T + 600);
    for c in [&doomed_code, &kept_code] {
        store.insert_code(c).await.expect("insert_code");
    }
    let doomed_session = new_session(&session(
        &format!("{p}-doomed-session"),
        &user,
        &doomed.client_id,
        T,
    ));
    let kept_session = new_session(&session(
        &format!("{p}-kept-session"),
        &user,
        &kept.client_id,
        T,
    ));
    for s in [&doomed_session, &kept_session] {
        open(store, s, NO_CAP, T).await;
    }

    // Far from the wall clock, so a backend that used the database's own clock shows.
    let now = T + 500;
    assert!(store
        .delete_app(&doomed.client_id, now)
        .await
        .expect("delete_app"));
    assert_eq!(get_app(store, &doomed.client_id).await, None);
    for t in doomed_tokens.iter().chain(&doomed_session.tokens) {
        assert_eq!(
            get_token(store, &t.hash).await,
            None,
            "deleting an app deletes its tokens, those of its sessions too"
        );
    }
    assert_eq!(
        store
            .get_consent(&user, &doomed.client_id)
            .await
            .expect("get_consent"),
        None,
        "deleting an app deletes its consents"
    );
    assert_eq!(
        store
            .consume_code(&doomed_code.hash, now)
            .await
            .expect("consume_code"),
        CodeUse::Unknown,
        "deleting an app deletes its codes"
    );
    assert_eq!(
        get_session(store, &doomed_session.session.id)
            .await
            .map(|s| (s.ended_at, s.end_reason)),
        Some((Some(now), Some("app deleted".to_string()))),
        "deleting an app ends its sessions at the time given"
    );

    // The other app keeps everything.
    assert_eq!(get_app(store, &kept.client_id).await, Some(kept.clone()));
    for t in [&kept_token].into_iter().chain(&kept_session.tokens) {
        assert_eq!(get_token(store, &t.hash).await.as_ref(), Some(t));
    }
    assert_eq!(
        store
            .get_consent(&user, &kept.client_id)
            .await
            .expect("get_consent"),
        Some(consent(&kept.client_id))
    );
    assert!(matches!(
        store
            .consume_code(&kept_code.hash, now)
            .await
            .expect("consume_code"),
        CodeUse::Fresh(_)
    ));
    assert_eq!(
        get_session(store, &kept_session.session.id).await,
        Some(kept_session.session.clone())
    );

    assert!(
        !store
            .delete_app(&doomed.client_id, now)
            .await
            .expect("delete_app"),
        "deleting twice returns false"
    );
    assert!(
        !store
            .delete_app(&format!("{p}-ghost"), now)
            .await
            .expect("delete_app"),
        "deleting an unknown app returns false"
    );
    // The ids of deleted records are free again.
    store
        .insert_token(&doomed_tokens[0])
        .await
        .expect("insert_token after delete");
    store
        .insert_app(&doomed)
        .await
        .expect("insert_app after delete");
}

pub async fn concurrent_update_app_with_one_revision_lets_one_through(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = full_app(&format!("{p}-app"), &owner);
    store.insert_app(&app).await.expect("insert_app");
    let candidates: Vec<App> = (0..UPDATE_RACERS)
        .map(|i| App {
            name: format!("racer {i}"),
            ..app.clone()
        })
        .collect();
    let outcomes: Vec<Cas> = race(candidates.iter().map(|a| store.update_app(a)).collect())
        .await
        .into_iter()
        .map(|o| o.expect("concurrent update_app"))
        .collect();
    let winners: Vec<usize> = (0..UPDATE_RACERS)
        .filter(|&i| outcomes[i] == Cas::Done)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one update at one revision is done: {outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| *o != Cas::Missing),
        "the others are stale: {outcomes:?}"
    );
    assert_eq!(
        get_app(store, &app.client_id).await,
        Some(updated(&candidates[winners[0]], &app)),
        "the winner's settings are stored, at the next revision"
    );
}

/// An update racing a secret rotation, as core runs them (an update that
/// finds itself stale reads the app again and reapplies its change): the
/// final app has both the new secret and the new settings.
pub async fn concurrent_update_app_and_set_app_secret_lose_nothing(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let apps: Vec<App> = (0..SECRET_RACES)
        .map(|i| full_app(&format!("{p}-app-{i}"), &owner))
        .collect();
    for app in &apps {
        store.insert_app(app).await.expect("insert_app");
    }
    let secret = |app: &App| hash(&format!("{}-new-secret", app.client_id));
    let update = |client_id: String| async move {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = get_app(store, &client_id).await.expect("the app");
            tokio::task::yield_now().await;
            let changed = App {
                name: "updated".into(),
                access_token_ttl: 900,
                updated_at: T + 50,
                ..current
            };
            match store.update_app(&changed).await.expect("update_app") {
                Cas::Done => return,
                Cas::Stale => continue,
                Cas::Missing => panic!("the app is stored"),
            }
        }
        panic!("the update stayed stale through {UPDATE_ATTEMPTS} attempts");
    };
    let rotate = |client_id: String, secret_hash: [u8; 32]| async move {
        assert!(store
            .set_app_secret(&client_id, &secret_hash, T + 40)
            .await
            .expect("set_app_secret"));
    };
    let mut racers: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>> =
        Vec::new();
    for app in &apps {
        racers.push(Box::pin(update(app.client_id.clone())));
        racers.push(Box::pin(rotate(app.client_id.clone(), secret(app))));
    }
    race(racers).await;

    for app in &apps {
        let stored = get_app(store, &app.client_id).await.expect("the app");
        assert_eq!(
            (
                stored.secret_hash,
                stored.name.as_str(),
                stored.access_token_ttl
            ),
            (Some(secret(app)), "updated", 900),
            "neither the new secret nor the update is lost"
        );
        assert_eq!(stored.revision, 3, "each change moved the revision once");
    }
}

/// A backend that can tell other nodes of changes (`changes()` is `Some`)
/// announces every change to an app, so their caches drop it at once.
pub async fn app_changes_are_announced(store: &dyn Store) {
    let Some(mut changes) = store.changes() else {
        return;
    };
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = full_app(&format!("{p}-app"), &owner);
    let changed = Change::App(app.client_id.clone());
    // Notifications arrive in commit order: once the one of a new key is
    // in, every earlier one is, so the next App notification is the next
    // operation's (and not, say, one the insert may have sent).
    let mut barriers = 0;
    let mut barrier = async |changes: &mut tokio::sync::broadcast::Receiver<Change>| {
        barriers += 1;
        let key = grantd_core::model::StoredKey {
            kid: format!("{p}-barrier-{barriers}"),
            alg: grantd_core::model::SigningAlg::EdDSA,
            public_jwk: "{}".into(),
            sealed_private: vec![],
            created_at: T,
            retired_at: Some(T),
        };
        store.insert_key(&key).await.expect("insert_key");
        expect_change(changes, &Change::Keys, "insert_key").await;
    };
    store.insert_app(&app).await.expect("insert_app");
    barrier(&mut changes).await;
    let renamed = App {
        name: "renamed".into(),
        ..app.clone()
    };
    assert_eq!(
        store.update_app(&renamed).await.expect("update_app"),
        Cas::Done
    );
    expect_change(&mut changes, &changed, "update_app").await;
    barrier(&mut changes).await;
    assert!(store
        .set_app_secret(&app.client_id, &hash("rotated"), T + 1)
        .await
        .expect("set_app_secret"));
    expect_change(&mut changes, &changed, "set_app_secret").await;
    barrier(&mut changes).await;
    assert!(store
        .delete_app(&app.client_id, T + 2)
        .await
        .expect("delete_app"));
    expect_change(&mut changes, &changed, "delete_app").await;
}
