//! Users (RingCentral's extensions): creation rules, password hashing with
//! argon2id, and password sign-in with lockout.

use crate::crypto::{random_numeric_id, rfc3339, sha256};
use crate::model::{Role, User, UserStatus};
use crate::store::{LoginAttempt, StoreError, UniqueKey};
use crate::Grantd;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use grantd_protocol::{OAuthError, Secret};
use serde::Deserialize;
use std::sync::OnceLock;

/// User fields as the admin API and CLI send them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub extension_number: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub password: Option<Secret>,
}

/// How a user names themselves at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Email(String),
    Phone {
        phone: String,
        extension: Option<String>,
    },
}

impl Login {
    /// The login as one string (for keys; never shown).
    fn key(&self) -> String {
        match self {
            Login::Email(e) => e.clone(),
            Login::Phone { phone, extension } => {
                format!("{phone}*{}", extension.as_deref().unwrap_or_default())
            }
        }
    }

    /// Reads `username` (email, E.164 phone, or `+16505550100*101`) and the
    /// separate `extension` field.
    pub fn parse(username: &str, extension: Option<&str>) -> Result<Self, OAuthError> {
        let username = username.trim();
        if username.contains('@') {
            return Ok(Login::Email(normalize_email(username)));
        }
        let (phone, embedded) = match username.split_once('*') {
            Some((p, e)) => (p, Some(e)),
            None => (username, None),
        };
        let phone = normalize_phone(phone).ok_or_else(|| {
            OAuthError::invalid_parameter(
                "username",
                "it is neither an email nor a phone number (use E.164 such as +16505550100, optionally +16505550100*101 for an extension)",
            )
        })?;
        let extension = match (embedded.filter(|e| !e.is_empty()), extension) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_parameter(
                    "extension",
                    format!(
                    "the username names extension {} but the extension parameter says {}; send one",
                    grantd_protocol::error::sanitize(a, 20),
                    grantd_protocol::error::sanitize(b, 20)
                ),
                ))
            }
            (Some(a), _) => Some(a.to_string()),
            (None, b) => b.map(str::to_string),
        };
        Ok(Login::Phone { phone, extension })
    }
}

/// `+` and 8–15 digits, with spaces, dashes, dots and parentheses dropped.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    (allowed && (8..=15).contains(&digits.len())).then(|| format!("+{digits}"))
}

fn salt() -> SaltString {
    // 16 random bytes always encode to a valid salt.
    SaltString::encode_b64(&crate::crypto::random_bytes::<16>()).expect("16-byte salt")
}

fn hasher() -> Argon2<'static> {
    Argon2::default() // argon2id, m=19 MiB, t=2, p=1 (OWASP's baseline)
}

/// Runs argon2 work off the async runtime, a few at a time: each run holds
/// about 19 MiB, so unbounded concurrency would let anyone exhaust memory.
async fn with_hashing_permit<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OAuthError> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(n)
    });
    let _permit = tokio::time::timeout(std::time::Duration::from_secs(5), permits.acquire())
        .await
        .map_err(|_| OAuthError::password_checks_busy())?
        .map_err(|_| OAuthError::server_error())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| OAuthError::server_error())
}

/// Hashes a password.
pub async fn hash_password(password: Secret) -> Result<String, OAuthError> {
    with_hashing_permit(move || {
        hasher()
            .hash_password(password.expose().as_bytes(), &salt())
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|_| OAuthError::server_error())
}

/// Verifies a password against a PHC hash. With no hash, a dummy one is
/// checked so the time taken does not reveal whether the user exists.
pub async fn verify_password(password: Secret, hash: Option<String>) -> Result<bool, OAuthError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    with_hashing_permit(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    hasher()
                        .hash_password(b"grantd dummy password", &salt())
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        let ok = PasswordHash::new(&hash)
            .map(|h| {
                hasher()
                    .verify_password(password.expose().as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
}

/// The one form an email is stored and looked up in: trimmed, lower-case
/// (emails are matched case-insensitively).
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn check_email(raw: &str) -> Result<String, OAuthError> {
    let e = normalize_email(raw);
    let valid = e.len() <= 254
        && e.split('@').count() == 2
        && e.split('@').all(|p| !p.is_empty())
        && e.rsplit('@').next().is_some_and(|d| d.contains('.'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(OAuthError::invalid_user_field(
            "email",
            "it is not an email address",
        ))
    }
}

impl Grantd {
    pub async fn create_user(&self, spec: UserSpec) -> Result<User, OAuthError> {
        let account_id = self.account_or_default(spec.account_id).await?;
        let email = spec.email.as_deref().map(check_email).transpose()?;
        let phone = spec
            .phone
            .as_deref()
            .map(|p| {
                normalize_phone(p).ok_or_else(|| {
                    OAuthError::invalid_user_field("phone", "use E.164, e.g. +16505550100")
                })
            })
            .transpose()?;
        if email.is_none() && phone.is_none() {
            return Err(OAuthError::invalid_user_field(
                "email",
                "a user needs an email or a phone number to sign in with",
            ));
        }
        if let Some(ext) = &spec.extension_number {
            if ext.is_empty() || ext.len() > 10 || !ext.chars().all(|c| c.is_ascii_digit()) {
                return Err(OAuthError::invalid_user_field(
                    "extension_number",
                    "use 1 to 10 digits",
                ));
            }
        }
        let name = spec.name.unwrap_or_default().trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OAuthError::invalid_user_field(
                "name",
                "give 1 to 100 characters",
            ));
        }
        let role = match spec.role.as_deref() {
            None => Role::User,
            Some(r) => Role::parse(r).ok_or_else(|| {
                OAuthError::invalid_user_field("role", "use admin, developer or user")
            })?,
        };
        let password_hash = match spec.password {
            Some(p) if p.expose().chars().count() < 8 || p.expose().len() > 1024 => {
                return Err(OAuthError::invalid_user_field(
                    "password",
                    "use 8 to 1024 characters",
                ))
            }
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let user = User {
            id: random_numeric_id(),
            account_id,
            email,
            phone,
            extension_number: spec.extension_number,
            name,
            role,
            status: UserStatus::Enabled,
            password_hash,
            created_at: self.now(),
        };
        match self.store.insert_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(UniqueKey::UserExtension)) => {
                Err(OAuthError::invalid_user_field(
                    "extension_number",
                    format!(
                        "already taken (extension_number {} in account {})",
                        user.extension_number.as_deref().unwrap_or_default(),
                        user.account_id
                    ),
                ))
            }
            Err(StoreError::Conflict(UniqueKey::UserEmail)) => Err(OAuthError::invalid_user_field(
                "email",
                format!(
                    "already taken (email {})",
                    user.email.as_deref().unwrap_or_default()
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_user(&self, id: &str) -> Result<User, OAuthError> {
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| OAuthError::user_not_found(id))
    }

    pub async fn set_user_status(&self, id: &str, status: UserStatus) -> Result<User, OAuthError> {
        if !self.store.set_user_status(id, status).await? {
            return Err(OAuthError::user_not_found(id));
        }
        if status == UserStatus::Disabled {
            // Back-channel logouts go to the apps of the ended sessions.
            let out = self
                .logout(
                    crate::store::LogoutOf::User(id.to_string()),
                    None,
                    "user disabled",
                )
                .await?;
            tracing::info!(
                user_id = id,
                sessions = out.ended.len(),
                "user disabled: sessions ended"
            );
        }
        tracing::info!(
            user_id = id,
            status = status.as_str(),
            "user status changed"
        );
        self.get_user(id).await
    }

    /// Sets a user's password; every session of the user ends with the
    /// old password (as at RingCentral), in the same unit of work. Answers
    /// how many sessions ended.
    pub async fn set_password(&self, id: &str, password: Secret) -> Result<u64, OAuthError> {
        let n = password.expose().chars().count();
        if n < 8 || password.expose().len() > 1024 {
            return Err(OAuthError::invalid_user_field(
                "password",
                "use 8 to 1024 characters",
            ));
        }
        let hash = hash_password(password).await?;
        let ended = self
            .store
            .set_user_password(id, &hash, "password changed", self.now())
            .await?
            .ok_or_else(|| OAuthError::user_not_found(id))?;
        tracing::info!(
            user_id = id,
            sessions = ended,
            "password changed: sessions ended"
        );
        Ok(ended)
    }

    /// Finds the one user a login names.
    async fn find_login(&self, login: &Login) -> Result<Vec<User>, OAuthError> {
        Ok(match login {
            Login::Email(e) => self.store.find_users_by_email(e).await?,
            Login::Phone { phone, extension } => {
                let users = self.store.find_users_by_phone(phone).await?;
                match extension {
                    Some(ext) => users
                        .into_iter()
                        .filter(|u| u.extension_number.as_deref() == Some(ext.as_str()))
                        .collect(),
                    None => users,
                }
            }
        })
    }

    /// Checks a password sign-in, with lockout after repeated failures.
    pub async fn authenticate_user(
        &self,
        login: &Login,
        password: Secret,
    ) -> Result<User, OAuthError> {
        let candidates = self.find_login(login).await?;
        let now = self.now();
        let policy = &self.config.policy;
        let lockout = policy.lockout();
        // The same hint whether or not the number is shared, so the answer
        // does not say who exists.
        let hint = match login {
            Login::Phone {
                extension: None, ..
            } => " If several users share this phone number, add the extension.",
            _ => "",
        };
        if candidates.len() != 1 {
            // A login that names no one user locks like a user does (by a
            // key derived from the login), with the same answers and the
            // same work, so the lockout does not tell who exists.
            let key = format!(
                "login:{}",
                crate::crypto::b64url(&sha256(login.key().as_bytes()))
            );
            let state = match self
                .store
                .reserve_login_attempt(&key, now, &lockout)
                .await?
            {
                LoginAttempt::Locked { until } => {
                    return Err(OAuthError::user_locked(&rfc3339(until)));
                }
                LoginAttempt::Reserved(state) => state,
            };
            verify_password(password, None).await?;
            return Err(match lockout.locked_until(&state, now) {
                Some(until) => OAuthError::user_locked(&rfc3339(until)),
                None => OAuthError::invalid_user_credentials(hint),
            });
        }
        let user = candidates
            .into_iter()
            .next()
            .ok_or_else(OAuthError::server_error)?;
        // The attempt is counted before the hash is checked, atomically, so
        // a burst of concurrent guesses gets at most the threshold checked.
        let state = match self
            .store
            .reserve_login_attempt(&user.id, now, &lockout)
            .await?
        {
            LoginAttempt::Locked { until } => {
                return Err(OAuthError::user_locked(&rfc3339(until)));
            }
            LoginAttempt::Reserved(state) => state,
        };
        if !verify_password(password, user.password_hash.clone()).await? {
            tracing::info!(user_id = %user.id, failures = state.failures, "password sign-in failed");
            use crate::audit::kind;
            self.audit(
                kind::SIGN_IN_FAILED,
                &user.id,
                &user.id,
                "",
                serde_json::json!({"failures": state.failures}),
            )
            .await;
            return Err(match lockout.locked_until(&state, now) {
                Some(until) => {
                    tracing::warn!(user_id = %user.id, "user locked after repeated failed passwords");
                    self.audit(
                        kind::LOCKOUT,
                        &user.id,
                        &user.id,
                        "",
                        serde_json::json!({"until": rfc3339(until)}),
                    )
                    .await;
                    OAuthError::user_locked(&rfc3339(until))
                }
                None => OAuthError::invalid_user_credentials(hint),
            });
        }
        self.store.clear_login_failures(&user.id).await?;
        if user.status != UserStatus::Enabled {
            return Err(OAuthError::user_disabled());
        }
        self.audit(
            crate::audit::kind::SIGN_IN,
            &user.id,
            &user.id,
            "",
            serde_json::json!({}),
        )
        .await;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert_eq!(
            Login::parse("A@B.com", None).unwrap(),
            Login::Email("a@b.com".into())
        );
        assert_eq!(
            Login::parse("+16505550100*101", None).unwrap(),
            Login::Phone {
                phone: "+16505550100".into(),
                extension: Some("101".into())
            }
        );
        assert_eq!(
            Login::parse("16505550100", Some("102")).unwrap(),
            Login::Phone {
                phone: "+16505550100".into(),
                extension: Some("102".into())
            }
        );
        assert!(Login::parse("+16505550100*101", Some("102")).is_err());
        assert!(Login::parse("bob", None).is_err());
    }

    #[test]
    fn extensions_in_errors_are_sanitized() {
        let e = Login::parse("+16505550100*<script>\0", Some("102\r\n<b>")).unwrap_err();
        let d = e.description;
        assert!(!d.contains(['<', '>', '\0', '\r', '\n']), "{d}");
        assert!(d.contains("%3Cscript%3E") && d.contains("102"), "{d}");
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("+1 (650) 555-0100").as_deref(),
            Some("+16505550100")
        );
        assert_eq!(normalize_phone("12"), None);
        assert_eq!(normalize_phone("+1650abc"), None);
    }

    #[tokio::test]
    async fn password_round_trip() {
        let h = hash_password(Secret::new("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify_password(Secret::new("correct horse"), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password(Secret::new("wrong"), Some(h))
            .await
            .unwrap());
        assert!(!verify_password(Secret::new("x"), None).await.unwrap());
    }
}
