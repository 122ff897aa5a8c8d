//! Failed-authentication limits per client address on the authentication
//! endpoints: past `limit` failures in a window, requests from that address
//! get 429 (CMN-301) until the window ends. Successful requests never count,
//! so legitimate traffic is not slowed; guessing is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paths whose failures count and which a paused address may not use.
pub const AUTH_PATHS: &[&str] = &[
    "/oauth/token",
    "/restapi/oauth/token",
    "/oauth/introspect",
    "/restapi/oauth/introspect",
    "/oauth/revoke",
    "/restapi/oauth/revoke",
    "/oauth/authorize/login",
];

pub struct FailureLimiter {
    /// Failures allowed per window; 0 turns the limit off.
    pub limit: u32,
    pub window: Duration,
    map: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// The state of an address, for the X-Rate-Limit headers.
pub struct Standing {
    pub remaining: u32,
    /// Seconds until the window ends (for Retry-After).
    pub resets_in: u64,
}

impl FailureLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn standing_of(&self, entry: Option<&(Instant, u32)>, now: Instant) -> Standing {
        match entry {
            Some((start, n)) if now.duration_since(*start) < self.window => Standing {
                remaining: self.limit.saturating_sub(*n),
                resets_in: (self.window - now.duration_since(*start)).as_secs().max(1),
            },
            _ => Standing {
                remaining: self.limit,
                resets_in: self.window.as_secs(),
            },
        }
    }

    /// Where the address stands now.
    pub fn standing(&self, ip: IpAddr) -> Standing {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        self.standing_of(map.get(&ip), Instant::now())
    }

    /// Counts one failure; returns the standing after it.
    pub fn record_failure(&self, ip: IpAddr) -> Standing {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded: forget finished windows (a flood of addresses cannot grow it forever).
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let copy = *entry;
        self.standing_of(Some(&copy), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let l = FailureLimiter::new(2, Duration::from_millis(50));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(l.standing(ip).remaining, 2);
        l.record_failure(ip);
        assert_eq!(l.record_failure(ip).remaining, 0);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(l.standing(ip).remaining, 2);
    }
}
