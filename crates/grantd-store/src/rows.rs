//! Reading rows back into grantd's records, once for every SQL backend: the
//! column lists both schemas share and the decoders, written over [`Cols`].

use crate::codec::{self, corrupt};
use grantd_core::model::{
    Account, App, AuthCode, BrowserSession, Consent, DeviceCode, ExchangeClaims, JwtCredential,
    LoginState, PushedRequest, Registration, RegistrationToken, Session, StoredKey, TokenRecord,
    User,
};
use grantd_core::store::{CounterTotal, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

/// A column type every driver decodes (text, integers, flags, bytes and
/// their `Option`s): sqlx for both backends, rusqlite for SQLite's direct
/// reads.
pub(crate) trait Value:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + rusqlite::types::FromSql
{
}

impl<T> Value for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + rusqlite::types::FromSql
{
}

pub(crate) const PUSHED_COLUMNS: &str = "hash, client_id, params, created_at, expires_at, used_at";

pub(crate) fn pushed_request(row: &impl Cols) -> StoreResult<PushedRequest> {
    let w = "pushed request";
    Ok(PushedRequest {
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        client_id: row.col(w, "client_id")?,
        params: row.col(w, "params")?,
        created_at: row.col(w, "created_at")?,
        expires_at: row.col(w, "expires_at")?,
        used_at: row.col(w, "used_at")?,
    })
}

pub(crate) const REGISTRATION_TOKEN_COLUMNS: &str =
    "id, label, hash, created_at, expires_at, max_uses, uses, revoked_at";

pub(crate) fn registration_token(row: &impl Cols) -> StoreResult<RegistrationToken> {
    let w = "registration token";
    Ok(RegistrationToken {
        id: row.col(w, "id")?,
        label: row.col(w, "label")?,
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        created_at: row.col(w, "created_at")?,
        expires_at: row.col(w, "expires_at")?,
        max_uses: row.col(w, "max_uses")?,
        uses: row.col(w, "uses")?,
        revoked_at: row.col(w, "revoked_at")?,
    })
}

pub(crate) const REGISTRATION_COLUMNS: &str = "client_id, token_hash, metadata, initial_token_id, \
     initial_token_label, created_at, updated_at";

pub(crate) fn registration(row: &impl Cols) -> StoreResult<Registration> {
    let w = "client registration";
    Ok(Registration {
        client_id: row.col(w, "client_id")?,
        token_hash: codec::digest(w, "token_hash", &row.col::<Vec<u8>>(w, "token_hash")?)?,
        metadata: row.col(w, "metadata")?,
        initial_token_id: row.col(w, "initial_token_id")?,
        initial_token_label: row.col(w, "initial_token_label")?,
        created_at: row.col(w, "created_at")?,
        updated_at: row.col(w, "updated_at")?,
    })
}

/// A row of any backend, read column by column.
pub(crate) trait Cols {
    /// Column `column` of a row of `what`, or an error saying the row is corrupt.
    fn col<T: Value>(&self, what: &str, column: &str) -> StoreResult<T>;
}

impl Cols for SqliteRow {
    fn col<T: Value>(&self, what: &str, column: &str) -> StoreResult<T> {
        self.try_get(column).map_err(|e| corrupt(what, column, e))
    }
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: Value>(&self, what: &str, column: &str) -> StoreResult<T> {
        self.get(column).map_err(|e| corrupt(what, column, e))
    }
}

impl Cols for PgRow {
    fn col<T: Value>(&self, what: &str, column: &str) -> StoreResult<T> {
        self.try_get(column).map_err(|e| corrupt(what, column, e))
    }
}

pub(crate) const ACCOUNT_COLUMNS: &str = "id, name, created_at";

pub(crate) fn account(row: &impl Cols) -> StoreResult<Account> {
    let id: String = row.col("account", "id")?;
    let w = &format!("account {id}");
    Ok(Account {
        name: row.col(w, "name")?,
        created_at: row.col(w, "created_at")?,
        id,
    })
}

/// The app's columns, in the order the backends bind an app's fields
/// (numbered parameters, so one binder serves insert and update).
pub(crate) const APP_COLUMNS: &str = "client_id, account_id, name, platform_type, grants, \
     redirect_uris, scopes, distribution, issue_refresh_tokens, access_token_ttl, \
     refresh_token_ttl, access_token_format, allow_plain_pkce, resource_server, secret_hash, \
     created_at, updated_at, revision, rate_limits, token_exchange, allowed_origins, jwks, jwks_uri, \
     security, links";

pub(crate) fn app(row: &impl Cols) -> StoreResult<App> {
    let client_id: String = row.col("app", "client_id")?;
    let w = &format!("app {client_id}");
    let secret_hash: Option<Vec<u8>> = row.col(w, "secret_hash")?;
    Ok(App {
        account_id: row.col(w, "account_id")?,
        name: row.col(w, "name")?,
        platform_type: codec::platform_type(w, &row.col::<String>(w, "platform_type")?)?,
        grants: codec::grants_from_json(w, &row.col::<String>(w, "grants")?)?,
        redirect_uris: codec::redirect_uris_from_json(w, &row.col::<String>(w, "redirect_uris")?)?,
        scopes: codec::scopes_from_json(w, &row.col::<String>(w, "scopes")?)?,
        distribution: codec::distribution(w, &row.col::<String>(w, "distribution")?)?,
        issue_refresh_tokens: row.col(w, "issue_refresh_tokens")?,
        access_token_ttl: codec::ttl_from_db(
            w,
            "access_token_ttl",
            row.col(w, "access_token_ttl")?,
        )?,
        refresh_token_ttl: codec::ttl_from_db(
            w,
            "refresh_token_ttl",
            row.col(w, "refresh_token_ttl")?,
        )?,
        access_token_format: codec::access_token_format(
            w,
            &row.col::<String>(w, "access_token_format")?,
        )?,
        allow_plain_pkce: row.col(w, "allow_plain_pkce")?,
        resource_server: row.col(w, "resource_server")?,
        rate_limits: codec::rate_limits_from_json(w, &row.col::<String>(w, "rate_limits")?)?,
        token_exchange: codec::exchange_policy_from_json(
            w,
            row.col::<Option<String>>(w, "token_exchange")?.as_deref(),
        )?,
        allowed_origins: codec::origins_from_json(w, &row.col::<String>(w, "allowed_origins")?)?,
        jwks: codec::jwks_from_json(w, row.col::<Option<String>>(w, "jwks")?.as_deref())?,
        jwks_uri: row.col(w, "jwks_uri")?,
        security: codec::security_from_json(w, &row.col::<String>(w, "security")?)?,
        links: codec::links_from_json(w, &row.col::<String>(w, "links")?)?,
        secret_hash: secret_hash
            .map(|h| codec::digest(w, "secret_hash", &h))
            .transpose()?,
        created_at: row.col(w, "created_at")?,
        updated_at: row.col(w, "updated_at")?,
        revision: row.col(w, "revision")?,
        client_id,
    })
}

pub(crate) const KEY_COLUMNS: &str = "kid, alg, public_jwk, sealed_private, created_at, retired_at";

pub(crate) fn key(row: &impl Cols) -> StoreResult<StoredKey> {
    let kid: String = row.col("signing key", "kid")?;
    let w = &format!("signing key {kid}");
    Ok(StoredKey {
        alg: codec::signing_alg(w, &row.col::<String>(w, "alg")?)?,
        public_jwk: row.col(w, "public_jwk")?,
        sealed_private: row.col(w, "sealed_private")?,
        created_at: row.col(w, "created_at")?,
        retired_at: row.col(w, "retired_at")?,
        kid,
    })
}

pub(crate) const TOKEN_COLUMNS: &str =
    "hash, kind, id, client_id, subject, account_id, session_id, scope, \
     issued_at, expires_at, revoked_at, rotated_at, replay, pair_access_id, pair_access_expires_at, \
     audience, act";

pub(crate) fn token(row: &impl Cols) -> StoreResult<TokenRecord> {
    let id: String = row.col("token", "id")?;
    let w = &format!("token {id}");
    let audience: Option<String> = row.col(w, "audience")?;
    let act = codec::actor_from_json(w, row.col::<Option<String>>(w, "act")?.as_deref())?;
    Ok(TokenRecord {
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        kind: codec::token_kind(w, &row.col::<String>(w, "kind")?)?,
        client_id: row.col(w, "client_id")?,
        subject: row.col(w, "subject")?,
        account_id: row.col(w, "account_id")?,
        session_id: row.col(w, "session_id")?,
        scope: row.col(w, "scope")?,
        issued_at: row.col(w, "issued_at")?,
        expires_at: row.col(w, "expires_at")?,
        revoked_at: row.col(w, "revoked_at")?,
        rotated_at: row.col(w, "rotated_at")?,
        replay: row.col(w, "replay")?,
        pair_access_id: row.col(w, "pair_access_id")?,
        pair_access_expires_at: row.col(w, "pair_access_expires_at")?,
        exchange: (audience.is_some() || act.is_some()).then_some(ExchangeClaims { audience, act }),
        id,
    })
}

pub(crate) const USER_COLUMNS: &str = "id, account_id, email, phone, extension_number, name, \
     role, status, password_hash, created_at";

pub(crate) fn user(row: &impl Cols) -> StoreResult<User> {
    let id: String = row.col("user", "id")?;
    let w = &format!("user {id}");
    Ok(User {
        account_id: row.col(w, "account_id")?,
        email: row.col(w, "email")?,
        phone: row.col(w, "phone")?,
        extension_number: row.col(w, "extension_number")?,
        name: row.col(w, "name")?,
        role: codec::role(w, &row.col::<String>(w, "role")?)?,
        status: codec::user_status(w, &row.col::<String>(w, "status")?)?,
        password_hash: row.col(w, "password_hash")?,
        created_at: row.col(w, "created_at")?,
        id,
    })
}

pub(crate) const LOGIN_STATE_COLUMNS: &str = "failures, window_started_at, locked_until";

pub(crate) fn login_state(row: &impl Cols, user_id: &str) -> StoreResult<LoginState> {
    let w = &format!("login failures of user {user_id}");
    Ok(LoginState {
        failures: codec::count_from_db(w, "failures", row.col(w, "failures")?)?,
        window_started_at: row.col(w, "window_started_at")?,
        locked_until: row.col(w, "locked_until")?,
    })
}

pub(crate) const JWT_CREDENTIAL_COLUMNS: &str =
    "id, user_id, account_id, label, allowed_apps, expires_at, created_at, revoked_at";

pub(crate) fn jwt_credential(row: &impl Cols) -> StoreResult<JwtCredential> {
    let id: String = row.col("JWT credential", "id")?;
    let w = &format!("JWT credential {id}");
    let allowed_apps: Option<String> = row.col(w, "allowed_apps")?;
    Ok(JwtCredential {
        user_id: row.col(w, "user_id")?,
        account_id: row.col(w, "account_id")?,
        label: row.col(w, "label")?,
        allowed_apps: allowed_apps
            .map(|json| codec::strings_from_json(w, "allowed_apps", &json))
            .transpose()?,
        expires_at: row.col(w, "expires_at")?,
        created_at: row.col(w, "created_at")?,
        revoked_at: row.col(w, "revoked_at")?,
        id,
    })
}

pub(crate) const SESSION_COLUMNS: &str = "id, user_id, client_id, account_id, scope, created_at, \
     ended_at, end_reason, credential_id, endpoint_id, sid, resources";

pub(crate) fn session(row: &impl Cols) -> StoreResult<Session> {
    let id: String = row.col("session", "id")?;
    let w = &format!("session {id}");
    Ok(Session {
        user_id: row.col(w, "user_id")?,
        client_id: row.col(w, "client_id")?,
        account_id: row.col(w, "account_id")?,
        scope: row.col(w, "scope")?,
        created_at: row.col(w, "created_at")?,
        ended_at: row.col(w, "ended_at")?,
        end_reason: row.col(w, "end_reason")?,
        credential_id: row.col(w, "credential_id")?,
        endpoint_id: row.col(w, "endpoint_id")?,
        sid: row.col(w, "sid")?,
        resources: codec::resources_from_json(w, row.col::<Option<String>>(w, "resources")?)?,
        id,
    })
}

pub(crate) const AUTH_CODE_COLUMNS: &str = "hash, client_id, user_id, account_id, redirect_uri, \
     redirect_uri_sent, scope, nonce, code_challenge, code_challenge_method, auth_time, \
     created_at, expires_at, used_at, session_id, sid, resources";

/// Names a code in errors by its app, never by its value or hash.
pub(crate) fn auth_code(row: &impl Cols) -> StoreResult<AuthCode> {
    let client_id: String = row.col("authorization code", "client_id")?;
    let w = &format!("authorization code of app {client_id}");
    Ok(AuthCode {
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        user_id: row.col(w, "user_id")?,
        account_id: row.col(w, "account_id")?,
        redirect_uri: row.col(w, "redirect_uri")?,
        redirect_uri_sent: row.col(w, "redirect_uri_sent")?,
        scope: row.col(w, "scope")?,
        nonce: row.col(w, "nonce")?,
        code_challenge: row.col(w, "code_challenge")?,
        code_challenge_method: row.col(w, "code_challenge_method")?,
        auth_time: row.col(w, "auth_time")?,
        created_at: row.col(w, "created_at")?,
        expires_at: row.col(w, "expires_at")?,
        used_at: row.col(w, "used_at")?,
        session_id: row.col(w, "session_id")?,
        sid: row.col(w, "sid")?,
        resources: codec::resources_from_json(w, row.col::<Option<String>>(w, "resources")?)?,
        client_id,
    })
}

/// The device code's columns, in the order the backends bind its fields.
pub(crate) const DEVICE_CODE_COLUMNS: &str = "hash, user_code, client_id, scope, poll_interval, \
     created_at, expires_at, last_polled_at, status, user_id, auth_time, decided_at, session_id";

/// Names a device code in errors by its app, never by its codes or hash.
pub(crate) fn device_code(row: &impl Cols) -> StoreResult<DeviceCode> {
    let client_id: String = row.col("device code", "client_id")?;
    let w = &format!("device code of app {client_id}");
    Ok(DeviceCode {
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        user_code: row.col(w, "user_code")?,
        scope: row.col(w, "scope")?,
        interval: row.col(w, "poll_interval")?,
        created_at: row.col(w, "created_at")?,
        expires_at: row.col(w, "expires_at")?,
        last_polled_at: row.col(w, "last_polled_at")?,
        status: codec::device_status(w, &row.col::<String>(w, "status")?)?,
        user_id: row.col(w, "user_id")?,
        auth_time: row.col(w, "auth_time")?,
        decided_at: row.col(w, "decided_at")?,
        session_id: row.col(w, "session_id")?,
        client_id,
    })
}

pub(crate) const CONSENT_COLUMNS: &str = "user_id, client_id, scope, granted_at";

pub(crate) fn consent(row: &impl Cols) -> StoreResult<Consent> {
    let user_id: String = row.col("consent", "user_id")?;
    let client_id: String = row.col("consent", "client_id")?;
    let w = &format!("consent of user {user_id} to app {client_id}");
    Ok(Consent {
        scope: row.col(w, "scope")?,
        granted_at: row.col(w, "granted_at")?,
        user_id,
        client_id,
    })
}

pub(crate) const BROWSER_SESSION_COLUMNS: &str = "hash, user_id, auth_time, created_at, expires_at";

/// Names a browser session in errors by its user, never by its hash.
pub(crate) fn browser_session(row: &impl Cols) -> StoreResult<BrowserSession> {
    let user_id: String = row.col("browser session", "user_id")?;
    let w = &format!("browser session of user {user_id}");
    Ok(BrowserSession {
        hash: codec::digest(w, "hash", &row.col::<Vec<u8>>(w, "hash")?)?,
        auth_time: row.col(w, "auth_time")?,
        created_at: row.col(w, "created_at")?,
        expires_at: row.col(w, "expires_at")?,
        user_id,
    })
}

pub(crate) const COUNTER_COLUMNS: &str = "key, window_start, window_end, count";

pub(crate) fn counter_total(row: &impl Cols) -> StoreResult<CounterTotal> {
    let w = "rate counter";
    let key: Vec<u8> = row.col(w, "key")?;
    let count: i64 = row.col(w, "count")?;
    Ok(CounterTotal {
        key: key
            .as_slice()
            .try_into()
            .map_err(|_| codec::corrupt(w, "key", format!("{} bytes, not 16", key.len())))?,
        window_start: row.col(w, "window_start")?,
        window_end: row.col(w, "window_end")?,
        count: u64::try_from(count).map_err(|e| codec::corrupt(w, "count", e))?,
    })
}

pub(crate) const REJECTION_COLUMNS: &str = "client_id, seq, request_id, at, endpoint, grant_type, \
     code, description, client_ip, user_agent, trace";

/// The decision trace is kept as JSON text.
pub(crate) fn rejection(row: &impl Cols) -> StoreResult<grantd_core::rejections::Rejection> {
    let client_id: String = row.col("rejection", "client_id")?;
    let request_id: String = row.col("rejection", "request_id")?;
    let w = &format!("rejection {request_id} of app {client_id}");
    let trace: String = row.col(w, "trace")?;
    Ok(grantd_core::rejections::Rejection {
        seq: row.col(w, "seq")?,
        at: row.col(w, "at")?,
        endpoint: row.col(w, "endpoint")?,
        grant: row.col(w, "grant_type")?,
        code: row.col(w, "code")?,
        description: row.col(w, "description")?,
        client_ip: row.col(w, "client_ip")?,
        user_agent: row.col(w, "user_agent")?,
        trace: serde_json::from_str(&trace).map_err(|e| codec::corrupt(w, "trace", e))?,
        client_id,
        request_id,
    })
}

/// An `audit_log` row: seq, at, kind, actor, subject, source, detail, prev_hash, hash.
pub type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

pub fn audit_entry(r: AuditRow) -> grantd_core::store::AuditEntry {
    grantd_core::store::AuditEntry {
        seq: r.0,
        at: r.1,
        kind: r.2,
        actor: r.3,
        subject: r.4,
        source: r.5,
        detail: r.6,
        prev_hash: r.7,
        hash: r.8,
    }
}

/// A back-channel logout delivery's columns.
pub(crate) const LOGOUT_DELIVERY_COLUMNS: &str = "id, client_id, user_id, sid, status, attempts, \
     last_error, next_attempt_at, created_at, updated_at";

pub(crate) fn logout_delivery(row: &impl Cols) -> StoreResult<grantd_core::model::LogoutDelivery> {
    let id: String = row.col("logout delivery", "id")?;
    let w = &format!("logout delivery {id}");
    let status: String = row.col(w, "status")?;
    let attempts: i64 = row.col(w, "attempts")?;
    Ok(grantd_core::model::LogoutDelivery {
        client_id: row.col(w, "client_id")?,
        user_id: row.col(w, "user_id")?,
        sid: row.col(w, "sid")?,
        status: grantd_core::model::DeliveryStatus::parse(&status).ok_or_else(|| {
            codec::corrupt(w, "status", format!("'{status}' is not a delivery status"))
        })?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_error: row.col(w, "last_error")?,
        next_attempt_at: row.col(w, "next_attempt_at")?,
        created_at: row.col(w, "created_at")?,
        updated_at: row.col(w, "updated_at")?,
        id,
    })
}
