//! Scopes: the space-separated parameter, names from JSON (admin API), and
//! the round trip through their printed form.
#![no_main]

use grantd_fuzz::check;
use grantd_protocol::Scopes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(scopes) = check(Scopes::parse(text)) {
        for (i, name) in scopes.as_slice().iter().enumerate() {
            assert!(!name.is_empty() && name.len() <= 128);
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'));
            assert!(!scopes.as_slice()[..i].contains(name), "duplicate {name}");
            assert!(scopes.contains(name));
        }
        let printed = scopes.to_string();
        assert_eq!(Scopes::parse(&printed).expect("reparse"), scopes);
        assert!(scopes.missing_from(&scopes).is_empty());
        let json = serde_json::to_string(&scopes).expect("serialize");
        assert_eq!(
            serde_json::from_str::<Scopes>(&json).expect("deserialize"),
            scopes
        );
    }
    // The admin API sends names as a JSON list: one name per line here.
    let names: Vec<&str> = text.split('\n').collect();
    if let Ok(s) = Scopes::from_names(names.iter().copied().filter(|n| !n.is_empty())) {
        assert!(s.as_slice().len() <= names.len());
    }
    let _ = serde_json::from_slice::<Scopes>(data);
});
