//! The device authorization grant's own values (RFC 8628): the user code a
//! person types on the verification page, the device authorization request
//! and its response.
//!
//! A user code is 10 letters from the 20 consonants `BCDFGHJKLMNPQRSTVWXZ`,
//! shown as `BCDFG-HJKLM` (RFC 8628 §6.1: no vowels, so no words; no digits,
//! so nothing to mistake for O or I; case does not matter). That is 20^10 ≈
//! 1.0 × 10^13 codes, 43.2 bits: with the verification page's failure limit
//! (by default 30 wrong codes per address and minute, 43,200 a day) and a
//! thousand devices waiting at once, one address guesses a waiting code about
//! once in 240,000 days. Eight letters (34.6 bits, RFC 8628's example) would
//! make that 600 days, too close for a botnet.

use crate::error::OAuthError;
use crate::form::Params;
use crate::scope::Scopes;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user code in its normal form: [`UserCode::LEN`] letters of
/// [`UserCode::ALPHABET`], upper case, no separator. Displayed grouped
/// (`BCDFG-HJKLM`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

impl UserCode {
    /// The letters of user codes: consonants only (RFC 8628 §6.1).
    pub const ALPHABET: &'static [u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    /// Letters in a user code.
    pub const LEN: usize = 10;

    /// Reads a user code as a person typed it: case, spaces, dashes and other
    /// punctuation do not matter (RFC 8628 §6.1); a letter or digit that is
    /// not in any code, or the wrong number of letters, is refused.
    pub fn parse(typed: &str) -> Result<UserCode, OAuthError> {
        let mut code = String::with_capacity(Self::LEN);
        for c in typed.chars().filter(|c| c.is_alphanumeric()) {
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii() || !Self::ALPHABET.contains(&(upper as u8)) {
                return Err(OAuthError::user_code_malformed(
                    "it has a character that is in no code (codes have consonants only: no vowels, no digits)",
                ));
            }
            code.push(upper);
        }
        if code.len() != Self::LEN {
            return Err(OAuthError::user_code_malformed(&format!(
                "it has {} letters, and codes have {}",
                code.len(),
                Self::LEN
            )));
        }
        Ok(UserCode(code))
    }

    /// The normal form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserCode {
    /// Two groups of five, as the device shows it and a person reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(Self::LEN / 2);
        write!(f, "{a}-{b}")
    }
}

/// `POST /oauth/device_authorization` (RFC 8628 §3.1), after client
/// authentication: the scope asked for.
#[derive(Debug, Clone, Default)]
pub struct DeviceAuthorizationRequest {
    /// `None`: all of the app's permissions.
    pub scope: Option<Scopes>,
}

impl DeviceAuthorizationRequest {
    pub fn read(params: &Params) -> Result<Self, OAuthError> {
        Ok(Self {
            scope: params.get("scope").map(Scopes::parse).transpose()?,
        })
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    /// The secret the device polls the token endpoint with.
    pub device_code: String,
    /// What the user types on the verification page (`BCDFG-HJKLM`).
    pub user_code: String,
    pub verification_uri: String,
    /// The verification URI with the user code in it (for a QR code or a link).
    pub verification_uri_complete: String,
    pub expires_in: u64,
    /// Seconds the device waits between polls.
    pub interval: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn typing_is_forgiven_but_not_guessed() {
        let code = UserCode::parse("bcdfg-hjklm").unwrap();
        assert_eq!(code.as_str(), "BCDFGHJKLM");
        assert_eq!(code.to_string(), "BCDFG-HJKLM");
        assert_eq!(UserCode::parse(" BCDFG HJKLM ").unwrap(), code);
        assert_eq!(UserCode::parse("BcDfGhJkLm").unwrap(), code);
        for wrong in [
            "BCDFG-HJKL",
            "BCDFG-HJKLMN",
            "BCDFA-HJKLM",
            "BCDF0-HJKLM",
            "",
            "ÄCDFG-HJKLM",
        ] {
            let e = UserCode::parse(wrong).unwrap_err();
            assert_eq!(e.code, Code::UserCodeUnknown, "{wrong}");
        }
    }

    #[test]
    fn the_alphabet_has_no_vowels_and_no_digits() {
        assert_eq!(UserCode::ALPHABET.len(), 20);
        assert!(UserCode::ALPHABET
            .iter()
            .all(|b| b.is_ascii_uppercase() && !b"AEIOUY".contains(b)));
    }
}
