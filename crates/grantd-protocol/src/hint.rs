//! Naming what a person cannot see: invisible differences (whitespace,
//! control characters, case) and near misses of known values ("did you
//! mean"), and the short redacted form of a value that may be a secret, so
//! an error can point at the mistake without ever showing a credential.

/// A character a reader cannot see or tell apart, in words; `None` for an
/// ordinary visible character.
pub fn invisible_char(c: char) -> Option<&'static str> {
    Some(match c {
        ' ' => "a space",
        '\n' => "a newline (\\n)",
        '\r' => "a carriage return (\\r)",
        '\t' => "a tab (\\t)",
        '\u{a0}' => "a non-breaking space (U+00A0)",
        '\u{200b}' => "a zero-width space (U+200B)",
        '\u{200c}' | '\u{200d}' | '\u{2060}' => "a zero-width joiner (U+200C/D, U+2060)",
        '\u{feff}' => "a byte-order mark (U+FEFF)",
        c if c.is_control() => "a control character",
        c if c.is_whitespace() => "a Unicode space",
        _ => return None,
    })
}

fn hidden(c: char) -> bool {
    invisible_char(c).is_some()
}

/// How `value` carries something invisible: at its start, its end, or
/// inside (e.g. "ends with a newline (\n)"). `None` when it carries nothing.
pub fn invisible(value: &str) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(c) = value.chars().next().filter(|c| hidden(*c)) {
        parts.push(format!("begins with {}", invisible_char(c).unwrap_or("")));
    }
    if let Some(c) = value.chars().next_back().filter(|c| hidden(*c)) {
        if value.chars().count() > 1 || parts.is_empty() {
            parts.push(format!("ends with {}", invisible_char(c).unwrap_or("")));
        }
    }
    let inner = value.trim_matches(hidden);
    if let Some(c) = inner.chars().find(|c| hidden(*c) && *c != ' ') {
        parts.push(format!("contains {}", invisible_char(c).unwrap_or("")));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// `value` without leading or trailing invisible characters.
pub fn trimmed(value: &str) -> &str {
    value.trim_matches(hidden)
}

/// `value` without the quotes around it (`"…"`, `'…'`, as copied from
/// JSON or a shell line), if it has them.
pub fn unquoted(value: &str) -> Option<&str> {
    let v = trimmed(value);
    ["\"", "'", "`"].iter().find_map(|q| {
        v.strip_prefix(q)
            .and_then(|rest| rest.strip_suffix(q))
            .filter(|inner| !inner.is_empty())
    })
}

/// Why `value` is not `known` although it nearly is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// Equal once the invisible characters go (the words say which).
    Invisible(String),
    /// Equal but for upper and lower case.
    Case,
    /// Equal but for `-` versus `_`, or a space inside.
    Separator,
    /// A letter or two off.
    Typo,
}

impl Miss {
    /// The reason, as a clause: "'x' ends with a newline (\n)".
    pub fn describe(&self) -> String {
        match self {
            Miss::Invisible(how) => format!("it {how}"),
            Miss::Case => {
                "it differs only in upper/lower case, and values are case-sensitive".into()
            }
            Miss::Separator => "it differs only in '-', '_' or a space".into(),
            Miss::Typo => "it is one or two letters off".into(),
        }
    }
}

/// The known value `value` nearly is, and how it misses. Checks, in order:
/// invisible characters, case, separators, then an edit distance of at
/// most 2 (1 for values of five characters or fewer).
pub fn near_miss<'a, S: AsRef<str> + ?Sized + 'a>(
    value: &str,
    known: impl IntoIterator<Item = &'a S>,
) -> Option<(&'a str, Miss)> {
    let known: Vec<&'a str> = known.into_iter().map(AsRef::as_ref).collect();
    if known.contains(&value) {
        return None;
    }
    let clean: String = value.chars().filter(|c| !hidden(*c)).collect();
    if let Some(k) = known.iter().find(|k| **k == clean || **k == trimmed(value)) {
        return Some((k, Miss::Invisible(invisible(value).unwrap_or_default())));
    }
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(&clean)) {
        return Some((k, Miss::Case));
    }
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(&clean);
    if let Some(k) = known.iter().find(|k| fold(k) == folded) {
        return Some((k, Miss::Separator));
    }
    let max = if clean.chars().count() <= 5 { 1 } else { 2 };
    known
        .iter()
        .map(|k| (k, distance(&clean.to_lowercase(), &k.to_lowercase())))
        .filter(|(_, d)| *d <= max)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| (*k, Miss::Typo))
}

/// Levenshtein distance, capped work: values longer than 200 characters
/// are never near misses.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 200 || b.len() > 200 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Whether a value sent where an identifier belongs looks like a
/// credential instead: a JWT, a long or random-looking string (letters and
/// digits, twelve or more), or a passphrase (words with spaces). URIs and
/// URNs are never taken for one. Such a value is never quoted in full.
pub fn looks_secret(value: &str) -> bool {
    let v = trimmed(value);
    if v.starts_with("eyJ") && v.contains('.') {
        return true;
    }
    if v.contains("://") || v.starts_with("urn:") {
        return false;
    }
    let n = v.chars().count();
    let digits = v.chars().any(|c| c.is_ascii_digit());
    let letters = v.chars().any(char::is_alphabetic);
    n > 40 || (n >= 12 && digits && letters) || (n >= 12 && v.contains(' '))
}

/// A value that may be a secret, shown as a short prefix and its length:
/// `'Xk3f…' (40 characters)`. Enough to recognise one's own value, too
/// little to use it.
pub fn redacted(value: &str) -> String {
    let n = value.chars().count();
    let shown = (n / 4).min(4);
    let prefix: String = value.chars().take(shown).collect();
    format!(
        "'{}…' ({n} character{})",
        crate::error::sanitize(&prefix, 4),
        if n == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_named() {
        assert_eq!(
            invisible("secret\n").as_deref(),
            Some("ends with a newline (\\n)")
        );
        assert_eq!(
            invisible(" x ").as_deref(),
            Some("begins with a space and ends with a space")
        );
        assert_eq!(
            invisible("a\u{200b}b").as_deref(),
            Some("contains a zero-width space (U+200B)")
        );
        assert_eq!(invisible("plain"), None);
    }

    #[test]
    fn near_misses() {
        let known = ["client_credentials", "password", "refresh_token"];
        assert!(matches!(
            near_miss("client_credentials ", &known),
            Some(("client_credentials", Miss::Invisible(_)))
        ));
        assert_eq!(
            near_miss("Password", &known),
            Some(("password", Miss::Case))
        );
        assert_eq!(
            near_miss("client-credentials", &known),
            Some(("client_credentials", Miss::Separator))
        );
        assert_eq!(
            near_miss("refresh_tokn", &known),
            Some(("refresh_token", Miss::Typo))
        );
        assert_eq!(near_miss("password", &known), None);
        assert_eq!(near_miss("authorization", &known), None);
    }

    #[test]
    fn quotes_come_off() {
        assert_eq!(unquoted("\"abc\""), Some("abc"));
        assert_eq!(unquoted(" 'abc'\n"), Some("abc"));
        assert_eq!(unquoted("abc"), None);
        assert_eq!(unquoted("\"\""), None);
    }

    #[test]
    fn redaction_shows_little() {
        assert_eq!(
            redacted("abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
            "'abcd…' (40 characters)"
        );
        assert_eq!(redacted("abc"), "'…' (3 characters)");
    }
}
