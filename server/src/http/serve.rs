//! The accept loop: every connection with a deadline for its request headers and a cap on how
//! many are open at once.
//!
//! `axum::serve` waits for headers forever, so when Ferry faces clients directly (no nginx in
//! front) a slowloris client — one that opens connections and sends a request a byte at a time,
//! or nothing at all — holds a connection, a task and its buffers for as long as it likes. Here
//! hyper closes any connection that has not delivered a whole request head within
//! `header_timeout` of being opened or of finishing its previous response (so an idle keep-alive
//! connection goes too), and at most `max_connections` are served at once: beyond that the loop
//! stops accepting and new connections wait in the kernel's backlog instead of costing memory.
//! Bodies and handlers are bounded by the request timeout layer.

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What one connection may cost (`HTTP_HEADER_TIMEOUT_MS`, `HTTP_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a connection has to deliver a request's headers, from opening or from its previous
    /// response.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Largest read buffer of one connection (and so the largest request head).
const MAX_BUFFER_BYTES: usize = 64 * 1024;

/// How long to pause after a failed accept (out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting and waits for
/// the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // HTTP/1.1 only: what nginx speaks to Ferry and what browsers use without TLS. (hyper's
    // HTTP/1-or-2 detection waits for a connection's first bytes with no deadline at all.)
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A request head is a few KiB; hyper's default buffer (~400 KiB) times the connection
        // cap would be gigabytes.
        .max_buf_size(MAX_BUFFER_BYTES);
    let builder = Arc::new(builder);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, error = %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
