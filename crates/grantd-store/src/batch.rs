//! Group commit for token inserts, the hot write (opaque access tokens,
//! refresh tokens): concurrent inserts are gathered into one multi-row
//! INSERT on the writer connection, and each caller is answered after the
//! commit, so nothing acknowledged is lost and the single writer does one
//! round trip per batch instead of one per token.

use crate::codec::db_error;
use grantd_core::model::TokenRecord;
use grantd_core::store::{StoreError, StoreResult};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// Most tokens one statement carries (17 columns each, far below SQLite's
/// 32766 bound parameters).
const MAX_BATCH: usize = 64;

type Job = (TokenRecord, oneshot::Sender<StoreResult<()>>);

#[derive(Debug)]
pub(crate) struct TokenBatcher {
    jobs: mpsc::Sender<Job>,
}

impl TokenBatcher {
    /// Starts the batching task; it ends when the batcher is dropped.
    pub fn spawn(writer: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, rx));
        Self { jobs }
    }

    pub async fn insert(&self, token: TokenRecord) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel();
        let gone = || StoreError::Unavailable("the token writer stopped".into());
        self.jobs.send((token, tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

async fn run(writer: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tokens: Vec<&TokenRecord> = batch.iter().map(|(t, _)| t).collect();
        // How well group commit groups (/metrics), and what a commit costs.
        metrics::histogram!("grantd_store_batch_size").record(tokens.len() as f64);
        let started = std::time::Instant::now();
        let inserted = insert_many(&writer, &tokens).await;
        metrics::histogram!("grantd_store_duration_seconds", "operation" => "insert_tokens")
            .record(started.elapsed().as_secs_f64());
        match inserted {
            Ok(()) => {
                for (_, reply) in batch {
                    let _ = reply.send(Ok(()));
                }
            }
            // One bad row (a conflict) must not fail the others: retry alone.
            Err(_) if batch.len() > 1 => {
                for (token, reply) in batch {
                    let _ = reply.send(insert_many(&writer, &[&token]).await);
                }
            }
            // A batch of one: its own error, kind and all (Conflict stays Conflict).
            Err(e) => {
                if let Some((_, reply)) = batch.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
}

async fn insert_many(writer: &SqlitePool, tokens: &[&TokenRecord]) -> StoreResult<()> {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let sql = format!(
        "INSERT INTO tokens ({}) VALUES {}",
        crate::rows::TOKEN_COLUMNS,
        vec![row; tokens.len()].join(", ")
    );
    let mut q = sqlx::query(&sql);
    for t in tokens {
        q = q
            .bind(t.hash.as_slice())
            .bind(t.kind.as_str())
            .bind(&t.id)
            .bind(&t.client_id)
            .bind(&t.subject)
            .bind(&t.account_id)
            .bind(&t.session_id)
            .bind(&t.scope)
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.revoked_at)
            .bind(t.rotated_at)
            .bind(t.replay.as_deref())
            .bind(&t.pair_access_id)
            .bind(t.pair_access_expires_at)
            .bind(t.exchange.as_ref().and_then(|x| x.audience.as_deref()))
            .bind(crate::codec::actor_to_json(
                t.exchange.as_ref().and_then(|x| x.act.as_ref()),
            ));
    }
    let what = match tokens {
        [one] => format!("token {}", one.id),
        many => format!("{} tokens", many.len()),
    };
    q.execute(writer).await.map_err(|e| db_error(e, &what))?;
    Ok(())
}
