//! Form bodies and query strings, read once at the edge: repeated parameters
//! are refused, empty ones count as absent, sizes are capped, and credentials
//! in a URL are found.

use crate::error::OAuthError;
use crate::secret::Secret;
use std::collections::HashSet;

/// Most parameters one request may carry. Every pair counts, empty ones
/// too; no OAuth request needs more than about twenty.
pub const MAX_PARAMS: usize = 100;
/// Longest a parameter name may be, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest a parameter value may be, in bytes (decoded), unless
/// [`max_value_len`] names a different cap for it.
pub const MAX_VALUE_LEN: usize = 4096;

/// The cap on a parameter's decoded value, in bytes. `nonce` and `state` are
/// opaque values for the app to recognise its own request; they are stored
/// with the code, echoed into redirects and carried through the sign-in
/// pages, so they are kept short. Tokens and assertions may be signed JWTs,
/// which are longer than any other value.
pub fn max_value_len(name: &str) -> usize {
    match name {
        "nonce" => 512,
        "state" => 2048,
        "token" | "assertion" | "client_assertion" | "refresh_token" | "subject_token"
        | "actor_token" => 8192,
        _ => MAX_VALUE_LEN,
    }
}

/// Parameters that carry credentials or grant data and so must never be in a URL.
pub const TOKEN_QUERY_FORBIDDEN: &[&str] = &[
    "grant_type",
    "username",
    "password",
    "client_secret",
    "assertion",
    "client_assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "subject_token",
    "actor_token",
    "device_code",
];

/// The same, for endpoints that take a token (revocation, introspection).
pub const TOKEN_PARAM_QUERY_FORBIDDEN: &[&str] = &[
    "token",
    "client_secret",
    "client_assertion",
    "refresh_token",
];

/// Every parameter name grantd reads, so errors can point at one with a
/// `&'static str`.
const KNOWN: &[&str] = &[
    "grant_type",
    "username",
    "password",
    "extension",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "assertion",
    "code",
    "code_verifier",
    "redirect_uri",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "access_token_ttl",
    "refresh_token_ttl",
    "endpoint_id",
    "response_type",
    "state",
    "nonce",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "audience",
    "resource",
    "device_code",
    "user_code",
];

/// The static name of a known parameter.
pub fn static_param_name(name: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| *k == name)
}

/// Parsed form parameters: unique names, non-empty values.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes. Linear in the
    /// input: reading stops at the first pair past a cap, and repeats are
    /// found with a set.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        Self::parse_allowing_repeats(body, &[])
    }

    /// As [`Params::parse`], but the names in `repeatable` may appear more
    /// than once: their values are joined with a space, as one list (the
    /// RingCentral JS SDK sends an array option as repeated parameters).
    pub fn parse_allowing_repeats(body: &[u8], repeatable: &[&str]) -> Result<Self, OAuthError> {
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::body_not_form("it is not UTF-8"));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (seen, (name, value)) in form_urlencoded::parse(body).enumerate() {
            if seen >= MAX_PARAMS {
                return Err(OAuthError::too_many_parameters(MAX_PARAMS));
            }
            if name.len() > MAX_NAME_LEN {
                return Err(OAuthError::parameter_name_too_long(MAX_NAME_LEN));
            }
            let cap = max_value_len(&name);
            if value.len() > cap {
                return Err(OAuthError::parameter_too_long(&name, value.len(), cap));
            }
            if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(OAuthError::body_not_form(
                    "a percent-encoded value is not UTF-8",
                ));
            }
            if value.is_empty() || name.is_empty() {
                continue; // empty parameters count as absent (SDKs send them)
            }
            if repeatable.contains(&name.as_ref()) {
                if let Some((_, v)) = pairs.iter_mut().find(|(n, _)| *n == name) {
                    if v.len() + 1 + value.len() > cap {
                        return Err(OAuthError::parameter_too_long(
                            &name,
                            v.len() + 1 + value.len(),
                            cap,
                        ));
                    }
                    v.push(' ');
                    v.push_str(&value);
                    continue;
                }
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        let mut names = HashSet::with_capacity(pairs.len());
        if let Some((name, _)) = pairs.iter().find(|(n, _)| !names.insert(n.as_str())) {
            return Err(OAuthError::duplicate_parameter(name));
        }
        Ok(Self { pairs })
    }

    /// Parses a URL query string (`None` = no query).
    pub fn parse_query(query: Option<&str>) -> Result<Self, OAuthError> {
        Self::parse_query_allowing_repeats(query, &[])
    }

    /// A URL query string whose `repeatable` names may repeat (see
    /// [`Params::parse_allowing_repeats`]).
    pub fn parse_query_allowing_repeats(
        query: Option<&str>,
        repeatable: &[&str],
    ) -> Result<Self, OAuthError> {
        match query {
            Some(q) => Self::parse_allowing_repeats(q.as_bytes(), repeatable),
            None => Ok(Self::default()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A required parameter; `context` completes "is required …".
    pub fn require(&self, name: &'static str, context: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::missing_parameter(name, context))
    }

    /// A numeric parameter; non-numeric values count as absent (the RingCentral
    /// JS SDK echoes whatever it stored).
    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Adds a parameter read from elsewhere than the body (RingCentral's
    /// revoke `?token=`); a name already in the body is a duplicate.
    pub fn add(&mut self, name: &str, value: &str) -> Result<(), OAuthError> {
        if self.contains(name) {
            return Err(OAuthError::duplicate_parameter(name));
        }
        if !value.is_empty() {
            self.pairs.push((name.to_string(), value.to_string()));
        }
        Ok(())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(n, _)| n.as_str())
    }

    /// Every parameter, in the order read.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Parameters read before and kept (a pushed authorization request):
    /// the first of a repeated name wins, empty values are absent.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut out = Self::default();
        for (n, v) in pairs {
            if !out.contains(&n) && !v.is_empty() {
                out.pairs.push((n, v));
            }
        }
        out
    }
}

/// Reads a request body as the OAuth endpoints do, given its Content-Type:
/// a JSON body (by type or by its first byte) is GRD-103, any other type
/// than `application/x-www-form-urlencoded` GRD-104, then [`Params::parse`].
/// `grantd doctor` calls this; the token endpoint's extractor
/// (grantd-server's `extract::read_form`) makes the same checks.
pub fn read_form_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Params, OAuthError> {
    let essence = content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    let trimmed = bytes.trim_ascii_start();
    if essence.as_deref() == Some("application/json")
        || trimmed.starts_with(b"{")
        || trimmed.starts_with(b"[")
    {
        return Err(OAuthError::json_body());
    }
    if bytes.is_empty() {
        return Ok(Params::default());
    }
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::wrong_content_type(content_type));
    }
    Params::parse(bytes)
}

/// Every parameter name in a raw query string, once each, in order (never
/// a value). Reads names only, so it works even when the query is not
/// valid form encoding.
pub fn query_names(query: Option<&str>) -> Vec<String> {
    let Some(q) = query else { return Vec::new() };
    let mut found: Vec<String> = Vec::new();
    for (name, _) in form_urlencoded::parse(q.as_bytes()).take(MAX_PARAMS) {
        if !name.is_empty() && !found.iter().any(|f| *f == name) {
            found.push(name.into_owned());
        }
    }
    found
}

/// Whether a parameter of this name carries a credential (a secret,
/// password, code, token or assertion), so its value in a URL is exposed.
pub fn carries_credential(name: &str) -> bool {
    TOKEN_QUERY_FORBIDDEN.contains(&name)
        || TOKEN_PARAM_QUERY_FORBIDDEN.contains(&name)
        || name == "access_token"
}

/// Names (never values) of forbidden parameters present in a raw query string.
/// Reads names only, so it works even when the query is not valid form encoding.
pub fn forbidden_in_query<'a>(query: Option<&str>, forbidden: &[&'a str]) -> Vec<&'a str> {
    let Some(q) = query else { return Vec::new() };
    let mut found: Vec<&'a str> = Vec::new();
    for (name, _) in form_urlencoded::parse(q.as_bytes()) {
        if let Some(f) = forbidden.iter().find(|f| **f == name) {
            if !found.contains(f) {
                found.push(f);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Code;

    #[test]
    fn ringcentral_ui_parameters_may_repeat_and_join() {
        let ui = crate::authorize::REPEATABLE_UI_PARAMETERS;
        let p = Params::parse_allowing_repeats(
            b"client_id=a&ui_options=hide_logo&ui_options=&ui_options=hide_tos&login_hint=x",
            ui,
        )
        .unwrap();
        assert_eq!(p.get("ui_options"), Some("hide_logo hide_tos"));
        assert_eq!(p.get("login_hint"), Some("x"));
        for dup in [
            &b"client_id=a&client_id=b"[..],
            b"state=1&state=2",
            b"scope=a&scope=b",
        ] {
            let e = Params::parse_allowing_repeats(dup, ui).unwrap_err();
            assert_eq!(e.code, Code::DuplicateParameter);
        }
    }

    #[test]
    fn empty_values_are_absent() {
        let p = Params::parse(b"grant_type=password&state=&brand_id=&scope=a+b").unwrap();
        assert_eq!(p.get("grant_type"), Some("password"));
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("scope"), Some("a b"));
    }

    #[test]
    fn duplicates_are_refused() {
        let e = Params::parse(b"grant_type=a&grant_type=b").unwrap_err();
        assert_eq!(e.code, Code::DuplicateParameter);
        assert_eq!(e.parameter, Some("grant_type"));
        // An empty repeat is absent, not a duplicate.
        assert!(Params::parse(b"scope=&scope=x").is_ok());
    }

    #[test]
    fn sizes_are_capped() {
        let many: String = (0..MAX_PARAMS + 1).map(|i| format!("p{i}=1&")).collect();
        let e = Params::parse(many.as_bytes()).unwrap_err();
        assert_eq!(e.code, Code::TooManyParameters);
        assert!(e.description.contains("100"), "{}", e.description);
        let exactly: String = (0..MAX_PARAMS).map(|i| format!("p{i}=1&")).collect();
        assert!(Params::parse(exactly.trim_end_matches('&').as_bytes()).is_ok());

        let e = Params::parse(format!("nonce={}", "n".repeat(513)).as_bytes()).unwrap_err();
        assert_eq!(e.code, Code::ParameterTooLong);
        assert_eq!(e.parameter, Some("nonce"));
        assert!(e.description.contains("513") && e.description.contains("512"));
        assert!(Params::parse(format!("nonce={}", "n".repeat(512)).as_bytes()).is_ok());
        let e = Params::parse(format!("scope={}", "s".repeat(4097)).as_bytes()).unwrap_err();
        assert_eq!(e.parameter, Some("scope"));
        // The cap is on the decoded value.
        assert!(Params::parse(format!("state={}", "%41".repeat(2048)).as_bytes()).is_ok());
        let e = Params::parse(format!("{}=1", "x".repeat(129)).as_bytes()).unwrap_err();
        assert_eq!(e.code, Code::ParameterTooLong);
    }

    #[test]
    fn many_distinct_parameters_are_refused_quickly() {
        let body: String = (0..10_000).map(|i| format!("p{i}=1&")).collect();
        let started = std::time::Instant::now();
        let e = Params::parse(body.as_bytes()).unwrap_err();
        assert_eq!(e.code, Code::TooManyParameters);
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(
            Params::parse(b"a=%FF").unwrap_err().code,
            Code::WrongContentType
        );
        assert_eq!(
            Params::parse(&[b'a', b'=', 0xff]).unwrap_err().code,
            Code::WrongContentType
        );
    }

    #[test]
    fn finds_credentials_in_query_by_name() {
        let q = Some("username=1&password=x&extension=101&grant_type=password&password=y");
        assert_eq!(
            forbidden_in_query(q, TOKEN_QUERY_FORBIDDEN),
            vec!["username", "password", "grant_type"]
        );
        assert!(forbidden_in_query(Some("foo=bar"), TOKEN_QUERY_FORBIDDEN).is_empty());
    }

    #[test]
    fn numbers_ignore_garbage() {
        let p = Params::parse(b"access_token_ttl=abc&refresh_token_ttl=60").unwrap();
        assert_eq!(p.number("access_token_ttl"), None);
        assert_eq!(p.number("refresh_token_ttl"), Some(60));
    }
}
