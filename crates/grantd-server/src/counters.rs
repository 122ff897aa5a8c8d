//! Request counters for the limits (failed authentications, rate-limit
//! groups): in memory on the request path, and shared with the other nodes
//! through the store when it is shared (PostgreSQL).
//!
//! A key is a keyed hash (HMAC-SHA-256 under a key derived from the server
//! secret, truncated to 16 bytes) of what is counted, so every node derives
//! the same key and no address, client id or username is held in memory or
//! written to the store. A key's window starts with its first request (on
//! whichever node) and lasts the limit's seconds.
//!
//! Checking and counting touch memory only. Every [`SYNC_INTERVAL`] a task
//! hands the store what this node counted since the last round and takes
//! back the totals of those keys, plus every key near its limit that another
//! node changed; so a key paused on one node is paused on every node within
//! about two intervals (one to write, one to read), and a request never
//! waits for the database. Counts are approximate across nodes by what the
//! nodes count in that time.

use grantd_core::clock::{Clock, UnixTime};
use grantd_core::crypto::KeyedHash;
use grantd_core::store::{CounterDelta, CounterTotal, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A counter's key.
pub type Key = [u8; 16];

/// How often a node exchanges counts with the store.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

/// Tables are split in shards, each behind its own lock.
const SHARDS: usize = 16;
/// Entries per shard and generation. When a shard's current generation is
/// full it becomes the previous one and the previous one is dropped, so the
/// table holds at most `SHARDS × 2 × GENERATION` keys and forgets the least
/// recently counted first, in O(1) per count.
const GENERATION: usize = 2048;

/// Where a key stands in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Requests counted in the running window (by every node, as far as this
    /// one knows).
    pub n: u32,
    /// Seconds until the window ends (the whole window if none is running).
    pub resets_in: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: UnixTime,
    end: UnixTime,
    /// The key's limit, sent along so the store can tell who is near it.
    limit: u32,
    /// Known total: this node's counts plus the other nodes' as last synced.
    n: u32,
    /// This node's counts not yet handed to the store.
    pending: u32,
}

impl Entry {
    fn running(&self, now: UnixTime) -> bool {
        now < self.end
    }
}

struct Shard {
    current: HashMap<Key, Entry>,
    previous: HashMap<Key, Entry>,
}

impl Shard {
    /// The entry for `key`, moved into the current generation (made by
    /// `make` if unknown), retiring a full generation first.
    fn entry(&mut self, key: Key, make: impl FnOnce() -> Entry) -> &mut Entry {
        if !self.current.contains_key(&key) && self.current.len() >= GENERATION {
            let known = self.previous.remove(&key);
            self.previous =
                std::mem::replace(&mut self.current, HashMap::with_capacity(GENERATION));
            if let Some(e) = known {
                self.current.insert(key, e);
            }
        }
        let previous = &mut self.previous;
        self.current
            .entry(key)
            .or_insert_with(|| previous.remove(&key).unwrap_or_else(make))
    }

    fn get(&self, key: &Key) -> Option<&Entry> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }
}

pub struct Counters {
    shards: Vec<Mutex<Shard>>,
    clock: Arc<dyn Clock>,
    keys: KeyedHash,
}

impl Counters {
    /// Counters on `clock`'s time, keyed by hashes under `keys` (the same
    /// on every node).
    pub fn new(clock: Arc<dyn Clock>, keys: KeyedHash) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        current: HashMap::new(),
                        previous: HashMap::new(),
                    })
                })
                .collect(),
            clock,
            keys,
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The key of what `parts` name (a kind first, then its values).
    pub fn key(&self, parts: &[&[u8]]) -> Key {
        let mut key = [0u8; 16];
        key.copy_from_slice(&self.keys.digest(parts)[..16]);
        key
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        // Keys are keyed hashes already: their bytes pick the shard evenly.
        let i = usize::from(key[0]) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where `key` stands; `window` is the limit's length in seconds.
    pub fn get(&self, key: &Key, window: u32) -> Count {
        let now = self.now();
        let shard = self.shard(key);
        match shard.get(key) {
            Some(e) if e.running(now) => Count {
                n: e.n,
                resets_in: (e.end - now).max(1) as u64,
            },
            _ => Count {
                n: 0,
                resets_in: u64::from(window),
            },
        }
    }

    /// Counts one request against `key`, whose limit is `limit` per `window`
    /// seconds; a window that ended starts over. Returns where it stands now.
    pub fn add(&self, key: Key, window: u32, limit: u32) -> Count {
        let now = self.now();
        let fresh = || Entry {
            start: now,
            end: now + i64::from(window),
            limit,
            n: 0,
            pending: 0,
        };
        let mut shard = self.shard(&key);
        let e = shard.entry(key, fresh);
        if !e.running(now) {
            *e = fresh();
        }
        e.limit = limit;
        e.n = e.n.saturating_add(1);
        e.pending = e.pending.saturating_add(1);
        Count {
            n: e.n,
            resets_in: (e.end - now).max(1) as u64,
        }
    }

    /// Takes what this node counted since the last call, for the store.
    pub fn drain(&self) -> Vec<CounterDelta> {
        let now = self.now();
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let Shard { current, previous } = &mut *shard;
            for (key, e) in current.iter_mut().chain(previous.iter_mut()) {
                if e.pending > 0 && e.running(now) {
                    out.push(CounterDelta {
                        key: *key,
                        window_start: e.start,
                        window_end: e.end,
                        limit: e.limit,
                        count: e.pending,
                    });
                }
                e.pending = 0;
            }
        }
        out
    }

    /// Puts back counts the store did not take (it was unreachable), so the
    /// next round sends them.
    pub fn restore(&self, deltas: &[CounterDelta]) {
        for d in deltas {
            let mut shard = self.shard(&d.key);
            let e = shard.entry(d.key, || Entry {
                start: d.window_start,
                end: d.window_end,
                limit: d.limit,
                n: d.count,
                pending: 0,
            });
            if e.start == d.window_start {
                e.pending = e.pending.saturating_add(d.count);
            }
        }
    }

    /// Takes in the totals the store answered: every node's counts in the
    /// key's running window (plus what this node counted meanwhile).
    pub fn merge(&self, totals: &[CounterTotal]) {
        let now = self.now();
        for t in totals.iter().filter(|t| t.window_end > now) {
            let total = u32::try_from(t.count).unwrap_or(u32::MAX);
            let mut shard = self.shard(&t.key);
            let e = shard.entry(t.key, || Entry {
                start: t.window_start,
                end: t.window_end,
                limit: 0,
                n: 0,
                pending: 0,
            });
            if !e.running(now) {
                e.pending = 0;
            }
            let n = if e.running(now) && e.start == t.window_start {
                e.n
            } else {
                0
            };
            // The store's window is the one every node counts in.
            e.start = t.window_start;
            e.end = t.window_end;
            e.n = n.max(total.saturating_add(e.pending));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.current.len() + s.previous.len()
            })
            .sum()
    }
}

/// Shares `counters` with the other nodes through `store`, every
/// [`SYNC_INTERVAL`], for as long as the runtime runs; does nothing when the
/// store is not shared (SQLite: one node, nothing to share, nothing written).
/// Returns whether it started.
pub fn spawn_sync(counters: Arc<Counters>, store: Arc<dyn Store>) -> bool {
    if !store.counters_are_shared() {
        return false;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SYNC_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cursor = 0;
        let mut failing = false;
        loop {
            tick.tick().await;
            let deltas = counters.drain();
            match store.sync_counters(&deltas, cursor, counters.now()).await {
                Ok(sync) => {
                    counters.merge(&sync.totals);
                    cursor = sync.cursor;
                    if failing {
                        tracing::info!("request counters are shared with the other nodes again");
                        failing = false;
                    }
                }
                Err(e) => {
                    counters.restore(&deltas);
                    if !failing {
                        tracing::warn!(error = %e, "sharing request counters failed; this node counts alone until the store answers");
                        failing = true;
                    }
                }
            }
        }
    });
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use grantd_core::clock::ManualClock;

    pub(crate) const T: UnixTime = 1_700_000_000;

    pub(crate) fn counters() -> (Arc<Counters>, ManualClock) {
        let clock = ManualClock::new(T);
        let counters = Counters::new(Arc::new(clock.clone()), KeyedHash::new(b"test secret"));
        (Arc::new(counters), clock)
    }

    #[test]
    fn counts_in_a_window_that_starts_with_the_first_request() {
        let (c, clock) = counters();
        let k = c.key(&[b"test", b"a"]);
        assert_eq!(
            c.get(&k, 60),
            Count {
                n: 0,
                resets_in: 60
            }
        );
        clock.advance(10);
        c.add(k, 60, 5);
        clock.advance(20);
        assert_eq!(
            c.add(k, 60, 5),
            Count {
                n: 2,
                resets_in: 40
            }
        );
        clock.advance(40);
        assert_eq!(c.get(&k, 60).n, 0, "the window ended");
        assert_eq!(
            c.add(k, 60, 5),
            Count {
                n: 1,
                resets_in: 60
            }
        );
        assert_ne!(k, c.key(&[b"test", b"b"]));
    }

    #[test]
    fn drain_hands_over_each_count_once_and_merge_takes_other_nodes_in() {
        let (a, clock) = counters();
        let k = a.key(&[b"k"]);
        a.add(k, 60, 10);
        a.add(k, 60, 10);
        let d = a.drain();
        assert_eq!(
            d,
            vec![CounterDelta {
                key: k,
                window_start: T,
                window_end: T + 60,
                limit: 10,
                count: 2
            }]
        );
        assert!(a.drain().is_empty(), "each count is handed over once");
        a.add(k, 60, 10);
        // Meanwhile the store says every node together counted 7 in a
        // window another node started earlier.
        a.merge(&[CounterTotal {
            key: k,
            window_start: T - 5,
            window_end: T + 55,
            count: 7,
        }]);
        assert_eq!(
            a.get(&k, 60),
            Count {
                n: 8,
                resets_in: 55
            },
            "the store's total plus what is not yet synced"
        );
        assert_eq!(
            a.drain()[0].window_start,
            T - 5,
            "counted in the store's window"
        );
        // A key this node never saw, near its limit elsewhere.
        let other = a.key(&[b"other"]);
        a.merge(&[CounterTotal {
            key: other,
            window_start: T,
            window_end: T + 60,
            count: 9,
        }]);
        assert_eq!(a.get(&other, 60).n, 9);
        // Totals of ended windows are ignored.
        let old = a.key(&[b"old"]);
        clock.advance(1);
        a.merge(&[CounterTotal {
            key: old,
            window_start: T - 60,
            window_end: T,
            count: 9,
        }]);
        assert_eq!(a.get(&old, 60).n, 0);
    }

    #[test]
    fn counts_the_store_did_not_take_go_out_again() {
        let (a, _) = counters();
        let k = a.key(&[b"k"]);
        a.add(k, 60, 10);
        let d = a.drain();
        a.add(k, 60, 10);
        a.restore(&d);
        assert_eq!(a.drain()[0].count, 2);
        assert_eq!(a.get(&k, 60).n, 2, "restoring does not count twice");
    }

    #[test]
    fn tables_stay_bounded() {
        let (c, _) = counters();
        let n = SHARDS * GENERATION * 4;
        let key = |i: usize| c.key(&[&i.to_be_bytes()]);
        for i in 0..n {
            c.add(key(i), 60, 10);
        }
        assert!(c.len() <= SHARDS * GENERATION * 2, "{}", c.len());
        // The newest are kept.
        assert_eq!(c.get(&key(n - 1), 60).n, 1);
        // A key found in the previous generation moves forward with its count.
        let (c, _) = counters();
        let k = c.key(&[b"seven"]);
        c.add(k, 60, 10);
        assert_eq!(c.add(k, 60, 10).n, 2);
    }
}
