//! Wires configuration into running parts: backends, worker pool, HTTP server, and the order in
//! which they stop.

use crate::{
    config::{Config, OriginSettings},
    http::{self, admin::AdminAccess, rate_limit::ClientRateLimit, AppState, SharedState},
    origin::{
        http::{HttpOrigin, HttpOriginError},
        s3::S3Origin,
        simulated::SimulatedOrigin,
        watched::{OriginWatch, WatchedOrigin},
        Origin,
    },
    presence::{start_heartbeat, Identity, Presence, QueuePaused, RunningJobs},
    queue::{memory::MemoryQueue, redis::RedisQueue, JobQueue, QueueError},
    storage::{local::LocalStore, s3::S3Store, ResultStore, StorageError},
    worker::{WorkerContext, WorkerPool},
};
use axum::Router;
use http::content_security::{ContentSecurityPolicy, S3Endpoint};
use leptos::prelude::LeptosOptions;
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the queue: {0}")]
    Queue(#[from] QueueError),
    #[error("cannot open the result store: {0}")]
    Storage(#[from] StorageError),
    #[error("cannot set up the HTTP origin: {0}")]
    Origin(#[from] HttpOriginError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The result store the configuration asks for: S3 when configured, else the local directory
/// (returned a second time, typed, because Ferry itself serves its links).
async fn open_store(
    config: &Config,
) -> Result<(Arc<dyn ResultStore>, Option<Arc<LocalStore>>), StorageError> {
    if let Some(s3) = &config.s3 {
        let store = S3Store::connect(s3).await;
        // S3 may be down at start-up: health reports it and uploads retry, so only warn.
        if let Err(error) = store.ensure_bucket().await {
            tracing::warn!(%error, bucket = %s3.bucket, "cannot verify or create the bucket yet");
        }
        return Ok((Arc::new(store), None));
    }
    let local = Arc::new(
        LocalStore::open(
            config.local_storage_dir.clone(),
            config.local_storage_secret.as_deref(),
        )
        .await?,
    );
    Ok((local.clone(), Some(local)))
}

/// The origin the configuration asks for (`ORIGIN`).
async fn open_origin(config: &Config) -> Result<Arc<dyn Origin>, HttpOriginError> {
    Ok(match &config.origin {
        OriginSettings::Simulated(settings) => Arc::new(SimulatedOrigin::new(settings.clone())),
        OriginSettings::S3(settings) => Arc::new(S3Origin::connect(settings).await),
        OriginSettings::Http(settings) => Arc::new(HttpOrigin::new(settings)?),
    })
}

/// The queue the configuration asks for: Redis (a server or a cluster) when configured, else in
/// memory.
/// Attempts its workers run are recorded as `worker`'s.
fn open_queue(config: &Config, worker: &str) -> Result<Arc<dyn JobQueue>, QueueError> {
    let Some(target) = &config.redis else {
        return Ok(Arc::new(
            MemoryQueue::new(config.queue.clone()).named(worker),
        ));
    };
    let queue = Arc::new(
        RedisQueue::connect_to(target, &config.queue_prefix, config.queue.clone())?.named(worker),
    );
    // Evicted keys are lost jobs: say so loudly, without delaying start-up while Redis is down.
    let checked = queue.clone();
    tokio::spawn(async move {
        match checked.eviction_policy().await {
            Ok(policy) if policy == "noeviction" => {}
            Ok(policy) => tracing::warn!(
                %policy,
                "Redis maxmemory-policy is not noeviction: under memory pressure Redis may delete job records"
            ),
            Err(error) => tracing::warn!(%error, "cannot read Redis' maxmemory-policy"),
        }
    });
    Ok(queue)
}

/// Longest pause between two sweeps of the local result directory.
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Deletes local archives nothing can refer to any more (see [`LocalStore::sweep`]), so the
/// directory does not grow without bound.
fn spawn_storage_sweeper(store: Arc<LocalStore>, max_age: Duration, shutdown: CancellationToken) {
    let interval = (max_age / 4).clamp(Duration::from_secs(1), MAX_SWEEP_INTERVAL);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.cancelled() => return,
            }
            match store.sweep(max_age).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired archives deleted"),
                Err(error) => tracing::warn!(%error, "could not sweep the result directory"),
            }
        }
    });
}

/// Forgets idle clients of the rate limiter once per window, so its table holds only clients seen
/// recently.
fn spawn_rate_limit_sweeper(limit: ClientRateLimit, window: Duration, shutdown: CancellationToken) {
    let interval = window.clamp(Duration::from_secs(1), MAX_SWEEP_INTERVAL);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.cancelled() => return,
            }
            limit.forget_idle_clients();
        }
    });
}

/// A server that is listening and whose workers are running.
pub struct Application {
    listener: TcpListener,
    router: Router,
    workers: WorkerPool,
    shutdown: CancellationToken,
    shutdown_grace: Duration,
    connection_limits: http::serve::ConnectionLimits,
}

impl Application {
    /// Opens the backends, starts the workers and binds `leptos_options.site_addr` (port 0 picks
    /// a free port, as tests do).
    pub async fn build(
        config: Config,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        let identity = Identity::of_this_process();
        let queue = open_queue(&config, &identity.id)?;
        let (store, local) = open_store(&config).await?;
        let origin_watch = OriginWatch::default();
        let origin: Arc<dyn Origin> = Arc::new(WatchedOrigin::new(
            open_origin(&config).await?,
            origin_watch.clone(),
        ));
        tracing::info!(
            queue = %queue.describe(),
            storage = %store.describe(),
            origin = %origin.describe(),
            workers = config.worker.concurrency,
            "backends ready"
        );

        let shutdown = CancellationToken::new();
        if let Some(local) = &local {
            spawn_storage_sweeper(
                local.clone(),
                config.queue.result_ttl + config.presign_ttl,
                shutdown.clone(),
            );
        }
        let running = RunningJobs::default();
        let paused = QueuePaused::default();
        start_heartbeat(
            queue.clone(),
            Presence {
                identity,
                concurrency: u32::try_from(config.worker.concurrency).unwrap_or(u32::MAX),
                running: running.clone(),
                paused: paused.clone(),
                origin: origin_watch,
            },
            shutdown.clone(),
        )
        .await;
        let workers = WorkerPool::spawn(WorkerContext {
            queue: queue.clone(),
            store: store.clone(),
            origin: origin.clone(),
            settings: Arc::new(config.worker.clone()),
            running,
            shutdown: shutdown.clone(),
        });
        let addr = leptos_options.site_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let rate_limit = ClientRateLimit::new(&config.http);
        spawn_rate_limit_sweeper(
            rate_limit.clone(),
            config
                .http
                .rate_limit
                .window
                .min(config.http.initiate_rate_limit.window),
            shutdown.clone(),
        );
        let router = http::app(AppState::new(SharedState {
            queue,
            store,
            local_files: local,
            origin,
            max_files_per_job: config.worker.max_files_per_job,
            presign_ttl: config.presign_ttl,
            leptos_options,
            rate_limit,
            http: config.http.clone(),
            metrics: crate::metrics::install(),
            content_security: ContentSecurityPolicy::new(
                config.s3.as_ref().map(|s3| {
                    match s3.public_endpoint.as_deref().or(s3.endpoint.as_deref()) {
                        Some(url) => S3Endpoint::Url(url),
                        None => S3Endpoint::Aws,
                    }
                }),
                config.live_reload,
            ),
            admin: config
                .admin
                .as_ref()
                .map(|admin| AdminAccess::new(admin.token.clone(), admin.session_ttl)),
            paused,
            trace_ui: config.trace_ui.clone(),
        }));
        Ok(Self {
            listener,
            router,
            workers,
            shutdown,
            shutdown_grace: config.shutdown_grace,
            connection_limits: config.http.connection_limits,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The router, for tests that send requests without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// A handle that stops the application when cancelled (as a signal would).
    pub fn shutdown_handle(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until `stop` completes or the shutdown handle is cancelled, then stops claiming,
    /// releases unfinished jobs and drains requests, within the shutdown grace period.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "listening");
        let token = self.shutdown.clone();
        let server = tokio::spawn(http::serve::serve(
            self.listener,
            self.router,
            self.connection_limits,
            token.clone(),
        ));

        tokio::select! {
            _ = stop => {}
            _ = token.cancelled() => {}
        }
        token.cancel();
        tracing::info!("shutting down: releasing jobs and finishing requests");
        let workers = self.workers;
        let drained = tokio::time::timeout(self.shutdown_grace, async move {
            workers.join().await;
            server.await
        })
        .await;
        match drained {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(std::io::Error::other(join_error)),
            Err(_) => {
                tracing::warn!(grace = ?self.shutdown_grace, "shutdown grace elapsed; exiting anyway");
                Ok(())
            }
        }
    }
}
