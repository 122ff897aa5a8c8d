//! Scopes (RFC 6749 §3.3): parsed once into an ordered set of valid names.

use crate::error::OAuthError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ordered, duplicate-free set of scope names, each valid per RFC 6749 §3.3.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-separated `scope` parameter.
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        Self::from_names(value.split(' ').filter(|s| !s.is_empty()))
            .map_err(|reason| OAuthError::scope_malformed(&reason))
    }

    /// Builds from names, checking each one.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut out: Vec<String> = Vec::new();
        for name in names {
            if let Some(bad) = name
                .chars()
                .find(|c| !(c.is_ascii_graphic() && *c != '"' && *c != '\\'))
            {
                // Named, not quoted: the message may travel in a redirect.
                return Err(format!(
                    "scope names may not contain {}{}",
                    match bad {
                        '"' => "double quotes",
                        '\\' => "backslashes",
                        c => crate::hint::invisible_char(c)
                            .unwrap_or("characters outside printable ASCII"),
                    },
                    if bad.is_whitespace() || bad.is_control() {
                        " (the one separator between scopes is a single space, form-encoded as + or %20; remove anything else)"
                    } else {
                        ""
                    }
                ));
            }
            if name.len() > 128 {
                return Err("a scope name is longer than 128 characters".into());
            }
            if !out.iter().any(|s| s == name) {
                out.push(name.to_string());
            }
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|s| s == name)
    }

    /// The names in `self` that `allowed` lacks.
    pub fn missing_from<'a>(&'a self, allowed: &Scopes) -> Vec<&'a str> {
        self.iter().filter(|s| !allowed.contains(s)).collect()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl TryFrom<Vec<String>> for Scopes {
    type Error = String;
    fn try_from(v: Vec<String>) -> Result<Self, String> {
        Scopes::from_names(v.iter().map(String::as_str))
    }
}

impl From<Scopes> for Vec<String> {
    fn from(s: Scopes) -> Self {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dedupes() {
        let s = Scopes::parse("ReadAccounts  SMS ReadAccounts").unwrap();
        assert_eq!(s.to_string(), "ReadAccounts SMS");
    }

    #[test]
    fn refuses_bad_characters() {
        let e = Scopes::parse("a\"b").unwrap_err();
        assert!(e.description.contains("double quotes"), "{}", e.description);
        assert!(!e.description.contains('"'), "{}", e.description);
        let e = Scopes::parse("a\\b").unwrap_err();
        assert!(!e.description.contains('\\'), "{}", e.description);
        assert!(Scopes::parse("a\tb").is_err());
    }

    #[test]
    fn missing_from() {
        let want = Scopes::parse("a b c").unwrap();
        let have = Scopes::parse("a c").unwrap();
        assert_eq!(want.missing_from(&have), vec!["b"]);
    }
}
