//! Checks of the request counters nodes share: adding in a window, windows
//! starting over, counters near their limit reaching other nodes, and
//! concurrent syncs losing nothing.

use crate::fixtures::{race, T};
use grantd_core::clock::UnixTime;
use grantd_core::crypto::random_bytes;
use grantd_core::store::{CounterDelta, CounterSync, CounterTotal, Store};

/// How many nodes sync the same counters at once.
const RACERS: usize = 8;

fn key() -> [u8; 16] {
    random_bytes::<16>()
}

fn delta(key: [u8; 16], window_start: UnixTime, limit: u32, count: u32) -> CounterDelta {
    CounterDelta {
        key,
        window_start,
        window_end: window_start + 60,
        limit,
        count,
    }
}

async fn sync(
    store: &dyn Store,
    deltas: &[CounterDelta],
    cursor: i64,
    now: UnixTime,
) -> CounterSync {
    store
        .sync_counters(deltas, cursor, now)
        .await
        .expect("sync_counters")
}

/// The totals reported for `key` (a key appears at most once).
fn of(sync: &CounterSync, key: [u8; 16]) -> Option<CounterTotal> {
    let found: Vec<CounterTotal> = sync
        .totals
        .iter()
        .filter(|t| t.key == key)
        .copied()
        .collect();
    assert!(found.len() <= 1, "a counter reported twice: {found:?}");
    found.first().copied()
}

fn total(key: [u8; 16], window_start: UnixTime, count: u64) -> Option<CounterTotal> {
    Some(CounterTotal {
        key,
        window_start,
        window_end: window_start + 60,
        count,
    })
}

pub async fn counters_add_up_within_their_window(store: &dyn Store) {
    let (a, b) = (key(), key());
    let first = sync(store, &[delta(b, T, 100, 2), delta(a, T, 100, 3)], 0, T + 1).await;
    assert_eq!(
        of(&first, a),
        total(a, T, 3),
        "a new counter holds the delta"
    );
    assert_eq!(of(&first, b), total(b, T, 2), "each key counts alone");

    // Another node counted in a window it started a little later: the
    // stored window stands, and the counts add.
    let later = sync(store, &[delta(a, T + 5, 100, 4)], 0, T + 6).await;
    assert_eq!(
        of(&later, a),
        total(a, T, 7),
        "deltas add up in the stored window"
    );

    let stale = sync(store, &[delta(a, T - 60, 100, 50)], 0, T + 7).await;
    assert_eq!(
        of(&stale, a),
        total(a, T, 7),
        "a delta of a window that ended before the stored one began is dropped"
    );

    let over = sync(store, &[delta(a, T + 60, 100, 1)], 0, T + 60).await;
    assert_eq!(
        of(&over, a),
        total(a, T + 60, 1),
        "once the stored window ends, the counter starts over in the delta's window"
    );
    let b_again = sync(store, &[delta(b, T, 100, 0)], 0, T + 60).await;
    assert_eq!(
        of(&b_again, b),
        total(b, T, 0),
        "a delta after the window ended starts over, even with nothing to add"
    );
}

pub async fn counters_near_their_limit_reach_every_node(store: &dyn Store) {
    let (near, far, ended) = (key(), key(), key());
    let now = T + 10;
    // Node A counts.
    sync(
        store,
        &[
            delta(near, T, 10, 5),
            delta(far, T, 10, 4),
            CounterDelta {
                window_end: T + 5,
                ..delta(ended, T - 55, 10, 9)
            },
        ],
        0,
        now,
    )
    .await;

    // Node B has counted nothing and asks what it should know.
    let b = sync(store, &[], 0, now).await;
    assert_eq!(
        of(&b, near),
        total(near, T, 5),
        "a counter at half its limit reaches the other nodes"
    );
    assert_eq!(of(&b, far), None, "one below half its limit does not");
    assert_eq!(of(&b, ended), None, "nor one whose window has ended");
    let again = sync(store, &[], b.cursor, now).await;
    assert_eq!(
        of(&again, near),
        None,
        "a counter is reported again only once it changes"
    );
    assert!(again.cursor >= b.cursor, "the cursor never goes back");

    // A counts more: B learns both totals.
    sync(
        store,
        &[delta(near, T, 10, 6), delta(far, T, 10, 1)],
        0,
        now,
    )
    .await;
    let b2 = sync(store, &[], again.cursor, now).await;
    assert_eq!(
        of(&b2, near),
        total(near, T, 11),
        "over its limit, still reported"
    );
    assert_eq!(of(&b2, far), total(far, T, 5), "now at half its limit");

    // B's own delta: its total is reported once, with B's count in it.
    let b3 = sync(store, &[delta(near, T, 10, 1)], b2.cursor, now).await;
    assert_eq!(of(&b3, near), total(near, T, 12));
}

pub async fn concurrent_counter_syncs_lose_nothing(store: &dyn Store) {
    let keys: Vec<[u8; 16]> = (0..20).map(|_| key()).collect();
    let per_racer: Vec<Vec<CounterDelta>> = (0..RACERS)
        .map(|i| {
            // Each node names the keys in its own order; the store locks
            // them in one order, so no two syncs deadlock.
            let mut mine: Vec<CounterDelta> = keys.iter().map(|k| delta(*k, T, 1000, 1)).collect();
            mine.rotate_left(i * 3 % keys.len());
            if i % 2 == 1 {
                mine.reverse();
            }
            mine
        })
        .collect();
    let results = race(
        per_racer
            .iter()
            .map(|deltas| store.sync_counters(deltas, 0, T + 1))
            .collect(),
    )
    .await;
    for r in results {
        let r = r.expect("concurrent sync_counters");
        for k in &keys {
            let t = of(&r, *k).expect("every counter added to is reported");
            assert!(
                (1..=RACERS as u64).contains(&t.count),
                "a racer sees its own delta in the total: {t:?}"
            );
        }
    }
    let after = sync(
        store,
        &keys
            .iter()
            .map(|k| delta(*k, T, 1000, 0))
            .collect::<Vec<_>>(),
        0,
        T + 2,
    )
    .await;
    for k in &keys {
        assert_eq!(
            of(&after, *k),
            total(*k, T, RACERS as u64),
            "every node's delta is counted once"
        );
    }
}
