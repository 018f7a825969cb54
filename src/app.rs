//! Wires configuration, store, clients, workers and the HTTP server into one application.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::config::StoreSettings;
use crate::gong::GongClient;
use crate::http::{self, headers, idle, AppState, Limits, WebhookAuth};
use crate::salesforce::SalesforceClient;
use crate::store::{Store, StoreError, StoreOptions};
use crate::sweep::Sweeper;
use crate::telemetry;
use crate::worker::{self, PoolSettings, Worker};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr} (server.bind): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    store: Store,
    worker: Arc<Worker>,
    pool: PoolSettings,
    sweeper: Arc<Sweeper>,
}

impl Application {
    /// Opens the store, builds the clients and binds the listening socket (port 0 picks a
    /// free port). Nothing runs until [`Application::run_until`].
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let store = open_store(&settings.store).await?;
        store.bound_queue(settings.store.max_queued).await?;
        let webhook_auth = Arc::new(WebhookAuth::from_settings(&settings.webhook));
        let recovered = store.reclaim_orphans().await?;
        if recovered > 0 {
            tracing::warn!(
                jobs = recovered,
                "requeued jobs interrupted by the previous run"
            );
        }
        let worker = Arc::new(build_worker(&settings, &store)?);
        let sweeper = Arc::new(build_sweeper(&settings, &worker));
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.server.bind,
                source,
            })?;
        let state = AppState {
            store: store.clone(),
            metrics: telemetry::metrics_handle(),
            max_body_bytes: settings.server.max_body_bytes,
            auth: webhook_auth,
            sweep_enabled: sweeper.enabled(),
            gong_daily_limit: settings.gong.daily_limit.get(),
        };
        let router = http::router(
            state,
            settings.admin.token.clone(),
            settings
                .webhook
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
            Limits {
                request_timeout: settings.server.request_timeout,
                max_concurrent_webhooks: settings.server.max_concurrent_webhooks,
            },
        );
        if settings.sync.dry_run {
            tracing::warn!("sync.dry_run is on: nothing is written to Salesforce; each job records what it would have written");
        }
        Ok(Self {
            listener,
            router,
            header_read_timeout: settings.server.header_read_timeout,
            store,
            worker,
            pool: pool_settings(&settings),
            sweeper,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The worker the pool runs, for callers that run jobs themselves ([`Worker::run_due`]).
    pub fn worker(&self) -> Arc<Worker> {
        Arc::clone(&self.worker)
    }

    /// The catch-up sweep, for callers that sweep themselves ([`Sweeper::sweep_now`]).
    pub fn sweeper(&self) -> Arc<Sweeper> {
        Arc::clone(&self.sweeper)
    }

    /// Runs without background workers: [`Application::run_until`] then only serves HTTP,
    /// and jobs run when the caller runs them (tests that drive the work step by step).
    pub fn without_workers(mut self) -> Self {
        // A pool of none starts no task and returns at once.
        self.pool.concurrency = 0;
        self
    }

    /// Serves webhooks and runs the workers until `shutdown` completes; then stops accepting,
    /// lets in-flight jobs finish within the grace period and releases the rest.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        let grace = self.pool.shutdown_grace;
        let workers = tokio::spawn(worker::run_pool(self.worker, self.pool, stop.clone()));
        let sweeps = tokio::spawn(self.sweeper.run(stop.clone()));
        tokio::spawn(telemetry::fold_metric_samples(stop.clone()));
        let stop_serving = stop.clone();
        let served = serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            grace,
            async move {
                shutdown.await;
                tracing::info!("shutting down: no new webhooks; finishing jobs in flight");
                stop_serving.cancel();
            },
        )
        .await;
        stop.cancel();
        if let Err(error) = workers.await {
            tracing::error!(%error, "a worker task ended abnormally");
        }
        if let Err(error) = sweeps.await {
            tracing::error!(%error, "the sweep task ended abnormally");
        }
        self.store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// Serves HTTP until `shutdown` completes, then lets open requests finish within `grace`.
/// Written on hyper-util rather than `axum::serve` for deadlines: on reading request headers,
/// without which a client sending a byte at a time holds a connection open for ever (slow
/// loris), and, with the same length, on idleness (no byte either way and no request in
/// flight), without which silent or idle keep-alive connections pile up until the process
/// runs out of file descriptors.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = ConnectionBuilder::new(TokioExecutor::new());
    // The parser lets oversized header sections through up to a far higher bound, so that
    // the router refuses them with a JSON 431 (http::headers).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_headers(headers::PARSER_MAX_HEADER_FIELDS)
        .max_buf_size(headers::PARSER_MAX_HEAD_BYTES);
    builder
        .http2()
        .max_header_list_size(headers::PARSER_MAX_HEAD_BYTES as u32);
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (stream, in_flight) = idle::close_when_idle(stream, header_read_timeout);
                let service = in_flight.counting(TowerToHyperService::new(router.clone()));
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = connections.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection closed with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("requests still open after the shutdown grace period were cut");
        }
    }
    Ok(())
}

/// Opens the store `settings` name, with its options.
pub async fn open_store(settings: &StoreSettings) -> Result<Store, StoreError> {
    let options = StoreOptions {
        notify: settings.notify,
        max_connections: settings.max_connections,
    };
    Store::connect_with(settings.url.expose(), &options).await
}

/// The worker with its Gong and Salesforce clients, as the service runs it; the CLI's
/// `sync` and `backfill` run the same one.
pub fn build_worker(settings: &Settings, store: &Store) -> Result<Worker, StartupError> {
    let shared = Arc::new(store.clone());
    let gong = GongClient::new(&settings.gong, http_client(settings.gong.request_timeout)?)
        .sharing_limits_through(shared.clone());
    let salesforce = SalesforceClient::new(
        &settings.salesforce,
        http_client(settings.salesforce.request_timeout)?,
        shared.clone(),
        shared,
    );
    Ok(Worker {
        store: store.clone(),
        gong,
        salesforce,
        rules: settings.sync.effective_rules(),
        competitors: settings.sync.competitor_list(),
        retry: settings.retry.clone(),
        lease: settings.worker.lease,
        // One batch is what one collection request writes; Gong is asked per
        // gong.batch_size calls within it.
        batch_size: crate::salesforce::MAX_RECORDS_PER_REQUEST,
        gong_batch_size: settings.gong.batch_size,
        batch_window: settings.worker.batch_window,
        dry_run: settings.sync.dry_run,
    })
}

/// The catch-up sweep of `settings`, with `worker`'s clients; `competitor-sync sweep` runs
/// the same one.
pub fn build_sweeper(settings: &Settings, worker: &Arc<Worker>) -> Sweeper {
    Sweeper::new(
        Arc::clone(worker),
        settings.sweep.clone(),
        settings.gong.daily_limit.get(),
    )
}

/// The worker pool settings of `settings`.
pub fn pool_settings(settings: &Settings) -> PoolSettings {
    PoolSettings {
        concurrency: settings.worker.concurrency,
        poll_interval: settings.worker.poll_interval,
        shutdown_grace: settings.server.shutdown_grace,
    }
}

/// The HTTP client for one upstream: rustls, the given request timeout, a bounded connect.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, StartupError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .user_agent(concat!("competitor-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(StartupError::HttpClient)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
