//! Checks of the audit log: entries chain in order, also when appended
//! concurrently, and read back page by page.

use crate::fixtures::race;
use grantd_core::audit::{chain_hash, verify, GENESIS};
use grantd_core::store::{AuditEntry, NewAuditEntry, Store};

/// How many tasks append at once.
const APPENDERS: usize = 20;

fn entry(n: usize) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_700_000_000 + n as i64,
        kind: "app_created".into(),
        actor: "admin".into(),
        subject: format!("app-{n}"),
        source: "127.0.0.1".into(),
        detail: format!("{{\"n\":{n}, \"name\":\"Café ✓\"}}"),
    }
}

async fn all(store: &dyn Store) -> Vec<AuditEntry> {
    let mut out: Vec<AuditEntry> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.list_audit(after, 7).await.expect("list_audit");
        if page.is_empty() {
            return out;
        }
        assert!(page.len() <= 7, "a page holds at most the limit");
        out.extend(page);
    }
}

pub async fn audit_entries_chain_in_order(store: &dyn Store) {
    let first = store
        .append_audit(entry(1), chain_hash)
        .await
        .expect("append_audit");
    assert_eq!(first.seq, 1, "a new store's log starts at 1");
    assert_eq!(first.prev_hash, GENESIS);
    assert_eq!(first.hash, chain_hash(GENESIS, 1, &entry(1)));
    let second = store
        .append_audit(entry(2), chain_hash)
        .await
        .expect("append_audit");
    assert_eq!(
        (second.seq, second.prev_hash.as_str()),
        (2, first.hash.as_str())
    );
    let stored = all(store).await;
    assert_eq!(
        stored,
        vec![first, second],
        "entries read back exactly, text included"
    );
    assert_eq!(verify(&stored), Ok(2));
}

pub async fn concurrent_audit_appends_keep_one_chain(store: &dyn Store) {
    let appended = race(
        (0..APPENDERS)
            .map(|n| store.append_audit(entry(n), chain_hash))
            .collect(),
    )
    .await;
    let mut seqs: Vec<i64> = appended
        .into_iter()
        .map(|r| r.expect("append_audit").seq)
        .collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=APPENDERS as i64).collect::<Vec<_>>(),
        "no seq twice, none skipped"
    );
    let stored = all(store).await;
    assert_eq!(verify(&stored), Ok(APPENDERS), "the chain is whole");
}
