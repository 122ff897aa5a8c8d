//! Failed-authentication limits on the authentication endpoints, per client
//! address and the identity under attack (a client id, or a username on the
//! sign-in form): past `limit` failures in a window, that identity is refused
//! from that address with 429 (CMN-301) until the window ends, and every
//! other app and user from the same address (one proxy, one NAT) goes on.
//! A looser per-address ceiling (`limit × ADDRESS_FACTOR`) stops one address
//! from trying unlimited identities. Wrong admin tokens count the same way
//! (identity "admin"). Successful requests never count, so legitimate
//! traffic is not slowed; guessing is. Failures are counted in
//! [`crate::counters`], so on PostgreSQL the limit holds across nodes.

use crate::counters::{Count, Counters, Key};
use axum::http::Extensions;
use grantd_protocol::error::Paused;
use grantd_protocol::OAuthError;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

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
    "/console/login",
];

/// Whether failed authentications on `path` count: the authentication
/// endpoints and the admin API (wrong admin tokens).
pub fn counts_failures(path: &str) -> bool {
    AUTH_PATHS.contains(&path)
        || path.starts_with("/admin/")
        || path.starts_with("/oauth/register")
        || path.starts_with("/restapi/oauth/register")
}

/// The per-address ceiling as a multiple of the per-identity limit.
pub const ADDRESS_FACTOR: u32 = 10;

/// Whose credentials a request tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity<'a> {
    /// A client id (token, introspection, revocation).
    Client(&'a str),
    /// A username on the sign-in form, as typed (compared case-insensitively).
    Login(&'a str),
    /// The admin API's bearer token.
    Admin,
    /// Nothing names a client.
    Anonymous,
}

pub struct FailureLimiter {
    /// Failures allowed per identity, address and window; 0 turns the limit off.
    pub limit: u32,
    /// Seconds.
    pub window: u32,
    counters: Arc<Counters>,
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
    fn of(count: Count, limit: u32) -> Standing {
        Standing {
            remaining: limit.saturating_sub(count.n),
            resets_in: count.resets_in,
        }
    }

    /// The one that runs out first.
    fn tighter(self, other: Standing) -> Standing {
        if other.remaining < self.remaining {
            other
        } else {
            self
        }
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

impl FailureLimiter {
    /// `limit` failures per `window` seconds, counted in `counters`.
    pub fn new(limit: u32, window: u32, counters: Arc<Counters>) -> Self {
        Self {
            limit,
            window,
            counters,
        }
    }

    /// The per-address ceiling.
    pub fn address_limit(&self) -> u32 {
        self.limit.saturating_mul(ADDRESS_FACTOR)
    }

    fn address_key(&self, ip: IpAddr) -> Key {
        self.counters
            .key(&[b"failures from address", &ip_bytes(ip)])
    }

    /// Identities are counted by keyed hash: the same on every node, and no
    /// client id or username is held in memory or stored.
    fn identity_key(&self, ip: IpAddr, who: Identity<'_>) -> Key {
        let login;
        let (kind, name): (&[u8], &[u8]) = match who {
            Identity::Client(id) => (b"client", id.as_bytes()),
            Identity::Login(name) => {
                login = name.to_lowercase();
                (b"login", login.as_bytes())
            }
            Identity::Admin => (b"admin", b""),
            Identity::Anonymous => (b"anonymous", b""),
        };
        self.counters
            .key(&[b"failures of identity", kind, &ip_bytes(ip), name])
    }

    pub fn address_standing(&self, ip: IpAddr) -> Standing {
        let key = self.address_key(ip);
        Standing::of(self.counters.get(&key, self.window), self.address_limit())
    }

    fn identity_standing(&self, key: Key) -> Standing {
        Standing::of(self.counters.get(&key, self.window), self.limit)
    }

    /// Counts one failure against the identity and the address; returns the
    /// tighter standing after it.
    fn record(&self, ip: IpAddr, identity: Key) -> Standing {
        let id = self.counters.add(identity, self.window, self.limit);
        let addr = self
            .counters
            .add(self.address_key(ip), self.window, self.address_limit());
        Standing::of(id, self.limit).tighter(Standing::of(addr, self.address_limit()))
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
    named: OnceLock<(Key, Standing)>,
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
                    u64::from(l.window),
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
            Identity::Admin => Paused::Admin,
            Identity::Anonymous => Paused::Anonymous,
        };
        Err(OAuthError::too_many_failures(
            paused,
            l.limit,
            u64::from(l.window),
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
                resets_in: u64::from(l.window),
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
        l.record(self.0.ip, key)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::tests::counters;
    use grantd_protocol::Code;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limiter(limit: u32) -> (Arc<FailureLimiter>, grantd_core::clock::ManualClock) {
        let (c, clock) = counters();
        (Arc::new(FailureLimiter::new(limit, 60, c)), clock)
    }

    #[test]
    fn counts_and_resets() {
        let (l, clock) = limiter(2);
        let a = Attempt::new(l.clone(), ip("127.0.0.1"));
        a.identify(Identity::Client("c")).unwrap();
        assert_eq!(a.standing().remaining, 2);
        a.record_failure();
        assert_eq!(a.record_failure().remaining, 0);
        clock.advance(15);
        let a = Attempt::new(l.clone(), ip("127.0.0.1"));
        let e = a.identify(Identity::Client("c")).unwrap_err();
        assert_eq!(e.code, Code::RateExceeded);
        assert!(
            e.description.contains("for client id '…' (1 character)"),
            "{}",
            e.description
        );
        assert_eq!(
            a.retry_after(),
            Some(45),
            "the window began at the first failure"
        );
        clock.advance(45);
        let a = Attempt::new(l, ip("127.0.0.1"));
        assert!(a.identify(Identity::Client("c")).is_ok());
        assert_eq!(a.standing().remaining, 2);
    }

    #[test]
    fn one_identity_is_paused_not_the_address() {
        let (l, _) = limiter(3);
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
        let a = Attempt::new(l.clone(), ip("10.0.0.3"));
        let e = a
            .identify(Identity::Login("alice@example.com"))
            .unwrap_err();
        assert!(!e.description.contains("alice"), "{}", e.description);
        // A username that looks like a client id is another identity.
        let a = Attempt::new(l, ip("10.0.0.3"));
        assert!(a.identify(Identity::Client("alice@example.com")).is_ok());
    }

    #[test]
    fn wrong_admin_tokens_pause_the_admin_api_for_that_address() {
        let (l, _) = limiter(2);
        for _ in 0..2 {
            let a = Attempt::new(l.clone(), ip("192.0.2.9"));
            a.identify(Identity::Admin).unwrap();
            a.record_failure();
        }
        let a = Attempt::new(l.clone(), ip("192.0.2.9"));
        let e = a.identify(Identity::Admin).unwrap_err();
        assert!(
            e.description.contains("for the admin API"),
            "{}",
            e.description
        );
        assert!(Attempt::new(l, ip("192.0.2.10"))
            .identify(Identity::Admin)
            .is_ok());
        assert!(counts_failures("/admin/v1/apps"));
        assert!(counts_failures("/oauth/token"));
        assert!(!counts_failures("/oauth/jwks"));
    }

    #[test]
    fn an_address_spraying_identities_hits_the_ceiling() {
        let (l, _) = limiter(2);
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
        let (l, _) = limiter(1);
        let a = Attempt::new(l.clone(), ip("2001:db8:1:2::1"));
        a.identify(Identity::Client("c")).unwrap();
        a.record_failure();
        let a = Attempt::new(l.clone(), ip("2001:db8:1:2:ffff::9"));
        assert!(a.identify(Identity::Client("c")).is_err());
        let a = Attempt::new(l, ip("2001:db8:1:3::1"));
        assert!(a.identify(Identity::Client("c")).is_ok());
    }

    #[test]
    fn failures_counted_on_another_node_pause_here() {
        let (l, _) = limiter(3);
        let a = Attempt::new(l.clone(), ip("10.0.0.1"));
        a.identify(Identity::Client("invented")).unwrap();
        a.record_failure();
        // The store reports that every node together has 3 for this key.
        let key = l.identity_key(ip("10.0.0.1"), Identity::Client("invented"));
        let mut deltas = l.counters.drain();
        deltas.retain(|d| d.key == key);
        l.counters.merge(&[grantd_core::store::CounterTotal {
            key,
            window_start: deltas[0].window_start,
            window_end: deltas[0].window_end,
            count: 3,
        }]);
        let a = Attempt::new(l, ip("10.0.0.1"));
        assert!(a.identify(Identity::Client("invented")).is_err());
    }
}
