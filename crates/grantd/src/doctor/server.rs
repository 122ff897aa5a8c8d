//! `grantd doctor --server`: the app's registration on a live grantd, read
//! through the admin API, against what the request asks of it.

use super::check::{CorrectedClient, Diagnosis, Kind};
use grantd_protocol::{Code, Grant, GrantType, OAuthError, PlatformType, RedirectUri, Scopes};
use serde_json::Value;

pub struct Live {
    base: String,
    token: String,
    http: reqwest::Client,
    issuer: String,
}

/// An app as the admin API describes it.
struct AppView {
    name: String,
    client_id: String,
    platform: PlatformType,
    grants: Vec<Grant>,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    issue_refresh_tokens: bool,
    allow_plain_pkce: bool,
}

impl Live {
    pub async fn connect(base: &str, token: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let meta: Value = http
            .get(format!("{base}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .map_err(|e| format!("no answer ({})", e.without_url()))?
            .json()
            .await
            .map_err(|_| {
                "its /.well-known/oauth-authorization-server is not JSON: is it a grantd?"
                    .to_string()
            })?;
        let issuer = meta["issuer"].as_str().unwrap_or(&base).to_string();
        Ok(Self {
            base,
            token: token.to_string(),
            http,
            issuer,
        })
    }

    async fn app(&self, client_id: &str) -> Result<Option<AppView>, String> {
        let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        let res = self
            .http
            .get(format!("{}/admin/v1/apps/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("no answer ({})", e.without_url()))?;
        match res.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            401 | 403 => return Err("the admin token was refused (GRD-402); pass the server's admin token with --admin-token or GRANTD_ADMIN_TOKEN".into()),
            s => return Err(format!("the admin API answered {s}")),
        }
        let v: Value = res.json().await.map_err(|e| e.to_string())?;
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Some(AppView {
            name: v["name"].as_str().unwrap_or("").to_string(),
            client_id: client_id.to_string(),
            platform: v["platform_type"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .ok_or("the admin API's app has no platform_type I know")?,
            grants: strings("grants")
                .iter()
                .filter_map(|g| g.parse().ok())
                .collect(),
            redirect_uris: strings("redirect_uris"),
            scopes: strings("scopes"),
            issue_refresh_tokens: v["issue_refresh_tokens"].as_bool().unwrap_or(true),
            allow_plain_pkce: v["allow_plain_pkce"].as_bool().unwrap_or(false),
        }))
    }

    /// Whether the server takes this client secret: an introspection of a
    /// token that does not exist changes nothing and answers 200 only to a
    /// client that authenticated.
    async fn secret_ok(
        &self,
        client_id: &str,
        secret: &grantd_protocol::Secret,
    ) -> Result<bool, String> {
        let res = self
            .http
            .post(format!("{}/oauth/introspect", self.base))
            .basic_auth(client_id, Some(secret.expose()))
            .form(&[("token", "grantd-doctor-probe")])
            .send()
            .await
            .map_err(|e| format!("no answer ({})", e.without_url()))?;
        if res.status().as_u16() != 401 {
            return Ok(true);
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        Ok(body["errors"][0]["errorCode"].as_str() != Some(Code::ClientSecretWrong.as_str()))
    }

    /// Adds what the live server would refuse about the app to `d`.
    pub async fn check(&self, d: &mut Diagnosis) -> Result<(), String> {
        let Some(client_id) = d
            .client_id()
            .filter(|c| !c.is_empty() && !c.starts_with('<'))
            .map(str::to_string)
        else {
            return Ok(());
        };
        let Some(app) = self.app(&client_id).await? else {
            d.findings
                .push(OAuthError::client_unknown(&client_id, None).into());
            return Ok(());
        };
        match d.kind {
            Kind::Authorize => self.authorize(d, &app),
            Kind::Token => self.token(d, &app).await?,
            Kind::Revoke | Kind::Introspect | Kind::Device => self.client(d, &app).await?,
            Kind::Api => {}
        }
        Ok(())
    }

    async fn client(&self, d: &mut Diagnosis, app: &AppView) -> Result<(), String> {
        let confidential = app.platform.is_confidential();
        match (&d.secret, confidential) {
            (None, true) => push(
                d,
                OAuthError::secret_required(&app.client_id, &app.name, app.platform),
            ),
            (Some(s), true) => {
                if !self.secret_ok(&app.client_id, s).await? {
                    push(
                        d,
                        OAuthError::client_secret_wrong(&app.client_id, &app.name, None, None),
                    );
                }
            }
            (_, false) => {
                // A public app: Basic with an empty secret or client_id in the body.
                if matches!(d.client, CorrectedClient::Basic(_)) && d.secret.is_none() {
                    d.client = CorrectedClient::BasicPublic(app.client_id.clone());
                    d.findings.retain(|f| f.code() != Code::ClientAuthMissing);
                }
            }
        }
        Ok(())
    }

    async fn token(&self, d: &mut Diagnosis, app: &AppView) -> Result<(), String> {
        self.client(d, app).await?;
        let Some(grant) = d.param("grant_type").and_then(GrantType::parse) else {
            return Ok(());
        };
        let needed = grant.enabled_by();
        if !app.grants.contains(&needed) {
            push(
                d,
                OAuthError::grant_not_enabled(
                    &app.name,
                    &app.client_id,
                    app.platform,
                    needed,
                    &app.grants,
                ),
            );
        }
        if grant == GrantType::RefreshToken && !app.issue_refresh_tokens {
            push(
                d,
                OAuthError::refresh_not_issued(&app.name, &app.client_id, Some(&app.grants)),
            );
        }
        self.scopes(d, app);
        if grant == GrantType::AuthorizationCode {
            if let Some(uri) = d
                .param("redirect_uri")
                .filter(|u| !u.starts_with('<'))
                .map(str::to_string)
            {
                self.redirect(d, app, &uri);
            }
            if !app.platform.is_confidential() && d.param("code_verifier").is_none() {
                push(d, OAuthError::pkce_verifier_missing());
            }
        }
        if grant == GrantType::JwtBearer {
            if let Some(claims) = d.assertion_claims.clone() {
                // The offline check guessed the server from the request; now it is known.
                d.findings
                    .retain(|f| f.code() != Code::AssertionForeignIssuer);
                let iss = claims["iss"].as_str().unwrap_or("");
                if iss != self.issuer {
                    push(
                        d,
                        OAuthError::assertion_foreign_issuer(
                            if iss.is_empty() { "(no iss)" } else { iss },
                            &self.issuer,
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn scopes(&self, d: &mut Diagnosis, app: &AppView) {
        let Some(asked) = d.param("scope").and_then(|s| Scopes::parse(s).ok()) else {
            return;
        };
        let missing: Vec<&str> = asked
            .iter()
            .filter(|s| !app.scopes.iter().any(|a| a == s))
            .collect();
        if !missing.is_empty() {
            let e = OAuthError::scope_not_permitted(&app.name, &missing, &app.scopes);
            d.findings.push(e.into());
        }
    }

    fn redirect(&self, d: &mut Diagnosis, app: &AppView, sent: &str) {
        if app.redirect_uris.is_empty() {
            push(
                d,
                OAuthError::no_redirect_uri_registered(&app.name, &app.client_id),
            );
            return;
        }
        let registered = app
            .redirect_uris
            .iter()
            .filter_map(|r| RedirectUri::parse(r).ok());
        if !registered.clone().any(|r| r.matches(sent)) {
            push(
                d,
                OAuthError::redirect_uri_not_registered(sent, &app.redirect_uris),
            );
        }
    }

    fn authorize(&self, d: &mut Diagnosis, app: &AppView) {
        let response_type = d.param("response_type").unwrap_or("code").to_string();
        let needed = if response_type == "token" {
            Grant::Implicit
        } else {
            Grant::AuthorizationCode
        };
        if !app.grants.contains(&needed) {
            push(
                d,
                OAuthError::grant_not_enabled(
                    &app.name,
                    &app.client_id,
                    app.platform,
                    needed,
                    &app.grants,
                ),
            );
        }
        match d.param("redirect_uri").map(str::to_string) {
            Some(uri) => self.redirect(d, app, &uri),
            None if app.redirect_uris.is_empty() => push(
                d,
                OAuthError::no_redirect_uri_registered(&app.name, &app.client_id),
            ),
            None if app.redirect_uris.len() > 1 => {
                push(d, OAuthError::redirect_uri_required(&app.redirect_uris))
            }
            None => {}
        }
        self.scopes(d, app);
        if response_type == "code"
            && !app.platform.is_confidential()
            && d.param("code_challenge").is_none()
        {
            push(d, OAuthError::pkce_required(&app.name, app.platform));
        }
        if app.allow_plain_pkce {
            // This app takes plain, which a missing method means.
            d.findings.retain(|f| {
                f.code() != Code::PkceMethodRefused || !f.error.description.contains("is missing")
            });
        }
    }
}

fn push(d: &mut Diagnosis, e: OAuthError) {
    if !d.has(e.code, e.parameter) {
        d.findings.push(e.into());
    }
}
