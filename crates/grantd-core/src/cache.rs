//! A small read-through cache of apps, so the hot path does not query the store.

use crate::model::App;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Entries live `ttl`; local changes evict at once, changes made by another
/// node (or the CLI) are seen within `ttl`.
pub struct AppCache {
    ttl: Duration,
    map: RwLock<HashMap<String, (Arc<App>, Instant)>>,
}

impl AppCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, client_id: &str) -> Option<Arc<App>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(client_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(app, _)| app.clone())
    }

    pub fn put(&self, app: Arc<App>) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear(); // bounded: a flood of distinct ids cannot grow it forever
        }
        map.insert(app.client_id.clone(), (app, Instant::now()));
    }

    pub fn clear(&self) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn forget(&self, client_id: &str) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(client_id);
    }
}
