//! `competitor-sync-sandbox serve`: Gong, Salesforce and the sandbox's own pages on one port
//! (their paths do not overlap), seeded afresh at every start.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use competitor_sync_stand_ins::gong::{self, GongApi, GongSettings};
use competitor_sync_stand_ins::salesforce::{self, OAuthSettings, Org, SalesforceApi};
use competitor_sync_stand_ins::seed;
use serde_json::json;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::page::{self, Pages};
use crate::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let local = reachable(listener.local_addr()?);
    let public_url = args
        .public_url
        .map_or_else(|| local.clone(), |url| url.trim_end_matches('/').to_owned());

    let today = OffsetDateTime::now_utc();
    let calls = seed::calls(today);
    let gong = Arc::new(GongApi::new(
        calls.clone(),
        GongSettings {
            access_key: args.gong_access_key,
            access_key_secret: args.gong_access_key_secret,
            page_size: usize::from(args.gong_page_size),
            requests_per_second: args.gong_requests_per_second,
        },
    ));
    let salesforce = Arc::new(SalesforceApi::new(
        OAuthSettings {
            client_id: args.salesforce_client_id,
            client_secret: args.salesforce_client_secret,
            username: args.salesforce_username,
            public_url: public_url.clone(),
        },
        Org::seeded(today),
        args.salesforce_daily_api_limit,
    ));
    let app = Router::new()
        .merge(gong::router(gong))
        .merge(salesforce::router(Arc::clone(&salesforce)))
        .merge(page::router(Pages {
            salesforce,
            calls: Arc::new(calls),
        }))
        .fallback(not_found)
        .layer(middleware::from_fn(log_request));

    println!("competitor-sync-sandbox listening on {local}");
    println!("  Opportunities page:  {local}/");
    println!("  Gong API:            {local}/v2/calls/extensive");
    println!("  Salesforce login:    {local}/services/oauth2/token (instance_url {public_url})");
    println!(
        "Point the service's gong.base_url and salesforce.login_url here (config/sandbox.toml"
    );
    println!("does for {local}), then: competitor-sync-sandbox fire");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")
}

/// Resolves on SIGTERM (docker compose down) or Ctrl-C.
async fn shutdown_signal() {
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

/// The URL to reach a listening address at from this machine.
fn reachable(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// One line per API request; the page, its JSON and the probe are polled and left out.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let api = path.starts_with("/v2/") || path.starts_with("/services/");
    if api {
        tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    }
    response
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"errors": ["no such endpoint in the sandbox"]})),
    )
        .into_response()
}
