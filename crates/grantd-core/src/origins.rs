//! Which web origins may call grantd from a browser (CORS): an in-memory
//! index from origin to the apps that allow it, so a preflight (which names
//! no client) is answered with one lookup, not a scan of every app.

use crate::model::App;
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

/// Origin → client ids, and client id → origins (to take an app's old
/// origins out when it changes). Kept current by this node's own app
/// writes, the store's change feed, and a periodic rebuild (changes made
/// through the CLI on SQLite, which has no feed).
#[derive(Default)]
pub struct OriginIndex {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_origin: HashMap<String, BTreeSet<String>>,
    by_app: HashMap<String, Vec<String>>,
}

impl Inner {
    fn remove(&mut self, client_id: &str) {
        for origin in self.by_app.remove(client_id).unwrap_or_default() {
            if let Some(apps) = self.by_origin.get_mut(&origin) {
                apps.remove(client_id);
                if apps.is_empty() {
                    self.by_origin.remove(&origin);
                }
            }
        }
    }

    fn set(&mut self, app: &App) {
        self.remove(&app.client_id);
        let origins = app.cors_origins();
        if origins.is_empty() {
            return;
        }
        for o in &origins {
            self.by_origin
                .entry(o.clone())
                .or_default()
                .insert(app.client_id.clone());
        }
        self.by_app.insert(app.client_id.clone(), origins);
    }
}

impl OriginIndex {
    /// Puts `app`'s current origins in place of those it had.
    pub fn set(&self, app: &App) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .set(app);
    }

    /// Takes a deleted app's origins out.
    pub fn remove(&self, client_id: &str) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(client_id);
    }

    /// Replaces the whole index with `apps` (start-up, a resync).
    pub fn rebuild(&self, apps: &[App]) {
        let mut fresh = Inner::default();
        for app in apps {
            fresh.set(app);
        }
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// Whether some app allows `origin` (as the browser sent it).
    pub fn allows(&self, origin: &str) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_origin
            .contains_key(origin)
    }

    /// The client ids that allow `origin`, sorted.
    pub fn apps_for(&self, origin: &str) -> Vec<String> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_origin
            .get(origin)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests_support::app;
    use grantd_protocol::PlatformType;

    #[test]
    fn follows_an_app_through_changes() {
        let index = OriginIndex::default();
        let mut a = app("a");
        a.platform_type = PlatformType::Browser;
        a.redirect_uris =
            vec![grantd_protocol::RedirectUri::parse("https://spa.example.com/cb").unwrap()];
        index.set(&a);
        assert!(index.allows("https://spa.example.com"));
        a.redirect_uris =
            vec![grantd_protocol::RedirectUri::parse("https://new.example.com/cb").unwrap()];
        a.allowed_origins = vec!["http://localhost:3000".into()];
        index.set(&a);
        assert!(!index.allows("https://spa.example.com"));
        assert!(index.allows("https://new.example.com"));
        assert!(index.allows("http://localhost:3000"));
        let mut b = app("b");
        b.allowed_origins = vec!["http://localhost:3000".into()];
        index.set(&b);
        assert_eq!(index.apps_for("http://localhost:3000"), vec!["a", "b"]);
        index.remove("a");
        assert!(!index.allows("https://new.example.com"));
        assert_eq!(index.apps_for("http://localhost:3000"), vec!["b"]);
        index.rebuild(&[]);
        assert!(!index.allows("http://localhost:3000"));
    }
}
