//! Column encodings shared by every SQL backend: enums as their names, lists
//! as JSON arrays of strings, digests as 32 raw bytes, and sqlx errors as [`StoreError`].

use grantd_core::model::{
    AccessTokenFormat, Actor, AppSecurity, DeviceStatus, Distribution, ExchangePolicy, JwkSet,
    Role, SigningAlg, TokenKind, UserStatus,
};
use grantd_core::rate_limits::AppRateLimits;
use grantd_core::store::{CounterDelta, StoreError, StoreResult, UniqueKey};
use grantd_protocol::{Grant, PlatformType, RedirectUri, Scopes};

/// Maps a sqlx error: unique violations become [`StoreError::Conflict`]
/// naming the key (see [`unique_key`]), decode failures
/// [`StoreError::Corrupt`] with `what` (e.g. `"app 123"`), the rest
/// [`StoreError::Unavailable`].
pub(crate) fn db_error(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(unique_key(d.as_ref()))
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(format!("{what}: {e}")),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Which unique key a violation is of. PostgreSQL names the constraint;
/// SQLite names the columns in its message ("UNIQUE constraint failed:
/// users.email"), the only place it says which.
fn unique_key(d: &dyn sqlx::error::DatabaseError) -> UniqueKey {
    unique_key_of(d.constraint().unwrap_or_default(), d.message())
}

/// [`unique_key`] from the constraint's name (PostgreSQL) and the message
/// (SQLite), whichever driver reported them.
pub(crate) fn unique_key_of(constraint: &str, message: &str) -> UniqueKey {
    if constraint.starts_with("users_email") || message.contains("users.email") {
        UniqueKey::UserEmail
    } else if (constraint.starts_with("users_") && constraint.contains("extension"))
        || message.contains("users.extension_number")
    {
        UniqueKey::UserExtension
    } else if constraint == "device_codes_user_code_key"
        || message.contains("device_codes.user_code")
    {
        UniqueKey::UserCode
    } else {
        UniqueKey::PrimaryKey
    }
}

/// A decoding failure for column `column` of `what`.
pub(crate) fn corrupt(what: &str, column: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}, column {column}: {detail}"))
}

fn to_json(names: Vec<&str>) -> String {
    // A list of strings always serializes.
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_string())
}

fn from_json(what: &str, column: &str, json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| corrupt(what, column, e))
}

/// A list of plain strings (e.g. client ids) as a JSON array.
pub(crate) fn strings_to_json(strings: &[String]) -> String {
    to_json(strings.iter().map(String::as_str).collect())
}

pub(crate) fn strings_from_json(what: &str, column: &str, json: &str) -> StoreResult<Vec<String>> {
    from_json(what, column, json)
}

/// Counter deltas in key order (the order both backends lock counters in,
/// so two nodes' syncs never deadlock), a key named twice counted once with
/// the sum, in the later window.
pub(crate) fn sorted_deltas(deltas: &[CounterDelta]) -> Vec<CounterDelta> {
    let mut sorted = deltas.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key).then(a.window_start.cmp(&b.window_start)));
    let mut out: Vec<CounterDelta> = Vec::with_capacity(sorted.len());
    for d in sorted {
        match out.last_mut() {
            Some(last) if last.key == d.key => {
                let count = if last.window_start == d.window_start {
                    last.count.saturating_add(d.count)
                } else {
                    d.count
                };
                *last = CounterDelta { count, ..d };
            }
            _ => out.push(d),
        }
    }
    out
}

/// An app's rate limits as a JSON object (`{"auth": "10/60"}`).
pub(crate) fn rate_limits_to_json(limits: &AppRateLimits) -> String {
    // A map of strings always serializes.
    serde_json::to_string(limits).unwrap_or_else(|_| "{}".to_string())
}

pub(crate) fn rate_limits_from_json(what: &str, json: &str) -> StoreResult<AppRateLimits> {
    serde_json::from_str(json).map_err(|e| corrupt(what, "rate_limits", e))
}

/// An app's token exchange policy as a JSON object (`NULL`: none).
pub(crate) fn exchange_policy_to_json(policy: Option<&ExchangePolicy>) -> Option<String> {
    policy.and_then(|p| serde_json::to_string(p).ok())
}

pub(crate) fn exchange_policy_from_json(
    what: &str,
    json: Option<&str>,
) -> StoreResult<Option<ExchangePolicy>> {
    json.map(|j| serde_json::from_str(j).map_err(|e| corrupt(what, "token_exchange", e)))
        .transpose()
}

/// An app's CORS origins as a JSON array.
pub(crate) fn origins_to_json(origins: &[String]) -> String {
    serde_json::to_string(origins).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn origins_from_json(what: &str, json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| corrupt(what, "allowed_origins", e))
}

/// An app's JSON Web Key Set (`NULL`: none registered).
pub(crate) fn jwks_to_json(jwks: Option<&JwkSet>) -> Option<String> {
    jwks.and_then(|k| serde_json::to_string(k).ok())
}

pub(crate) fn jwks_from_json(what: &str, json: Option<&str>) -> StoreResult<Option<JwkSet>> {
    json.map(|j| serde_json::from_str(j).map_err(|e| corrupt(what, "jwks", e)))
        .transpose()
}

/// An app's security settings (PAR, DPoP, profile) as JSON.
pub(crate) fn security_to_json(security: &AppSecurity) -> String {
    serde_json::to_string(security).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn security_from_json(what: &str, json: &str) -> StoreResult<AppSecurity> {
    serde_json::from_str(json).map_err(|e| corrupt(what, "security", e))
}

/// RFC 8707 resources as a JSON array; none as NULL.
pub(crate) fn resources_to_json(resources: &[String]) -> Option<String> {
    (!resources.is_empty())
        .then(|| serde_json::to_string(resources).unwrap_or_else(|_| "[]".into()))
}

pub(crate) fn resources_from_json(what: &str, json: Option<String>) -> StoreResult<Vec<String>> {
    json.map(|j| serde_json::from_str(&j).map_err(|e| corrupt(what, "resources", e)))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// An app's logout and resource links as JSON.
pub(crate) fn links_to_json(links: &grantd_core::model::AppLinks) -> String {
    serde_json::to_string(links).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn links_from_json(what: &str, json: &str) -> StoreResult<grantd_core::model::AppLinks> {
    serde_json::from_str(json).map_err(|e| corrupt(what, "links", e))
}

/// A token exchange's `act` claim as JSON (`NULL`: none).
pub(crate) fn actor_to_json(act: Option<&Actor>) -> Option<String> {
    act.and_then(|a| serde_json::to_string(a).ok())
}

pub(crate) fn actor_from_json(what: &str, json: Option<&str>) -> StoreResult<Option<Actor>> {
    json.map(|j| serde_json::from_str(j).map_err(|e| corrupt(what, "act", e)))
        .transpose()
}

pub(crate) fn grants_to_json(grants: &[Grant]) -> String {
    to_json(grants.iter().map(|g| g.as_str()).collect())
}

pub(crate) fn grants_from_json(what: &str, json: &str) -> StoreResult<Vec<Grant>> {
    from_json(what, "grants", json)?
        .iter()
        .map(|s| {
            s.parse::<Grant>()
                .map_err(|()| corrupt(what, "grants", format!("unknown grant {s:?}")))
        })
        .collect()
}

pub(crate) fn redirect_uris_to_json(uris: &[RedirectUri]) -> String {
    to_json(uris.iter().map(RedirectUri::as_str).collect())
}

pub(crate) fn redirect_uris_from_json(what: &str, json: &str) -> StoreResult<Vec<RedirectUri>> {
    from_json(what, "redirect_uris", json)?
        .into_iter()
        .map(|s| RedirectUri::try_from(s).map_err(|e| corrupt(what, "redirect_uris", e)))
        .collect()
}

pub(crate) fn scopes_to_json(scopes: &Scopes) -> String {
    to_json(scopes.iter().collect())
}

pub(crate) fn scopes_from_json(what: &str, json: &str) -> StoreResult<Scopes> {
    Scopes::try_from(from_json(what, "scopes", json)?).map_err(|e| corrupt(what, "scopes", e))
}

pub(crate) fn platform_type(what: &str, s: &str) -> StoreResult<PlatformType> {
    s.parse::<PlatformType>().map_err(|()| {
        corrupt(
            what,
            "platform_type",
            format!("unknown platform type {s:?}"),
        )
    })
}

pub(crate) fn distribution(what: &str, s: &str) -> StoreResult<Distribution> {
    Distribution::parse(s)
        .ok_or_else(|| corrupt(what, "distribution", format!("unknown distribution {s:?}")))
}

pub(crate) fn access_token_format(what: &str, s: &str) -> StoreResult<AccessTokenFormat> {
    AccessTokenFormat::parse(s).ok_or_else(|| {
        corrupt(
            what,
            "access_token_format",
            format!("unknown access token format {s:?}"),
        )
    })
}

pub(crate) fn signing_alg(what: &str, s: &str) -> StoreResult<SigningAlg> {
    SigningAlg::parse(s).ok_or_else(|| corrupt(what, "alg", format!("unknown algorithm {s:?}")))
}

pub(crate) fn token_kind(what: &str, s: &str) -> StoreResult<TokenKind> {
    TokenKind::parse(s).ok_or_else(|| corrupt(what, "kind", format!("unknown token kind {s:?}")))
}

pub(crate) fn device_status(what: &str, s: &str) -> StoreResult<DeviceStatus> {
    DeviceStatus::parse(s)
        .ok_or_else(|| corrupt(what, "status", format!("unknown device code status {s:?}")))
}

pub(crate) fn role(what: &str, s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| corrupt(what, "role", format!("unknown role {s:?}")))
}

pub(crate) fn user_status(what: &str, s: &str) -> StoreResult<UserStatus> {
    UserStatus::parse(s).ok_or_else(|| corrupt(what, "status", format!("unknown status {s:?}")))
}

/// A count read back from an `INTEGER` column that must fit a `u32`.
pub(crate) fn count_from_db(what: &str, column: &str, n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| corrupt(what, column, format!("count {n} out of range")))
}

/// A TTL for an `INTEGER`/`BIGINT` column; one that does not fit is refused.
pub(crate) fn ttl_to_db(column: &str, ttl: u64) -> StoreResult<i64> {
    i64::try_from(ttl)
        .map_err(|_| StoreError::Unavailable(format!("{column} {ttl} is too large to store")))
}

pub(crate) fn ttl_from_db(what: &str, column: &str, ttl: i64) -> StoreResult<u64> {
    u64::try_from(ttl).map_err(|_| corrupt(what, column, format!("negative TTL {ttl}")))
}

/// A SHA-256 digest read back from a blob column.
pub(crate) fn digest(what: &str, column: &str, bytes: &[u8]) -> StoreResult<[u8; 32]> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| corrupt(what, column, format!("{} bytes, expected 32", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_round_trip() {
        let json = grants_to_json(&Grant::ALL);
        assert_eq!(grants_from_json("t", &json).unwrap(), Grant::ALL.to_vec());
        assert!(matches!(
            grants_from_json("t", r#"["nope"]"#),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            grants_from_json("t", "{"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn scopes_and_uris_round_trip() {
        let scopes = Scopes::parse("a b:c d").unwrap();
        assert_eq!(
            scopes_from_json("t", &scopes_to_json(&scopes)).unwrap(),
            scopes
        );
        let uris = vec![
            RedirectUri::parse("https://a.example/cb?x=\"1\"").unwrap(),
            RedirectUri::parse("com.example.app:/cb").unwrap(),
        ];
        assert_eq!(
            redirect_uris_from_json("t", &redirect_uris_to_json(&uris)).unwrap(),
            uris
        );
        assert!(matches!(
            redirect_uris_from_json("t", r#"["http://evil.example/"]"#),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn numbers_and_digests() {
        assert!(ttl_to_db("ttl", u64::MAX).is_err());
        assert_eq!(ttl_to_db("ttl", 3600).unwrap(), 3600);
        assert!(matches!(
            ttl_from_db("t", "ttl", -1),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            digest("t", "hash", &[0; 31]),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(digest("t", "hash", &[7; 32]).unwrap(), [7; 32]);
        assert_eq!(count_from_db("t", "failures", 7).unwrap(), 7);
        assert!(matches!(
            count_from_db("t", "failures", -1),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            count_from_db("t", "failures", i64::from(u32::MAX) + 1),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn strings_and_enums() {
        let apps = vec!["a \"quoted\" id".to_string(), "ü".to_string()];
        assert_eq!(
            strings_from_json("t", "allowed_apps", &strings_to_json(&apps)).unwrap(),
            apps
        );
        assert_eq!(strings_to_json(&[]), "[]");
        assert!(matches!(
            strings_from_json("t", "allowed_apps", "[1]"),
            Err(StoreError::Corrupt(_))
        ));
        for r in [Role::Admin, Role::Developer, Role::User] {
            assert_eq!(role("t", r.as_str()).unwrap(), r);
        }
        assert!(matches!(role("t", "root"), Err(StoreError::Corrupt(_))));
        for st in [UserStatus::Enabled, UserStatus::Disabled] {
            assert_eq!(user_status("t", st.as_str()).unwrap(), st);
        }
        assert!(matches!(
            user_status("t", "asleep"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
