//! Accepting connections: HTTP/1.1 with a deadline for request headers (and,
//! over TLS, HTTP/2 when the client offers it), a cap on open connections,
//! and a graceful shutdown that ends after a deadline.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
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
/// preface with no deadline; over TLS ([`serve_tls`]) ALPN names the protocol.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    run(listener, app, limits, None, shutdown).await
}

/// [`serve`] over TLS: the handshake (which must end within
/// `header_read_timeout`) picks HTTP/2 or HTTP/1.1 by ALPN, and the
/// certificate comes from `config`'s resolver at each handshake, so a
/// reloaded one serves new connections while open ones go on.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    run(listener, app, limits, Some(acceptor), shutdown).await
}

async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    // HTTP/2 has no header deadline of its own: pings find dead peers.
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout)
        .max_header_list_size(crate::HEADER_LIMIT as u32 * 2);
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
        let header_timeout = limits.header_read_timeout;
        let Some(acceptor) = tls.clone() else {
            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tasks.spawn(async move {
                log_end(conn.await, peer, header_timeout);
                drop(permit);
            });
            continue;
        };
        let watcher = graceful.watcher();
        let (http, h2) = (http.clone(), h2.clone());
        tasks.spawn(async move {
            let stream = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(target: "grantd::http", client = %peer.ip(), error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(
                        target: "grantd::http",
                        client = %peer.ip(),
                        "connection closed: no TLS handshake within {} s",
                        header_timeout.as_secs()
                    );
                    return;
                }
            };
            let io = TokioIo::new(stream);
            let end = if io.inner().get_ref().1.alpn_protocol() == Some(b"h2") {
                watcher.watch(h2.serve_connection(io, service)).await
            } else {
                watcher.watch(http.serve_connection(io, service)).await
            };
            log_end(end, peer, header_timeout);
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

/// Logs how a connection ended, if not cleanly.
fn log_end(end: Result<(), hyper::Error>, peer: SocketAddr, header_timeout: Duration) {
    if let Err(e) = end {
        if e.is_timeout() {
            tracing::info!(
                target: "grantd::http",
                client = %peer.ip(),
                "connection closed: no complete request headers within {} s",
                header_timeout.as_secs()
            );
        } else {
            tracing::debug!(target: "grantd::http", client = %peer.ip(), error = %e, "connection ended");
        }
    }
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
