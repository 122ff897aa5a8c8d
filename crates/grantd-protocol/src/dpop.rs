//! What DPoP (RFC 9449) says that needs no key or clock: the algorithms
//! grantd takes, the header names, `htu` comparison and `dpop_jkt`'s shape.

/// `dpop_signing_alg_values_supported`: asymmetric algorithms only.
pub const SIGNING_ALGS: &[&str] = &[
    "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// The request header carrying a proof, and the response header carrying a nonce.
pub const PROOF_HEADER: &str = "dpop";
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The proof's `typ`.
pub const PROOF_TYP: &str = "dpop+jwt";

/// A URL as `htu` compares it (RFC 9449 §4.3): without query and fragment,
/// scheme and host in lower case.
pub fn normalize_htu(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let host_end = rest.find('/').unwrap_or(rest.len());
            let mut out = url[..i + 3].to_ascii_lowercase();
            out.push_str(&rest[..host_end].to_ascii_lowercase());
            let path = &rest[host_end..];
            out.push_str(if path.is_empty() { "/" } else { path });
            out
        }
        None => url.to_string(),
    }
}

/// A JWK SHA-256 thumbprint (RFC 7638): 43 base64url characters.
pub fn is_thumbprint(s: &str) -> bool {
    s.len() == 43
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_ignores_query_fragment_and_case_of_the_host() {
        assert_eq!(
            normalize_htu("HTTPS://AS.Example.com/oauth/token?x=1#f"),
            "https://as.example.com/oauth/token"
        );
        assert_eq!(normalize_htu("https://as"), "https://as/");
        assert_ne!(
            normalize_htu("https://as/OAuth/token"),
            normalize_htu("https://as/oauth/token")
        );
    }

    #[test]
    fn thumbprints() {
        assert!(is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert!(!is_thumbprint("short"));
        assert!(!is_thumbprint(
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4="
        ));
    }
}
