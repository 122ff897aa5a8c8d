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
        source: &str,
        form: &CredentialForm,
    ) -> Result<crate::credentials::IssuedCredential, OAuthError> {
        check_console_user(user)?;
        let spec = self.credential_spec(user, form).await?;
        let actor = crate::audit::Actor {
            id: &user.id,
            source,
        };
        self.create_credential_by(&actor, &user.id, spec).await
    }

    /// The credential form as the admin API's spec: a label, at least one
    /// app of the signed-in user's account, an expiry in days (or never).
    pub(crate) async fn credential_spec(
        &self,
        user: &User,
        form: &CredentialForm,
    ) -> Result<crate::credentials::CredentialSpec, OAuthError> {
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
        Ok(crate::credentials::CredentialSpec {
            label: Some(label.to_string()),
            apps: Some(form.apps.clone()),
            expires_in,
        })
    }

    /// Revokes one of the signed-in user's credentials (another user's is
    /// as unknown as a missing one).
    pub async fn console_revoke_credential(
        &self,
        user: &User,
        source: &str,
        id: &str,
    ) -> Result<(), OAuthError> {
        check_console_user(user)?;
        match self.store.get_jwt_credential(id).await? {
            Some(c) if c.user_id == user.id => {
                let actor = crate::audit::Actor {
                    id: &user.id,
                    source,
                };
                self.revoke_credential_by(&actor, id).await
            }
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

/// What the console's app forms (register, edit) send, as typed.
#[derive(Debug, Default)]
pub struct AppForm {
    pub platform: String,
    pub name: String,
    pub grants: Vec<String>,
    /// One per line.
    pub redirect_uris: String,
    /// Separated by spaces or commas.
    pub scopes: String,
    /// `private` or `public`; chosen at registration only.
    pub distribution: String,
    /// `yes`, `no`, or empty: follow the refresh_token grant.
    pub issue_refresh_tokens: String,
    /// Seconds; empty for the default (or unchanged).
    pub access_token_ttl: String,
    pub refresh_token_ttl: String,
    /// `jwt` or `opaque`; empty for the default (or unchanged).
    pub access_token_format: String,
    /// One per line.
    pub allowed_origins: String,
    /// The app's JSON Web Key Set for `private_key_jwt`, as JSON; empty for
    /// none (on edit: removes the set).
    pub jwks: String,
    /// Where the app publishes that key set instead (`jwks_uri`); empty for
    /// none (on edit: removes it).
    pub jwks_uri: String,
    /// One per line: where `/oauth/logout` may send the browser afterwards.
    pub post_logout_redirect_uris: String,
    /// Where back-channel logout tokens go; empty for none.
    pub backchannel_logout_uri: String,
    /// One per line: resources (RFC 8707) the app's tokens may be for.
    pub resource_uris: String,
    /// The settings form's security fields, when it carried them (edit only).
    pub security: Option<SecurityForm>,
    /// The app's revision when the settings form was loaded; empty on register.
    pub revision: String,
}

/// The security settings as the settings form sends them: a profile
/// (`none` or `fapi2`) and three checkboxes (present when ticked).
#[derive(Debug, Default, Clone)]
pub struct SecurityForm {
    pub profile: String,
    pub require_par: bool,
    pub require_dpop: bool,
    pub require_signed_request_object: bool,
}

fn form_list(s: &str, seps: &[char]) -> Vec<String> {
    s.split(|c: char| seps.contains(&c))
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn form_seconds(field: &'static str, value: &str) -> Result<Option<u64>, OAuthError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value.parse::<u64>().map(Some).map_err(|_| {
        OAuthError::invalid_app_field(
            field,
            format!(
                "'{}' is not a number of seconds; give a whole number such as 3600",
                grantd_protocol::error::sanitize(value, 20)
            ),
        )
    })
}

/// The key set field: empty is none (absent at registration, removed on
/// edit); otherwise a JSON Web Key Set, checked by `apps.rs` (`check_jwks`).
fn form_jwks(
    value: &str,
    creating: bool,
) -> Result<Option<Option<crate::model::JwkSet>>, OAuthError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok((!creating).then_some(None));
    }
    serde_json::from_str::<crate::model::JwkSet>(value)
        .map(|set| Some(Some(set)))
        .map_err(|e| {
            OAuthError::invalid_app_field(
                "jwks",
                format!(
                    "it is not a JSON Web Key Set ({}); paste the public keys as {{\"keys\": [{{\"kty\": …}}]}}, or leave the field empty",
                    grantd_protocol::error::sanitize(&e.to_string(), 120)
                ),
            )
        })
}

impl AppForm {
    /// The settings the form changes, as the admin API's [`crate::apps::AppSpec`],
    /// so the same rules (`apps.rs`) check them. Platform type and
    /// distribution are taken only when `creating`.
    fn spec(&self, creating: bool) -> Result<crate::apps::AppSpec, OAuthError> {
        if self.grants.is_empty() {
            return Err(OAuthError::invalid_app_field(
                "grants",
                "choose at least one grant",
            ));
        }
        let scopes = form_list(&self.scopes, &[' ', ',', '\n', '\r', '\t']);
        let issue_refresh_tokens = match self.issue_refresh_tokens.as_str() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                return Err(OAuthError::invalid_app_field(
                    "issue_refresh_tokens",
                    format!(
                        "'{}' is not a choice; use yes or no",
                        grantd_protocol::error::sanitize(other, 20)
                    ),
                ))
            }
        };
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        Ok(crate::apps::AppSpec {
            name: Some(self.name.trim().to_string()),
            platform_type: creating.then(|| self.platform.clone()),
            distribution: if creating {
                text(&self.distribution)
            } else {
                None
            },
            grants: Some(self.grants.clone()),
            redirect_uris: Some(form_list(&self.redirect_uris, &['\n', '\r'])),
            // Empty: grantd's defaults at registration, unchanged on edit.
            scopes: (!scopes.is_empty()).then_some(scopes),
            issue_refresh_tokens,
            access_token_ttl: form_seconds("access_token_ttl", &self.access_token_ttl)?,
            refresh_token_ttl: form_seconds("refresh_token_ttl", &self.refresh_token_ttl)?,
            access_token_format: text(&self.access_token_format),
            allowed_origins: Some(form_list(&self.allowed_origins, &['\n', '\r', ' '])),
            jwks: form_jwks(&self.jwks, creating)?,
            jwks_uri: match text(&self.jwks_uri) {
                Some(uri) => Some(Some(uri)),
                None => (!creating).then_some(None),
            },
            // The register form has none of these: edited on the app's page.
            post_logout_redirect_uris: (!creating)
                .then(|| form_list(&self.post_logout_redirect_uris, &['\n', '\r', ' '])),
            backchannel_logout_uri: (!creating).then(|| text(&self.backchannel_logout_uri)),
            resource_uris: (!creating).then(|| form_list(&self.resource_uris, &['\n', '\r', ' '])),
            require_par: self.security.as_ref().map(|s| s.require_par),
            require_dpop: self.security.as_ref().map(|s| s.require_dpop),
            require_signed_request_object: self
                .security
                .as_ref()
                .map(|s| s.require_signed_request_object),
            profile: self
                .security
                .as_ref()
                .map(|s| (s.profile != "none" && !s.profile.is_empty()).then(|| s.profile.clone())),
            ..Default::default()
        })
    }
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
        let mut spec = form.spec(true)?;
        spec.account_id = Some(user.account_id.clone());
        self.create_app(spec).await
    }

    /// Changes an app of the user's account from the console's settings
    /// form, with the admin API's compare-and-set update and rules; the
    /// platform type and distribution stay as registered. Nothing is saved
    /// if a field is wrong.
    pub async fn console_update_app(
        &self,
        user: &User,
        client_id: &str,
        form: &AppForm,
    ) -> Result<App, OAuthError> {
        self.console_app(user, client_id).await?;
        let spec = form.spec(false)?;
        let revision = match form.revision.trim() {
            "" => None,
            r => Some(r.parse::<i64>().map_err(|_| {
                OAuthError::invalid_parameter(
                    "revision",
                    "reload the app page: the form's revision field is not a number",
                )
            })?),
        };
        self.update_app_at(client_id, spec, revision).await
    }

    /// A new client secret for a confidential app of the user's account;
    /// the old one stops working at once.
    pub async fn console_rotate_secret(
        &self,
        user: &User,
        client_id: &str,
    ) -> Result<(App, grantd_protocol::Secret), OAuthError> {
        self.console_app(user, client_id).await?;
        self.rotate_secret(client_id).await
    }
}
