//! Accepting connections: HTTP/1.1 with a deadline for request headers, a cap
//! on open connections, and a graceful shutdown that ends after a deadline.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower_http::add_extension::AddExtension;

/// How connections are held.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From the first byte of a request (or the end of the previous one on a
    /// kept-alive connection) to the end of its headers; past it the
    /// connection is closed. This also bounds idle kept-alive connections.
    pub header_read_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// After the shutdown signal, how long requests in flight may finish
    /// before the remaining connections are dropped.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish (idle connections close at
/// once) and returns at the latest `shutdown_timeout` later.
///
/// HTTP/1.1 only: cleartext HTTP/2 would first wait for the client's
/// preface with no deadline, and TLS (where HTTP/2 is negotiated) is the
/// proxy's job.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut tasks = JoinSet::new();
    let mut warned_full: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer, permit) = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = accept(&listener, &permits, &limits, &mut warned_full) => accepted,
        };
        let service = TowerToHyperService::new(AddExtension::new(app.clone(), ConnectInfo(peer)));
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let header_timeout = limits.header_read_timeout.as_secs();
        tasks.spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() {
                    tracing::info!(
                        target: "grantd::http",
                        client = %peer.ip(),
                        "connection closed: no complete request headers within {header_timeout} s"
                    );
                } else {
                    tracing::debug!(target: "grantd::http", client = %peer.ip(), error = %e, "connection ended");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let open = tasks.len();
    if open > 0 {
        tracing::info!(
            open,
            "shutting down: finishing requests in flight (at most {} s)",
            limits.shutdown_timeout.as_secs()
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_ok();
    if !drained {
        tracing::warn!(
            open = tasks.len(),
            "shutdown deadline passed: dropping the remaining connections"
        );
    }
    tasks.shutdown().await;
}

/// The next connection, once one of the `max_connections` slots is free.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    limits: &ConnectionLimits,
    warned_full: &mut Option<Instant>,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = match permits.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            if warned_full.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached: new connections wait until one closes"
                );
                *warned_full = Some(Instant::now());
            }
            // The semaphore is never closed.
            match permits.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => std::future::pending().await,
            }
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                return (stream, peer, permit);
            }
            // Out of file descriptors and the like: wait instead of spinning.
            Err(e) if !is_connection_error(&e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => {}
        }
    }
}

/// Errors about one connection (the client went away), not the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
