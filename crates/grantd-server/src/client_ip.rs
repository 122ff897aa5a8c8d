//! Which address a request comes from: the TCP peer, or, when the peer is a
//! trusted proxy, the nearest untrusted hop that the proxies forwarded.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
/// Empty (the default): the peer address is the client, and forwarding
/// headers are ignored, since any client can send them.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDR ranges (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse<S: AsRef<str>>(ranges: &[S]) -> Result<Self, String> {
        ranges
            .iter()
            .map(|r| {
                let r = r.as_ref().trim();
                r.parse::<IpNet>()
                    .or_else(|_| r.parse::<IpAddr>().map(|ip| IpNet::from(canonical(ip))))
                    .map(|n| n.trunc())
                    .map_err(|_| format!("trusted proxy '{r}' is not an IP address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is trusted; then
    /// the rightmost hop of `X-Forwarded-For` (or, without it, of
    /// `Forwarded: for=`) that is not itself a trusted proxy. Hops left of
    /// it were written by the client and prove nothing. A hop that cannot be
    /// read stops the walk at the proxy that wrote it.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer.ip());
        if !self.contains(client) {
            return client;
        }
        let hops: Vec<&str> = if headers.contains_key("x-forwarded-for") {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect()
        } else {
            headers
                .get_all("forwarded")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(forwarded_for)
                .collect()
        };
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.contains(ip) => client = ip,
                Some(ip) => return ip,
                None => return client,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so one client has one address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` value of one `Forwarded` element (RFC 7239 §4).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })
}

/// An address from a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `::1`,
/// `[::1]`, `"[::1]:80"` (quoted, as `Forwarded` writes IPv6).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 4000)
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            none.client_ip(peer("198.51.100.1"), &h),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        let t = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(
            t.client_ip(peer("198.51.100.1"), &h),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).unwrap();
        // The client wrote the first entry itself; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            t.client_ip(peer("127.0.0.1"), &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            t.client_ip(peer("10.0.0.1"), &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.0.0.7, 10.0.0.8")]);
        assert_eq!(
            t.client_ip(peer("10.0.0.1"), &h),
            "10.0.0.7".parse::<IpAddr>().unwrap()
        );
        // Garbage stops at the proxy that passed it on.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, nonsense, 10.0.0.8")]);
        assert_eq!(
            t.client_ip(peer("10.0.0.1"), &h),
            "10.0.0.8".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(
            t.client_ip(peer("10.0.0.1"), &HeaderMap::new()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_for_is_read_too() {
        let t = TrustedProxies::parse(&["127.0.0.0/8"]).unwrap();
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https, for=127.0.0.2",
        )]);
        assert_eq!(
            t.client_ip(peer("127.0.0.1"), &h),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("forwarded", "proto=https;For=192.0.2.60:8080")]);
        assert_eq!(
            t.client_ip(peer("127.0.0.1"), &h),
            "192.0.2.60".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ranges_parse() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8", "::1", "fd00::/8"]).is_ok());
        let e = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
        // IPv4-mapped addresses are compared as IPv4.
        assert!(TrustedProxies::parse(&["10.0.0.1"])
            .unwrap()
            .contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse(&["::ffff:10.0.0.1"])
            .unwrap()
            .contains("10.0.0.1".parse().unwrap()));
    }
}
