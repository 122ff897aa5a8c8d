//! The developer console's rules: who may use it (developers and
//! administrators) and which apps they see (their own account's).

use crate::model::{App, Role, User};
use crate::rejections::{Rejection, RejectionFilter};
use crate::Grantd;
use grantd_protocol::OAuthError;

/// Developers and administrators use the console.
pub fn check_console_user(user: &User) -> Result<(), OAuthError> {
    match user.role {
        Role::Admin | Role::Developer => Ok(()),
        other => Err(OAuthError::console_role_required(other.as_str())),
    }
}

impl Grantd {
    /// The apps of the user's account, by name.
    pub async fn console_apps(&self, user: &User) -> Result<Vec<App>, OAuthError> {
        check_console_user(user)?;
        let mut apps: Vec<App> = self
            .store
            .list_apps()
            .await?
            .into_iter()
            .filter(|a| a.account_id == user.account_id)
            .collect();
        apps.sort_by_key(|a| a.name.to_lowercase());
        Ok(apps)
    }

    /// One app of the user's account; any other is refused alike, whether
    /// it exists or not.
    pub async fn console_app(&self, user: &User, client_id: &str) -> Result<App, OAuthError> {
        check_console_user(user)?;
        match self.store.get_app(client_id).await? {
            Some(app) if app.account_id == user.account_id => Ok(app),
            _ => Err(OAuthError::console_app_of_another_account(client_id)),
        }
    }

    /// An app's rejections, for the troubleshooter.
    pub async fn console_rejections(
        &self,
        user: &User,
        client_id: &str,
        filter: &RejectionFilter,
    ) -> Result<(App, Vec<Rejection>), OAuthError> {
        let app = self.console_app(user, client_id).await?;
        let list = self.store.list_rejections(client_id, filter).await?;
        Ok((app, list))
    }

    /// One rejected request of an app of the user's account.
    pub async fn console_rejection(
        &self,
        user: &User,
        request_id: &str,
    ) -> Result<(App, Rejection), OAuthError> {
        check_console_user(user)?;
        let r = self.rejection(request_id).await?;
        let app = self.console_app(user, &r.client_id).await.map_err(|_| {
            // Another account's request is as unknown as a missing one.
            OAuthError::rejection_not_found(request_id)
        })?;
        Ok((app, r))
    }
}
