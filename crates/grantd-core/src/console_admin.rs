//! The console's account pages, for administrators: the users of their own
//! account (create with a role, disable and enable, reset a password,
//! change a role) and every user's JWT credentials (list, create, revoke).
//! Each action goes through the rules of `users.rs` and `credentials.rs`,
//! and is recorded in the audit log with the administrator as its actor.

use crate::audit::{kind, Actor};
use crate::console::{check_console_user, CredentialForm};
use crate::model::{JwtCredential, Role, User, UserStatus};
use crate::users::UserSpec;
use crate::Grantd;
use grantd_protocol::{OAuthError, Secret};

/// The account pages need the admin role (a developer is told which).
pub fn check_console_admin(user: &User) -> Result<(), OAuthError> {
    check_console_user(user)?;
    match user.role {
        Role::Admin => Ok(()),
        other => Err(OAuthError::console_admin_required(other.as_str())),
    }
}

/// What the console's new-user form sends, as typed.
#[derive(Debug, Default)]
pub struct UserForm {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub extension_number: String,
    pub role: String,
    /// Empty: grantd makes one, shown once.
    pub password: Option<Secret>,
}

/// A password grantd made: 24 characters from the one source of randomness.
fn generated_password() -> Secret {
    Secret::new(crate::crypto::random_id(24))
}

fn parse_role(role: &str) -> Result<Role, OAuthError> {
    Role::parse(role.trim())
        .ok_or_else(|| OAuthError::invalid_user_field("role", "use admin, developer or user"))
}

impl Grantd {
    /// The users of the administrator's account, by name.
    pub async fn console_users(&self, admin: &User) -> Result<Vec<User>, OAuthError> {
        check_console_admin(admin)?;
        let mut users = self.store.list_users(Some(&admin.account_id)).await?;
        users.sort_by_key(|u| (u.name.to_lowercase(), u.id.clone()));
        Ok(users)
    }

    /// One user of the administrator's account; any other is refused
    /// alike, whether it exists or not.
    pub async fn console_user(&self, admin: &User, id: &str) -> Result<User, OAuthError> {
        check_console_admin(admin)?;
        match self.store.get_user(id).await? {
            Some(u) if u.account_id == admin.account_id => Ok(u),
            _ => Err(OAuthError::console_user_of_another_account(id)),
        }
    }

    /// Creates a user in the administrator's account with `users.rs`'s
    /// rules; answers the password grantd made when the form gave none
    /// (shown once).
    pub async fn console_create_user(
        &self,
        admin: &User,
        source: &str,
        form: UserForm,
    ) -> Result<(User, Option<Secret>), OAuthError> {
        check_console_admin(admin)?;
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let role = parse_role(&form.role)?;
        let (password, made) = match form.password {
            Some(p) => (p, None),
            None => {
                let p = generated_password();
                (p.clone(), Some(p))
            }
        };
        let user = self
            .create_user(UserSpec {
                account_id: Some(admin.account_id.clone()),
                email: text(&form.email),
                phone: text(&form.phone),
                extension_number: text(&form.extension_number),
                name: Some(form.name),
                role: Some(role.as_str().to_string()),
                password: Some(password),
            })
            .await?;
        self.audit(
            kind::USER_CREATED,
            &admin.id,
            &user.id,
            source,
            serde_json::json!({"account_id": user.account_id, "role": user.role.as_str()}),
        )
        .await;
        Ok((user, made))
    }

    /// Disables or enables a user of the administrator's account (disabling
    /// ends the user's sessions); never the administrator themselves.
    pub async fn console_set_user_status(
        &self,
        admin: &User,
        source: &str,
        id: &str,
        status: &str,
    ) -> Result<User, OAuthError> {
        let user = self.console_user(admin, id).await?;
        let status = UserStatus::parse(status.trim())
            .ok_or_else(|| OAuthError::invalid_user_field("status", "use enabled or disabled"))?;
        if user.id == admin.id && status == UserStatus::Disabled {
            return Err(OAuthError::console_own_user("disable"));
        }
        let user = self.set_user_status(&user.id, status).await?;
        let what = match status {
            UserStatus::Disabled => kind::USER_DISABLED,
            UserStatus::Enabled => kind::USER_ENABLED,
        };
        self.audit(what, &admin.id, &user.id, source, serde_json::json!({}))
            .await;
        Ok(user)
    }

    /// Sets a new password for a user of the administrator's account (the
    /// one given, or one grantd makes, answered to be shown once); the
    /// user's sessions end. Answers how many ended.
    pub async fn console_reset_password(
        &self,
        admin: &User,
        source: &str,
        id: &str,
        password: Option<Secret>,
    ) -> Result<(u64, Option<Secret>), OAuthError> {
        let user = self.console_user(admin, id).await?;
        let (password, made) = match password {
            Some(p) => (p, None),
            None => {
                let p = generated_password();
                (p.clone(), Some(p))
            }
        };
        let ended = self.set_password(&user.id, password).await?;
        self.audit(
            kind::PASSWORD_RESET,
            &admin.id,
            &user.id,
            source,
            serde_json::json!({"sessions_ended": ended, "made_by_grantd": made.is_some()}),
        )
        .await;
        Ok((ended, made))
    }

    /// Changes the role of a user of the administrator's account; never
    /// the administrator's own.
    pub async fn console_set_role(
        &self,
        admin: &User,
        source: &str,
        id: &str,
        role: &str,
    ) -> Result<User, OAuthError> {
        let user = self.console_user(admin, id).await?;
        let role = parse_role(role)?;
        if user.id == admin.id {
            return Err(OAuthError::console_own_user("change the role of"));
        }
        if user.role == role {
            return Ok(user);
        }
        if !self.store.set_user_role(&user.id, role).await? {
            return Err(OAuthError::console_user_of_another_account(id));
        }
        tracing::info!(user_id = %user.id, role = role.as_str(), "user role changed");
        self.audit(
            kind::ROLE_CHANGED,
            &admin.id,
            &user.id,
            source,
            serde_json::json!({"from": user.role.as_str(), "to": role.as_str()}),
        )
        .await;
        self.get_user(&user.id).await
    }

    /// A user of the administrator's account and their JWT credentials,
    /// newest first.
    pub async fn console_user_credentials(
        &self,
        admin: &User,
        id: &str,
    ) -> Result<(User, Vec<JwtCredential>), OAuthError> {
        let user = self.console_user(admin, id).await?;
        let mut list = self.store.list_jwt_credentials(&user.id).await?;
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok((user, list))
    }

    /// Creates a JWT credential for a user of the administrator's account,
    /// with the credential form's checks (each naming its field).
    pub async fn console_create_credential_for(
        &self,
        admin: &User,
        source: &str,
        user_id: &str,
        form: &CredentialForm,
    ) -> Result<crate::credentials::IssuedCredential, OAuthError> {
        let user = self.console_user(admin, user_id).await?;
        let spec = self.credential_spec(admin, form).await?;
        let actor = Actor {
            id: &admin.id,
            source,
        };
        self.create_credential_by(&actor, &user.id, spec).await
    }

    /// Revokes a JWT credential of a user of the administrator's account;
    /// answers the user's id.
    pub async fn console_revoke_account_credential(
        &self,
        admin: &User,
        source: &str,
        id: &str,
    ) -> Result<String, OAuthError> {
        check_console_admin(admin)?;
        let c = match self.store.get_jwt_credential(id).await? {
            Some(c) if c.account_id == admin.account_id => c,
            _ => return Err(OAuthError::console_credential_of_another_account(id)),
        };
        let actor = Actor {
            id: &admin.id,
            source,
        };
        self.revoke_credential_by(&actor, id).await?;
        Ok(c.user_id)
    }
}
