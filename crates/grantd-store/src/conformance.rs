//! The behaviour every [`Store`] backend must show: backends call [`run_all`] from their tests.
//!
//! The suite panics (through `assert!`) on the first deviation. Every record it
//! writes carries a random prefix, so it can run more than once on one store;
//! it still expects a disposable store, since `retire_keys_except` touches every
//! key and `purge_expired` every expired row (it purges only rows that expired
//! before 2001, so the counts it checks are its own).

use grantd_core::clock::UnixTime;
use grantd_core::crypto::{random_id, sha256};
use grantd_core::model::{
    AccessTokenFormat, Account, App, AuthCode, BrowserSession, CodeUse, Consent, Distribution,
    JwtCredential, LoginState, Role, RotateOutcome, Session, SigningAlg, StoredKey, TokenKind,
    TokenRecord, User, UserStatus,
};
use grantd_core::store::{Store, StoreError};
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A time for records that stay live through the suite (2023-11-14).
const T: UnixTime = 1_700_000_000;
/// The cut-off of the purge check (2001-09-09); only the suite's rows expire before it.
const PURGE_BEFORE: UnixTime = 1_000_000_000;
/// How many tasks race in the concurrency checks.
const RACERS: usize = 50;
/// How many refreshes race to rotate one refresh token.
const ROTATION_RACERS: usize = 20;
/// How many token requests race to exchange one authorization code.
const CODE_RACERS: usize = 20;

/// Runs every check against `store`.
pub async fn run_all(store: &dyn Store) {
    ping(store).await;
    settings(store).await;
    concurrent_settings(store).await;
    accounts(store).await;
    apps(store).await;
    apps_allow_plain_pkce(store).await;
    delete_app_deletes_tokens(store).await;
    keys(store).await;
    tokens(store).await;
    revoked_jtis(store).await;
    concurrent_writes_and_reads(store).await;
    concurrent_token_inserts(store).await;
    purge(store).await;
    users(store).await;
    user_conflicts(store).await;
    login_failures(store).await;
    login_lock_outlives_its_window(store).await;
    concurrent_login_failures(store).await;
    jwt_credentials(store).await;
    sessions(store).await;
    session_limit(store).await;
    end_session_revokes_tokens(store).await;
    end_user_sessions(store).await;
    rotate_refresh(store).await;
    rotate_refresh_refusals(store).await;
    rotate_refresh_after_revocation(store).await;
    concurrent_rotate_refresh(store).await;
    auth_codes(store).await;
    concurrent_consume_code(store).await;
    consents(store).await;
    browser_sessions(store).await;
}

fn prefix() -> String {
    format!("conf-{}", random_id(8))
}

fn hash(s: &str) -> [u8; 32] {
    sha256(s.as_bytes())
}

/// Polls every future on the current task until all are done (no spawning, so
/// the futures may borrow; the store still runs them concurrently).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn account(id: &str, name: &str, created_at: UnixTime) -> Account {
    Account {
        id: id.to_string(),
        name: name.to_string(),
        created_at,
    }
}

fn uri(s: &str) -> RedirectUri {
    RedirectUri::parse(s).expect("a valid redirect URI")
}

fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).expect("valid scopes")
}

/// A confidential app with every optional field set.
fn full_app(client_id: &str, account_id: &str) -> App {
    App {
        client_id: client_id.to_string(),
        account_id: account_id.to_string(),
        name: "Zoë's \"server\" app; DROP TABLE apps; --".to_string(),
        platform_type: PlatformType::ServerWeb,
        grants: vec![Grant::AuthorizationCode, Grant::RefreshToken],
        redirect_uris: vec![
            uri("https://app.example.com/cb?x=1&y='2'"),
            uri("http://127.0.0.1:8080/callback"),
        ],
        scopes: scopes("ReadAccounts SMS team:write"),
        distribution: Distribution::Private,
        issue_refresh_tokens: true,
        access_token_ttl: 3600,
        refresh_token_ttl: 604_800,
        access_token_format: AccessTokenFormat::Jwt,
        allow_plain_pkce: true,
        resource_server: true,
        secret_hash: Some(hash(client_id)),
        created_at: T,
        updated_at: T + 1,
    }
}

/// A public app with every optional field empty.
fn bare_app(client_id: &str, account_id: &str) -> App {
    App {
        client_id: client_id.to_string(),
        account_id: account_id.to_string(),
        name: String::new(),
        platform_type: PlatformType::Browser,
        grants: vec![],
        redirect_uris: vec![],
        scopes: Scopes::default(),
        distribution: Distribution::Public,
        issue_refresh_tokens: false,
        access_token_ttl: 0,
        refresh_token_ttl: 0,
        access_token_format: AccessTokenFormat::Opaque,
        allow_plain_pkce: false,
        resource_server: false,
        secret_hash: None,
        created_at: T + 2,
        updated_at: T + 2,
    }
}

fn token(id: &str, client_id: &str, expires_at: UnixTime) -> TokenRecord {
    TokenRecord {
        hash: hash(id),
        kind: TokenKind::Refresh,
        id: id.to_string(),
        client_id: client_id.to_string(),
        subject: format!("user-{id}"),
        account_id: Some("4000000001".to_string()),
        session_id: Some(format!("session-{id}")),
        scope: "ReadAccounts SMS".to_string(),
        issued_at: T - 60,
        expires_at,
        revoked_at: None,
        rotated_at: None,
        replay: None,
        pair_access_id: None,
        pair_access_expires_at: None,
    }
}

async fn setup_account(store: &dyn Store, id: &str) {
    store
        .insert_account(&account(id, "Owner", T))
        .await
        .expect("insert_account");
}

pub async fn ping(store: &dyn Store) {
    store.ping().await.expect("ping");
}

pub async fn settings(store: &dyn Store) {
    let p = prefix();
    let key = format!("{p}-setting");
    assert_eq!(store.get_setting(&key).await.expect("get_setting"), None);

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
    assert_eq!(
        store
            .get_setting(&key)
            .await
            .expect("get_setting")
            .as_deref(),
        Some("first ✓")
    );

    store.put_setting(&key, "third").await.expect("put_setting");
    assert_eq!(
        store
            .get_setting(&key)
            .await
            .expect("get_setting")
            .as_deref(),
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
        store
            .get_setting(&other)
            .await
            .expect("get_setting")
            .as_deref(),
        Some(""),
        "an empty value is a value"
    );
    assert_eq!(
        store
            .get_setting(&key)
            .await
            .expect("get_setting")
            .as_deref(),
        Some("third"),
        "settings are independent"
    );
}

pub async fn concurrent_settings(store: &dyn Store) {
    let key = format!("{}-raced", prefix());
    let candidates: Vec<String> = (0..RACERS).map(|i| format!("value-{i}")).collect();
    let results = join_all(
        candidates
            .iter()
            .map(|v| store.put_setting_if_absent(&key, v))
            .collect(),
    )
    .await;
    let results: Vec<String> = results
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

pub async fn accounts(store: &dyn Store) {
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
            Err(StoreError::Conflict(_))
        ),
        "a duplicate account id is a conflict"
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

pub async fn apps(store: &dyn Store) {
    let p = prefix();
    let owner = format!("{p}-owner");
    let other_owner = format!("{p}-other-owner");
    setup_account(store, &owner).await;
    setup_account(store, &other_owner).await;

    let full = full_app(&format!("{p}-full"), &owner);
    let bare = bare_app(&format!("{p}-bare"), &owner);
    assert_eq!(store.get_app(&full.client_id).await.expect("get_app"), None);
    store.insert_app(&full).await.expect("insert_app");
    store.insert_app(&bare).await.expect("insert_app");
    assert_eq!(
        store.get_app(&full.client_id).await.expect("get_app"),
        Some(full.clone()),
        "every field of an app round-trips"
    );
    assert_eq!(
        store.get_app(&bare.client_id).await.expect("get_app"),
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
        assert_eq!(
            store.get_app(&app.client_id).await.expect("get_app"),
            Some(app.clone())
        );
    }
    let mut all_grants = bare_app(&format!("{p}-all-grants"), &owner);
    all_grants.grants = Grant::ALL.to_vec();
    store.insert_app(&all_grants).await.expect("insert_app");
    assert_eq!(
        store.get_app(&all_grants.client_id).await.expect("get_app"),
        Some(all_grants)
    );

    let mut dup = bare_app(&full.client_id, &owner);
    dup.name = "impostor".into();
    assert!(
        matches!(store.insert_app(&dup).await, Err(StoreError::Conflict(_))),
        "a duplicate client_id is a conflict"
    );
    assert_eq!(
        store.get_app(&full.client_id).await.expect("get_app"),
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

    // update_app replaces every field but the client id.
    let mut changed = bare_app(&full.client_id, &other_owner);
    changed.name = "renamed".into();
    changed.created_at = T + 50;
    changed.updated_at = T + 60;
    assert!(store.update_app(&changed).await.expect("update_app"));
    assert_eq!(
        store.get_app(&full.client_id).await.expect("get_app"),
        Some(changed.clone())
    );
    let mut back = full_app(&full.client_id, &owner);
    back.secret_hash = Some(hash("rotated"));
    back.updated_at = T + 70;
    assert!(store.update_app(&back).await.expect("update_app"));
    assert_eq!(
        store.get_app(&full.client_id).await.expect("get_app"),
        Some(back.clone()),
        "a secret can be set again"
    );
    assert_eq!(
        store.get_app(&bare.client_id).await.expect("get_app"),
        Some(bare.clone()),
        "an update touches only its app"
    );

    let ghost = full_app(&format!("{p}-ghost"), &owner);
    assert!(
        !store.update_app(&ghost).await.expect("update_app"),
        "updating an unknown app returns false"
    );
    assert_eq!(
        store.get_app(&ghost.client_id).await.expect("get_app"),
        None,
        "update does not insert"
    );

    assert!(store.delete_app(&bare.client_id).await.expect("delete_app"));
    assert_eq!(store.get_app(&bare.client_id).await.expect("get_app"), None);
    assert!(
        !store.delete_app(&bare.client_id).await.expect("delete_app"),
        "deleting twice returns false"
    );
    assert!(
        !store
            .delete_app(&ghost.client_id)
            .await
            .expect("delete_app"),
        "deleting an unknown app returns false"
    );
    assert_eq!(
        store.get_app(&full.client_id).await.expect("get_app"),
        Some(back),
        "a delete touches only its app"
    );
}

/// `allow_plain_pkce` round-trips through insert, list and update, on its own.
pub async fn apps_allow_plain_pkce(store: &dyn Store) {
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
            store.get_app(&app.client_id).await.expect("get_app"),
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
        assert!(store.update_app(&flipped).await.expect("update_app"));
        assert_eq!(
            store.get_app(&app.client_id).await.expect("get_app"),
            Some(flipped),
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

pub async fn delete_app_deletes_tokens(store: &dyn Store) {
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
    let consent = Consent {
        user_id: format!("{p}-user"),
        client_id: doomed.client_id.clone(),
        scope: "a".into(),
        granted_at: T,
    };
    store.put_consent(&consent).await.expect("put_consent");
    let session = Session {
        id: format!("{p}-doomed-session"),
        user_id: format!("{p}-user"),
        client_id: doomed.client_id.clone(),
        account_id: owner.clone(),
        scope: "a".into(),
        created_at: T,
        ended_at: None,
        end_reason: None,
        pair_first_used_at: None,
    };
    store
        .open_session(&session, 5, T)
        .await
        .expect("open_session");

    assert!(store
        .delete_app(&doomed.client_id)
        .await
        .expect("delete_app"));
    for t in &doomed_tokens {
        assert_eq!(
            store.get_token(&t.hash).await.expect("get_token"),
            None,
            "deleting an app deletes its tokens"
        );
    }
    assert_eq!(
        store.get_token(&kept_token.hash).await.expect("get_token"),
        Some(kept_token),
        "other apps' tokens stay"
    );
    assert_eq!(
        store
            .get_consent(&consent.user_id, &doomed.client_id)
            .await
            .expect("get_consent"),
        None,
        "deleting an app deletes its consents"
    );
    let ended = store
        .get_session(&session.id)
        .await
        .expect("get_session")
        .expect("session");
    assert!(
        ended.ended_at.is_some(),
        "deleting an app ends its sessions"
    );
    // The ids of deleted tokens are free again.
    store
        .insert_token(&doomed_tokens[0])
        .await
        .expect("insert_token after delete");
}

pub async fn keys(store: &dyn Store) {
    let p = prefix();
    let sealed: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let active_before = StoredKey {
        kid: format!("{p}-k1"),
        alg: SigningAlg::ES256,
        public_jwk: r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tOfQb6x4p6bo5SJ4Dmg0pjsgEFk0"}"#.to_string(),
        sealed_private: sealed.clone(),
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
    let ours = |keys: Vec<StoredKey>| {
        let mut v: Vec<StoredKey> = keys.into_iter().filter(|k| k.kid.starts_with(&p)).collect();
        v.sort_by(|a, b| a.kid.cmp(&b.kid));
        v
    };
    assert_eq!(
        ours(store.list_keys().await.expect("list_keys")),
        vec![
            active_before.clone(),
            already_retired.clone(),
            newest.clone()
        ],
        "every field of a key round-trips"
    );

    let dup = StoredKey {
        sealed_private: vec![1],
        ..newest.clone()
    };
    assert!(
        matches!(store.insert_key(&dup).await, Err(StoreError::Conflict(_))),
        "a duplicate kid is a conflict"
    );

    store
        .retire_keys_except(&newest.kid, T + 5)
        .await
        .expect("retire_keys_except");
    let after = ours(store.list_keys().await.expect("list_keys"));
    assert_eq!(
        after,
        vec![
            StoredKey {
                retired_at: Some(T + 5),
                ..active_before.clone()
            },
            already_retired.clone(),
            newest.clone(),
        ],
        "retiring keeps earlier retirement times and spares the named key"
    );
}

pub async fn tokens(store: &dyn Store) {
    let p = prefix();
    let full = token(&format!("{p}-full"), &format!("{p}-client"), T + 3600);
    let bare = TokenRecord {
        hash: hash(&format!("{p}-bare")),
        kind: TokenKind::Access,
        id: format!("{p}-bare"),
        client_id: format!("{p}-client"),
        subject: format!("{p}-client"),
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
    };
    let rotated = TokenRecord {
        rotated_at: Some(T + 5),
        replay: Some((0..=255u8).chain([0, 0, 255]).collect()),
        pair_access_id: Some(format!("{p}-pair-access")),
        pair_access_expires_at: Some(T + 900),
        ..token(&format!("{p}-rotated"), &format!("{p}-client"), T + 3600)
    };
    let empty_replay = TokenRecord {
        rotated_at: Some(T + 6),
        replay: Some(vec![]),
        ..token(
            &format!("{p}-empty-replay"),
            &format!("{p}-client"),
            T + 3600,
        )
    };
    let born_revoked = TokenRecord {
        revoked_at: Some(T - 1),
        ..token(
            &format!("{p}-born-revoked"),
            &format!("{p}-client"),
            T + 3600,
        )
    };
    assert_eq!(store.get_token(&full.hash).await.expect("get_token"), None);
    for t in [&full, &bare, &rotated, &empty_replay, &born_revoked] {
        store.insert_token(t).await.expect("insert_token");
        assert_eq!(
            store.get_token(&t.hash).await.expect("get_token"),
            Some(t.clone()),
            "every field of a token round-trips"
        );
    }

    let same_hash = TokenRecord {
        id: format!("{p}-other-id"),
        ..full.clone()
    };
    assert!(
        matches!(
            store.insert_token(&same_hash).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate hash is a conflict"
    );
    let same_id = TokenRecord {
        hash: hash(&format!("{p}-other-hash")),
        ..full.clone()
    };
    assert!(
        matches!(
            store.insert_token(&same_id).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate id is a conflict"
    );
    assert_eq!(
        store.get_token(&same_id.hash).await.expect("get_token"),
        None
    );

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
    let revoked = TokenRecord {
        revoked_at: Some(T + 10),
        ..full.clone()
    };
    assert_eq!(
        store.get_token(&full.hash).await.expect("get_token"),
        Some(revoked.clone())
    );
    assert!(
        !store
            .revoke_token(&full.hash, T + 20)
            .await
            .expect("revoke_token"),
        "revoking twice returns false"
    );
    assert_eq!(
        store.get_token(&full.hash).await.expect("get_token"),
        Some(revoked),
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
        store.get_token(&bare.hash).await.expect("get_token"),
        Some(bare),
        "revoking touches only its token"
    );
}

pub async fn revoked_jtis(store: &dyn Store) {
    let p = prefix();
    let jti = format!("{p}-jti");
    assert!(!store.is_jti_revoked(&jti).await.expect("is_jti_revoked"));
    store
        .revoke_jti(&jti, T + 3600, T)
        .await
        .expect("revoke_jti");
    assert!(store.is_jti_revoked(&jti).await.expect("is_jti_revoked"));
    store
        .revoke_jti(&jti, T + 1800, T + 5)
        .await
        .expect("revoking a jti twice is not an error");
    assert!(store.is_jti_revoked(&jti).await.expect("is_jti_revoked"));
    assert!(
        !store
            .is_jti_revoked(&format!("{p}-other"))
            .await
            .expect("is_jti_revoked"),
        "revocation is per jti"
    );
}

pub async fn concurrent_writes_and_reads(store: &dyn Store) {
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
        assert_eq!(
            store.get_token(&t.hash).await.expect("get_token"),
            Some(t.clone())
        );
    }
    for jti in &jtis {
        assert!(store.is_jti_revoked(jti).await.expect("is_jti_revoked"));
    }
}

pub async fn purge(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-client");
    let expired = token(&format!("{p}-expired"), &client, PURGE_BEFORE - 10);
    let expired_revoked = TokenRecord {
        revoked_at: Some(PURGE_BEFORE - 20),
        ..token(&format!("{p}-expired-revoked"), &client, PURGE_BEFORE - 1)
    };
    let at_cutoff = token(&format!("{p}-at-cutoff"), &client, PURGE_BEFORE);
    let live = token(&format!("{p}-live"), &client, PURGE_BEFORE + 100);
    for t in [&expired, &expired_revoked, &at_cutoff, &live] {
        store.insert_token(t).await.expect("insert_token");
    }
    let old_jti = format!("{p}-old-jti");
    let live_jti = format!("{p}-live-jti");
    store
        .revoke_jti(&old_jti, PURGE_BEFORE - 5, PURGE_BEFORE - 50)
        .await
        .expect("revoke_jti");
    store
        .revoke_jti(&live_jti, PURGE_BEFORE + 5, PURGE_BEFORE - 50)
        .await
        .expect("revoke_jti");
    let code_expired = AuthCode {
        created_at: PURGE_BEFORE - 600,
        ..auth_code(&format!("{p}-code-expired"), &client, PURGE_BEFORE - 1)
    };
    let code_expired_used = AuthCode {
        used_at: Some(PURGE_BEFORE - 550),
        session_id: Some(format!("{p}-session")),
        ..auth_code(
            &format!("{p}-code-expired-used"),
            &client,
            PURGE_BEFORE - 500,
        )
    };
    let code_at_cutoff = auth_code(&format!("{p}-code-at-cutoff"), &client, PURGE_BEFORE);
    let code_live = auth_code(&format!("{p}-code-live"), &client, PURGE_BEFORE + 60);
    for c in [
        &code_expired,
        &code_expired_used,
        &code_at_cutoff,
        &code_live,
    ] {
        store.insert_code(c).await.expect("insert_code");
    }
    let browser_expired = browser_session(&format!("{p}-browser-expired"), &p, PURGE_BEFORE - 1);
    let browser_at_cutoff = browser_session(&format!("{p}-browser-at-cutoff"), &p, PURGE_BEFORE);
    let browser_live = browser_session(&format!("{p}-browser-live"), &p, PURGE_BEFORE + 60);
    for b in [&browser_expired, &browser_at_cutoff, &browser_live] {
        store
            .insert_browser_session(b)
            .await
            .expect("insert_browser_session");
    }

    assert_eq!(
        store
            .purge_expired(PURGE_BEFORE)
            .await
            .expect("purge_expired"),
        6,
        "two tokens, one jti, two codes and one browser session expired strictly before the cut-off"
    );
    for c in [&code_expired, &code_expired_used] {
        assert_eq!(
            store
                .consume_code(&c.hash, PURGE_BEFORE)
                .await
                .expect("consume_code"),
            CodeUse::Unknown,
            "an expired code is purged, used or not"
        );
    }
    for c in [&code_at_cutoff, &code_live] {
        assert_eq!(
            store
                .consume_code(&c.hash, PURGE_BEFORE)
                .await
                .expect("consume_code"),
            CodeUse::Fresh(Box::new(AuthCode {
                used_at: Some(PURGE_BEFORE),
                ..c.clone()
            })),
            "a code expiring at or after the cut-off stays"
        );
    }
    assert_eq!(
        get_browser_session(store, &browser_expired.hash).await,
        None,
        "an expired browser session is purged"
    );
    for b in [&browser_at_cutoff, &browser_live] {
        assert_eq!(
            get_browser_session(store, &b.hash).await,
            Some(b.clone()),
            "a browser session expiring at or after the cut-off stays"
        );
    }
    assert_eq!(
        store.get_token(&expired.hash).await.expect("get_token"),
        None
    );
    assert_eq!(
        store
            .get_token(&expired_revoked.hash)
            .await
            .expect("get_token"),
        None
    );
    assert_eq!(
        store.get_token(&at_cutoff.hash).await.expect("get_token"),
        Some(at_cutoff),
        "a token expiring at the cut-off stays"
    );
    assert_eq!(
        store.get_token(&live.hash).await.expect("get_token"),
        Some(live)
    );
    assert!(!store
        .is_jti_revoked(&old_jti)
        .await
        .expect("is_jti_revoked"));
    assert!(store
        .is_jti_revoked(&live_jti)
        .await
        .expect("is_jti_revoked"));
    assert_eq!(
        store
            .purge_expired(PURGE_BEFORE)
            .await
            .expect("purge_expired"),
        0,
        "a second purge finds nothing"
    );
}

/// A user with every optional field set.
fn full_user(id: &str, account_id: &str) -> User {
    User {
        id: id.to_string(),
        account_id: account_id.to_string(),
        email: Some(format!("{id}@example.com").to_lowercase()),
        phone: Some("+16505550100".to_string()),
        extension_number: Some("101".to_string()),
        name: "Zoë \"Ops\" O'Brien".to_string(),
        role: Role::Admin,
        status: UserStatus::Enabled,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_string()),
        created_at: T,
    }
}

/// A user with every optional field empty.
fn bare_user(id: &str, account_id: &str) -> User {
    User {
        id: id.to_string(),
        account_id: account_id.to_string(),
        email: None,
        phone: None,
        extension_number: None,
        name: String::new(),
        role: Role::User,
        status: UserStatus::Disabled,
        password_hash: None,
        created_at: T + 1,
    }
}

fn session(id: &str, user_id: &str, client_id: &str, created_at: UnixTime) -> Session {
    Session {
        id: id.to_string(),
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        account_id: "4000000001".to_string(),
        scope: "ReadAccounts SMS".to_string(),
        created_at,
        ended_at: None,
        end_reason: None,
        pair_first_used_at: None,
    }
}

/// A token of `kind` in session `session_id`.
fn session_token(id: &str, kind: TokenKind, session: &Session) -> TokenRecord {
    TokenRecord {
        kind,
        subject: session.user_id.clone(),
        client_id: session.client_id.clone(),
        session_id: Some(session.id.clone()),
        ..token(id, &session.client_id, T + 3600)
    }
}

async fn get_token(store: &dyn Store, hash: &[u8; 32]) -> Option<TokenRecord> {
    store.get_token(hash).await.expect("get_token")
}

async fn get_session(store: &dyn Store, id: &str) -> Option<Session> {
    store.get_session(id).await.expect("get_session")
}

pub async fn users(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    let other_acct = format!("{p}-other-acct");
    setup_account(store, &acct).await;
    setup_account(store, &other_acct).await;

    let full = full_user(&format!("{p}-full"), &acct);
    let bare = bare_user(&format!("{p}-bare"), &acct);
    assert_eq!(store.get_user(&full.id).await.expect("get_user"), None);
    store.insert_user(&full).await.expect("insert_user");
    store.insert_user(&bare).await.expect("insert_user");
    assert_eq!(
        store.get_user(&full.id).await.expect("get_user"),
        Some(full.clone()),
        "every field of a user round-trips"
    );
    assert_eq!(
        store.get_user(&bare.id).await.expect("get_user"),
        Some(bare.clone()),
        "missing optional fields round-trip"
    );
    for role in [Role::Admin, Role::Developer, Role::User] {
        let u = User {
            role,
            ..bare_user(&format!("{p}-role-{}", role.as_str()), &other_acct)
        };
        store.insert_user(&u).await.expect("insert_user");
        assert_eq!(store.get_user(&u.id).await.expect("get_user"), Some(u));
    }

    // Emails are stored lower-cased and found whatever their case.
    let mixed = User {
        email: Some(format!("{p}-Mixed.Case@Example.COM")),
        extension_number: Some("102".to_string()),
        ..full_user(&format!("{p}-mixed"), &acct)
    };
    store.insert_user(&mixed).await.expect("insert_user");
    let stored_mixed = User {
        email: Some(format!("{p}-mixed.case@example.com").to_lowercase()),
        ..mixed.clone()
    };
    assert_eq!(
        store.get_user(&mixed.id).await.expect("get_user"),
        Some(stored_mixed.clone()),
        "the email is stored lower-cased"
    );
    for query in [
        format!("{p}-mixed.case@example.com").to_lowercase(),
        format!("{p}-MIXED.CASE@EXAMPLE.COM").to_uppercase(),
        format!("{p}-Mixed.Case@Example.COM"),
    ] {
        assert_eq!(
            store
                .find_users_by_email(&query)
                .await
                .expect("find_users_by_email"),
            vec![stored_mixed.clone()],
            "email lookup ignores case ({query})"
        );
    }
    assert_eq!(
        store
            .find_users_by_email(&format!("{}@EXAMPLE.com", full.id.to_uppercase()))
            .await
            .expect("find_users_by_email"),
        vec![full.clone()]
    );
    assert!(
        store
            .find_users_by_email(&format!("{p}-nobody@example.com"))
            .await
            .expect("find_users_by_email")
            .is_empty(),
        "an unknown email finds nobody"
    );

    // Several users share a phone number, told apart by extension (and account).
    let phone = format!("+1650{}", &random_digits());
    let sharing: Vec<User> = [("201", &acct), ("202", &acct), ("201", &other_acct)]
        .into_iter()
        .enumerate()
        .map(|(i, (ext, account_id))| User {
            email: None,
            phone: Some(phone.clone()),
            extension_number: Some(ext.to_string()),
            created_at: T + 10 + i as UnixTime,
            ..full_user(&format!("{p}-phone-{i}"), account_id)
        })
        .collect();
    for u in &sharing {
        store.insert_user(u).await.expect("insert_user");
    }
    let mut found = store
        .find_users_by_phone(&phone)
        .await
        .expect("find_users_by_phone");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, sharing, "every user with the phone number is found");
    assert!(store
        .find_users_by_phone(&format!("{phone}9"))
        .await
        .expect("find_users_by_phone")
        .is_empty());

    let ours = |users: Vec<User>| {
        let mut v: Vec<String> = users
            .into_iter()
            .filter(|u| u.id.starts_with(&p))
            .map(|u| u.id)
            .collect();
        v.sort();
        v
    };
    let mut in_acct = vec![
        full.id.clone(),
        bare.id.clone(),
        mixed.id.clone(),
        sharing[0].id.clone(),
        sharing[1].id.clone(),
    ];
    in_acct.sort();
    let listed = store.list_users(Some(&acct)).await.expect("list_users");
    assert!(
        listed.iter().all(|u| u.account_id == acct),
        "listing one account lists only its users"
    );
    assert_eq!(ours(listed), in_acct);
    assert_eq!(
        ours(store.list_users(None).await.expect("list_users")).len(),
        in_acct.len() + 3 + 1,
        "listing without an account lists every user"
    );
    assert!(store
        .list_users(Some(&format!("{p}-no-such-account")))
        .await
        .expect("list_users")
        .is_empty());

    assert!(store
        .set_user_status(&full.id, UserStatus::Disabled)
        .await
        .expect("set_user_status"));
    assert_eq!(
        store.get_user(&full.id).await.expect("get_user"),
        Some(User {
            status: UserStatus::Disabled,
            ..full.clone()
        })
    );
    assert!(store
        .set_user_status(&full.id, UserStatus::Enabled)
        .await
        .expect("set_user_status"));
    assert_eq!(
        store.get_user(&full.id).await.expect("get_user"),
        Some(full)
    );
    assert!(
        !store
            .set_user_status(&format!("{p}-ghost"), UserStatus::Disabled)
            .await
            .expect("set_user_status"),
        "setting the status of an unknown user returns false"
    );
    assert_eq!(
        store.get_user(&bare.id).await.expect("get_user"),
        Some(bare),
        "a status change touches only its user"
    );
}

/// Eight random decimal digits (phone numbers unique to one run of the suite).
fn random_digits() -> String {
    sha256(random_id(8).as_bytes())
        .iter()
        .take(8)
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

pub async fn user_conflicts(store: &dyn Store) {
    let p = prefix();
    let acct = format!("{p}-acct");
    let other_acct = format!("{p}-other-acct");
    setup_account(store, &acct).await;
    setup_account(store, &other_acct).await;
    let first = full_user(&format!("{p}-first"), &acct);
    store.insert_user(&first).await.expect("insert_user");

    let conflict = |result: Result<(), StoreError>, field: &str, why: &str| match result {
        Err(StoreError::Conflict(message)) => assert!(
            message.contains(field),
            "{why}: the conflict names {field}: {message:?}"
        ),
        other => panic!("{why}: expected a conflict, got {other:?}"),
    };

    let same_email = User {
        email: first.email.as_ref().map(|e| e.to_uppercase()),
        extension_number: Some("999".to_string()),
        ..full_user(&format!("{p}-same-email"), &other_acct)
    };
    conflict(
        store.insert_user(&same_email).await,
        "email",
        "an email taken in another case",
    );
    let same_ext = User {
        email: Some(format!("{p}-other@example.com")),
        ..full_user(&format!("{p}-same-ext"), &acct)
    };
    conflict(
        store.insert_user(&same_ext).await,
        "extension",
        "an extension number taken in the account",
    );
    let same_id = User {
        email: Some(format!("{p}-third@example.com")),
        extension_number: Some("998".to_string()),
        ..full_user(&first.id, &acct)
    };
    assert!(
        matches!(
            store.insert_user(&same_id).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate user id is a conflict"
    );
    for refused in [&same_email, &same_ext] {
        assert_eq!(
            store.get_user(&refused.id).await.expect("get_user"),
            None,
            "a refused insert stores nothing"
        );
    }
    assert_eq!(
        store.get_user(&first.id).await.expect("get_user"),
        Some(first.clone()),
        "a refused insert changes nothing"
    );

    // The same extension in another account, and users without email or
    // extension, are fine.
    let elsewhere = User {
        email: Some(format!("{p}-elsewhere@example.com")),
        ..full_user(&format!("{p}-elsewhere"), &other_acct)
    };
    store
        .insert_user(&elsewhere)
        .await
        .expect("an extension number is unique only within its account");
    for i in 0..3 {
        store
            .insert_user(&bare_user(&format!("{p}-bare-{i}"), &acct))
            .await
            .expect("many users may lack an email and an extension");
    }
}

pub async fn login_failures(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let (window, threshold, lock_for) = (60, 3, 300);
    let fail = |now: UnixTime| store.record_login_failure(&user, now, window, threshold, lock_for);
    let state =
        |failures: u32, window_started_at: UnixTime, locked_until: Option<UnixTime>| LoginState {
            failures,
            window_started_at,
            locked_until,
        };

    assert_eq!(
        store.get_login_state(&user).await.expect("get_login_state"),
        LoginState::default(),
        "a user who never failed has the default state"
    );
    assert_eq!(fail(T).await.expect("failure"), state(1, T, None));
    assert_eq!(fail(T + 10).await.expect("failure"), state(2, T, None));
    assert_eq!(
        store.get_login_state(&user).await.expect("get_login_state"),
        state(2, T, None),
        "the state is stored"
    );
    // `window` seconds after it started, the window is over: a new one starts.
    assert_eq!(
        fail(T + 60).await.expect("failure"),
        state(1, T + 60, None),
        "a failure once the window has passed starts a new window"
    );
    assert_eq!(fail(T + 61).await.expect("failure"), state(2, T + 60, None));
    assert_eq!(
        fail(T + 119).await.expect("failure"),
        state(3, T + 60, Some(T + 119 + 300)),
        "reaching the threshold locks"
    );
    assert_eq!(
        store.get_login_state(&user).await.expect("get_login_state"),
        state(3, T + 60, Some(T + 419))
    );
    // After the lock, the next window starts afresh, without a lock.
    assert_eq!(
        fail(T + 500).await.expect("failure"),
        state(1, T + 500, None),
        "a lock that has run out is not carried into a new window"
    );

    store
        .clear_login_failures(&user)
        .await
        .expect("clear_login_failures");
    assert_eq!(
        store.get_login_state(&user).await.expect("get_login_state"),
        LoginState::default(),
        "clearing forgets the failures"
    );
    assert_eq!(
        fail(T + 501).await.expect("failure"),
        state(1, T + 501, None),
        "counting starts over after clearing"
    );
    store
        .clear_login_failures(&format!("{p}-never-failed"))
        .await
        .expect("clearing a user without failures is not an error");

    // Threshold 1 locks on the first failure; users are counted apart.
    let other = format!("{p}-other");
    assert_eq!(
        store
            .record_login_failure(&other, T, 60, 1, 30)
            .await
            .expect("failure"),
        state(1, T, Some(T + 30))
    );
    assert_eq!(
        store.get_login_state(&user).await.expect("get_login_state"),
        state(1, T + 501, None),
        "failures are per user"
    );
}

/// Failures in a window once it is locked keep it locked (a lock that runs out
/// mid-window does not buy a fresh set of guesses), a running lock is never
/// shortened, and a new window does not lift it.
pub async fn login_lock_outlives_its_window(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    // A long window, a short lock.
    let fail = |now: UnixTime| store.record_login_failure(&user, now, 1000, 2, 100);
    let state =
        |failures: u32, window_started_at: UnixTime, locked_until: Option<UnixTime>| LoginState {
            failures,
            window_started_at,
            locked_until,
        };
    fail(T).await.expect("failure");
    assert_eq!(
        fail(T + 1).await.expect("failure"),
        state(2, T, Some(T + 101))
    );
    assert_eq!(
        fail(T + 50).await.expect("failure"),
        state(3, T, Some(T + 150)),
        "a failure while locked extends the lock"
    );
    assert_eq!(
        fail(T + 200).await.expect("failure"),
        state(4, T, Some(T + 300)),
        "past the threshold, a failure after the lock ran out locks again"
    );

    // A short window, a long lock: the lock survives the window.
    let user = format!("{p}-user-2");
    let fail = |now: UnixTime| store.record_login_failure(&user, now, 10, 2, 1000);
    fail(T).await.expect("failure");
    assert_eq!(
        fail(T + 1).await.expect("failure"),
        state(2, T, Some(T + 1001))
    );
    assert_eq!(
        fail(T + 20).await.expect("failure"),
        state(1, T + 20, Some(T + 1001)),
        "a new window keeps a running lock"
    );
    assert_eq!(
        fail(T + 21).await.expect("failure"),
        state(2, T + 20, Some(T + 1021)),
        "a lock is replaced only by a longer one"
    );
    let short = store
        .record_login_failure(&user, T + 22, 10, 2, 1)
        .await
        .expect("failure");
    assert_eq!(
        short,
        state(3, T + 20, Some(T + 1021)),
        "a shorter lock never shortens the running one"
    );
}

pub async fn concurrent_login_failures(store: &dyn Store) {
    let user = format!("{}-user", prefix());
    let results = join_all(
        (0..RACERS)
            .map(|_| store.record_login_failure(&user, T, 60, u32::MAX, 300))
            .collect(),
    )
    .await;
    let mut counts: Vec<u32> = results
        .into_iter()
        .map(|r| r.expect("concurrent record_login_failure").failures)
        .collect();
    counts.sort_unstable();
    let expected: Vec<u32> = (1..=RACERS as u32).collect();
    assert_eq!(counts, expected, "every failure is counted exactly once");
    assert_eq!(
        store
            .get_login_state(&user)
            .await
            .expect("get_login_state")
            .failures,
        RACERS as u32
    );
}

pub async fn jwt_credentials(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let full = JwtCredential {
        id: format!("{p}-full"),
        user_id: user.clone(),
        account_id: format!("{p}-acct"),
        label: "CI \"deploy\" bot — ünïcode".to_string(),
        allowed_apps: Some(vec![format!("{p}-app-1"), "a \"quoted\" id".to_string()]),
        expires_at: Some(T + 86_400),
        created_at: T,
        revoked_at: None,
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
    assert_eq!(
        store
            .get_jwt_credential(&full.id)
            .await
            .expect("get_jwt_credential"),
        None
    );
    for c in [&full, &bare, &no_apps, &born_revoked, &someone_elses] {
        store
            .insert_jwt_credential(c)
            .await
            .expect("insert_jwt_credential");
        assert_eq!(
            store
                .get_jwt_credential(&c.id)
                .await
                .expect("get_jwt_credential"),
            Some(c.clone()),
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
            Err(StoreError::Conflict(_))
        ),
        "a duplicate id is a conflict"
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
    assert_eq!(
        store
            .get_jwt_credential(&full.id)
            .await
            .expect("get_jwt_credential"),
        Some(revoked.clone())
    );
    assert!(
        !store
            .revoke_jwt_credential(&full.id, T + 20)
            .await
            .expect("revoke_jwt_credential"),
        "revoking twice returns false"
    );
    assert_eq!(
        store
            .get_jwt_credential(&full.id)
            .await
            .expect("get_jwt_credential"),
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
        store
            .get_jwt_credential(&bare.id)
            .await
            .expect("get_jwt_credential"),
        Some(bare),
        "revoking touches only its credential"
    );
}

pub async fn sessions(store: &dyn Store) {
    let p = prefix();
    let s = session(
        &format!("{p}-s"),
        &format!("{p}-user"),
        &format!("{p}-app"),
        T,
    );
    assert_eq!(get_session(store, &s.id).await, None);
    assert_eq!(
        store.open_session(&s, 5, T).await.expect("open_session"),
        Vec::<String>::new(),
        "a first session ends nothing"
    );
    assert_eq!(
        get_session(store, &s.id).await,
        Some(s.clone()),
        "every field of a session round-trips"
    );
    let full = Session {
        id: format!("{p}-full"),
        scope: String::new(),
        ended_at: Some(T + 3),
        end_reason: Some("logout — ünïcode".to_string()),
        pair_first_used_at: Some(T + 2),
        ..s.clone()
    };
    store.open_session(&full, 5, T).await.expect("open_session");
    assert_eq!(get_session(store, &full.id).await, Some(full.clone()));

    let dup = Session {
        scope: "other".to_string(),
        ..s.clone()
    };
    assert!(
        matches!(
            store.open_session(&dup, 5, T).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate session id is a conflict"
    );
    assert_eq!(get_session(store, &s.id).await, Some(s.clone()));

    // pair_first_used_at is set once.
    store
        .mark_session_used(&s.id, T + 5)
        .await
        .expect("mark_session_used");
    let used = Session {
        pair_first_used_at: Some(T + 5),
        ..s.clone()
    };
    assert_eq!(get_session(store, &s.id).await, Some(used.clone()));
    store
        .mark_session_used(&s.id, T + 9)
        .await
        .expect("mark_session_used");
    assert_eq!(
        get_session(store, &s.id).await,
        Some(used.clone()),
        "marking again keeps the first use"
    );
    store
        .mark_session_used(&format!("{p}-unknown"), T)
        .await
        .expect("marking an unknown session is not an error");
    assert_eq!(get_session(store, &format!("{p}-unknown")).await, None);

    assert!(store
        .end_session(&s.id, "logout", T + 20)
        .await
        .expect("end_session"));
    let ended = Session {
        ended_at: Some(T + 20),
        end_reason: Some("logout".to_string()),
        ..used
    };
    assert_eq!(get_session(store, &s.id).await, Some(ended.clone()));
    assert!(
        !store
            .end_session(&s.id, "admin", T + 30)
            .await
            .expect("end_session"),
        "ending twice returns false"
    );
    assert_eq!(
        get_session(store, &s.id).await,
        Some(ended),
        "ending twice keeps the first end"
    );
    assert!(
        !store
            .end_session(&format!("{p}-unknown"), "logout", T)
            .await
            .expect("end_session"),
        "ending an unknown session returns false"
    );
    assert_eq!(
        get_session(store, &full.id).await,
        Some(full),
        "ending touches only its session"
    );
}

pub async fn session_limit(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let app = format!("{p}-app");
    let opened: Vec<Session> = (0..5)
        .map(|i| session(&format!("{p}-s{i}"), &user, &app, T + i))
        .collect();
    // Sessions of another app, of another user, and an ended one do not count.
    let other_app = session(
        &format!("{p}-other-app"),
        &user,
        &format!("{p}-app-2"),
        T - 10,
    );
    let other_user = session(
        &format!("{p}-other-user"),
        &format!("{p}-user-2"),
        &app,
        T - 10,
    );
    let already_ended = Session {
        ended_at: Some(T - 5),
        end_reason: Some("logout".to_string()),
        ..session(&format!("{p}-already-ended"), &user, &app, T - 20)
    };
    for s in [&other_app, &other_user, &already_ended] {
        assert!(store
            .open_session(s, 1, T)
            .await
            .expect("open_session")
            .is_empty());
    }
    let tokens_of = |s: &Session| {
        [
            session_token(&format!("{}-refresh", s.id), TokenKind::Refresh, s),
            session_token(&format!("{}-access", s.id), TokenKind::Access, s),
        ]
    };
    for s in [&other_app, &other_user] {
        for t in tokens_of(s) {
            store.insert_token(&t).await.expect("insert_token");
        }
    }
    let open_with_tokens = |s: &Session, max_active: u32, now: UnixTime| {
        let s = s.clone();
        async move {
            let ended = store
                .open_session(&s, max_active, now)
                .await
                .expect("open_session");
            for t in tokens_of(&s) {
                store.insert_token(&t).await.expect("insert_token");
            }
            let mut ended = ended;
            ended.sort();
            ended
        }
    };
    let assert_ended = |s: &Session, at: UnixTime| {
        let s = s.clone();
        async move {
            assert_eq!(
                get_session(store, &s.id).await,
                Some(Session {
                    ended_at: Some(at),
                    end_reason: Some("session_limit".to_string()),
                    ..s.clone()
                }),
                "a session over the limit is ended with reason session_limit"
            );
            for t in tokens_of(&s) {
                assert_eq!(
                    get_token(store, &t.hash).await,
                    Some(TokenRecord {
                        revoked_at: Some(at),
                        ..t
                    }),
                    "the tokens of a session over the limit are revoked"
                );
            }
        }
    };
    let assert_active = |s: &Session| {
        let s = s.clone();
        async move {
            assert_eq!(get_session(store, &s.id).await, Some(s.clone()));
            for t in tokens_of(&s) {
                assert_eq!(get_token(store, &t.hash).await, Some(t));
            }
        }
    };

    assert!(open_with_tokens(&opened[0], 2, T + 10).await.is_empty());
    assert!(
        open_with_tokens(&opened[1], 2, T + 11).await.is_empty(),
        "up to the limit, nothing ends"
    );
    assert_eq!(
        open_with_tokens(&opened[2], 2, T + 12).await,
        vec![opened[0].id.clone()],
        "one over the limit ends the oldest"
    );
    assert_ended(&opened[0], T + 12).await;
    assert_active(&opened[1]).await;
    assert_active(&opened[2]).await;

    let mut expected = vec![opened[1].id.clone(), opened[2].id.clone()];
    expected.sort();
    assert_eq!(
        open_with_tokens(&opened[3], 1, T + 13).await,
        expected,
        "a lower limit ends every session beyond it"
    );
    assert_ended(&opened[1], T + 13).await;
    assert_ended(&opened[2], T + 13).await;
    assert_active(&opened[3]).await;

    assert_eq!(
        open_with_tokens(&opened[4], 0, T + 14).await,
        vec![opened[3].id.clone()],
        "the session just opened is never ended, even with a limit of 0"
    );
    assert_ended(&opened[3], T + 14).await;
    assert_active(&opened[4]).await;

    assert_ended(&opened[0], T + 12).await;
    for s in [&other_app, &other_user] {
        assert_active(s).await;
    }
    assert_eq!(
        get_session(store, &already_ended.id).await,
        Some(already_ended),
        "an ended session stays as it was"
    );
}

pub async fn end_session_revokes_tokens(store: &dyn Store) {
    let p = prefix();
    let s = session(
        &format!("{p}-s"),
        &format!("{p}-user"),
        &format!("{p}-app"),
        T,
    );
    let other = session(&format!("{p}-other"), &s.user_id, &s.client_id, T + 1);
    for x in [&s, &other] {
        store.open_session(x, 10, T).await.expect("open_session");
    }
    let refresh = session_token(&format!("{p}-refresh"), TokenKind::Refresh, &s);
    let rotated = TokenRecord {
        rotated_at: Some(T + 1),
        replay: Some(vec![1, 2, 3]),
        ..session_token(&format!("{p}-rotated"), TokenKind::Refresh, &s)
    };
    let access = session_token(&format!("{p}-access"), TokenKind::Access, &s);
    let revoked_before = TokenRecord {
        revoked_at: Some(T + 2),
        ..session_token(&format!("{p}-revoked-before"), TokenKind::Access, &s)
    };
    let others = session_token(&format!("{p}-others"), TokenKind::Refresh, &other);
    let no_session = TokenRecord {
        session_id: None,
        ..token(&format!("{p}-no-session"), &s.client_id, T + 3600)
    };
    for t in [
        &refresh,
        &rotated,
        &access,
        &revoked_before,
        &others,
        &no_session,
    ] {
        store.insert_token(t).await.expect("insert_token");
    }

    assert!(
        store
            .end_session(&s.id, "logout", T + 50)
            .await
            .expect("end_session"),
        "ending a live session returns true"
    );
    for t in [&refresh, &rotated, &access] {
        assert_eq!(
            get_token(store, &t.hash).await,
            Some(TokenRecord {
                revoked_at: Some(T + 50),
                ..t.clone()
            }),
            "ending a session revokes every token of it"
        );
    }
    assert_eq!(
        get_token(store, &revoked_before.hash).await,
        Some(revoked_before.clone()),
        "a token revoked before keeps its revocation time"
    );
    for t in [&others, &no_session] {
        assert_eq!(
            get_token(store, &t.hash).await,
            Some(t.clone()),
            "other sessions' tokens stay"
        );
    }
    assert_eq!(
        get_session(store, &other.id).await,
        Some(other.clone()),
        "other sessions stay"
    );

    assert!(
        !store
            .end_session(&s.id, "logout", T + 60)
            .await
            .expect("end_session"),
        "ending twice returns false"
    );
    assert_eq!(
        get_token(store, &refresh.hash)
            .await
            .and_then(|t| t.revoked_at),
        Some(T + 50),
        "ending twice keeps the first revocation time"
    );
}

/// A session with a refresh token (paired with a JWT access token) to rotate.
async fn rotation_setup(store: &dyn Store, p: &str) -> (Session, TokenRecord) {
    let s = session(
        &format!("{p}-s"),
        &format!("{p}-user"),
        &format!("{p}-app"),
        T,
    );
    store.open_session(&s, 10, T).await.expect("open_session");
    let old = TokenRecord {
        pair_access_id: Some(format!("{p}-jwt-0")),
        pair_access_expires_at: Some(T + 900),
        ..session_token(&format!("{p}-old"), TokenKind::Refresh, &s)
    };
    store.insert_token(&old).await.expect("insert_token");
    (s, old)
}

/// The next pair: a refresh token and, for an opaque-token app, an access token.
fn next_pair(p: &str, name: &str, s: &Session) -> (TokenRecord, TokenRecord) {
    let access = TokenRecord {
        issued_at: T + 100,
        expires_at: T + 1000,
        ..session_token(&format!("{p}-{name}-access"), TokenKind::Access, s)
    };
    let refresh = TokenRecord {
        issued_at: T + 100,
        expires_at: T + 100 + 86_400,
        pair_access_id: Some(access.id.clone()),
        pair_access_expires_at: Some(access.expires_at),
        ..session_token(&format!("{p}-{name}-refresh"), TokenKind::Refresh, s)
    };
    (refresh, access)
}

pub async fn rotate_refresh(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    store
        .mark_session_used(&s.id, T + 50)
        .await
        .expect("mark_session_used");
    let (new, new_access) = next_pair(&p, "first", &s);
    let sealed: Vec<u8> = (0..=255u8).chain([0, 0]).collect();

    assert_eq!(
        store
            .rotate_refresh(&old.hash, &new, Some(&new_access), &sealed, T + 100)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::Rotated,
        "the first rotation rotates"
    );
    let old_after = TokenRecord {
        rotated_at: Some(T + 100),
        replay: Some(sealed.clone()),
        ..old.clone()
    };
    assert_eq!(
        get_token(store, &old.hash).await,
        Some(old_after.clone()),
        "the old token records when and what it was rotated into (and is not revoked)"
    );
    assert_eq!(
        get_token(store, &new.hash).await,
        Some(new.clone()),
        "the new refresh token is stored"
    );
    assert_eq!(
        get_token(store, &new_access.hash).await,
        Some(new_access.clone()),
        "the opaque access token is stored"
    );
    assert_eq!(
        get_session(store, &s.id).await,
        Some(s.clone()),
        "rotation clears pair_first_used_at"
    );

    // A second rotation of the same token changes nothing.
    let (second, second_access) = next_pair(&p, "second", &s);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &second, Some(&second_access), b"other", T + 101)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::AlreadyRotated(Box::new(old_after.clone())),
        "a second rotation answers with the first one's record"
    );
    assert_eq!(get_token(store, &old.hash).await, Some(old_after));
    assert_eq!(get_token(store, &second.hash).await, None);
    assert_eq!(get_token(store, &second_access.hash).await, None);

    // The new token rotates in turn; without an opaque access token only the
    // refresh token is stored.
    store
        .mark_session_used(&s.id, T + 150)
        .await
        .expect("mark_session_used");
    let (third, third_access) = next_pair(&p, "third", &s);
    assert_eq!(
        store
            .rotate_refresh(&new.hash, &third, None, &[], T + 200)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::Rotated
    );
    assert_eq!(get_token(store, &third.hash).await, Some(third));
    assert_eq!(
        get_token(store, &third_access.hash).await,
        None,
        "no access token is stored when none is given"
    );
    assert_eq!(
        get_token(store, &new.hash).await,
        Some(TokenRecord {
            rotated_at: Some(T + 200),
            replay: Some(vec![]),
            ..new
        }),
        "an empty replay blob is stored as such"
    );
    assert_eq!(get_session(store, &s.id).await, Some(s));
}

pub async fn rotate_refresh_refusals(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;

    // A new token clashing with a stored one rolls the whole rotation back.
    let taken = session_token(&format!("{p}-taken"), TokenKind::Refresh, &s);
    store.insert_token(&taken).await.expect("insert_token");
    let (new, new_access) = next_pair(&p, "clash", &s);
    let clashing_access = TokenRecord {
        hash: taken.hash,
        ..new_access.clone()
    };
    assert!(
        matches!(
            store
                .rotate_refresh(&old.hash, &new, Some(&clashing_access), b"x", T + 100)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an access token with a taken hash is a conflict"
    );
    assert_eq!(
        get_token(store, &old.hash).await,
        Some(old.clone()),
        "a failed rotation leaves the old token unrotated"
    );
    assert_eq!(
        get_token(store, &new.hash).await,
        None,
        "a failed rotation stores nothing"
    );
    let clashing_refresh = TokenRecord {
        id: taken.id.clone(),
        ..new.clone()
    };
    assert!(matches!(
        store
            .rotate_refresh(&old.hash, &clashing_refresh, None, b"x", T + 100)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(get_token(store, &old.hash).await, Some(old.clone()));

    // After the failures the rotation still works.
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &new, Some(&new_access), b"x", T + 100)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::Rotated
    );

    // An unknown token is an error, and stores nothing.
    let (ghost, _) = next_pair(&p, "ghost", &s);
    assert!(
        store
            .rotate_refresh(&hash(&format!("{p}-unknown")), &ghost, None, b"x", T)
            .await
            .is_err(),
        "rotating an unknown token is an error"
    );
    assert_eq!(get_token(store, &ghost.hash).await, None);
}

/// A rotation that lost the race with a revocation stores its tokens revoked,
/// so an ended session never comes back to life.
pub async fn rotate_refresh_after_revocation(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    assert!(store
        .end_session(&s.id, "logout", T + 90)
        .await
        .expect("end_session"));
    let (new, new_access) = next_pair(&p, "late", &s);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &new, Some(&new_access), b"late", T + 100)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::Rotated
    );
    for t in [&new, &new_access] {
        assert_eq!(
            get_token(store, &t.hash).await,
            Some(TokenRecord {
                revoked_at: Some(T + 100),
                ..t.clone()
            }),
            "tokens rotated into an ended session are stored revoked"
        );
    }

    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    assert!(store
        .revoke_token(&old.hash, T + 90)
        .await
        .expect("revoke_token"));
    let (new, _) = next_pair(&p, "late", &s);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &new, None, b"late", T + 100)
            .await
            .expect("rotate_refresh"),
        RotateOutcome::Rotated
    );
    assert_eq!(
        get_token(store, &new.hash).await.and_then(|t| t.revoked_at),
        Some(T + 100),
        "a token rotated from a revoked one is stored revoked"
    );
}

pub async fn concurrent_rotate_refresh(store: &dyn Store) {
    let p = prefix();
    let (s, old) = rotation_setup(store, &p).await;
    let pairs: Vec<(TokenRecord, TokenRecord)> = (0..ROTATION_RACERS)
        .map(|i| next_pair(&p, &format!("racer-{i}"), &s))
        .collect();
    let replays: Vec<Vec<u8>> = (0..ROTATION_RACERS)
        .map(|i| format!("sealed response {i}").into_bytes())
        .collect();
    let outcomes = join_all(
        pairs
            .iter()
            .zip(&replays)
            .map(|((new, access), replay)| {
                store.rotate_refresh(&old.hash, new, Some(access), replay, T + 100)
            })
            .collect(),
    )
    .await;
    let outcomes: Vec<RotateOutcome> = outcomes
        .into_iter()
        .map(|o| o.expect("concurrent rotate_refresh"))
        .collect();
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == RotateOutcome::Rotated)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one racer rotates: {outcomes:?}");
    let winner = winners[0];
    let stored_old = TokenRecord {
        rotated_at: Some(T + 100),
        replay: Some(replays[winner].clone()),
        ..old.clone()
    };
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winner {
            assert_eq!(
                *outcome,
                RotateOutcome::AlreadyRotated(Box::new(stored_old.clone())),
                "every other racer gets the winner's replay"
            );
        }
    }
    assert_eq!(get_token(store, &old.hash).await, Some(stored_old));
    let mut stored_refresh = 0;
    let mut stored_access = 0;
    for (new, access) in &pairs {
        stored_refresh += usize::from(get_token(store, &new.hash).await.is_some());
        stored_access += usize::from(get_token(store, &access.hash).await.is_some());
    }
    assert_eq!(
        (stored_refresh, stored_access),
        (1, 1),
        "the session did not fork: one new refresh token, one new access token"
    );
    assert_eq!(
        get_token(store, &pairs[winner].0.hash).await,
        Some(pairs[winner].0.clone())
    );
}

/// A code bound to everything: a redirect URI the client named, a nonce, S256.
fn auth_code(name: &str, client_id: &str, expires_at: UnixTime) -> AuthCode {
    AuthCode {
        hash: hash(name),
        client_id: client_id.to_string(),
        user_id: format!("{name}-user"),
        account_id: "4000000001".to_string(),
        redirect_uri: "https://app.example.com/cb?x=1&y='2'".to_string(),
        redirect_uri_sent: true,
        scope: "ReadAccounts SMS openid".to_string(),
        nonce: Some("n-0S6_WzA2Mj \"ünïcode\"".to_string()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()),
        code_challenge_method: Some("S256".to_string()),
        auth_time: expires_at - 300,
        created_at: expires_at - 60,
        expires_at,
        used_at: None,
        session_id: None,
    }
}

fn browser_session(name: &str, user_id: &str, expires_at: UnixTime) -> BrowserSession {
    BrowserSession {
        hash: hash(name),
        user_id: user_id.to_string(),
        auth_time: expires_at - 7200,
        created_at: expires_at - 3600,
        expires_at,
    }
}

async fn get_browser_session(store: &dyn Store, hash: &[u8; 32]) -> Option<BrowserSession> {
    store
        .get_browser_session(hash)
        .await
        .expect("get_browser_session")
}

async fn consume(store: &dyn Store, hash: &[u8; 32], now: UnixTime) -> CodeUse {
    store.consume_code(hash, now).await.expect("consume_code")
}

fn used(code: &AuthCode, at: UnixTime) -> AuthCode {
    AuthCode {
        used_at: Some(at),
        ..code.clone()
    }
}

pub async fn auth_codes(store: &dyn Store) {
    let p = prefix();
    let client = format!("{p}-app");
    let unknown = hash(&format!("{p}-unknown"));
    assert_eq!(
        consume(store, &unknown, T).await,
        CodeUse::Unknown,
        "an unknown code is Unknown"
    );
    store
        .set_code_session(&unknown, &format!("{p}-session"))
        .await
        .expect("setting the session of an unknown code is not an error");
    assert_eq!(
        consume(store, &unknown, T).await,
        CodeUse::Unknown,
        "neither consume_code nor set_code_session creates a code"
    );

    let full = auth_code(&format!("{p}-full"), &client, T + 600);
    let bare = AuthCode {
        redirect_uri_sent: false,
        scope: String::new(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        ..auth_code(&format!("{p}-bare"), &client, T + 600)
    };
    let plain = AuthCode {
        code_challenge: Some("a plain verifier, ~._-".to_string()),
        code_challenge_method: Some("plain".to_string()),
        ..auth_code(&format!("{p}-plain"), &client, T + 600)
    };
    let born_used = AuthCode {
        used_at: Some(T + 5),
        session_id: Some(format!("{p}-born-session")),
        ..auth_code(&format!("{p}-born-used"), &client, T + 600)
    };
    let expired = auth_code(&format!("{p}-expired"), &client, T - 1);
    for c in [&full, &bare, &plain, &born_used, &expired] {
        store.insert_code(c).await.expect("insert_code");
    }
    let impostor = AuthCode {
        client_id: format!("{p}-impostor"),
        ..bare.clone()
    };
    assert!(
        matches!(
            store.insert_code(&impostor).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate code hash is a conflict"
    );

    // The first use wins and sees every field as stored (so the refused
    // insert changed nothing); later uses see the first one's time.
    assert_eq!(
        consume(store, &full.hash, T + 100).await,
        CodeUse::Fresh(Box::new(used(&full, T + 100))),
        "the first use is Fresh, with used_at = now and every field round-tripped"
    );
    assert_eq!(
        consume(store, &full.hash, T + 200).await,
        CodeUse::Replayed(Box::new(used(&full, T + 100))),
        "a second use is Replayed and keeps the first use's time"
    );
    let session_id = format!("{p}-session");
    assert!(
        store
            .set_code_session(&full.hash, &session_id)
            .await
            .expect("set_code_session"),
        "set_code_session reports that the code was presented again meanwhile"
    );
    let with_session = AuthCode {
        session_id: Some(session_id.clone()),
        ..used(&full, T + 100)
    };
    assert_eq!(
        consume(store, &full.hash, T + 300).await,
        CodeUse::Replayed(Box::new(with_session)),
        "a replay sees the session the first exchange opened"
    );

    assert_eq!(
        consume(store, &bare.hash, T + 101).await,
        CodeUse::Fresh(Box::new(used(&bare, T + 101))),
        "absent optional fields round-trip; using one code leaves the others unused"
    );
    assert_eq!(
        consume(store, &plain.hash, T + 102).await,
        CodeUse::Fresh(Box::new(used(&plain, T + 102)))
    );
    assert_eq!(
        consume(store, &born_used.hash, T + 103).await,
        CodeUse::Replayed(Box::new(born_used.clone())),
        "a code stored used is Replayed"
    );
    assert_eq!(
        consume(store, &expired.hash, T + 104).await,
        CodeUse::Fresh(Box::new(used(&expired, T + 104))),
        "the store does not judge expiry (the caller does); purge_expired removes expired codes"
    );
    assert!(
        !store
            .set_code_session(&bare.hash, &format!("{p}-other-session"))
            .await
            .expect("set_code_session"),
        "a code used once has not been replayed"
    );
    assert_eq!(
        consume(store, &plain.hash, T + 400).await,
        CodeUse::Replayed(Box::new(used(&plain, T + 102))),
        "set_code_session touches only its code"
    );
}

pub async fn concurrent_consume_code(store: &dyn Store) {
    let p = prefix();
    let code = auth_code(&format!("{p}-raced"), &format!("{p}-app"), T + 600);
    store.insert_code(&code).await.expect("insert_code");
    // Each racer uses its own time, so the winner is recognisable.
    let outcomes = join_all(
        (0..CODE_RACERS)
            .map(|i| store.consume_code(&code.hash, T + 100 + i as UnixTime))
            .collect(),
    )
    .await;
    let outcomes: Vec<CodeUse> = outcomes
        .into_iter()
        .map(|o| o.expect("concurrent consume_code"))
        .collect();
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, CodeUse::Fresh(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one racer gets the code Fresh: {outcomes:?}"
    );
    let winner = winners[0];
    let won = used(&code, T + 100 + winner as UnixTime);
    assert_eq!(outcomes[winner], CodeUse::Fresh(Box::new(won.clone())));
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winner {
            assert_eq!(
                *outcome,
                CodeUse::Replayed(Box::new(won.clone())),
                "every other racer sees it Replayed, used at the winner's time"
            );
        }
    }
    assert_eq!(
        consume(store, &code.hash, T + 1000).await,
        CodeUse::Replayed(Box::new(won))
    );
}

pub async fn consents(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let other_user = format!("{p}-other-user");
    let app = format!("{p}-app");
    let app_2 = format!("{p}-app-2");
    let get = |user_id: &str, client_id: &str| {
        let (user_id, client_id) = (user_id.to_string(), client_id.to_string());
        async move {
            store
                .get_consent(&user_id, &client_id)
                .await
                .expect("get_consent")
        }
    };
    let list = |user_id: &str| {
        let user_id = user_id.to_string();
        async move {
            let mut v = store.list_consents(&user_id).await.expect("list_consents");
            v.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            v
        }
    };
    let consent = |user_id: &str, client_id: &str, scope: &str, granted_at: UnixTime| Consent {
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        granted_at,
    };

    assert_eq!(get(&user, &app).await, None);
    assert!(
        list(&user).await.is_empty(),
        "a user who never consented has no consents"
    );

    let first = consent(&user, &app, "ReadAccounts SMS", T);
    let empty = consent(&user, &app_2, "", T + 1);
    let others = consent(&other_user, &app, "openid — ünïcode", T + 2);
    for c in [&first, &empty, &others] {
        store.put_consent(c).await.expect("put_consent");
        assert_eq!(
            get(&c.user_id, &c.client_id).await,
            Some(c.clone()),
            "every field of a consent round-trips"
        );
    }
    assert_eq!(
        list(&user).await,
        vec![first.clone(), empty.clone()],
        "a user's consents, and only theirs"
    );

    // Putting again replaces (an upsert, never a conflict).
    let narrower = consent(&user, &app, "ReadAccounts", T + 10);
    store.put_consent(&narrower).await.expect("put_consent");
    assert_eq!(
        get(&user, &app).await,
        Some(narrower.clone()),
        "put_consent replaces the scope and the time"
    );
    assert_eq!(
        list(&user).await,
        vec![narrower.clone(), empty.clone()],
        "replacing does not add a consent"
    );
    assert_eq!(
        get(&other_user, &app).await,
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
    assert_eq!(get(&user, &app).await, None);
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
    assert_eq!(list(&user).await, vec![empty.clone()]);
    assert_eq!(
        get(&other_user, &app).await,
        Some(others),
        "a delete touches only its consent"
    );
    store
        .put_consent(&first)
        .await
        .expect("consenting again after a delete");
    assert_eq!(list(&user).await, vec![first, empty]);
}

pub async fn browser_sessions(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let first = browser_session(&format!("{p}-first"), &user, T + 86_400);
    let second = browser_session(&format!("{p}-second"), &user, T + 3600);
    let others = browser_session(&format!("{p}-others"), &format!("{p}-other-user"), T + 60);
    assert_eq!(get_browser_session(store, &first.hash).await, None);
    for b in [&first, &second, &others] {
        store
            .insert_browser_session(b)
            .await
            .expect("insert_browser_session");
        assert_eq!(
            get_browser_session(store, &b.hash).await,
            Some(b.clone()),
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
            Err(StoreError::Conflict(_))
        ),
        "a duplicate browser session hash is a conflict"
    );
    assert_eq!(
        get_browser_session(store, &first.hash).await,
        Some(first.clone()),
        "a refused insert changes nothing"
    );

    store
        .delete_browser_session(&first.hash)
        .await
        .expect("delete_browser_session");
    assert_eq!(get_browser_session(store, &first.hash).await, None);
    for b in [&second, &others] {
        assert_eq!(
            get_browser_session(store, &b.hash).await,
            Some(b.clone()),
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
    assert_eq!(get_browser_session(store, &first.hash).await, Some(first));
}

pub async fn end_user_sessions(store: &dyn Store) {
    let p = prefix();
    let user = format!("{p}-user");
    let other = format!("{p}-other");
    for (i, (u, c)) in [(&user, "a"), (&user, "b"), (&other, "a")]
        .iter()
        .enumerate()
    {
        let s = session(&format!("{p}-s{i}"), u, &format!("{p}-{c}"), T + i as i64);
        store
            .open_session(&s, 5, T + i as i64)
            .await
            .expect("open_session");
    }
    assert_eq!(
        store
            .end_user_sessions(&user, "user disabled", T + 10)
            .await
            .expect("end_user_sessions"),
        2
    );
    for i in 0..2 {
        let s = store
            .get_session(&format!("{p}-s{i}"))
            .await
            .expect("get_session")
            .expect("session");
        assert_eq!(s.ended_at, Some(T + 10));
        assert_eq!(s.end_reason.as_deref(), Some("user disabled"));
    }
    let s = store
        .get_session(&format!("{p}-s2"))
        .await
        .expect("get_session")
        .expect("session");
    assert_eq!(s.ended_at, None, "other users' sessions go on");
    assert_eq!(
        store
            .end_user_sessions(&user, "again", T + 11)
            .await
            .expect("end_user_sessions"),
        0
    );
}

/// Many inserts at once (a backend may batch them): each is answered for
/// itself, a duplicate among them fails alone, and all the others are stored.
pub async fn concurrent_token_inserts(store: &dyn Store) {
    let p = prefix();
    let mut tokens: Vec<TokenRecord> = (0..150)
        .map(|i| token(&format!("{p}-many-{i}"), &format!("{p}-app"), T + 3600))
        .collect();
    tokens.push(tokens[7].clone());
    let results = join_all(tokens.iter().map(|t| store.insert_token(t)).collect()).await;
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed.len(), 1, "exactly the duplicate fails: {failed:?}");
    assert!(failed[0] == 7 || failed[0] == 150);
    assert!(matches!(results[failed[0]], Err(StoreError::Conflict(_))));
    for t in &tokens[..150] {
        assert_eq!(
            store.get_token(&t.hash).await.expect("get_token").as_ref(),
            Some(t)
        );
    }
}
