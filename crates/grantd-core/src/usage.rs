//! Usage: tokens issued per app and day (UTC), beside the rejections per
//! day from the rejection log.
//!
//! Counting is off the token endpoint's success path: a success adds one
//! to an in-memory counter per (app, day) ([`UsageCounter::count`]: a map
//! update under a lock held for nothing else), and one task flushes the
//! counters to the store every [`FLUSH_EVERY`] as one unit of work
//! (`Store::add_token_usage`). A failed flush keeps its counts for the next.

use crate::clock::UnixTime;
use crate::store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Days shown on the app page and answered by the admin API.
pub const DAYS_SHOWN: i64 = 14;
/// How often the counters go to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Seconds in a day.
const DAY: i64 = 86_400;

/// Tokens issued to one app on one day, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenCount {
    pub client_id: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub count: u64,
}

/// The day (days since the epoch, UTC) of a time.
pub fn day_of(at: UnixTime) -> i64 {
    at.div_euclid(DAY)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_name(day: i64) -> String {
    let mut s = crate::crypto::rfc3339(day * DAY);
    s.truncate(10);
    s
}

/// The counts not yet flushed.
#[derive(Default)]
pub struct UsageCounter {
    counts: Mutex<HashMap<(String, i64), u64>>,
}

impl UsageCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one token issued to `client_id` at `at`; never waits on I/O.
    pub fn count(&self, client_id: &str, at: UnixTime) {
        if let Ok(mut m) = self.counts.lock() {
            *m.entry((client_id.to_string(), day_of(at))).or_insert(0) += 1;
        }
    }

    /// Takes every count so far (the counters start again from zero).
    pub fn take(&self) -> Vec<TokenCount> {
        let taken = match self.counts.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(_) => return Vec::new(),
        };
        let mut list: Vec<TokenCount> = taken
            .into_iter()
            .map(|((client_id, day), count)| TokenCount {
                client_id,
                day,
                count,
            })
            .collect();
        // One order for every flush, so concurrent flushes of several nodes
        // take their row locks alike.
        list.sort_by(|a, b| (&a.client_id, a.day).cmp(&(&b.client_id, b.day)));
        list
    }

    /// Puts counts back after a failed flush.
    fn restore(&self, list: Vec<TokenCount>) {
        if let Ok(mut m) = self.counts.lock() {
            for c in list {
                *m.entry((c.client_id, c.day)).or_insert(0) += c.count;
            }
        }
    }

    /// Writes what was counted; on failure the counts wait for the next flush.
    pub async fn flush(&self, store: &dyn Store) {
        let list = self.take();
        if list.is_empty() {
            return;
        }
        if let Err(e) = store.add_token_usage(&list).await {
            tracing::warn!(error = %e, rows = list.len(), "token usage not recorded; retried at the next flush");
            self.restore(list);
        }
    }

    /// Starts the task that flushes every [`FLUSH_EVERY`] (call once, on
    /// the serving runtime).
    pub fn spawn_flusher(self: &Arc<Self>, store: Arc<dyn Store>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.flush(&*store).await;
            }
        });
    }
}

/// One day of an app's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub tokens_issued: u64,
    /// Counted from the kept rejection log (its last 1,000 entries).
    pub rejections: u64,
}

impl crate::Grantd {
    /// The app's last [`DAYS_SHOWN`] days, newest first, every day listed
    /// (zeros included).
    pub async fn app_usage(
        &self,
        client_id: &str,
    ) -> Result<Vec<UsageDay>, grantd_protocol::OAuthError> {
        if self.store.get_app(client_id).await?.is_none() {
            return Err(grantd_protocol::OAuthError::app_not_found(client_id));
        }
        let today = day_of(self.now());
        let first = today - (DAYS_SHOWN - 1);
        let tokens = self.store.token_usage(client_id, first).await?;
        let rejected = self
            .store
            .list_rejections(
                client_id,
                &crate::rejections::RejectionFilter {
                    limit: crate::rejections::KEEP_PER_APP,
                    ..Default::default()
                },
            )
            .await?;
        let mut per_day: HashMap<i64, u64> = HashMap::new();
        for r in &rejected {
            *per_day.entry(day_of(r.at)).or_insert(0) += 1;
        }
        Ok((first..=today)
            .rev()
            .map(|d| UsageDay {
                day: day_name(d),
                tokens_issued: tokens.iter().filter(|t| t.day == d).map(|t| t.count).sum(),
                rejections: per_day.get(&d).copied().unwrap_or(0),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_app_and_day_and_takes_them_once() {
        let c = UsageCounter::new();
        c.count("a", 10);
        c.count("a", 20);
        c.count("a", DAY + 1);
        c.count("b", 5);
        let taken = c.take();
        assert_eq!(
            taken,
            vec![
                TokenCount {
                    client_id: "a".into(),
                    day: 0,
                    count: 2
                },
                TokenCount {
                    client_id: "a".into(),
                    day: 1,
                    count: 1
                },
                TokenCount {
                    client_id: "b".into(),
                    day: 0,
                    count: 1
                },
            ]
        );
        assert!(c.take().is_empty());
        c.restore(taken);
        c.count("b", 6);
        assert_eq!(c.take().iter().map(|t| t.count).sum::<u64>(), 5);
    }

    #[test]
    fn days_are_named_in_utc() {
        assert_eq!(day_name(0), "1970-01-01");
        assert_eq!(day_name(day_of(1_700_000_000)), "2023-11-14");
        assert_eq!(day_of(-1), -1);
    }
}
