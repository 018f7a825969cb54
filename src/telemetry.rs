//! Logs (tracing) and metrics (Prometheus). Metric names are a contract with dashboards and
//! alerts: change them only with a migration note.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

pub const WEBHOOKS_RECEIVED: &str = "competitor_sync_webhooks_received_total";
pub const JOBS_COMPLETED: &str = "competitor_sync_jobs_completed_total";
pub const JOB_RETRIES: &str = "competitor_sync_job_retries_total";
pub const UPSTREAM_REQUESTS: &str = "competitor_sync_upstream_requests_total";
pub const JOB_DURATION: &str = "competitor_sync_job_duration_seconds";
pub const QUEUE_DEPTH: &str = "competitor_sync_queue_depth";
pub const OLDEST_QUEUED_AGE: &str = "competitor_sync_oldest_queued_job_age_seconds";
pub const SALESFORCE_API_USAGE: &str = "competitor_sync_salesforce_api_usage_ratio";
pub const SALESFORCE_API_USED: &str = "competitor_sync_salesforce_api_requests_used";
pub const SALESFORCE_API_MAX: &str = "competitor_sync_salesforce_api_requests_limit";
pub const SALESFORCE_PAUSED: &str = "competitor_sync_salesforce_paused";
pub const TARGETS_FAILED: &str = "competitor_sync_targets_failed_total";
pub const SWEEP_RUNS: &str = "competitor_sync_sweep_runs_total";
pub const SWEEP_RECOVERED: &str = "competitor_sync_sweep_calls_recovered_total";
pub const SWEEP_LAST_SUCCESS: &str = "competitor_sync_sweep_last_success_timestamp_seconds";

/// The `outcome` labels of [`WEBHOOKS_RECEIVED`], as `http::webhook` counts them.
pub const WEBHOOK_OUTCOMES: [&str; 8] = [
    "accepted",
    "joined",
    "duplicate",
    "invalid",
    "unauthorized",
    "too_large",
    "unavailable",
    "error",
];
/// The `outcome` labels of [`SWEEP_RUNS`], as `sweep` counts them.
pub const SWEEP_OUTCOMES: [&str; 4] = ["completed", "stopped_at_reserve", "incomplete", "failed"];
/// The `outcome` labels of [`JOBS_COMPLETED`].
pub const JOB_OUTCOMES: [&str; 4] = ["synced", "skipped", "failed", "dry_run"];

/// Installs the global subscriber. JSON when asked, or in `auto` mode when standard output
/// is not a terminal (containers, log shippers); readable text otherwise. `RUST_LOG`, when
/// set, replaces `log.level`.
pub fn init_logging(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    };
}

/// Logging for one-off commands (`sync`, `backfill`): warnings and errors, readable, on
/// stderr, so stdout carries only the command's report. `RUST_LOG` overrides the level.
pub fn init_cli_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .try_init();
}

/// The process-wide Prometheus recorder, installed on first use. The `metrics` facade has one
/// global recorder, so every server in the process (tests start several) shares it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(JOB_DURATION.into()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed, and then that one collects.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            register_fixed_series();
            handle
        })
        .clone()
}

/// How often the histograms' samples are folded into their buckets.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the histograms' recorded samples into their buckets every few seconds until
/// `stop`. The recorder otherwise keeps every sample until the next scrape: where nobody
/// scrapes `/metrics`, memory would grow with every job for the life of the process.
pub async fn fold_metric_samples(stop: tokio_util::sync::CancellationToken) {
    let handle = metrics_handle();
    loop {
        tokio::select! {
            () = tokio::time::sleep(METRICS_UPKEEP) => handle.run_upkeep(),
            () = stop.cancelled() => return,
        }
    }
}

fn describe() {
    metrics::describe_counter!(WEBHOOKS_RECEIVED, "Webhook deliveries by outcome");
    metrics::describe_counter!(
        JOBS_COMPLETED,
        "Jobs finished, by outcome (synced, skipped, failed, dry_run)"
    );
    metrics::describe_counter!(JOB_RETRIES, "Failed attempts scheduled for another try");
    metrics::describe_counter!(
        UPSTREAM_REQUESTS,
        "Requests to Gong and Salesforce, by API and HTTP status"
    );
    metrics::describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Time spent processing one job attempt"
    );
    metrics::describe_gauge!(QUEUE_DEPTH, "Jobs in the store, by state");
    metrics::describe_gauge!(
        OLDEST_QUEUED_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest queued job (0 when none)"
    );
    metrics::describe_gauge!(
        SALESFORCE_API_USAGE,
        "Share of the org's daily API requests used, from Sforce-Limit-Info"
    );
    metrics::describe_gauge!(
        SALESFORCE_API_USED,
        "Org API requests used in the last 24 hours, from Sforce-Limit-Info"
    );
    metrics::describe_gauge!(
        SALESFORCE_API_MAX,
        "Org daily API request limit, from Sforce-Limit-Info"
    );
    metrics::describe_gauge!(
        SALESFORCE_PAUSED,
        "1 while Salesforce work is paused after REQUEST_LIMIT_EXCEEDED"
    );
    metrics::describe_counter!(
        SWEEP_RUNS,
        "Catch-up sweeps run by this process, by outcome (completed, stopped_at_reserve, incomplete, failed)"
    );
    metrics::describe_counter!(
        SWEEP_RECOVERED,
        "Calls the catch-up sweep queued because no webhook had brought them"
    );
    metrics::describe_gauge!(
        SWEEP_LAST_SUCCESS,
        metrics::Unit::Seconds,
        "Unix time of the last completed catch-up sweep by any process"
    );
    metrics::describe_counter!(
        TARGETS_FAILED,
        "Records that could not be written (dead letters), by Salesforce error code"
    );
}

/// Registers at zero every series whose labels are a fixed set, so that alerts and `rate()`
/// see them from the first scrape instead of from their first event. Series with an open
/// label set cannot all be registered and appear with their first event:
/// [`UPSTREAM_REQUESTS`] (`status` is any HTTP status) and [`TARGETS_FAILED`] (`code` is
/// any Salesforce error code). The Salesforce API usage gauges wait for Salesforce's first
/// report, as a 0 would read as "nothing used", and the last sweep's time for the first
/// completed sweep; queue depth and the oldest queued job's age
/// are read from the store at every scrape.
fn register_fixed_series() {
    for outcome in WEBHOOK_OUTCOMES {
        metrics::counter!(WEBHOOKS_RECEIVED, "outcome" => outcome).increment(0);
    }
    for outcome in JOB_OUTCOMES {
        metrics::counter!(JOBS_COMPLETED, "outcome" => outcome).increment(0);
    }
    metrics::counter!(JOB_RETRIES).increment(0);
    for outcome in SWEEP_OUTCOMES {
        metrics::counter!(SWEEP_RUNS, "outcome" => outcome).increment(0);
    }
    metrics::counter!(SWEEP_RECOVERED).increment(0);
    // A registered histogram is exported with empty buckets until its first sample.
    let _ = metrics::histogram!(JOB_DURATION);
    // At 0 (not paused), without overwriting a pause already recorded.
    metrics::gauge!(SALESFORCE_PAUSED).increment(0.0);
}

/// `outcome` is one of [`WEBHOOK_OUTCOMES`].
pub fn webhook_received(outcome: &'static str) {
    metrics::counter!(WEBHOOKS_RECEIVED, "outcome" => outcome).increment(1);
}

/// `outcome` is one of [`JOB_OUTCOMES`].
pub fn job_completed(outcome: &'static str) {
    metrics::counter!(JOBS_COMPLETED, "outcome" => outcome).increment(1);
}

pub fn job_retried() {
    metrics::counter!(JOB_RETRIES).increment(1);
}

pub fn job_attempt_duration(elapsed: Duration) {
    metrics::histogram!(JOB_DURATION).record(elapsed.as_secs_f64());
}

/// `status` is the HTTP status, or `None` when no response came back.
pub fn upstream_request(api: &'static str, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
    metrics::counter!(UPSTREAM_REQUESTS, "api" => api, "status" => status).increment(1);
}

/// Jobs per state, as `(state, count)` pairs.
pub fn record_queue_depth(depth: impl IntoIterator<Item = (&'static str, u64)>) {
    for (state, count) in depth {
        metrics::gauge!(QUEUE_DEPTH, "state" => state).set(count as f64);
    }
}

pub fn record_oldest_queued_age(age: Option<Duration>) {
    metrics::gauge!(OLDEST_QUEUED_AGE).set(age.map_or(0.0, |a| a.as_secs_f64()));
}

/// The org's API usage as Salesforce last reported it to this process, like the gauges.
static LAST_SALESFORCE_USAGE: std::sync::Mutex<Option<(u64, u64)>> = std::sync::Mutex::new(None);

pub fn salesforce_api_usage(used: u64, max: u64) {
    if let Ok(mut last) = LAST_SALESFORCE_USAGE.lock() {
        *last = Some((used, max));
    }
    metrics::gauge!(SALESFORCE_API_USED).set(used as f64);
    metrics::gauge!(SALESFORCE_API_MAX).set(max as f64);
    if max > 0 {
        metrics::gauge!(SALESFORCE_API_USAGE).set(used as f64 / max as f64);
    }
}

/// `(used, max)` of the org's daily API requests, as Salesforce last reported them to this
/// process (`Sforce-Limit-Info`); `None` before its first report.
pub fn last_salesforce_api_usage() -> Option<(u64, u64)> {
    LAST_SALESFORCE_USAGE.lock().ok().and_then(|last| *last)
}

pub fn salesforce_paused(paused: bool) {
    metrics::gauge!(SALESFORCE_PAUSED).set(if paused { 1.0 } else { 0.0 });
}

/// `outcome` is one of [`SWEEP_OUTCOMES`].
pub fn sweep_ran(outcome: &'static str) {
    metrics::counter!(SWEEP_RUNS, "outcome" => outcome).increment(1);
}

pub fn sweep_recovered(calls: usize) {
    metrics::counter!(SWEEP_RECOVERED).increment(calls as u64);
}

/// The last completed sweep, Unix ms, as the store records it for every process.
pub fn sweep_last_success(unix_ms: i64) {
    metrics::gauge!(SWEEP_LAST_SUCCESS).set(unix_ms as f64 / 1000.0);
}

pub fn target_failed(code: &str) {
    metrics::counter!(TARGETS_FAILED, "code" => code.to_owned()).increment(1);
}
