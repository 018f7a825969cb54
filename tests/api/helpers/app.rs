//! The service under test: built with its settings and stand-ins, started on an ephemeral
//! port, driven and inspected.

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::Duration;

use competitor_sync::config::Settings;
use competitor_sync::http::webhook::validate;
use competitor_sync::store::{FieldWrite, Job, JobStatus, NewJob, Store};
use competitor_sync::sweep::{SweepReport, Sweeper};
use competitor_sync::worker::Worker;
use competitor_sync::Application;
use serde_json::Value;
use tokio::sync::oneshot;
use tracing_subscriber::EnvFilter;
use wiremock::MockServer;

use super::{
    eventually, test_store_url, GONG_KEY, GONG_SECRET, SF_CLIENT_ID, SF_CLIENT_SECRET, WAIT,
    WEBHOOK_TOKEN,
};

pub struct TestAppBuilder {
    env: HashMap<String, String>,
    config_toml: Option<String>,
    prefill: Vec<Value>,
    workers: bool,
}

impl TestAppBuilder {
    /// Sets `COMPETITOR_SYNC__<key>`, e.g. `with("SALESFORCE__AUTH", "jwt_bearer")`.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env
            .insert(format!("COMPETITOR_SYNC__{key}"), value.to_owned());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.env.remove(&format!("COMPETITOR_SYNC__{key}"));
        self
    }

    /// Webhooks accepted into the store before the service starts, so they wait as one
    /// queue (as after an outage or a restart).
    pub fn prefill(mut self, webhooks: Vec<Value>) -> Self {
        self.prefill = webhooks;
        self
    }

    /// Extra settings in a `--config` file.
    pub fn config(mut self, toml: &str) -> Self {
        self.config_toml = Some(toml.to_owned());
        self
    }

    /// No background workers: jobs run only when the test runs them
    /// ([`TestApp::run_pending_jobs`], [`TestApp::run_jobs_until_settled`]), so a flow test
    /// knows when they are done instead of polling for it.
    pub fn without_workers(mut self) -> Self {
        self.workers = false;
        self
    }

    pub async fn spawn(self) -> TestApp {
        init_test_log();
        let dir = tempfile::tempdir().expect("temp dir");
        let gong = MockServer::start().await;
        let salesforce = MockServer::start().await;
        let mut env = HashMap::from([
            ("SERVER__BIND", "127.0.0.1:0".to_owned()),
            ("STORE__URL", test_store_url(dir.path()).await),
            ("WEBHOOK__TOKEN", WEBHOOK_TOKEN.to_owned()),
            ("GONG__BASE_URL", gong.uri()),
            ("GONG__ACCESS_KEY", GONG_KEY.to_owned()),
            ("GONG__ACCESS_KEY_SECRET", GONG_SECRET.to_owned()),
            ("SALESFORCE__LOGIN_URL", salesforce.uri()),
            ("SALESFORCE__CLIENT_ID", SF_CLIENT_ID.to_owned()),
            ("SALESFORCE__CLIENT_SECRET", SF_CLIENT_SECRET.to_owned()),
            ("WORKER__POLL_INTERVAL", "20ms".to_owned()),
            ("RETRY__BASE_DELAY", "50ms".to_owned()),
            ("RETRY__MAX_DELAY", "200ms".to_owned()),
            // Sweeps list calls from Gong; the tests that want one run it themselves
            // (TestApp::sweep_now) and the others see only their own requests.
            ("SWEEP__ENABLED", "false".to_owned()),
        ])
        .into_iter()
        .map(|(k, v)| (format!("COMPETITOR_SYNC__{k}"), v))
        .collect::<HashMap<_, _>>();
        env.extend(self.env);
        let config_path = self.config_toml.map(|toml| {
            let path = dir.path().join("test.toml");
            std::fs::write(&path, toml).expect("write config");
            path
        });
        let settings =
            Settings::load_from(config_path.as_deref(), Some(env)).expect("test configuration");
        if !self.prefill.is_empty() {
            let store = Store::connect(settings.store.url.expose())
                .await
                .expect("store");
            for webhook in &self.prefill {
                let body = serde_json::to_vec(webhook).expect("JSON");
                let valid = validate(&body).expect("valid webhook");
                store
                    .accept(NewJob {
                        call_id: &valid.call_id,
                        is_test: valid.is_test,
                        call_data: valid.call_data,
                        content_hash: &valid.content_hash,
                        webhook_id: None,
                        auth: Some("token"),
                    })
                    .await
                    .expect("accepted");
            }
            store.close().await;
        }
        let store_url = settings.store.url.expose().to_owned();
        let mut app = Application::build(settings)
            .await
            .expect("application builds");
        let mut worker = None;
        if !self.workers {
            app = app.without_workers();
            worker = Some(app.worker());
        }
        let address = format!("http://{}", app.local_addr().expect("bound"));
        let store = app.store().clone();
        let sweeper = app.sweeper();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            store,
            gong,
            salesforce,
            http: reqwest::Client::new(),
            worker,
            sweeper,
            stop: Some(stop),
            server: Some(server),
            store_url,
            _dir: dir,
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub gong: MockServer,
    pub salesforce: MockServer,
    pub http: reqwest::Client,
    /// The worker the test runs jobs with, when the app has no background workers.
    worker: Option<Arc<Worker>>,
    sweeper: Arc<Sweeper>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Where its store is (SQLite file or PostgreSQL database).
    pub store_url: String,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            env: HashMap::new(),
            config_toml: None,
            prefill: Vec::new(),
            workers: true,
        }
    }

    pub async fn spawn() -> TestApp {
        Self::builder().spawn().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A plain `GET` of `path`, with no credentials.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("sent")
    }

    pub async fn post_webhook(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/webhooks/gong"))
            .bearer_auth(WEBHOOK_TOKEN)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Posts a webhook that must be accepted; returns its job id.
    pub async fn accept(&self, body: &Value) -> String {
        let response = self.post_webhook(body).await;
        assert_eq!(response.status(), 202, "webhook should be accepted");
        let accepted: Value = response.json().await.expect("JSON answer");
        accepted["job_id"].as_str().expect("job_id").to_owned()
    }

    /// Posts a webhook that must be accepted and sees its job through: with background
    /// workers, waits until it has ended; without, runs jobs until the queue settles.
    pub async fn process(&self, body: &Value) -> Job {
        let job_id = self.accept(body).await;
        if self.worker.is_some() {
            self.run_jobs_until_settled().await;
        }
        self.finished_job(&job_id).await
    }

    /// The job as the store holds it now.
    pub async fn job(&self, job_id: &str) -> Job {
        self.store
            .job(job_id)
            .await
            .expect("store read")
            .unwrap_or_else(|| panic!("no job {job_id}"))
    }

    /// The job once it has ended (done, skipped or dead). With background workers, polls the
    /// store until it has; without, the test has run the jobs, so it must have ended already.
    pub async fn finished_job(&self, job_id: &str) -> Job {
        if self.worker.is_some() {
            let job = self.job(job_id).await;
            assert!(
                has_ended(&job),
                "job {job_id} has not ended (have the jobs been run?): {job:?}"
            );
            return job;
        }
        self.job_where(job_id, "to finish", has_ended).await
    }

    /// Polls the store until the job satisfies `done` (with background workers).
    pub async fn job_where(&self, job_id: &str, what: &str, done: impl Fn(&Job) -> bool) -> Job {
        self.assert_background_workers();
        eventually(&format!("job {job_id} {what}"), WAIT, || async {
            let job = self.store.job(job_id).await.expect("store read")?;
            done(&job).then_some(job)
        })
        .await
    }

    /// Polls until `jobs` jobs have ended (done, skipped or dead), with background workers.
    pub async fn settled(&self, jobs: u64) {
        self.assert_background_workers();
        eventually(&format!("{jobs} jobs to settle"), WAIT, || async {
            let depth = self.store.queue_depth().await.expect("depth");
            (depth.done + depth.skipped + depth.dead == jobs).then_some(())
        })
        .await
    }

    /// Waiting for background work that never comes would only time out: say why instead.
    fn assert_background_workers(&self) {
        assert!(
            self.worker.is_none(),
            "this TestApp has no background workers: run the jobs instead of waiting for them"
        );
    }

    /// The worker of a TestApp without background workers.
    fn own_worker(&self) -> &Worker {
        self.worker
            .as_deref()
            .expect("running jobs from the test needs TestApp::builder().without_workers()")
    }

    /// Runs every job that is due now, batch after batch (no batch window), until none is
    /// due, as a worker would. Returns how many attempts ran.
    pub async fn run_pending_jobs(&self) -> usize {
        let worker = self.own_worker();
        // One look: the deadline is for a run that hangs (an upstream that never answers).
        eventually("the due jobs to run", WAIT, || async {
            Some(worker.run_due().await.expect("jobs run"))
        })
        .await
    }

    /// Runs jobs until none is queued or running: what is due now, then, while only jobs
    /// scheduled for later are left (a retry's backoff, a Retry-After, a pause), waits until
    /// the next of them is due and runs again.
    pub async fn run_jobs_until_settled(&self) {
        eventually("the queue to settle", WAIT, || async {
            self.run_pending_jobs().await;
            let depth = self.store.queue_depth().await.expect("depth");
            if depth.queued + depth.running == 0 {
                return Ok(());
            }
            let queued = self
                .store
                .list_jobs(Some(JobStatus::Queued), None, u32::MAX)
                .await
                .expect("store read");
            if let Some(next) = queued.iter().map(|job| job.run_after).min() {
                let wait = u64::try_from(next - now_ms()).unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(format!(
                "{} queued, {} running",
                depth.queued, depth.running
            ))
        })
        .await
    }

    /// Runs one catch-up sweep now, as `competitor-sync sweep --once` does.
    pub async fn sweep_now(&self) -> SweepReport {
        self.sweeper
            .sweep_now(&tokio_util::sync::CancellationToken::new())
            .await
            .expect("the sweep runs")
    }

    /// `GET path` of the admin API with `token`, as JSON.
    pub async fn admin_get(&self, token: &str, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn metrics_text(&self) -> String {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("text")
    }

    pub async fn readyz(&self) -> Value {
        let response = self.get("/readyz").await;
        response.json().await.expect("JSON")
    }

    pub async fn writes(&self, job_id: &str) -> Vec<FieldWrite> {
        self.store.writes_for_job(job_id).await.expect("store read")
    }

    /// Stops the service as SIGTERM would. Returns where its store is, for tests that look
    /// at the store after a restart.
    pub async fn stop(mut self) -> Stopped {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        Stopped {
            store_url: self.store_url,
            _dir: self._dir,
        }
    }
}

/// A stopped service's store, kept while this lives.
pub struct Stopped {
    pub store_url: String,
    _dir: tempfile::TempDir,
}

/// With `TEST_LOG` set (to anything but `0`), the service's logs are printed: at `debug`, or
/// at `RUST_LOG`'s levels. Through the test writer, so each test's output is captured with
/// it and shown when it fails (or with `--nocapture`).
fn init_test_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_none_or(|value| value.is_empty() || value == "0") {
            return;
        }
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
        // One subscriber for every test in the binary; none is installed before it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

fn has_ended(job: &Job) -> bool {
    matches!(
        job.status,
        JobStatus::Done | JobStatus::Skipped | JobStatus::Dead
    )
}

/// Now on the store's clock (milliseconds since the epoch), to compare with a job's
/// `run_after`.
fn now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}
