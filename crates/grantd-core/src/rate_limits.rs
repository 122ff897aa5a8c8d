//! Request quotas by RingCentral rate-limit group: the groups, a quota
//! (`REQUESTS/SECONDS`), the server-wide defaults and an app's own limits.
//! Counting is the server's (`grantd-server/src/quota.rs`); these are the
//! values it counts against, parsed once where the operator writes them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// RingCentral's rate-limit groups ("usage plan groups"): every endpoint
/// belongs to at most one, and requests count per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The token, revocation and authorization endpoints.
    Auth,
    /// Cheap API calls: grantd's own API resources and introspection.
    Light,
    Medium,
    Heavy,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Auth, Group::Light, Group::Medium, Group::Heavy];

    /// The name RingCentral sends in `X-Rate-Limit-Group`.
    pub fn name(self) -> &'static str {
        match self {
            Group::Auth => "Auth",
            Group::Light => "Light",
            Group::Medium => "Medium",
            Group::Heavy => "Heavy",
        }
    }

    /// The name in configuration and app settings.
    pub fn key(self) -> &'static str {
        match self {
            Group::Auth => "auth",
            Group::Light => "light",
            Group::Medium => "medium",
            Group::Heavy => "heavy",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Case-insensitive.
    pub fn parse(s: &str) -> Result<Group, String> {
        Group::ALL
            .into_iter()
            .find(|g| g.key().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "'{}' is not a rate-limit group; use auth, light, medium or heavy",
                    s.trim().chars().take(40).collect::<String>()
                )
            })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest window a quota may have (one day).
pub const MAX_WINDOW: u32 = 86_400;

/// At most `requests` requests per `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    pub requests: u32,
    pub seconds: u32,
}

impl Quota {
    /// `REQUESTS/SECONDS`, e.g. `5/60`.
    pub fn parse(s: &str) -> Result<Quota, String> {
        let s = s.trim();
        let shown = || s.chars().take(40).collect::<String>();
        let (n, secs) = s.split_once('/').ok_or_else(|| {
            format!(
                "'{}' is not a limit; write REQUESTS/SECONDS, e.g. 50/60",
                shown()
            )
        })?;
        let requests: u32 = n.trim().parse().map_err(|_| {
            format!(
                "'{}': the number of requests must be a whole number from 1",
                shown()
            )
        })?;
        let seconds: u32 = secs.trim().parse().map_err(|_| {
            format!(
                "'{}': the window must be a whole number of seconds from 1 to {MAX_WINDOW}",
                shown()
            )
        })?;
        if requests == 0 {
            return Err(format!(
                "'{}': a limit needs at least 1 request (use off for no limit)",
                shown()
            ));
        }
        if !(1..=MAX_WINDOW).contains(&seconds) {
            return Err(format!(
                "'{}': the window must be 1 to {MAX_WINDOW} seconds",
                shown()
            ));
        }
        Ok(Quota { requests, seconds })
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.requests, self.seconds)
    }
}

/// A group's limit as written: a quota, or `off` (no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Off,
    Quota(Quota),
}

impl Limit {
    pub fn parse(s: &str) -> Result<Limit, String> {
        match s.trim() {
            v if v.eq_ignore_ascii_case("off") => Ok(Limit::Off),
            v => Quota::parse(v).map(Limit::Quota),
        }
    }

    pub fn quota(self) -> Option<Quota> {
        match self {
            Limit::Off => None,
            Limit::Quota(q) => Some(q),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Off => f.write_str("off"),
            Limit::Quota(q) => q.fmt(f),
        }
    }
}

/// The server-wide quota of each group; none means the group is not limited.
/// All off unless the operator sets them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits([Option<Quota>; 4]);

impl RateLimits {
    /// RingCentral's published defaults (per user and app, a 60-second window).
    pub fn ringcentral() -> RateLimits {
        let q = |requests| {
            Some(Quota {
                requests,
                seconds: 60,
            })
        };
        RateLimits([q(5), q(50), q(40), q(10)])
    }

    /// A named preset (`ringcentral`).
    pub fn preset(name: &str) -> Result<RateLimits, String> {
        match name.trim() {
            n if n.eq_ignore_ascii_case("ringcentral") => Ok(RateLimits::ringcentral()),
            n if n.eq_ignore_ascii_case("off") || n.eq_ignore_ascii_case("none") => {
                Ok(RateLimits::default())
            }
            n => Err(format!(
                "'{}' is not a rate-limit preset; use ringcentral (Auth 5/60, Light 50/60, Medium 40/60, Heavy 10/60) or off",
                n.chars().take(40).collect::<String>()
            )),
        }
    }

    pub fn get(&self, group: Group) -> Option<Quota> {
        self.0[group.index()]
    }

    pub fn set(&mut self, group: Group, limit: Limit) {
        self.0[group.index()] = limit.quota();
    }

    /// Applies `GROUP=LIMIT` (`auth=5/60`, `light=off`).
    pub fn apply(&mut self, assignment: &str) -> Result<(), String> {
        let (group, limit) = assignment.split_once('=').ok_or_else(|| {
            format!(
                "'{}' is not GROUP=REQUESTS/SECONDS, e.g. auth=5/60",
                assignment.chars().take(60).collect::<String>()
            )
        })?;
        self.set(Group::parse(group)?, Limit::parse(limit)?);
        Ok(())
    }

    pub fn is_off(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<String> = Group::ALL
            .iter()
            .filter_map(|g| self.get(*g).map(|q| format!("{}={q}", g.key())))
            .collect();
        if on.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&on.join(","))
        }
    }
}

/// An app's own limits: for the groups named, a quota or `off` that replaces
/// the server-wide one. Written as JSON `{"auth": "10/60", "light": "off"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppRateLimits(BTreeMap<Group, Limit>);

impl AppRateLimits {
    /// From `{"group": "REQUESTS/SECONDS" | "off"}` as sent to the admin API.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AppRateLimits, String> {
        let mut out = BTreeMap::new();
        for (group, limit) in entries {
            out.insert(Group::parse(group)?, Limit::parse(limit)?);
        }
        Ok(AppRateLimits(out))
    }

    /// The app's limit for `group` if it set one.
    pub fn get(&self, group: Group) -> Option<Limit> {
        self.0.get(&group).copied()
    }

    /// The quota that applies to this app: its own, else the server's.
    pub fn effective(&self, group: Group, server: &RateLimits) -> Option<Quota> {
        match self.get(group) {
            Some(limit) => limit.quota(),
            None => server.get(group),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Group, Limit)> + '_ {
        self.0.iter().map(|(g, l)| (*g, *l))
    }
}

impl Serialize for AppRateLimits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (g, l) in &self.0 {
            map.serialize_entry(g.key(), &l.to_string())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AppRateLimits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(d)?;
        AppRateLimits::parse(raw.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_and_print() {
        assert_eq!(
            Quota::parse(" 5/60 "),
            Ok(Quota {
                requests: 5,
                seconds: 60
            })
        );
        assert_eq!(Quota::parse("5/60").unwrap().to_string(), "5/60");
        for bad in ["5", "0/60", "5/0", "5/86401", "x/60", "5/x", "-1/60", ""] {
            assert!(Quota::parse(bad).is_err(), "{bad}");
        }
        assert!(Quota::parse("0/60").unwrap_err().contains("off"));
        assert_eq!(Limit::parse("OFF"), Ok(Limit::Off));
    }

    #[test]
    fn server_limits_apply_over_a_preset() {
        let mut l = RateLimits::preset("RingCentral").unwrap();
        assert_eq!(
            l.to_string(),
            "auth=5/60,light=50/60,medium=40/60,heavy=10/60"
        );
        l.apply("Light=off").unwrap();
        l.apply("auth=10/30").unwrap();
        assert_eq!(l.to_string(), "auth=10/30,medium=40/60,heavy=10/60");
        assert!(l
            .apply("everything=1/1")
            .unwrap_err()
            .contains("auth, light"));
        assert!(l.apply("auth").is_err());
        assert!(RateLimits::default().is_off());
        assert_eq!(RateLimits::default().to_string(), "off");
        assert!(RateLimits::preset("aws").is_err());
    }

    #[test]
    fn an_app_overrides_the_server_per_group() {
        let app = AppRateLimits::parse([("AUTH", "10/60"), ("light", "off")]).unwrap();
        let server = RateLimits::ringcentral();
        assert_eq!(
            app.effective(Group::Auth, &server),
            Some(Quota {
                requests: 10,
                seconds: 60
            })
        );
        assert_eq!(app.effective(Group::Light, &server), None);
        assert_eq!(
            app.effective(Group::Heavy, &server),
            server.get(Group::Heavy)
        );
        let json = serde_json::to_string(&app).unwrap();
        assert_eq!(json, r#"{"auth":"10/60","light":"off"}"#);
        let back: AppRateLimits = serde_json::from_str(&json).unwrap();
        assert_eq!(back, app);
        assert!(serde_json::from_str::<AppRateLimits>(r#"{"auth":"many"}"#).is_err());
    }
}
