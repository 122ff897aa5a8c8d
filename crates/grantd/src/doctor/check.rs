//! The offline checks of `grantd doctor`: the request's form, judged by the
//! same parsers and catalog constructors the server answers with.

use super::input::{HttpRequest, Quirk};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use grantd_protocol::authorize::{check_challenge, AuthorizeRequest, PkceMethod};
use grantd_protocol::form::{carries_credential, query_names, read_form_body};
use grantd_protocol::grant::JWT_BEARER_URN;
use grantd_protocol::requests::{
    AuthorizationCodeRequest, DeviceCodeRequest, GrantRequest, JwtBearerRequest, PasswordRequest,
    RefreshTokenRequest, TokenExchangeRequest,
};
use grantd_protocol::{
    ClientAuth, Code, GrantType, OAuthError, Params, RedirectUri, Scopes, TokenRequest,
};
use grantd_server::endpoints::{closest, ENDPOINTS};

/// Parameters whose values are secrets: never printed, replaced by placeholders.
pub const SECRET_PARAMS: &[&str] = &[
    "password",
    "client_secret",
    "assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "subject_token",
    "actor_token",
    "device_code",
    "client_assertion",
];

/// Which endpoint a request is (or was meant to be) for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Authorize,
    Token,
    Revoke,
    Introspect,
    Device,
    /// grantd's own API (a bearer token is presented).
    Api,
}

impl Kind {
    fn metadata(self) -> &'static str {
        match self {
            Kind::Authorize => "authorization_endpoint",
            Kind::Token => "token_endpoint",
            Kind::Revoke => "revocation_endpoint",
            Kind::Introspect => "introspection_endpoint",
            Kind::Device => "device_authorization_endpoint",
            Kind::Api => "",
        }
    }

    /// The path of this endpoint, in the style (RingCentral or canonical) the
    /// request used.
    pub fn path(self, ringcentral: bool) -> &'static str {
        if self == Kind::Api {
            return "/restapi/v1.0/account/~/extension/~";
        }
        let e = ENDPOINTS
            .iter()
            .find(|e| e.metadata == Some(self.metadata()));
        match e {
            Some(e) if ringcentral => e.ringcentral.unwrap_or(e.path),
            Some(e) => e.path,
            None => "/oauth/token",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Authorize => "authorization endpoint",
            Kind::Token => "token endpoint",
            Kind::Revoke => "revocation endpoint",
            Kind::Introspect => "introspection endpoint",
            Kind::Device => "device authorization endpoint",
            Kind::Api => "API",
        }
    }

    /// What a request of this kind is called.
    pub fn request(self) -> &'static str {
        match self {
            Kind::Authorize => "an authorization request",
            Kind::Token => "a token request",
            Kind::Revoke => "a revocation request",
            Kind::Introspect => "an introspection request",
            Kind::Device => "a device authorization request",
            Kind::Api => "an API request",
        }
    }

    fn of_path(path: &str) -> Option<Kind> {
        let path = path.trim_end_matches('/');
        if path.starts_with("/restapi/v1.0/") {
            return Some(Kind::Api);
        }
        for k in [
            Kind::Authorize,
            Kind::Token,
            Kind::Revoke,
            Kind::Introspect,
            Kind::Device,
        ] {
            let e = ENDPOINTS
                .iter()
                .find(|e| e.metadata == Some(k.metadata()))?;
            if path.ends_with(e.path) || e.ringcentral.is_some_and(|r| path.ends_with(r)) {
                return Some(k);
            }
        }
        None
    }
}

/// One problem: a catalog code, the cause with the values involved, and
/// (from the catalog, or more precise) the fix.
#[derive(Debug, Clone)]
pub struct Finding {
    pub error: OAuthError,
    /// A fix more precise than the catalog's, when doctor knows one.
    pub hint: Option<String>,
}

impl Finding {
    pub fn code(&self) -> Code {
        self.error.code
    }
}

impl From<OAuthError> for Finding {
    fn from(error: OAuthError) -> Self {
        Self { error, hint: None }
    }
}

/// What doctor concluded about one request, and what the corrected one holds.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub source: String,
    pub method: String,
    /// The target without its query (which may hold secrets).
    pub path: String,
    pub kind: Kind,
    /// What the request is, as sent ("an API request", "a token request").
    pub label: &'static str,
    pub findings: Vec<Finding>,
    /// The corrected request's parameters, in order, secrets still in them
    /// (rendering replaces them by placeholders).
    pub params: Vec<(String, String)>,
    /// How the corrected request authenticates the client.
    pub client: CorrectedClient,
    pub origin: Option<String>,
    pub ringcentral_paths: bool,
    /// The decoded JWT assertion's claims (unverified), for the server checks.
    pub assertion_claims: Option<serde_json::Value>,
    /// The client secret the request carried: only ever sent to the server
    /// `--server` names, to check it; never printed.
    pub secret: Option<grantd_protocol::Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectedClient {
    /// `Authorization: Basic` with this client id (or a placeholder) and the secret.
    Basic(Option<String>),
    /// `Basic base64(id:)`: a public app as the RingCentral Python SDK sends it.
    BasicPublic(String),
    /// `client_id` in the body (a public app).
    BodyId,
    /// None needed (the authorization endpoint, the API).
    None,
}

impl Diagnosis {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn client_id(&self) -> Option<&str> {
        match &self.client {
            CorrectedClient::Basic(Some(id)) | CorrectedClient::BasicPublic(id) => Some(id),
            _ => self.param("client_id"),
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = value.to_string(),
            None => self.params.push((name.to_string(), value.to_string())),
        }
    }

    fn remove(&mut self, name: &str) {
        self.params.retain(|(n, _)| n != name);
    }

    fn push(&mut self, e: OAuthError) {
        if !self.has(e.code, e.parameter) {
            self.findings.push(e.into());
        }
    }

    fn push_hint(&mut self, e: OAuthError, hint: String) {
        if !self.has(e.code, e.parameter) {
            self.findings.push(Finding {
                error: e,
                hint: Some(hint),
            });
        }
    }

    pub fn has(&self, code: Code, parameter: Option<&str>) -> bool {
        self.findings.iter().any(|f| {
            f.error.code == code && (parameter.is_none() || f.error.parameter == parameter)
        })
    }
}

/// Whether a request is an OAuth one doctor should look at (a HAR holds
/// every request of a page).
pub fn is_oauth(req: &HttpRequest) -> bool {
    match Kind::of_path(req.path()) {
        Some(Kind::Api) => bearer_credential(req).is_some(),
        Some(_) => true,
        None => {
            let (pairs, _) = salvage(req);
            req.path().contains("/oauth/")
                || pairs
                    .iter()
                    .any(|(n, _)| n == "grant_type" || n == "response_type")
        }
    }
}

/// Every problem doctor finds in `req` without asking a server.
pub fn diagnose(req: &HttpRequest) -> Diagnosis {
    let path = req.path().to_string();
    let (pairs, body_error) = salvage(req);
    let has = |n: &str| pairs.iter().any(|(k, _)| k == n);
    let stated = Kind::of_path(&path);
    let kind = match stated {
        Some(Kind::Authorize) if has("grant_type") || (has("code") && !has("response_type")) => {
            Kind::Token
        }
        Some(k) => k,
        None if has("response_type") => Kind::Authorize,
        None => Kind::Token,
    };
    let mut d = Diagnosis {
        source: req.source.clone(),
        method: req.method.clone(),
        path: path.clone(),
        kind,
        label: kind.request(),
        findings: Vec::new(),
        params: pairs,
        client: CorrectedClient::None,
        origin: req.origin(),
        ringcentral_paths: path.contains("/restapi/"),
        assertion_claims: None,
        secret: None,
    };
    for q in &req.quirks {
        match q {
            Quirk::RequestLineBroken(n) => d.push(OAuthError::request_line_broken(*n)),
            Quirk::NoHost => d.push(OAuthError::no_host_header()),
        }
    }
    let token_endpoint = format!(
        "{}{}",
        d.origin.clone().unwrap_or_default(),
        Kind::Token.path(d.ringcentral_paths)
    );
    match stated {
        None => d.push_hint(
            OAuthError::unknown_endpoint(&req.method, &path, closest(&path)),
            format!(
                "This request belongs at the {}: {}.",
                kind.name(),
                Kind::path(kind, d.ringcentral_paths)
            ),
        ),
        Some(Kind::Authorize) if kind == Kind::Token => {
            // The seed's own advice: a code exchange posted to /authorize. The
            // server's parser says so; doctor asks it.
            let params = params_of(&d.params);
            if let Err(e) = AuthorizeRequest::read(&params, &token_endpoint) {
                d.push(e);
            }
        }
        _ => {}
    }
    match kind {
        Kind::Authorize => authorize_checks(req, &mut d),
        Kind::Api => api_checks(req, &mut d),
        _ => {
            form_checks(req, &mut d, body_error);
            client_checks(req, &mut d);
            match kind {
                Kind::Token => token_checks(&mut d),
                Kind::Revoke | Kind::Introspect if d.param("token").is_none() => {
                    d.push(OAuthError::missing_parameter(
                        "token",
                        &format!(
                            "at the {} (the token to {})",
                            kind.name(),
                            if kind == Kind::Revoke {
                                "revoke"
                            } else {
                                "describe"
                            }
                        ),
                    ));
                    d.set("token", "");
                }
                _ => {}
            }
        }
    }
    d
}

/// The request's parameters as the sender meant them: body (form, or JSON —
/// even JSON with holes, as in forum posts) then query; empty values dropped,
/// first value of a repeat kept. Also the body's error as the server's reader
/// sees it.
fn salvage(req: &HttpRequest) -> (Vec<(String, String)>, Option<OAuthError>) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut add = |n: String, v: String| {
        if !n.is_empty() && !v.is_empty() && !pairs.iter().any(|(k, _)| *k == n) {
            pairs.push((n, v));
        }
    };
    let body_error = read_form_body(req.header("content-type"), &req.body).err();
    let trimmed = req.body.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        for (n, v) in json_pairs(&String::from_utf8_lossy(trimmed)) {
            add(n, v);
        }
    } else {
        for (n, v) in form_urlencoded::parse(&req.body) {
            add(n.trim().to_string(), v.trim().to_string());
        }
    }
    if let Some(q) = req.query() {
        for (n, v) in form_urlencoded::parse(q.as_bytes()) {
            add(n.to_string(), v.to_string());
        }
    }
    (pairs, body_error)
}

/// `"name": value` pairs of a JSON object, read leniently: forum posts hold
/// objects such as `{"code": , "client_id": ""}` that no JSON parser takes.
fn json_pairs(text: &str) -> Vec<(String, String)> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let name = &after[..end];
        let tail = after[end + 1..].trim_start();
        let Some(tail) = tail.strip_prefix(':') else {
            rest = &after[end + 1..];
            continue;
        };
        let tail = tail.trim_start();
        let (value, next) = if let Some(t) = tail.strip_prefix('"') {
            match t.find('"') {
                Some(e) => (t[..e].to_string(), &t[e + 1..]),
                None => (t.to_string(), ""),
            }
        } else {
            let e = tail.find([',', '}', '\n']).unwrap_or(tail.len());
            (tail[..e].trim().to_string(), &tail[e..])
        };
        out.push((name.to_string(), value));
        rest = next;
    }
    out
}

fn params_of(pairs: &[(String, String)]) -> Params {
    let body: String = pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={}",
                super::input::form_encode(n),
                super::input::form_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Params::parse(body.as_bytes()).unwrap_or_default()
}

/// Method, query and body of a form endpoint (token, revocation,
/// introspection, device authorization).
fn form_checks(req: &HttpRequest, d: &mut Diagnosis, body_error: Option<OAuthError>) {
    if req.method != "POST" {
        d.push(OAuthError::method_not_allowed(
            &req.method,
            &d.path.clone(),
            "POST",
        ));
    }
    // As the server: these endpoints read the body only, so any parameter
    // in the URL is refused, and named.
    let found = query_names(req.query());
    if !found.is_empty() {
        let credentials = found.iter().any(|n| carries_credential(n));
        d.push(OAuthError::credentials_in_query(&found, credentials));
    }
    if let Some(e) = body_error {
        d.push(e);
    } else if !req.body.is_empty() {
        // The body is read; a second look for values that did not survive the
        // sender's encoding.
        let raw = String::from_utf8_lossy(&req.body);
        for pair in raw.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.contains(' ') || value.contains('\n') {
                if let Some(n) = grantd_protocol::form::static_param_name(name.trim()) {
                    d.push(OAuthError::body_not_form(&format!(
                        "the value of {n} holds a raw space or line break; percent-encode it (%20 or +)"
                    )).with_parameter(n));
                }
            }
        }
    }
    if req.body.is_empty() && req.query().is_none() && d.params.is_empty() {
        d.push(OAuthError::missing_parameter(
            if d.kind == Kind::Token {
                "grant_type"
            } else {
                "token"
            },
            &format!("at the {}; the request has no body", d.kind.name()),
        ));
    }
}

/// The client's authentication, read as the server reads it.
fn client_checks(req: &HttpRequest, d: &mut Diagnosis) {
    let header = req.header("authorization");
    let params = params_of(&d.params);
    match ClientAuth::read(header.map(str::as_bytes), &params) {
        Ok(ClientAuth::Basic { client_id, secret }) => {
            d.client = if secret.is_empty() {
                CorrectedClient::BasicPublic(client_id.clone())
            } else {
                d.secret = Some(secret);
                CorrectedClient::Basic(Some(client_id.clone()))
            };
            d.remove("client_id");
        }
        Ok(ClientAuth::Post { client_id, secret }) => {
            d.secret = Some(secret);
            d.client = CorrectedClient::Basic(Some(client_id));
        }
        Ok(ClientAuth::None { client_id }) => {
            d.client = CorrectedClient::BodyId;
            let _ = client_id;
        }
        // private_key_jwt: the assertion stays in the body; only the server
        // can check it against the app's keys.
        Ok(ClientAuth::Assertion { .. }) => {
            d.client = CorrectedClient::BodyId;
        }
        Ok(ClientAuth::Absent) => {
            d.push(OAuthError::client_auth_missing());
            d.client = CorrectedClient::Basic(None);
        }
        Err(e) => {
            let code = e.code;
            d.push(e);
            // Which client the sender meant, to correct the request.
            let id = header
                .and_then(basic_id)
                .or_else(|| d.param("client_id").map(str::to_string));
            d.client = CorrectedClient::Basic(id);
            if code == Code::MultipleClientAuth || code == Code::ClientIdMismatch {
                d.remove("client_id");
            }
        }
    }
    if matches!(d.client, CorrectedClient::Basic(_)) {
        d.remove("client_secret");
        d.remove("client_id");
    }
}

/// The client id inside a Basic header, if one can be read at all.
fn basic_id(header: &str) -> Option<String> {
    let rest = header.trim().split_once(' ')?.1.trim();
    let bytes = STANDARD
        .decode(rest)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(rest.trim_end_matches('=')).ok())?;
    let s = String::from_utf8(bytes).ok()?;
    let (id, _) = s.split_once(':')?;
    (!id.is_empty()).then(|| id.to_string())
}

/// Grant type, scope, and what the grant itself requires.
fn token_checks(d: &mut Diagnosis) {
    let params = params_of(&d.params);
    let grant = match TokenRequest::read(&params) {
        Ok(t) => Some(t.grant_type),
        Err(e) => {
            let value = d.param("grant_type").unwrap_or("").to_string();
            let guess = guess_grant(&value);
            match (&guess, e.code) {
                (Some(g), Code::UnsupportedGrantType) => {
                    d.push_hint(e, format!("Send grant_type={}.", g.as_str()));
                }
                (_, Code::MissingParameter) => {
                    d.push(e);
                }
                _ => d.push(e),
            }
            if let Some(g) = guess {
                d.set("grant_type", g.as_str());
            } else if d.param("grant_type").is_none() {
                d.set("grant_type", "<GRANT_TYPE>");
            }
            guess.or_else(|| GrantType::parse(d.param("grant_type").unwrap_or("")))
        }
    };
    if let Some(scope) = d.param("scope").map(str::to_string) {
        if scope.contains(',') && Scopes::parse(&scope).is_ok() {
            d.push(OAuthError::scope_malformed(
                "names are separated by commas; scope names are separated by spaces, so this is read as one scope with commas in its name",
            ));
            let fixed: Vec<&str> = scope.split([',', ' ']).filter(|s| !s.is_empty()).collect();
            d.set("scope", &fixed.join(" "));
        }
    }
    let Some(grant) = grant else { return };
    let read: Result<(), OAuthError> = match grant {
        GrantType::AuthorizationCode => AuthorizationCodeRequest::read(&params).map(|_| ()),
        GrantType::RefreshToken => RefreshTokenRequest::read(&params).map(|_| ()),
        GrantType::JwtBearer => JwtBearerRequest::read(&params).map(|_| ()),
        GrantType::Password => PasswordRequest::read(&params).map(|_| ()),
        GrantType::TokenExchange => TokenExchangeRequest::read(&params).map(|_| ()),
        GrantType::DeviceCode => DeviceCodeRequest::read(&params).map(|_| ()),
        GrantType::ClientCredentials => Ok(()),
    };
    if let Err(e) = read {
        d.push(e);
    }
    // Each grant's parser stops at the first missing parameter; doctor names them all.
    let required: &[(&'static str, &str)] = match grant {
        GrantType::AuthorizationCode => &[(
            "code",
            "for the authorization_code grant (the code of the redirect)",
        )],
        GrantType::RefreshToken => &[("refresh_token", "for the refresh_token grant")],
        GrantType::JwtBearer => &[(
            "assertion",
            "for the JWT bearer grant (the user's JWT credential)",
        )],
        GrantType::Password => &[
            (
                "username",
                "for the password grant (an email or E.164 phone number)",
            ),
            ("password", "for the password grant"),
        ],
        GrantType::DeviceCode => &[("device_code", "for the device_code grant")],
        _ => &[],
    };
    for (name, context) in required {
        if d.param(name).is_none() {
            d.push(OAuthError::missing_parameter(name, context));
            d.set(name, "");
        }
    }
    match grant {
        GrantType::AuthorizationCode => code_checks(d),
        GrantType::JwtBearer => {
            if let Some(a) = d.param("assertion").map(str::to_string) {
                assertion_checks(&a, d);
            }
        }
        GrantType::Password => {
            if let Some(u) = d.param("username").map(str::to_string) {
                let ext = d.param("extension").map(str::to_string);
                if let Err(e) = grantd_core::users::Login::parse(&u, ext.as_deref()) {
                    d.push(e);
                }
            }
        }
        _ => {}
    }
}

/// A grant_type that was almost right.
fn guess_grant(value: &str) -> Option<GrantType> {
    let v = value.trim().to_ascii_lowercase().replace('-', "_");
    if let Some(g) = GrantType::parse(value.trim()) {
        return Some(g);
    }
    match v.as_str() {
        "jwt" | "jwt_bearer" | "jwtbearer" | "urn:ietf:params:oauth:grant_type:jwt_bearer" => {
            Some(GrantType::JwtBearer)
        }
        "code" | "authorizationcode" | "auth_code" | "authorization code" => {
            Some(GrantType::AuthorizationCode)
        }
        "refresh" | "refreshtoken" | "refresh token" => Some(GrantType::RefreshToken),
        "client_credential" | "clientcredentials" => Some(GrantType::ClientCredentials),
        "ropc" | "passwords" => Some(GrantType::Password),
        _ => GrantType::ALL.into_iter().find(|g| g.as_str() == v),
    }
}

/// What the code exchange needs beyond the code.
fn code_checks(d: &mut Diagnosis) {
    match d.param("redirect_uri").map(str::to_string) {
        None => {
            d.push(OAuthError::missing_parameter(
                "redirect_uri",
                "with the code when the authorization request named one (it must be the same URI, compared exactly)",
            ));
            d.set("redirect_uri", "<REDIRECT_URI>");
        }
        Some(uri) => {
            if let Err(e) = RedirectUri::parse(&uri) {
                d.push(e);
            }
        }
    }
    let public = matches!(
        d.client,
        CorrectedClient::BasicPublic(_) | CorrectedClient::BodyId
    );
    match d.param("code_verifier").map(str::to_string) {
        None if public => {
            d.push_hint(
                OAuthError::pkce_verifier_missing(),
                "A public app (no client secret) must use PKCE: send code_verifier, the random string whose S256 hash was the code_challenge of the authorization request.".into(),
            );
            d.set("code_verifier", "");
        }
        None => {}
        Some(v) => {
            let ok = (43..=128).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            if !ok {
                d.push(OAuthError::invalid_parameter(
                    "code_verifier",
                    format!("RFC 7636 §4.1: a code_verifier is 43–128 characters of A–Z, a–z, 0–9 and -._~; this one has {} characters{}", v.len(), if v.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)) { "" } else { ", some of them not allowed" }),
                ));
            }
        }
    }
    if let Some(code) = d.param("code") {
        if code.starts_with("http") || code.contains("code=") || code.contains('?') {
            d.push(OAuthError::invalid_parameter(
                "code",
                "it looks like the whole redirect URL (or its query); send only the value of the code parameter of the redirect",
            ));
        }
    }
}

/// The JWT assertion's header and claims, decoded without verifying.
fn assertion_checks(assertion: &str, d: &mut Diagnosis) {
    let Some(claims) = decode_jwt(assertion, d) else {
        return;
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let jti = claims["jti"].as_str().unwrap_or("(no jti)").to_string();
    if let Some(exp) = claims["exp"].as_i64() {
        if exp <= now {
            d.push(OAuthError::assertion_expired(&jti, &rfc3339(exp)));
        }
    }
    if let Some(nbf) = claims["nbf"].as_i64() {
        if nbf > now + 60 {
            d.push(OAuthError::assertion_not_yet_valid(&rfc3339(nbf)));
        }
    }
    let auds: Vec<String> = match &claims["aud"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let expected = format!(
        "{}{}",
        d.origin.clone().unwrap_or_default(),
        Kind::Token.path(d.ringcentral_paths)
    );
    let at_token = |a: &str| a.ends_with("/oauth/token");
    if auds.is_empty() {
        d.push(OAuthError::assertion_wrong_audience("(no aud)", &expected));
    } else if !auds.iter().any(|a| at_token(a)) {
        d.push(OAuthError::assertion_wrong_audience(
            &auds.join(", "),
            &expected,
        ));
    } else if let Some(origin) = &d.origin {
        if !auds.iter().any(|a| a.starts_with(origin.as_str())) {
            d.push(OAuthError::assertion_foreign_issuer(
                claims["iss"].as_str().unwrap_or(&auds[0]),
                origin,
            ));
        }
    }
    d.assertion_claims = Some(claims);
}

/// Decodes a JWT's header and claims (no signature check), reporting what
/// keeps it from being a JWT credential.
fn decode_jwt(token: &str, d: &mut Diagnosis) -> Option<serde_json::Value> {
    if token.len() > 7 && token[..7].eq_ignore_ascii_case("bearer ") {
        d.push(OAuthError::assertion_not_jwt(
            "it starts with 'Bearer '; send the credential alone",
        ));
        return None;
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        d.push(OAuthError::assertion_not_jwt(&format!(
            "it has {} dot-separated part{} where a JWT has three",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        )));
        return None;
    }
    let json = |p: &str| -> Option<serde_json::Value> {
        URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    let Some(header) = json(parts[0]) else {
        d.push(OAuthError::assertion_not_jwt(
            "its header is not base64url-encoded JSON",
        ));
        return None;
    };
    let Some(claims) = json(parts[1]) else {
        d.push(OAuthError::assertion_not_jwt(
            "its payload is not base64url-encoded JSON",
        ));
        return None;
    };
    let typ = header["typ"].as_str().unwrap_or("");
    if typ.eq_ignore_ascii_case(grantd_core::tokens::ACCESS_TOKEN_TYP) {
        d.push(OAuthError::assertion_wrong_kind(typ));
    } else if claims.get("nonce").is_some() || claims.get("auth_time").is_some() {
        d.push(OAuthError::assertion_wrong_kind("ID token"));
    }
    if header["alg"]
        .as_str()
        .is_none_or(|a| a.eq_ignore_ascii_case("none"))
    {
        d.push(OAuthError::assertion_not_jwt(
            "its header names no signing algorithm (alg is absent or none)",
        ));
    }
    Some(claims)
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// The authorization request, as a browser would send it.
fn authorize_checks(req: &HttpRequest, d: &mut Diagnosis) {
    if !matches!(req.method.as_str(), "GET" | "POST" | "HEAD") {
        d.push(OAuthError::method_not_allowed(
            &req.method,
            &d.path.clone(),
            "GET, HEAD, POST",
        ));
    }
    let leaked: Vec<&str> = ["client_secret", "password"]
        .into_iter()
        .filter(|n| d.param(n).is_some())
        .collect();
    if !leaked.is_empty() {
        d.push_hint(
            OAuthError::credentials_in_query(&leaked, true),
            "The authorization request travels through the user's browser: it never carries the client secret or a password. Remove them; the secret is sent only to the token endpoint.".into(),
        );
        d.remove("client_secret");
        d.remove("password");
    }
    let params = params_of(&d.params);
    let token_endpoint = format!(
        "{}{}",
        d.origin.clone().unwrap_or_default(),
        Kind::Token.path(d.ringcentral_paths)
    );
    let a = match AuthorizeRequest::read(&params, &token_endpoint) {
        Ok(a) => a,
        Err(e) => {
            d.push(e);
            return;
        }
    };
    match a.response_type.as_deref() {
        Some("code") | Some("token") => {}
        other => {
            d.push(OAuthError::unsupported_response_type(
                other,
                &["code", "token"],
            ));
            d.set("response_type", "code");
        }
    }
    if a.client_id.is_none() {
        d.push(OAuthError::missing_parameter(
            "client_id",
            "at the authorization endpoint",
        ));
        d.set("client_id", "<CLIENT_ID>");
    }
    if let Some(uri) = &a.redirect_uri {
        if let Err(e) = RedirectUri::parse(uri) {
            d.push(e);
        }
    }
    if let Some(s) = &a.scope {
        if let Err(e) = Scopes::parse(s) {
            d.push(e);
        }
    }
    if let Some(ch) = &a.code_challenge {
        match a.code_challenge_method.as_deref() {
            None => {
                // RingCentral and RFC 7636 read a missing method as plain.
                d.push(OAuthError::pkce_method_refused(None));
                if check_challenge(ch, PkceMethod::S256).is_ok() {
                    d.set("code_challenge_method", "S256");
                }
            }
            Some(m) => match PkceMethod::parse(m) {
                Some(method) => {
                    if let Err(e) = check_challenge(ch, method) {
                        d.push(e);
                    }
                }
                None => {
                    d.push(OAuthError::pkce_method_refused(Some(m)));
                    d.set("code_challenge_method", "S256");
                }
            },
        }
    }
}

/// A request to grantd's API: a JWT credential sent as the bearer token is
/// the seed's cousin mistake (it must be exchanged first).
fn api_checks(req: &HttpRequest, d: &mut Diagnosis) {
    if let Some(jwt) = bearer_credential(req) {
        let token_endpoint = format!(
            "{}{}",
            d.origin.clone().unwrap_or_default(),
            Kind::Token.path(true)
        );
        d.push(OAuthError::credential_as_bearer(&token_endpoint));
        d.kind = Kind::Token;
        d.params = vec![
            ("grant_type".into(), JWT_BEARER_URN.into()),
            ("assertion".into(), jwt),
        ];
        d.client = CorrectedClient::Basic(None);
    }
}

/// The bearer token of a request, when it is a JWT credential (a JWT whose
/// audience is a token endpoint).
fn bearer_credential(req: &HttpRequest) -> Option<String> {
    let h = req.header("authorization")?;
    let (scheme, token) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())?;
    let aud = claims["aud"].as_str().unwrap_or("");
    aud.ends_with("/oauth/token")
        .then(|| token.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_holes_is_read() {
        let p = json_pairs("{\n\"grant_type\": \"authorization_code\",\n\"code\": ,\n\"client_id\": \"\",\n\"redirect_uri\": \"\"\n}");
        assert_eq!(p[0], ("grant_type".into(), "authorization_code".into()));
        assert_eq!(p[1], ("code".into(), "".into()));
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn grant_guesses() {
        assert_eq!(guess_grant("jwt"), Some(GrantType::JwtBearer));
        assert_eq!(
            guess_grant("authorization-code"),
            Some(GrantType::AuthorizationCode)
        );
        assert_eq!(guess_grant("foo"), None);
    }

    #[test]
    fn supported_list_is_the_servers() {
        use grantd_protocol::grant::supported_grant_types;
        assert!(supported_grant_types().contains(&"client_credentials"));
    }
}
