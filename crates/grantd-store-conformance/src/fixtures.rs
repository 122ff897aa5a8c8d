//! What the checks share: times, prefixed ids, a builder per record, short getters, and the racing helper.

use grantd_core::clock::UnixTime;
use grantd_core::crypto::{random_chars, random_id, sha256};
use grantd_core::model::{
    AccessTokenFormat, Account, App, AuthCode, BrowserSession, DeviceCode, DeviceStatus,
    Distribution, ExchangePolicy, JwtCredential, Role, Session, TokenKind, TokenRecord, User,
    UserStatus,
};
use grantd_core::rate_limits::AppRateLimits;
use grantd_core::store::{Change, NewSession, SessionCap, SessionOpened, Store};
use grantd_protocol::device::UserCode;
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// A time for records that stay live through a check (2023-11-14).
pub(crate) const T: UnixTime = 1_700_000_000;
/// The cut-off of the purge checks (2001-09-09); only they write rows that expire before it.
pub(crate) const PURGE_BEFORE: UnixTime = 1_000_000_000;
/// A cap no check reaches, for sessions that must all stay.
pub(crate) const NO_CAP: SessionCap = SessionCap { max_active: 1000 };
/// The longest one racer may take; past it the race is stuck, not slow.
const RACER_TIMEOUT: Duration = Duration::from_secs(60);

/// A prefix unique to one run of one check, so its records are its own.
pub(crate) fn prefix() -> String {
    format!("conf-{}", random_id(8))
}

pub(crate) fn hash(s: &str) -> [u8; 32] {
    sha256(s.as_bytes())
}

/// Eight random decimal digits (phone numbers unique to one run of a check).
pub(crate) fn random_digits() -> String {
    sha256(random_id(8).as_bytes())
        .iter()
        .take(8)
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

pub(crate) fn account(id: &str, name: &str, created_at: UnixTime) -> Account {
    Account {
        id: id.to_string(),
        name: name.to_string(),
        created_at,
    }
}

/// Apps and users need their account to exist (a backend may enforce it).
pub(crate) async fn setup_account(store: &dyn Store, id: &str) {
    store
        .insert_account(&account(id, "Owner", T))
        .await
        .expect("insert_account");
}

fn uri(s: &str) -> RedirectUri {
    RedirectUri::parse(s).expect("a valid redirect URI")
}

pub(crate) fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).expect("valid scopes")
}

/// A confidential app with every optional field set, as stored (revision 1).
pub(crate) fn full_app(client_id: &str, account_id: &str) -> App {
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
        rate_limits: AppRateLimits::parse([("auth", "10/60"), ("light", "off")])
            .expect("valid rate limits"),
        token_exchange: Some(exchange_policy()),
        allowed_origins: vec!["https://app.example.com".into()],
        jwks: None,
        jwks_uri: Some("https://keys.example.com/jwks.json?tenant='a'&v=2".into()),
        security: grantd_core::model::AppSecurity {
            require_par: true,
            require_dpop: false,
            require_signed_request_object: true,
            profile: Some(grantd_core::model::Profile::Fapi2),
        },
        links: grantd_core::model::AppLinks {
            post_logout_redirect_uris: vec!["https://app.example.com/bye?x='1'".into()],
            backchannel_logout_uri: Some("https://app.example.com/backchannel".into()),
            backchannel_logout_session_required: true,
            resource_uris: vec!["https://api.example.com/".into(), "urn:example:api".into()],
        },
        secret_hash: Some(hash(client_id)),
        created_at: T,
        updated_at: T + 1,
        revision: 1,
    }
}

/// A token exchange policy with every field set.
pub(crate) fn exchange_policy() -> ExchangePolicy {
    ExchangePolicy {
        allowed_subject_apps: vec!["front-end".to_string(), "Zoë's \"app\"".to_string()],
        audiences: vec!["billing-api".to_string()],
        max_scope: Some(scopes("ReadAccounts team:write")),
    }
}

/// A public app with every optional field empty, as stored (revision 1).
pub(crate) fn bare_app(client_id: &str, account_id: &str) -> App {
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
        rate_limits: Default::default(),
        token_exchange: None,
        allowed_origins: Vec::new(),
        jwks: None,
        jwks_uri: None,
        security: Default::default(),
        links: Default::default(),
        secret_hash: None,
        created_at: T + 2,
        updated_at: T + 2,
        revision: 1,
    }
}

/// A refresh token outside any stored session.
pub(crate) fn token(id: &str, client_id: &str, expires_at: UnixTime) -> TokenRecord {
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
        exchange: None,
    }
}

/// A user with every optional field set (the email as core stores it: lower case).
pub(crate) fn full_user(id: &str, account_id: &str) -> User {
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
pub(crate) fn bare_user(id: &str, account_id: &str) -> User {
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

pub(crate) fn jwt_credential(id: &str, user_id: &str) -> JwtCredential {
    JwtCredential {
        id: id.to_string(),
        user_id: user_id.to_string(),
        account_id: "4000000001".to_string(),
        label: "CI \"deploy\" bot — ünïcode".to_string(),
        allowed_apps: None,
        expires_at: None,
        created_at: T,
        revoked_at: None,
    }
}

pub(crate) fn session(id: &str, user_id: &str, client_id: &str, created_at: UnixTime) -> Session {
    Session {
        id: id.to_string(),
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        account_id: "4000000001".to_string(),
        scope: "ReadAccounts SMS".to_string(),
        created_at,
        ended_at: None,
        end_reason: None,
        credential_id: None,
        endpoint_id: Some(format!("endpoint-{id}")),
        sid: None,
        resources: vec![],
    }
}

/// A token of `kind` in `session`.
pub(crate) fn session_token(id: &str, kind: TokenKind, session: &Session) -> TokenRecord {
    TokenRecord {
        kind,
        subject: session.user_id.clone(),
        client_id: session.client_id.clone(),
        session_id: Some(session.id.clone()),
        ..token(id, &session.client_id, T + 3600)
    }
}

/// The first pair of `session`: a refresh token paired with an opaque
/// access token, named after the session.
pub(crate) fn first_pair(session: &Session) -> Vec<TokenRecord> {
    let access = session_token(
        &format!("{}-access", session.id),
        TokenKind::Access,
        session,
    );
    let refresh = TokenRecord {
        pair_access_id: Some(access.id.clone()),
        pair_access_expires_at: Some(access.expires_at),
        ..session_token(
            &format!("{}-refresh", session.id),
            TokenKind::Refresh,
            session,
        )
    };
    vec![refresh, access]
}

/// The session with its first pair, opened by no code.
pub(crate) fn new_session(session: &Session) -> NewSession {
    NewSession {
        tokens: first_pair(session),
        session: session.clone(),
        code: None,
        device_code: None,
    }
}

/// Opens `new`, which must not be refused, and returns the sessions the cap ended.
pub(crate) async fn open(
    store: &dyn Store,
    new: &NewSession,
    cap: SessionCap,
    now: UnixTime,
) -> Vec<String> {
    match store
        .open_session(new, &cap, now)
        .await
        .expect("open_session")
    {
        SessionOpened::Opened { evicted } => evicted,
        refused => panic!("open_session answered {refused:?}"),
    }
}

/// A code bound to everything: a redirect URI the client named, a nonce, S256.
pub(crate) fn auth_code(name: &str, client_id: &str, expires_at: UnixTime) -> AuthCode {
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
        sid: Some(format!("sid-{name}")),
        resources: vec!["https://api.example.com/".into(), "urn:example:api".into()],
    }
}

/// A pending device code, never polled, with a random user code.
pub(crate) fn device_code(name: &str, client_id: &str, expires_at: UnixTime) -> DeviceCode {
    DeviceCode {
        hash: hash(name),
        user_code: random_chars(UserCode::ALPHABET, UserCode::LEN),
        client_id: client_id.to_string(),
        scope: "ReadAccounts SMS openid".to_string(),
        interval: 5,
        created_at: expires_at - 600,
        expires_at,
        last_polled_at: None,
        status: DeviceStatus::Pending,
        user_id: None,
        auth_time: None,
        decided_at: None,
        session_id: None,
    }
}

pub(crate) async fn find_device_code(store: &dyn Store, user_code: &str) -> Option<DeviceCode> {
    store
        .find_device_code(user_code)
        .await
        .expect("find_device_code")
}

pub(crate) fn browser_session(name: &str, user_id: &str, expires_at: UnixTime) -> BrowserSession {
    BrowserSession {
        hash: hash(name),
        user_id: user_id.to_string(),
        auth_time: expires_at - 7200,
        created_at: expires_at - 3600,
        expires_at,
    }
}

pub(crate) async fn get_token(store: &dyn Store, hash: &[u8; 32]) -> Option<TokenRecord> {
    store.get_token(hash).await.expect("get_token")
}

pub(crate) async fn get_session(store: &dyn Store, id: &str) -> Option<Session> {
    store.get_session(id).await.expect("get_session")
}

pub(crate) async fn get_app(store: &dyn Store, client_id: &str) -> Option<App> {
    store.get_app(client_id).await.expect("get_app")
}

/// `token` as ending its session at `at` leaves it.
pub(crate) fn revoked(token: &TokenRecord, at: UnixTime) -> TokenRecord {
    TokenRecord {
        revoked_at: Some(at),
        ..token.clone()
    }
}

/// Polls every future on the current task until all are done (no spawning,
/// so they may borrow; the store still has them all in flight at once).
pub(crate) async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
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

/// Runs the futures at once, each polled on a thread of its own and released
/// together, and returns their outputs in order. Threads rather than one
/// task, so a backend's in-process locking is raced too; scoped threads, so
/// the futures may borrow the store. On a current-thread runtime (a caller
/// running a check under a plain `#[tokio::test]`) it falls back to [`join_all`].
pub(crate) async fn race<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = tokio::runtime::Handle::current();
    if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
        return join_all(futures).await;
    }
    tokio::task::block_in_place(|| {
        let start = std::sync::Barrier::new(futures.len());
        std::thread::scope(|scope| {
            let racers: Vec<_> = futures
                .into_iter()
                .map(|future| {
                    let (runtime, start) = (&runtime, &start);
                    scope.spawn(move || {
                        start.wait();
                        // The timer is made inside the runtime, which it needs.
                        runtime
                            .block_on(async { tokio::time::timeout(RACER_TIMEOUT, future).await })
                            .unwrap_or_else(|_| {
                                panic!("a racer did not finish in {RACER_TIMEOUT:?} (deadlock?)")
                            })
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|racer| {
                    racer
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    })
}

/// How long a notification may take to arrive (another connection relays it).
const CHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for the notification `wanted` (a `Resync`, or missed ones, stand
/// for any), passing over others (another check's, on a shared database).
pub(crate) async fn expect_change(
    changes: &mut tokio::sync::broadcast::Receiver<Change>,
    wanted: &Change,
    after: &str,
) {
    use tokio::sync::broadcast::error::RecvError;
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(change) if change == *wanted || change == Change::Resync => return,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => panic!("the change feed closed"),
            }
        }
    };
    if tokio::time::timeout(CHANGE_TIMEOUT, wait).await.is_err() {
        panic!("no {wanted:?} within {CHANGE_TIMEOUT:?} after {after}");
    }
}
