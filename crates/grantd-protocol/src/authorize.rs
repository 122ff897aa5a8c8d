//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core
//! §3.1.2.1), read from query or form parameters.

use crate::error::OAuthError;
use crate::form::Params;
use crate::scope::Scopes;

/// RingCentral's sign-in page options, which the JS SDK repeats when given
/// arrays: they may appear more than once at the authorization endpoint
/// (their values join into one list). Every parameter OAuth or OpenID
/// Connect defines is still refused when repeated (RFC 6749 §3.1).
pub const REPEATABLE_UI_PARAMETERS: &[&str] = &[
    // RFC 8707 §2: one per resource (joined with spaces, which URIs never hold).
    "resource",
    "ui_options",
    "ui_locales",
    "localeId",
    "display",
    "response_hint",
    "login_hint",
    "brand_id",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    /// The legacy implicit flow.
    Token,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::Token => "token",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S256" => Some(PkceMethod::S256),
            "plain" => Some(PkceMethod::Plain),
            _ => None,
        }
    }
}

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Everything the authorization endpoint reads. Which checks can be answered
/// by a redirect depends on whether client and redirect URI are known, so
/// parsing here only reads; the rules live in grantd-core.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Prompt,
    pub login_hint: Option<String>,
    pub nonce: Option<String>,
    pub ui_locales: Option<String>,
    /// OIDC `max_age`: seconds since the user's last sign-in beyond which they sign in again.
    pub max_age: Option<u64>,
    /// RFC 9126: the reference to a pushed request (replaces every other parameter).
    pub request_uri: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
    /// RFC 8707: the resources the tokens are for, space-separated.
    pub resource: Option<String>,
    /// grantd's seal over the other parameters, carried through the sign-in
    /// and consent forms: they came from a pushed request.
    pub pushed: Option<String>,
}

impl AuthorizeRequest {
    /// Reads the parameters; a token request sent here is refused as the
    /// seed's "wrong endpoint" mistake.
    pub fn read(params: &Params, token_endpoint: &str) -> Result<Self, OAuthError> {
        if params.contains("grant_type")
            || (params.contains("code") && !params.contains("response_type"))
        {
            return Err(OAuthError::code_at_authorize_endpoint(token_endpoint));
        }
        let mut prompt = Prompt::default();
        if let Some(p) = params.get("prompt") {
            for v in p.split(' ').filter(|v| !v.is_empty()) {
                match v {
                    "none" => prompt.none = true,
                    "login" => prompt.login = true,
                    "consent" => prompt.consent = true,
                    // RingCentral's `sso` and OIDC's `select_account` need no page of their own here.
                    "sso" | "select_account" => {}
                    other => {
                        return Err(OAuthError::invalid_parameter(
                            "prompt",
                            format!(
                                "'{}' is not none, login, consent or select_account",
                                crate::error::echo(other, 30)
                            ),
                        ))
                    }
                }
            }
            if prompt.none && (prompt.login || prompt.consent) {
                return Err(OAuthError::invalid_parameter(
                    "prompt",
                    "none cannot be combined with login or consent",
                ));
            }
        }
        let get = |n: &str| params.get(n).map(str::to_string);
        Ok(Self {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            state: get("state"),
            scope: get("scope"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            prompt,
            login_hint: get("login_hint"),
            nonce: get("nonce"),
            ui_locales: get("ui_locales"),
            request_uri: get("request_uri"),
            dpop_jkt: get("dpop_jkt"),
            resource: get("resource"),
            pushed: get("pushed"),
            max_age: match params.get("max_age") {
                None => None,
                Some(v) => Some(v.trim().parse().map_err(|_| {
                    OAuthError::invalid_parameter("max_age", "give a number of seconds")
                })?),
            },
        })
    }

    pub fn scopes(&self) -> Result<Option<Scopes>, OAuthError> {
        self.scope.as_deref().map(Scopes::parse).transpose()
    }

    /// The parameters again, to carry through the sign-in and consent forms.
    /// The `resource` values (RFC 8707), in the order sent.
    pub fn resources(&self) -> Vec<&str> {
        self.resource
            .as_deref()
            .map(|r| r.split(' ').filter(|x| !x.is_empty()).collect())
            .unwrap_or_default()
    }

    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = Vec::new();
        let mut push = |k: &'static str, val: &Option<String>| {
            if let Some(x) = val {
                v.push((k, x.clone()));
            }
        };
        push("response_type", &self.response_type);
        push("client_id", &self.client_id);
        push("redirect_uri", &self.redirect_uri);
        push("state", &self.state);
        push("scope", &self.scope);
        push("code_challenge", &self.code_challenge);
        push("code_challenge_method", &self.code_challenge_method);
        push("login_hint", &self.login_hint);
        push("nonce", &self.nonce);
        push("ui_locales", &self.ui_locales);
        push("max_age", &self.max_age.map(|m| m.to_string()));
        push("dpop_jkt", &self.dpop_jkt);
        push("resource", &self.resource);
        let mut prompts = Vec::new();
        if self.prompt.consent {
            prompts.push("consent");
        }
        if self.prompt.none {
            prompts.push("none");
        }
        if !prompts.is_empty() {
            v.push(("prompt", prompts.join(" ")));
        }
        if let Some(seal) = &self.pushed {
            v.push(("pushed", seal.clone()));
        }
        v
    }
}

/// Checks a code_challenge's shape (RFC 7636 §4.2).
pub fn check_challenge(challenge: &str, method: PkceMethod) -> Result<(), OAuthError> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    match method {
        PkceMethod::S256 if challenge.len() != 43 || !challenge.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
            Err(OAuthError::pkce_challenge_invalid(&format!(
                "an S256 challenge is 43 base64url characters without padding; this one has {} characters{}",
                challenge.len(),
                if challenge.ends_with('=') { " and padding" } else { "" }
            )))
        }
        PkceMethod::Plain if !(43..=128).contains(&challenge.len()) || !challenge.chars().all(unreserved) => {
            Err(OAuthError::pkce_challenge_invalid("a plain challenge is 43–128 characters of A–Z, a–z, 0–9 and -._~"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Code;

    #[test]
    fn a_code_exchange_here_is_the_wrong_endpoint() {
        for body in [
            &b"grant_type=authorization_code&code=x"[..],
            b"code=abc&client_id=x",
        ] {
            let p = Params::parse(body).unwrap();
            let e = AuthorizeRequest::read(&p, "https://as/oauth/token").unwrap_err();
            assert_eq!(e.code, Code::CodeAtAuthorizeEndpoint);
            assert!(e.description.contains("https://as/oauth/token"));
        }
    }

    #[test]
    fn empty_parameters_are_absent_and_prompts_parse() {
        let p =
            Params::parse(b"response_type=code&client_id=a&state=&prompt=login+consent&display=")
                .unwrap();
        let r = AuthorizeRequest::read(&p, "t").unwrap();
        assert_eq!(r.state, None);
        assert!(r.prompt.login && r.prompt.consent && !r.prompt.none);
        let p = Params::parse(b"prompt=none+login").unwrap();
        assert!(AuthorizeRequest::read(&p, "t").is_err());
    }

    #[test]
    fn challenges() {
        assert!(check_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            PkceMethod::S256
        )
        .is_ok());
        assert!(check_challenge("short", PkceMethod::S256).is_err());
        assert!(check_challenge(&"a".repeat(43), PkceMethod::Plain).is_ok());
        assert!(check_challenge(&"a".repeat(42), PkceMethod::Plain).is_err());
    }
}
