//! Checks of dynamic client registration: initial access tokens (used by
//! compare-and-set, never beyond their limits), registrations stored with
//! their app in one unit of work, updated by revision, deleted with the app.

use crate::fixtures::{full_app, get_app, hash, join_all, prefix, setup_account, T};
use grantd_core::model::{App, Registration, RegistrationToken};
use grantd_core::store::{Cas, Store};
use std::future::Future;
use std::pin::Pin;

const RACERS: usize = 20;

fn initial_token(p: &str, max_uses: Option<i64>, expires_at: Option<i64>) -> RegistrationToken {
    RegistrationToken {
        id: format!("{p}-token"),
        label: format!("{p} partners"),
        hash: hash(&format!("{p}-initial")),
        created_at: T,
        expires_at,
        max_uses,
        uses: 0,
        revoked_at: None,
    }
}

fn registration(app: &App, token: Option<&RegistrationToken>) -> Registration {
    Registration {
        client_id: app.client_id.clone(),
        token_hash: hash(&format!("{}-access", app.client_id)),
        metadata: r#"{"token_endpoint_auth_method":"none","contacts":["ops@example.com"]}"#.into(),
        initial_token_id: token.map(|t| t.id.clone()),
        initial_token_label: token.map(|t| t.label.clone()),
        created_at: T + 1,
        updated_at: T + 1,
    }
}

async fn token_by_id(store: &dyn Store, id: &str) -> RegistrationToken {
    store
        .list_registration_tokens()
        .await
        .expect("list_registration_tokens")
        .into_iter()
        .find(|t| t.id == id)
        .expect("the token is listed")
}

pub async fn registration_tokens_round_trip_and_revoke_once(store: &dyn Store) {
    let p = prefix();
    let token = initial_token(&p, Some(3), Some(T + 3600));
    store
        .insert_registration_token(&token)
        .await
        .expect("insert_registration_token");
    assert_eq!(token_by_id(store, &token.id).await, token);
    assert_eq!(
        store
            .find_registration_token(&token.hash)
            .await
            .expect("find_registration_token"),
        Some(token.clone())
    );
    assert_eq!(
        store
            .find_registration_token(&hash(&format!("{p}-other")))
            .await
            .expect("find_registration_token"),
        None
    );
    assert!(store
        .revoke_registration_token(&token.id, T + 5)
        .await
        .expect("revoke"));
    assert!(
        !store
            .revoke_registration_token(&token.id, T + 6)
            .await
            .expect("revoke again"),
        "a second revocation says it was revoked before"
    );
    assert!(!store
        .revoke_registration_token(&format!("{p}-missing"), T)
        .await
        .expect("revoke unknown"));
    assert_eq!(token_by_id(store, &token.id).await.revoked_at, Some(T + 5));
}

pub async fn register_app_uses_the_initial_token_within_its_limits(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let token = initial_token(&p, Some(1), Some(T + 100));
    store
        .insert_registration_token(&token)
        .await
        .expect("insert_registration_token");

    let first = full_app(&format!("{p}-first"), &owner);
    let reg = registration(&first, Some(&token));
    assert!(store
        .register_app(&first, &reg, Some(&token.id), T + 1)
        .await
        .expect("register_app"));
    assert_eq!(get_app(store, &first.client_id).await, Some(first.clone()));
    assert_eq!(
        store
            .get_registration(&first.client_id)
            .await
            .expect("get_registration"),
        Some(reg)
    );
    assert_eq!(token_by_id(store, &token.id).await.uses, 1);

    // Its one use is spent: nothing of the second registration is stored.
    let second = full_app(&format!("{p}-second"), &owner);
    assert!(!store
        .register_app(
            &second,
            &registration(&second, Some(&token)),
            Some(&token.id),
            T + 2
        )
        .await
        .expect("register_app"));
    assert_eq!(get_app(store, &second.client_id).await, None);
    assert_eq!(
        store
            .get_registration(&second.client_id)
            .await
            .expect("get"),
        None
    );
    assert_eq!(token_by_id(store, &token.id).await.uses, 1);

    // Expired, revoked and unknown tokens register nothing either.
    let unlimited = RegistrationToken {
        id: format!("{p}-unlimited"),
        hash: hash(&format!("{p}-unlimited")),
        ..initial_token(&p, None, Some(T + 100))
    };
    store
        .insert_registration_token(&unlimited)
        .await
        .expect("insert");
    let third = full_app(&format!("{p}-third"), &owner);
    let third_reg = registration(&third, Some(&unlimited));
    assert!(
        !store
            .register_app(&third, &third_reg, Some(&unlimited.id), T + 100)
            .await
            .expect("register_app"),
        "a token is expired at its expires_at"
    );
    assert!(store
        .register_app(&third, &third_reg, Some(&unlimited.id), T + 99)
        .await
        .expect("register_app"));
    store
        .revoke_registration_token(&unlimited.id, T + 50)
        .await
        .expect("revoke");
    let fourth = full_app(&format!("{p}-fourth"), &owner);
    let fourth_reg = registration(&fourth, Some(&unlimited));
    assert!(!store
        .register_app(&fourth, &fourth_reg, Some(&unlimited.id), T + 51)
        .await
        .expect("register_app"));
    assert!(!store
        .register_app(&fourth, &fourth_reg, Some(&format!("{p}-nope")), T + 51)
        .await
        .expect("register_app"));
    assert_eq!(get_app(store, &fourth.client_id).await, None);

    // Open registration: no token.
    assert!(store
        .register_app(&fourth, &registration(&fourth, None), None, T + 51)
        .await
        .expect("register_app"));
    let stored = store
        .get_registration(&fourth.client_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.initial_token_id, stored.initial_token_label),
        (None, None)
    );
}

pub async fn concurrent_registrations_never_exceed_max_uses(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let token = initial_token(&p, Some(3), None);
    store
        .insert_registration_token(&token)
        .await
        .expect("insert_registration_token");
    let apps: Vec<App> = (0..RACERS)
        .map(|i| full_app(&format!("{p}-racer-{i}"), &owner))
        .collect();
    let racers: Vec<_> = apps
        .iter()
        .map(|app| {
            let reg = registration(app, Some(&token));
            let id = token.id.clone();
            Box::pin(async move {
                store
                    .register_app(app, &reg, Some(&id), T + 1)
                    .await
                    .expect("register_app")
            }) as Pin<Box<dyn Future<Output = bool> + Send + '_>>
        })
        .collect();
    let stored = join_all(racers).await.iter().filter(|&&ok| ok).count();
    assert_eq!(stored, 3, "exactly max_uses of {RACERS} registrations");
    assert_eq!(token_by_id(store, &token.id).await.uses, 3);
    let mut found = 0;
    for app in &apps {
        if get_app(store, &app.client_id).await.is_some() {
            found += 1;
        }
    }
    assert_eq!(found, 3, "only the winners' apps are stored");
}

pub async fn update_registration_is_a_compare_and_set_and_goes_with_the_app(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    setup_account(store, &owner).await;
    let app = full_app(&format!("{p}-app"), &owner);
    let reg = registration(&app, None);
    assert!(store
        .register_app(&app, &reg, None, T + 1)
        .await
        .expect("register_app"));

    let mut changed = app.clone();
    changed.name = "Renamed".into();
    changed.updated_at = T + 10;
    assert_eq!(
        store
            .update_registration(&changed, r#"{"software_id":"x"}"#, T + 10)
            .await
            .expect("update_registration"),
        Cas::Done
    );
    let now = store
        .get_registration(&app.client_id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        (now.metadata.as_str(), now.updated_at, now.created_at),
        (r#"{"software_id":"x"}"#, T + 10, T + 1)
    );
    let stored = get_app(store, &app.client_id).await.expect("app");
    assert_eq!((stored.name.as_str(), stored.revision), ("Renamed", 2));

    // The same revision again is stale: neither the app nor the metadata change.
    let mut stale = changed.clone();
    stale.name = "Stale".into();
    assert_eq!(
        store
            .update_registration(&stale, r#"{"software_id":"stale"}"#, T + 11)
            .await
            .expect("update_registration"),
        Cas::Stale
    );
    let now = store
        .get_registration(&app.client_id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(now.metadata, r#"{"software_id":"x"}"#);
    assert_eq!(
        get_app(store, &app.client_id).await.expect("app").name,
        "Renamed"
    );

    assert!(store
        .delete_app(&app.client_id, T + 20)
        .await
        .expect("delete_app"));
    assert_eq!(
        store.get_registration(&app.client_id).await.expect("get"),
        None,
        "the registration goes with its app"
    );
    assert_eq!(
        store
            .update_registration(&changed, "{}", T + 21)
            .await
            .expect("update_registration"),
        Cas::Missing
    );
}
