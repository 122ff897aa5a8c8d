//! Checks of JWT credentials: round trips, listing, revocation.

use crate::fixtures::{jwt_credential, prefix, T};
use grantd_core::model::JwtCredential;
use grantd_core::store::{Store, StoreError, UniqueKey};

pub async fn jwt_credentials_round_trip_and_revoke_once(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let get = |id: String| async move {
        store
            .get_jwt_credential(&id)
            .await
            .expect("get_jwt_credential")
    };
    let full = JwtCredential {
        account_id: format!("{p}-acct"),
        allowed_apps: Some(vec![format!("{p}-app-1"), "a \"quoted\" id".to_string()]),
        expires_at: Some(T + 86_400),
        ..jwt_credential(&format!("{p}-full"), &user)
    };
    let bare = JwtCredential {
        id: format!("{p}-bare"),
        label: String::new(),
        allowed_apps: None,
        expires_at: None,
        created_at: T + 1,
        ..full.clone()
    };
    let no_apps = JwtCredential {
        id: format!("{p}-no-apps"),
        allowed_apps: Some(vec![]),
        created_at: T + 2,
        ..full.clone()
    };
    let born_revoked = JwtCredential {
        id: format!("{p}-born-revoked"),
        revoked_at: Some(T - 1),
        created_at: T + 3,
        ..full.clone()
    };
    let someone_elses = JwtCredential {
        id: format!("{p}-someone-elses"),
        user_id: format!("{p}-other-user"),
        ..full.clone()
    };
    assert_eq!(get(full.id.clone()).await, None);
    for c in [&full, &bare, &no_apps, &born_revoked, &someone_elses] {
        store
            .insert_jwt_credential(c)
            .await
            .expect("insert_jwt_credential");
        assert_eq!(
            get(c.id.clone()).await.as_ref(),
            Some(c),
            "every field of a JWT credential round-trips (no list and an empty list differ)"
        );
    }
    let dup = JwtCredential {
        label: "impostor".to_string(),
        ..bare.clone()
    };
    assert!(
        matches!(
            store.insert_jwt_credential(&dup).await,
            Err(StoreError::Conflict(UniqueKey::PrimaryKey))
        ),
        "a duplicate id is a conflict on the primary key"
    );

    let mut listed = store
        .list_jwt_credentials(&user)
        .await
        .expect("list_jwt_credentials");
    listed.sort_by_key(|c| c.created_at);
    assert_eq!(
        listed,
        vec![
            full.clone(),
            bare.clone(),
            no_apps.clone(),
            born_revoked.clone()
        ],
        "a user's credentials, and only theirs"
    );
    assert!(store
        .list_jwt_credentials(&format!("{p}-nobody"))
        .await
        .expect("list_jwt_credentials")
        .is_empty());

    assert!(
        store
            .revoke_jwt_credential(&full.id, T + 10)
            .await
            .expect("revoke_jwt_credential"),
        "revoking a live credential returns true"
    );
    let revoked = JwtCredential {
        revoked_at: Some(T + 10),
        ..full.clone()
    };
    assert_eq!(get(full.id.clone()).await, Some(revoked.clone()));
    assert!(
        !store
            .revoke_jwt_credential(&full.id, T + 20)
            .await
            .expect("revoke_jwt_credential"),
        "revoking twice returns false"
    );
    assert_eq!(
        get(full.id.clone()).await,
        Some(revoked),
        "revoking twice keeps the first time"
    );
    assert!(
        !store
            .revoke_jwt_credential(&born_revoked.id, T + 20)
            .await
            .expect("revoke_jwt_credential"),
        "a credential stored revoked is already revoked"
    );
    assert!(
        !store
            .revoke_jwt_credential(&format!("{p}-unknown"), T)
            .await
            .expect("revoke_jwt_credential"),
        "revoking an unknown credential returns false"
    );
    assert_eq!(
        get(bare.id.clone()).await,
        Some(bare),
        "revoking touches only its credential"
    );
}
