//! The audit log of security events: what is recorded, the hash chain that
//! links each entry to the one before it, and its verification.

use crate::crypto::sha256;
use crate::store::{AuditEntry, NewAuditEntry};
use crate::Grantd;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The kinds of event recorded.
pub mod kind {
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const LOCKOUT: &str = "lockout";
    pub const APP_CREATED: &str = "app_created";
    pub const APP_CHANGED: &str = "app_changed";
    pub const APP_DELETED: &str = "app_deleted";
    pub const SECRET_ROTATED: &str = "secret_rotated";
    pub const CREDENTIAL_CREATED: &str = "credential_created";
    pub const CREDENTIAL_REVOKED: &str = "credential_revoked";
    pub const KEY_ROTATED: &str = "key_rotated";
    pub const KEY_REVOKED: &str = "key_revoked";
    pub const CONSENT_GRANTED: &str = "consent_granted";
    pub const CONSENT_WITHDRAWN: &str = "consent_withdrawn";
    pub const ADMIN_TOKEN_USED: &str = "admin_token_used";
    pub const USER_CREATED: &str = "user_created";
    pub const USER_DISABLED: &str = "user_disabled";
    pub const USER_ENABLED: &str = "user_enabled";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const ROLE_CHANGED: &str = "role_changed";
    pub const REGISTRATION_TOKEN_CREATED: &str = "registration_token_created";
    pub const REGISTRATION_TOKEN_REVOKED: &str = "registration_token_revoked";
}

/// Who did what an entry records: `id` is `admin` for the admin token (its
/// middleware records the request, with the client's address), otherwise
/// the signed-in user's id; `source` is the client's address, if known.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: &'a str,
    pub source: &'a str,
}

impl Actor<'static> {
    /// The admin API and the CLI (their entries name no address here).
    pub const ADMIN_TOKEN: Actor<'static> = Actor {
        id: "admin",
        source: "",
    };
}

/// SHA-256 over the previous hash, `seq` and every field, each length-prefixed
/// so no two entries serialize alike; lowercase hex.
pub fn chain_hash(prev_hash: &str, seq: i64, e: &NewAuditEntry) -> String {
    let mut buf = Vec::with_capacity(256);
    let seq = seq.to_string();
    let at = e.at.to_string();
    for part in [
        prev_hash, &seq, &at, &e.kind, &e.actor, &e.subject, &e.source, &e.detail,
    ] {
        buf.extend_from_slice(&(part.len() as u64).to_be_bytes());
        buf.extend_from_slice(part.as_bytes());
    }
    sha256(&buf).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub why: String,
}

/// Checks entries read in `seq` order from the start of the log: each hash
/// recomputes from its fields and the previous hash (an edited row fails
/// here), and `seq` runs on without a gap (a deleted row fails here, and its
/// successor's `prev_hash` no longer matches).
pub fn verify(entries: &[AuditEntry]) -> Result<usize, Break> {
    let mut prev = GENESIS.to_string();
    for (expected_seq, e) in (1..).zip(entries) {
        if e.seq != expected_seq {
            return Err(Break {
                seq: e.seq,
                why: format!(
                    "entry {expected_seq} is missing (deleted?): the next entry is {}",
                    e.seq
                ),
            });
        }
        if e.prev_hash != prev {
            return Err(Break {
                seq: e.seq,
                why: "its prev_hash is not the hash of the entry before it".into(),
            });
        }
        let fields = NewAuditEntry {
            at: e.at,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            subject: e.subject.clone(),
            source: e.source.clone(),
            detail: e.detail.clone(),
        };
        if chain_hash(&prev, e.seq, &fields) != e.hash {
            return Err(Break {
                seq: e.seq,
                why: "its fields do not match its hash (edited?)".into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}

impl Grantd {
    /// Records a security event. A failure to record is logged, not
    /// returned: the operation it describes has already happened.
    pub async fn audit(
        &self,
        kind: &str,
        actor: &str,
        subject: &str,
        source: &str,
        detail: serde_json::Value,
    ) {
        let entry = NewAuditEntry {
            at: self.now(),
            kind: kind.to_string(),
            actor: actor.to_string(),
            subject: subject.to_string(),
            source: source.to_string(),
            detail: detail.to_string(),
        };
        if let Err(e) = self.store.append_audit(entry, chain_hash).await {
            tracing::error!(kind, error = %e, "audit entry not recorded");
        }
    }

    /// Reads the whole log and verifies its chain.
    pub async fn verify_audit(&self) -> Result<Result<usize, Break>, crate::store::StoreError> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |e: &AuditEntry| e.seq);
            let page = self.store.list_audit(after, 1000).await?;
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        Ok(verify(&all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let e = NewAuditEntry {
                at: 1000 + seq,
                kind: kind::APP_CREATED.into(),
                actor: "admin".into(),
                subject: format!("app{seq}"),
                source: "cli".into(),
                detail: "{}".into(),
            };
            let prev = out.last().map_or(GENESIS.to_string(), |p| p.hash.clone());
            let hash = chain_hash(&prev, seq, &e);
            out.push(AuditEntry {
                seq,
                at: e.at,
                kind: e.kind,
                actor: e.actor,
                subject: e.subject,
                source: e.source,
                detail: e.detail,
                prev_hash: prev,
                hash,
            });
        }
        out
    }

    #[test]
    fn a_chain_verifies_and_edits_and_deletions_break_it() {
        assert_eq!(verify(&entries(5)), Ok(5));
        let mut edited = entries(5);
        edited[2].actor = "someone-else".into();
        assert_eq!(verify(&edited).unwrap_err().seq, 3);
        let mut deleted = entries(5);
        deleted.remove(1);
        assert_eq!(verify(&deleted).unwrap_err().seq, 3);
        // Rehashing the edited row does not help: its successor no longer links.
        let mut rehashed = entries(5);
        rehashed[2].subject = "x".into();
        let fields = NewAuditEntry {
            at: rehashed[2].at,
            kind: rehashed[2].kind.clone(),
            actor: rehashed[2].actor.clone(),
            subject: "x".into(),
            source: rehashed[2].source.clone(),
            detail: rehashed[2].detail.clone(),
        };
        rehashed[2].hash = chain_hash(&rehashed[2].prev_hash, 3, &fields);
        assert_eq!(verify(&rehashed).unwrap_err().seq, 4);
    }
}
