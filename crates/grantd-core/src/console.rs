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

/// What the console's credential form sends, as typed.
#[derive(Debug, Default)]
pub struct CredentialForm {
    pub label: String,
    pub apps: Vec<String>,
    /// Days until it expires; `never` for none.
    pub expires: String,
}

impl Grantd {
    /// The signed-in user's JWT credentials, newest first.
    pub async fn console_credentials(
        &self,
        user: &User,
    ) -> Result<Vec<crate::model::JwtCredential>, OAuthError> {
        check_console_user(user)?;
        let mut list = self.store.list_jwt_credentials(&user.id).await?;
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok(list)
    }

    /// Checks the form (each refusal names its field) and creates the
    /// credential for the signed-in user; nothing is saved if a field is wrong.
    pub async fn console_create_credential(
        &self,
        user: &User,
        form: &CredentialForm,
    ) -> Result<crate::credentials::IssuedCredential, OAuthError> {
        check_console_user(user)?;
        let label = form.label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(OAuthError::invalid_parameter(
                "label",
                "give the credential a name of 1 to 100 characters, e.g. the server that will use it",
            ));
        }
        if form.apps.is_empty() {
            return Err(OAuthError::invalid_parameter(
                "apps",
                "choose at least one app that may use this credential",
            ));
        }
        for id in &form.apps {
            self.console_app(user, id).await?;
        }
        let expires_in = match form.expires.as_str() {
            "never" => None,
            d => match d.parse::<u64>() {
                Ok(days @ 1..=3650) => Some(days * 86_400),
                _ => {
                    return Err(OAuthError::invalid_parameter(
                        "expires",
                        "choose a number of days from 1 to 3650, or never",
                    ))
                }
            },
        };
        self.create_credential(
            &user.id,
            crate::credentials::CredentialSpec {
                label: Some(label.to_string()),
                apps: Some(form.apps.clone()),
                expires_in,
            },
        )
        .await
    }

    /// Revokes one of the signed-in user's credentials (another user's is
    /// as unknown as a missing one).
    pub async fn console_revoke_credential(&self, user: &User, id: &str) -> Result<(), OAuthError> {
        check_console_user(user)?;
        match self.store.get_jwt_credential(id).await? {
            Some(c) if c.user_id == user.id => self.revoke_credential(id).await,
            _ => Err(OAuthError::jwt_credential_not_found(id)),
        }
    }
}

/// The platform type in plain words: who runs the app and why it gets the
/// grants it may enable.
pub fn platform_words(p: grantd_protocol::PlatformType) -> &'static str {
    use grantd_protocol::PlatformType::*;
    match p {
        ServerWeb => "A web app with a back end: the user signs in in the browser and your server exchanges the code with its client secret.",
        Browser => "A single-page app running only in the browser: it cannot keep a secret, so it signs users in with the authorization code flow and PKCE. The password grant is not offered: a browser app must never handle a user's password.",
        Desktop => "An app installed on a computer: public (no secret), signs users in through the browser with PKCE, or with the device flow.",
        Mobile => "A phone app: public (no secret), signs users in through the system browser with PKCE.",
        ServerOnly => "A server with no user interface: it keeps a client secret and signs in as a user with a JWT credential, or as itself with client credentials.",
        Device => "A device with little or no keyboard (TV, CLI): the user approves it on another screen (device flow).",
    }
}

/// Why a grant exists, in plain words.
pub fn grant_words(g: grantd_protocol::Grant) -> &'static str {
    use grantd_protocol::Grant::*;
    match g {
        AuthorizationCode => "the user signs in in the browser; the app gets a code to exchange",
        RefreshToken => "keep a session going without signing in again",
        JwtBearer => "a server signs in as a user with a JWT credential",
        ClientCredentials => "the app acts as itself, with no user",
        Password => "legacy: the app collects the user's password",
        Implicit => "legacy: tokens in the browser's address bar",
        TokenExchange => {
            "exchange a user's token to call another service for them (named explicitly)"
        }
        DeviceCode => "the user approves the device on another screen",
    }
}

/// What the console's new-app form sends, as typed.
#[derive(Debug, Default)]
pub struct AppForm {
    pub platform: String,
    pub name: String,
    pub grants: Vec<String>,
    /// One per line.
    pub redirect_uris: String,
    /// Separated by spaces or commas.
    pub scopes: String,
}

impl Grantd {
    /// Registers an app in the user's account from the console's form; the
    /// registration rules are `apps.rs`'s, and nothing is saved if a field
    /// is wrong (the refusal names it).
    pub async fn console_create_app(
        &self,
        user: &User,
        form: &AppForm,
    ) -> Result<crate::apps::CreatedApp, OAuthError> {
        check_console_user(user)?;
        if form.grants.is_empty() {
            return Err(OAuthError::invalid_app_field(
                "grants",
                "choose at least one grant",
            ));
        }
        let list = |s: &str, seps: &[char]| -> Vec<String> {
            s.split(|c: char| seps.contains(&c))
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        let scopes = list(&form.scopes, &[' ', ',', '\n', '\r', '\t']);
        self.create_app(crate::apps::AppSpec {
            name: Some(form.name.trim().to_string()),
            account_id: Some(user.account_id.clone()),
            platform_type: Some(form.platform.clone()),
            grants: Some(form.grants.clone()),
            redirect_uris: Some(list(&form.redirect_uris, &['\n', '\r'])),
            scopes: (!scopes.is_empty()).then_some(scopes),
            ..Default::default()
        })
        .await
    }
}
