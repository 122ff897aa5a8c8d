//! Failed-authentication limits on the authentication endpoints, per client
//! address and the identity under attack (a client id, or a username on the
//! sign-in form): past `limit` failures in a window, that identity is refused
//! from that address with 429 (CMN-301) until the window ends, and every
//! other app and user from the same address (one proxy, one NAT) goes on.
//! A looser per-address ceiling (`limit × ADDRESS_FACTOR`) stops one address
//! from trying unlimited identities. Successful requests never count, so
//! legitimate traffic is not slowed; guessing is.

use axum::http::Extensions;
use grantd_protocol::error::Paused;
use grantd_protocol::OAuthError;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Paths whose failures count and which a paused identity may not use.
pub const AUTH_PATHS: &[&str] = &[
    "/oauth/token",
    "/restapi/oauth/token",
    "/oauth/introspect",
    "/restapi/oauth/introspect",
    "/oauth/revoke",
    "/restapi/oauth/revoke",
    "/oauth/authorize/login",
    "/oauth/device_authorization",
    "/device",
    "/device/login",
    "/device/decision",
];

/// The per-address ceiling as a multiple of the per-identity limit.
pub const ADDRESS_FACTOR: u32 = 10;

/// Tables are split in shards, each behind its own lock.
const SHARDS: usize = 16;
/// Entries per shard and generation. When a shard's current generation is
/// full it becomes the previous one and the previous one is dropped, so a
/// table holds at most `SHARDS × 2 × GENERATION` entries and forgets the
/// least recently failed first, in O(1) per failure.
const GENERATION: usize = 2048;

/// Whose credentials a request tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    /// A client id (token, introspection, revocation).
    Client(&'a str),
    /// A username on the sign-in form, as typed (compared case-insensitively).
    Login(&'a str),
    /// Nothing names a client.
    Anonymous,
}

pub struct FailureLimiter {
    /// Failures allowed per identity, address and window; 0 turns the limit off.
    pub limit: u32,
    pub window: Duration,
    addresses: Table<IpAddr>,
    identities: Table<(IpAddr, u64)>,
    hasher: RandomState,
}

/// Where a key stands, for the X-Rate-Limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Failures left before the pause.
    pub remaining: u32,
    /// Seconds until the window ends (for Retry-After).
    pub resets_in: u64,
}

impl Standing {
    /// The one that runs out first.
    fn tighter(self, other: Standing) -> Standing {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }
}

impl FailureLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            addresses: Table::new(),
            identities: Table::new(),
            hasher: RandomState::new(),
        }
    }

    /// The per-address ceiling.
    pub fn address_limit(&self) -> u32 {
        self.limit.saturating_mul(ADDRESS_FACTOR)
    }

    fn standing(&self, count: Option<Count>, limit: u32, now: Instant) -> Standing {
        match count {
            Some(c) if now.duration_since(c.start) < self.window => Standing {
                remaining: limit.saturating_sub(c.n),
                resets_in: (self.window - now.duration_since(c.start)).as_secs().max(1),
            },
            _ => Standing {
                remaining: limit,
                resets_in: self.window.as_secs(),
            },
        }
    }

    /// Identities are kept as keyed hashes: bounded size, and no client id
    /// or username is held in memory.
    fn identity_key(&self, ip: IpAddr, who: Identity<'_>) -> (IpAddr, u64) {
        let h = match who {
            Identity::Client(id) => self.hasher.hash_one((1u8, id)),
            Identity::Login(name) => self.hasher.hash_one((2u8, name.to_lowercase())),
            Identity::Anonymous => self.hasher.hash_one((0u8, "")),
        };
        (ip, h)
    }

    pub fn address_standing(&self, ip: IpAddr) -> Standing {
        let now = Instant::now();
        self.standing(self.addresses.get(&ip), self.address_limit(), now)
    }

    fn identity_standing(&self, key: (IpAddr, u64)) -> Standing {
        let now = Instant::now();
        self.standing(self.identities.get(&key), self.limit, now)
    }

    /// Counts one failure against the identity and the address; returns the
    /// tighter standing after it.
    fn record(&self, key: (IpAddr, u64)) -> Standing {
        let now = Instant::now();
        let id = self.identities.add(key, now, self.window);
        let addr = self.addresses.add(key.0, now, self.window);
        self.standing(Some(id), self.limit, now)
            .tighter(self.standing(Some(addr), self.address_limit(), now))
    }
}

/// One request to an authentication endpoint, as the limiter sees it. The
/// edge layer creates it (and refuses a paused address); the extractor or
/// handler names whose credentials are tried ([`identify`]), which refuses a
/// paused identity before any credential is checked; the edge then counts a
/// failure against both.
#[derive(Clone)]
pub struct Attempt(Arc<AttemptState>);

struct AttemptState {
    limiter: Arc<FailureLimiter>,
    ip: IpAddr,
    address: Standing,
    named: OnceLock<((IpAddr, u64), Standing)>,
}

impl Attempt {
    /// Starts an attempt from `ip` (IPv6 counted per /64, which one host
    /// usually holds whole).
    pub fn new(limiter: Arc<FailureLimiter>, ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
            v4 => v4,
        };
        let address = limiter.address_standing(ip);
        Self(Arc::new(AttemptState {
            limiter,
            ip,
            address,
            named: OnceLock::new(),
        }))
    }

    /// The refusal, if the address has reached its ceiling.
    pub fn address_paused(&self) -> Option<(OAuthError, u64)> {
        let l = &self.0.limiter;
        (self.0.address.remaining == 0).then(|| {
            let st = self.0.address;
            (
                OAuthError::too_many_failures(
                    Paused::Address,
                    l.address_limit(),
                    l.window.as_secs(),
                    st.resets_in,
                ),
                st.resets_in,
            )
        })
    }

    /// Names whose credentials this request tries; refuses it if that
    /// identity has failed too often from this address. The first name given
    /// counts.
    pub fn identify(&self, who: Identity<'_>) -> Result<(), OAuthError> {
        let l = &self.0.limiter;
        let key = l.identity_key(self.0.ip, who);
        let (_, st) = *self.0.named.get_or_init(|| (key, l.identity_standing(key)));
        if st.remaining > 0 {
            return Ok(());
        }
        let paused = match who {
            Identity::Client(id) => Paused::Client(id),
            Identity::Login(_) => Paused::Login,
            Identity::Anonymous => Paused::Anonymous,
        };
        Err(OAuthError::too_many_failures(
            paused,
            l.limit,
            l.window.as_secs(),
            st.resets_in,
        ))
    }

    /// Seconds until a paused identity may try again.
    pub fn retry_after(&self) -> Option<u64> {
        match self.0.named.get() {
            Some((_, st)) if st.remaining == 0 => Some(st.resets_in),
            _ => None,
        }
    }

    /// Where the request stands when it did not fail.
    pub fn standing(&self) -> Standing {
        let l = &self.0.limiter;
        let id = match self.0.named.get() {
            Some((_, st)) => *st,
            None => Standing {
                remaining: l.limit,
                resets_in: l.window.as_secs(),
            },
        };
        id.tighter(self.0.address)
    }

    /// Counts the request as a failed authentication (of the identity named,
    /// or of an anonymous one); returns the standing after it.
    pub fn record_failure(&self) -> Standing {
        let l = &self.0.limiter;
        let key = match self.0.named.get() {
            Some((key, _)) => *key,
            None => l.identity_key(self.0.ip, Identity::Anonymous),
        };
        l.record(key)
    }
}

/// [`Attempt::identify`] for the request's attempt, if it has one (it has
/// none when the limit is off or the path is not an authentication endpoint).
pub fn identify(extensions: &Extensions, who: Identity<'_>) -> Result<(), OAuthError> {
    match extensions.get::<Attempt>() {
        Some(a) => a.identify(who),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    start: Instant,
    n: u32,
}

/// A bounded map from key to failure count, sharded by a keyed hash.
struct Table<K> {
    shards: Vec<Mutex<Shard<K>>>,
    pick: RandomState,
}

struct Shard<K> {
    current: HashMap<K, Count>,
    previous: HashMap<K, Count>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        current: HashMap::new(),
                        previous: HashMap::new(),
                    })
                })
                .collect(),
            pick: RandomState::new(),
        }
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, Shard<K>> {
        let i = (self.pick.hash_one(key) % SHARDS as u64) as usize;
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &K) -> Option<Count> {
        let shard = self.shard(key);
        shard
            .current
            .get(key)
            .or_else(|| shard.previous.get(key))
            .copied()
    }

    fn add(&self, key: K, now: Instant, window: Duration) -> Count {
        let retired;
        let count;
        {
            let mut shard = self.shard(&key);
            let known = shard.current.get(&key).copied();
            let known = known.or_else(|| shard.previous.remove(&key));
            let mut c = match known {
                Some(c) if now.duration_since(c.start) < window => c,
                _ => Count { start: now, n: 0 },
            };
            c.n = c.n.saturating_add(1);
            retired = if !shard.current.contains_key(&key) && shard.current.len() >= GENERATION {
                let full =
                    std::mem::replace(&mut shard.current, HashMap::with_capacity(GENERATION));
                Some(std::mem::replace(&mut shard.previous, full))
            } else {
                None
            };
            shard.current.insert(key, c);
            count = c;
        }
        // The retired generation is freed outside the lock.
        drop(retired);
        count
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

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_protocol::Code;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn counts_and_resets() {
        let l = Arc::new(FailureLimiter::new(2, Duration::from_millis(50)));
        let a = Attempt::new(l.clone(), ip("127.0.0.1"));
        a.identify(Identity::Client("c")).unwrap();
        assert_eq!(a.standing().remaining, 2);
        a.record_failure();
        assert_eq!(a.record_failure().remaining, 0);
        let a = Attempt::new(l.clone(), ip("127.0.0.1"));
        let e = a.identify(Identity::Client("c")).unwrap_err();
        assert_eq!(e.code, Code::TooManyFailures);
        assert!(
            e.description.contains("for client id 'c'"),
            "{}",
            e.description
        );
        assert!(a.retry_after().is_some());
        std::thread::sleep(Duration::from_millis(60));
        let a = Attempt::new(l, ip("127.0.0.1"));
        assert!(a.identify(Identity::Client("c")).is_ok());
        assert_eq!(a.standing().remaining, 2);
    }

    #[test]
    fn one_identity_is_paused_not_the_address() {
        let l = Arc::new(FailureLimiter::new(3, Duration::from_secs(60)));
        for _ in 0..3 {
            let a = Attempt::new(l.clone(), ip("10.0.0.1"));
            a.identify(Identity::Client("invented")).unwrap();
            a.record_failure();
        }
        let a = Attempt::new(l.clone(), ip("10.0.0.1"));
        assert!(a.address_paused().is_none());
        assert!(a.identify(Identity::Client("invented")).is_err());
        let a = Attempt::new(l.clone(), ip("10.0.0.1"));
        assert!(a.identify(Identity::Client("real")).is_ok());
        // The same identity from elsewhere is not paused either.
        let a = Attempt::new(l.clone(), ip("10.0.0.2"));
        assert!(a.identify(Identity::Client("invented")).is_ok());
        // Usernames compare case-insensitively.
        for _ in 0..3 {
            let a = Attempt::new(l.clone(), ip("10.0.0.3"));
            a.identify(Identity::Login("Alice@Example.com")).unwrap();
            a.record_failure();
        }
        let a = Attempt::new(l, ip("10.0.0.3"));
        let e = a
            .identify(Identity::Login("alice@example.com"))
            .unwrap_err();
        assert!(!e.description.contains("alice"), "{}", e.description);
    }

    #[test]
    fn an_address_spraying_identities_hits_the_ceiling() {
        let l = Arc::new(FailureLimiter::new(2, Duration::from_secs(60)));
        for i in 0..(2 * ADDRESS_FACTOR) {
            let a = Attempt::new(l.clone(), ip("192.0.2.1"));
            assert!(a.address_paused().is_none(), "paused after {i}");
            a.identify(Identity::Client(&format!("c{i}"))).unwrap();
            a.record_failure();
        }
        let a = Attempt::new(l.clone(), ip("192.0.2.1"));
        let (e, _) = a.address_paused().expect("ceiling reached");
        assert!(e.description.contains("More than 20"), "{}", e.description);
        assert!(Attempt::new(l, ip("192.0.2.2")).address_paused().is_none());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let l = Arc::new(FailureLimiter::new(1, Duration::from_secs(60)));
        let a = Attempt::new(l.clone(), ip("2001:db8:1:2::1"));
        a.identify(Identity::Client("c")).unwrap();
        a.record_failure();
        let a = Attempt::new(l.clone(), ip("2001:db8:1:2:ffff::9"));
        assert!(a.identify(Identity::Client("c")).is_err());
        let a = Attempt::new(l, ip("2001:db8:1:3::1"));
        assert!(a.identify(Identity::Client("c")).is_ok());
    }

    #[test]
    fn tables_stay_bounded() {
        let t: Table<u64> = Table::new();
        let now = Instant::now();
        for k in 0..(SHARDS * GENERATION * 4) as u64 {
            t.add(k, now, Duration::from_secs(60));
        }
        assert!(t.len() <= SHARDS * GENERATION * 2, "{}", t.len());
        // The newest are kept.
        let last = (SHARDS * GENERATION * 4 - 1) as u64;
        assert_eq!(t.get(&last).map(|c| c.n), Some(1));
        // A key found in the previous generation moves forward with its count.
        let t: Table<u64> = Table::new();
        t.add(7, now, Duration::from_secs(60));
        assert_eq!(t.add(7, now, Duration::from_secs(60)).n, 2);
    }
}
