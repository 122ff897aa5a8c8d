//! Redirect URIs: registration rules, the exact (loopback: any port)
//! comparison with the URI a request sends, and the CSP source derived from
//! one. Input: `registered \n sent`; every line also goes to `parse_list`.
#![no_main]

use grantd_fuzz::{check, split};
use grantd_protocol::redirect_uri::{parse_list, MAX_REDIRECT_URIS};
use grantd_protocol::RedirectUri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (registered, sent) = split(text.as_bytes(), b'\n');
    let registered = std::str::from_utf8(registered).expect("split at ASCII");
    let sent = sent.map(|s| std::str::from_utf8(s).expect("split at ASCII"));

    if let Some(uri) = check(RedirectUri::parse(registered)) {
        assert_eq!(uri.as_str(), registered);
        assert!(uri.matches(registered));
        assert!(!registered.contains(['#', '*', ' ', '\n', '\r', '\0']));
        // The CSP source goes into a header: it may not add a directive.
        let csp = uri.csp_source();
        assert!(
            !csp.contains([';', ',', ' ', '\'', '"', '\r', '\n']) || csp == "'none'",
            "{csp}"
        );
        let scheme = registered
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(!["javascript", "data", "file", "vbscript"].contains(&scheme.as_str()));
        if scheme == "http" {
            assert!(uri.is_loopback(), "plain http off loopback: {registered}");
        }
        // Serde goes through the same rules.
        let json = serde_json::to_string(&uri).expect("serialize");
        let back: RedirectUri = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, uri);
        if let Some(sent) = sent {
            if uri.matches(sent) {
                let other = RedirectUri::parse(sent);
                assert!(sent == registered || other.is_ok(), "{sent}");
                if sent != registered {
                    // Only a loopback URI may differ, and only in its port.
                    assert!(uri.is_loopback(), "{registered} matched {sent}");
                    let a = url_parts(registered);
                    let b = url_parts(sent);
                    assert_eq!(a, b, "{registered} matched {sent}");
                }
            }
        }
    } else if registered.len() <= 2000 {
        assert!(serde_json::from_value::<RedirectUri>(registered.into()).is_err());
    }

    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(list) = check(parse_list(&lines)) {
        assert!(list.len() <= MAX_REDIRECT_URIS && lines.len() <= MAX_REDIRECT_URIS);
    }
});

/// Scheme, host, path and query: what a loopback match must keep.
fn url_parts(s: &str) -> (String, String, String, String) {
    let u = url::Url::parse(s).expect("a matched URI parses");
    (
        u.scheme().to_string(),
        u.host_str().unwrap_or("").to_string(),
        u.path().to_string(),
        u.query().unwrap_or("").to_string(),
    )
}
