//! A small read-through cache of apps, so the hot path does not query the store.

use crate::model::App;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Entries live `ttl`; local changes evict at once, changes made by another
/// node (or the CLI) are seen within `ttl`.
pub struct AppCache {
    ttl: Duration,
    map: RwLock<HashMap<String, (Arc<App>, Instant)>>,
    /// Moves on with every eviction. A lookup that read the store before an
    /// eviction may not put its (possibly stale) app back after it.
    epoch: AtomicU64,
}

/// When a lookup began, for [`AppCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct Epoch(u64);

impl AppCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
        }
    }

    pub fn get(&self, client_id: &str) -> Option<Arc<App>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let found = map
            .get(client_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(app, _)| app.clone());
        // The hit rate shows whether the TTL fits the traffic (/metrics).
        metrics::counter!("grantd_cache_lookups_total", "cache" => "apps",
            "result" => if found.is_some() { "hit" } else { "miss" })
        .increment(1);
        found
    }

    /// Whether `client_id` is a cached app, without counting a lookup.
    pub fn contains(&self, client_id: &str) -> bool {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(client_id)
    }

    /// Call before reading the store; pass the result to [`AppCache::put`].
    pub fn epoch(&self) -> Epoch {
        Epoch(self.epoch.load(Ordering::Acquire))
    }

    /// Caches `app` read from the store since `since`, unless an eviction
    /// happened meanwhile (the read may predate the change it evicted for).
    pub fn put(&self, app: Arc<App>, since: Epoch) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) != since.0 {
            return;
        }
        if map.len() > 100_000 {
            map.clear(); // bounded: a flood of distinct ids cannot grow it forever
        }
        map.insert(app.client_id.clone(), (app, Instant::now()));
    }

    pub fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    pub fn forget(&self, client_id: &str) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.remove(client_id);
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::model::{AccessTokenFormat, App, Distribution};
    use grantd_protocol::{PlatformType, Scopes};

    /// A server-only app with nothing enabled, for unit tests.
    pub(crate) fn app(client_id: &str) -> App {
        App {
            client_id: client_id.into(),
            account_id: "a".into(),
            name: client_id.into(),
            platform_type: PlatformType::ServerOnly,
            grants: vec![],
            redirect_uris: vec![],
            scopes: Scopes::default(),
            distribution: Distribution::Private,
            issue_refresh_tokens: false,
            access_token_ttl: 3600,
            refresh_token_ttl: 0,
            access_token_format: AccessTokenFormat::Jwt,
            allow_plain_pkce: false,
            resource_server: false,
            rate_limits: Default::default(),
            token_exchange: None,
            allowed_origins: Vec::new(),
            jwks: None,
            jwks_uri: None,
            security: Default::default(),
            links: Default::default(),
            secret_hash: None,
            created_at: 0,
            updated_at: 0,
            revision: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> Arc<App> {
        Arc::new(App {
            name: name.into(),
            ..tests_support::app("c")
        })
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_cached() {
        let cache = AppCache::new(Duration::from_secs(5));
        let since = cache.epoch();
        // The app changes (and is evicted) while the lookup reads the old row.
        cache.forget("c");
        cache.put(app("old"), since);
        assert!(cache.get("c").is_none(), "a stale app was put back");
        let since = cache.epoch();
        cache.put(app("new"), since);
        assert_eq!(
            cache.get("c").map(|a| a.name.clone()).as_deref(),
            Some("new")
        );
    }
}
