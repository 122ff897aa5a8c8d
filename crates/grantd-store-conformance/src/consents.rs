//! Checks of users' consents and of signed-in browsers.

use crate::fixtures::{browser_session, hash, prefix, T};
use grantd_core::clock::UnixTime;
use grantd_core::model::{BrowserSession, Consent};
use grantd_core::store::{Store, StoreError, UniqueKey};

fn consent(user_id: &str, client_id: &str, scope: &str, granted_at: UnixTime) -> Consent {
    Consent {
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        granted_at,
    }
}

pub async fn consents_are_upserted_per_user_and_app(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let other_user = format!("{p}-other-user");
    let app = format!("{p}-app");
    let app_2 = format!("{p}-app-2");
    let get = |user_id: String, client_id: String| async move {
        store
            .get_consent(&user_id, &client_id)
            .await
            .expect("get_consent")
    };
    let list = |user_id: String| async move {
        let mut v = store.list_consents(&user_id).await.expect("list_consents");
        v.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        v
    };

    assert_eq!(get(user.clone(), app.clone()).await, None);
    assert!(
        list(user.clone()).await.is_empty(),
        "a user who never consented has no consents"
    );

    let first = consent(&user, &app, "ReadAccounts SMS", T);
    let empty = consent(&user, &app_2, "", T + 1);
    let others = consent(&other_user, &app, "openid — ünïcode", T + 2);
    for c in [&first, &empty, &others] {
        store.put_consent(c).await.expect("put_consent");
        assert_eq!(
            get(c.user_id.clone(), c.client_id.clone()).await.as_ref(),
            Some(c),
            "every field of a consent round-trips"
        );
    }
    assert_eq!(
        list(user.clone()).await,
        vec![first.clone(), empty.clone()],
        "a user's consents, and only theirs"
    );

    // Putting again replaces (an upsert, never a conflict).
    let narrower = consent(&user, &app, "ReadAccounts", T + 10);
    store.put_consent(&narrower).await.expect("put_consent");
    assert_eq!(
        get(user.clone(), app.clone()).await,
        Some(narrower.clone()),
        "put_consent replaces the scope and the time"
    );
    assert_eq!(
        list(user.clone()).await,
        vec![narrower, empty.clone()],
        "replacing does not add a consent"
    );
    assert_eq!(
        get(other_user.clone(), app.clone()).await,
        Some(others.clone()),
        "consents are per (user, app)"
    );

    assert!(
        store
            .delete_consent(&user, &app)
            .await
            .expect("delete_consent"),
        "deleting a consent returns true"
    );
    assert_eq!(get(user.clone(), app.clone()).await, None);
    assert!(
        !store
            .delete_consent(&user, &app)
            .await
            .expect("delete_consent"),
        "deleting twice returns false"
    );
    assert!(
        !store
            .delete_consent(&format!("{p}-nobody"), &app)
            .await
            .expect("delete_consent"),
        "deleting an unknown consent returns false"
    );
    assert_eq!(list(user.clone()).await, vec![empty.clone()]);
    assert_eq!(
        get(other_user, app).await,
        Some(others),
        "a delete touches only its consent"
    );
    store
        .put_consent(&first)
        .await
        .expect("consenting again after a delete");
    assert_eq!(list(user).await, vec![first, empty]);
}

pub async fn browser_sessions_round_trip_and_delete(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let get = |hash: [u8; 32]| async move {
        store
            .get_browser_session(&hash)
            .await
            .expect("get_browser_session")
    };
    let first = browser_session(&format!("{p}-first"), &user, T + 86_400);
    let second = browser_session(&format!("{p}-second"), &user, T + 3600);
    let others = browser_session(&format!("{p}-others"), &format!("{p}-other-user"), T + 60);
    assert_eq!(get(first.hash).await, None);
    for b in [&first, &second, &others] {
        store
            .insert_browser_session(b)
            .await
            .expect("insert_browser_session");
        assert_eq!(
            get(b.hash).await.as_ref(),
            Some(b),
            "every field of a browser session round-trips"
        );
    }
    let impostor = BrowserSession {
        user_id: format!("{p}-impostor"),
        ..first.clone()
    };
    assert!(
        matches!(
            store.insert_browser_session(&impostor).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate browser session hash is a conflict on the primary key"
    );
    assert_eq!(
        get(first.hash).await.as_ref(),
        Some(&first),
        "a refused insert changes nothing"
    );

    store
        .delete_browser_session(&first.hash)
        .await
        .expect("delete_browser_session");
    assert_eq!(get(first.hash).await, None);
    for b in [&second, &others] {
        assert_eq!(
            get(b.hash).await.as_ref(),
            Some(b),
            "a delete touches only its browser session"
        );
    }
    store
        .delete_browser_session(&first.hash)
        .await
        .expect("deleting twice is not an error");
    store
        .delete_browser_session(&hash(&format!("{p}-unknown")))
        .await
        .expect("deleting an unknown browser session is not an error");
    store
        .insert_browser_session(&first)
        .await
        .expect("a deleted browser session's hash is free again");
    assert_eq!(get(first.hash).await, Some(first));
}
