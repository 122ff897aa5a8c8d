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
    AccessTokenFormat, Account, App, Distribution, SigningAlg, StoredKey, TokenKind, TokenRecord,
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

/// Runs every check against `store`.
pub async fn run_all(store: &dyn Store) {
    ping(store).await;
    settings(store).await;
    concurrent_settings(store).await;
    accounts(store).await;
    apps(store).await;
    delete_app_deletes_tokens(store).await;
    keys(store).await;
    tokens(store).await;
    revoked_jtis(store).await;
    concurrent_writes_and_reads(store).await;
    purge(store).await;
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

    store
        .delete_key(&active_before.kid)
        .await
        .expect("delete_key");
    store
        .delete_key(&format!("{p}-never-existed"))
        .await
        .expect("deleting an unknown key is not an error");
    let after = ours(store.list_keys().await.expect("list_keys"));
    assert_eq!(after, vec![already_retired, newest]);
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
    for t in [&full, &bare, &born_revoked] {
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

    assert_eq!(
        store
            .purge_expired(PURGE_BEFORE)
            .await
            .expect("purge_expired"),
        3,
        "two tokens and one jti expired strictly before the cut-off"
    );
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
