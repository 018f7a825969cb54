//! The operator's one-off commands, run as the real binary against wiremock Gong and
//! Salesforce: `sync --call-id`, `backfill` (three pages, Ctrl-C and resume) and dry runs,
//! by flag and by `sync.dry_run`.

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use competitor_sync::store::{JobStatus, Store};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::binary::{mount_records, mount_salesforce_auth, service_env};
use crate::helpers::*;
use crate::stand_ins::{call_id_for, opportunity_for, synthetic_call, GongCalls};

const BIN: &str = env!("CARGO_BIN_EXE_competitor-sync");

/// Gong for a backfill: date-range requests page through `pages` (by cursor `page-N`,
/// answering each call without its trackers, as a listing does); call-id requests are
/// answered by `calls` with trackers.
#[derive(Clone)]
struct GongListing {
    pages: Vec<Vec<Value>>,
    calls: GongCalls,
    /// A page that answers only after a long while, to interrupt a run during it.
    slow_page: Option<usize>,
    /// Each date-range request, in order.
    listings: Arc<Mutex<Vec<Listing>>>,
}

/// A date-range request: its cursor (`None` for the first page) and body.
type Listing = (Option<String>, Value);

impl GongListing {
    fn new(pages: Vec<Vec<Value>>) -> Self {
        let calls = GongCalls::default();
        for call in pages.iter().flatten() {
            calls.add(call);
        }
        Self {
            pages,
            calls,
            slow_page: None,
            listings: Arc::default(),
        }
    }

    fn cursors(&self) -> Vec<Option<String>> {
        let listings = self.listings.lock().expect("lock");
        listings.iter().map(|(cursor, _)| cursor.clone()).collect()
    }
}

impl Respond for GongListing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if body["filter"]["callIds"].is_array() {
            return self.calls.respond(request);
        }
        let cursor = body["cursor"].as_str().map(str::to_owned);
        self.listings
            .lock()
            .expect("lock")
            .push((cursor.clone(), body));
        let index = cursor
            .as_deref()
            .and_then(|c| c.strip_prefix("page-"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let Some(page) = self.pages.get(index) else {
            return ResponseTemplate::new(400).set_body_json(json!({"errors": ["bad cursor"]}));
        };
        let listed: Vec<Value> = page
            .iter()
            .map(|call| json!({"metaData": call["metaData"], "context": call["context"]}))
            .collect();
        let mut records = json!({
            "totalRecords": self.pages.iter().map(Vec::len).sum::<usize>(),
            "currentPageSize": listed.len(),
            "currentPageNumber": index,
        });
        if index + 1 < self.pages.len() {
            records["cursor"] = json!(format!("page-{}", index + 1));
        }
        let response = ResponseTemplate::new(200)
            .set_body_json(json!({"requestId": "r", "records": records, "calls": listed}));
        if self.slow_page == Some(index) {
            response.set_delay(Duration::from_secs(60))
        } else {
            response
        }
    }
}

/// Gong and Salesforce stand-ins and a store directory for one-off commands.
struct Upstreams {
    dir: tempfile::TempDir,
    gong: MockServer,
    salesforce: MockServer,
    records: SalesforceRecords,
}

impl Upstreams {
    async fn start() -> Self {
        let gong = MockServer::start().await;
        let salesforce = MockServer::start().await;
        mount_salesforce_auth(&salesforce).await;
        let records = SalesforceRecords::default();
        mount_records(&salesforce, &records).await;
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            gong,
            salesforce,
            records,
        }
    }

    fn env(&self) -> HashMap<String, String> {
        let mut env = service_env(self.dir.path(), &self.gong, &self.salesforce);
        env.insert(
            "COMPETITOR_SYNC__WORKER__POLL_INTERVAL".into(),
            "20ms".into(),
        );
        env
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .envs(self.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> (Output, String) {
        let output = self.command(args).output().expect("binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output, stdout)
    }

    async fn store(&self) -> Store {
        let url = self.env()["COMPETITOR_SYNC__STORE__URL"].clone();
        Store::connect(&url).await.expect("store")
    }

    async fn collection_records(&self) -> Vec<Value> {
        TestApp::requests_to(&self.salesforce, "PATCH", COLLECTIONS_PATH)
            .await
            .iter()
            .flat_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).expect("JSON");
                body["records"].as_array().cloned().unwrap_or_default()
            })
            .collect()
    }
}

/// The fixture call's Gong answer, for `sync --call-id`.
async fn mount_fixture_call(gong: &MockServer) -> GongCalls {
    let calls = GongCalls::default();
    calls.add(&fixture("gong_webhook.json")["callData"]);
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(calls.clone())
        .mount(gong)
        .await;
    calls
}

/// The output with the last line's job id (new on every run) replaced.
fn without_job_id(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match line.strip_prefix("job ") {
            Some(_) => "job <id>",
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn sync_runs_one_call_now_and_prints_what_it_found_and_wrote() {
    let up = Upstreams::start().await;
    let gong = mount_fixture_call(&up.gong).await;

    let (output, stdout) = up.run(&["sync", "--call-id", CALL_ID]);

    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        without_job_id(&stdout),
        format!(
            "call {CALL_ID}\n\
             \x20 records      Opportunity {OPPORTUNITY}\n\
             \x20 competitors  Clari, Chorus, Outreach\n\
             wrote\n\
             \x20 Opportunity {OPPORTUNITY}.Main_Competitors__c: (not read) -> \"Clari, Chorus, Outreach\"\n\
             done: wrote 1 field value(s) to 1 record(s)\n\
             job <id>"
        )
    );
    let asked = gong.requests.lock().expect("lock").clone();
    assert_eq!(asked.len(), 1, "one Gong request");
    assert_eq!(asked[0].1, vec![CALL_ID.to_owned()]);
    assert_eq!(
        up.records.value(OPPORTUNITY).as_deref(),
        Some("Clari, Chorus, Outreach")
    );
    let store = up.store().await;
    let jobs = store.jobs_for_call(CALL_ID).await.expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Done);
    assert_eq!(
        store
            .writes_for_job(&jobs[0].id)
            .await
            .expect("writes")
            .len(),
        1
    );
}

#[tokio::test]
async fn sync_dry_run_writes_nothing_and_prints_what_it_would_write() {
    let up = Upstreams::start().await;
    mount_fixture_call(&up.gong).await;

    let (output, stdout) = up.run(&["sync", "--call-id", CALL_ID, "--dry-run"]);

    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        without_job_id(&stdout),
        format!(
            "call {CALL_ID}\n\
             \x20 records      Opportunity {OPPORTUNITY}\n\
             \x20 competitors  Clari, Chorus, Outreach\n\
             would write (dry run, nothing was sent to Salesforce)\n\
             \x20 Opportunity {OPPORTUNITY}.Main_Competitors__c: (not read) -> \"Clari, Chorus, Outreach\"\n\
             skipped: dry run: would write 1 field value(s) to 1 record(s)\n\
             job <id>"
        )
    );
    assert!(up.collection_records().await.is_empty(), "nothing written");
    let store = up.store().await;
    let jobs = store.jobs_for_call(CALL_ID).await.expect("jobs");
    assert!(jobs[0].dry_run);
    assert!(store
        .writes_for_job(&jobs[0].id)
        .await
        .expect("writes")
        .is_empty());
    // `jobs show` keeps what the dry run would have written.
    let (_, shown) = up.run(&["jobs", "show", &jobs[0].id]);
    assert!(
        shown.contains("status      skipped (dry run) after 1 attempt(s)"),
        "{shown}"
    );
    assert!(shown.contains("would write (dry run"), "{shown}");
}

#[tokio::test]
async fn sync_of_an_unknown_call_fails_with_the_reason() {
    let up = Upstreams::start().await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .mount(&up.gong)
        .await;
    let (output, stdout) = up.run(&["sync", "--call-id", "123"]);
    assert!(!output.status.success());
    assert!(
        stdout.contains("dead: call 123 was not found in Gong"),
        "{stdout}"
    );
    let (output, _) = up.run(&["sync", "--call-id", "not-a-call"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a Gong call id"));
}

/// Three pages of two calls: call n is linked to Opportunity n and hears "Rival n".
fn three_pages() -> Vec<Vec<Value>> {
    (0..3)
        .map(|page| {
            (1..=2)
                .map(|k| {
                    let n = page * 2 + k;
                    synthetic_call(n, &opportunity_for(n), &[&format!("Rival {n}")])
                })
                .collect()
        })
        .collect()
}

async fn mount_listing(gong: &MockServer, listing: &GongListing) {
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(listing.clone())
        .mount(gong)
        .await;
}

#[tokio::test]
async fn backfill_pages_through_the_range_and_syncs_every_call() {
    let up = Upstreams::start().await;
    let listing = GongListing::new(three_pages());
    mount_listing(&up.gong, &listing).await;

    let (output, stdout) = up.run(&["backfill", "--from", "2026-11-01", "--to", "2026-11-20"]);

    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "backfill 2026-11-01T00:00:00Z..2026-11-21T00:00:00Z\n\
         listed 6 of 6 calls (6 this run): 6 queued, 0 already queued, 0 already synced\n\
         jobs: 6 done, 0 skipped, 0 dead, 0 waiting\n"
    );
    assert_eq!(
        listing.cursors(),
        vec![None, Some("page-1".into()), Some("page-2".into())]
    );
    let first = listing.listings.lock().expect("lock")[0].1.clone();
    assert_eq!(
        first["filter"],
        json!({"fromDateTime": "2026-11-01T00:00:00Z", "toDateTime": "2026-11-21T00:00:00Z"})
    );
    for n in 1..=6 {
        assert_eq!(
            up.records.value(&opportunity_for(n)),
            Some(format!("Rival {n}")),
            "call {n}"
        );
    }
    // Run again: everything is listed already, nothing is queued or written twice.
    let writes = up.records.patch_count();
    let (output, stdout) = up.run(&["backfill", "--from", "2026-11-01", "--to", "2026-11-20"]);
    assert!(output.status.success());
    assert!(stdout.contains("(0 this run)"), "{stdout}");
    assert_eq!(listing.cursors().len(), 3, "no page listed again");
    assert_eq!(up.records.patch_count(), writes);
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_at_the_next_page_without_repeating_work() {
    let up = Upstreams::start().await;
    let mut slow = GongListing::new(three_pages());
    slow.slow_page = Some(1);
    mount_listing(&up.gong, &slow).await;

    let store = up.store().await;
    let mut child = up
        .command(&["backfill", "--from", "2026-11-01", "--to", "2026-11-20"])
        .spawn()
        .expect("binary starts");
    // Interrupt once the first page is queued and the second is being listed.
    eventually("the first page to be queued", WAIT, || async {
        let listed = slow.cursors().len() == 2;
        let jobs = store.count_jobs().await.expect("count");
        (listed && jobs == 2).then_some(())
    })
    .await;
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = eventually(
        "the backfill to stop on Ctrl-C",
        Duration::from_secs(20),
        || std::future::ready(child.try_wait().expect("wait")),
    )
    .await;
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("listed 2 of 6 calls"), "{stdout}");
    assert!(
        stdout.contains("interrupted: run the same command again to resume"),
        "{stdout}"
    );

    // The same command again, with Gong answering promptly.
    up.gong.reset().await;
    let listing = GongListing::new(three_pages());
    mount_listing(&up.gong, &listing).await;
    let (output, stdout) = up.run(&["backfill", "--from", "2026-11-01", "--to", "2026-11-20"]);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        listing.cursors(),
        vec![Some("page-1".into()), Some("page-2".into())],
        "resumed at the page that was interrupted"
    );
    assert!(
        stdout.contains("listed 6 of 6 calls (4 this run)"),
        "{stdout}"
    );
    assert!(stdout.contains("jobs: 6 done"), "{stdout}");
    for n in 1..=6 {
        let jobs = store.jobs_for_call(&call_id_for(n)).await.expect("jobs");
        assert_eq!(jobs.len(), 1, "one job for call {n}");
    }
    let written: Vec<String> = up
        .collection_records()
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        written.len(),
        6,
        "each Opportunity written once: {written:?}"
    );
}

#[tokio::test]
async fn a_dry_run_backfill_writes_nothing_and_a_real_one_afterwards_writes_everything() {
    let up = Upstreams::start().await;
    let listing = GongListing::new(three_pages());
    mount_listing(&up.gong, &listing).await;

    let (output, stdout) = up.run(&[
        "backfill",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-20",
        "--dry-run",
    ]);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("backfill 2026-11-01T00:00:00Z..2026-11-21T00:00:00Z (dry run)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("jobs: 0 done, 6 skipped"), "{stdout}");
    assert!(up.collection_records().await.is_empty());

    let (output, stdout) = up.run(&["backfill", "--from", "2026-11-01", "--to", "2026-11-20"]);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("6 queued, 0 already queued, 0 already synced"),
        "{stdout}"
    );
    assert_eq!(up.collection_records().await.len(), 6);
}

#[tokio::test]
async fn the_dry_run_setting_keeps_the_service_from_writing_until_it_is_switched_off() {
    let app = TestApp::builder()
        .without_workers()
        .with("SYNC__DRY_RUN", "true")
        .spawn()
        .await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert!(job.dry_run);
    assert_eq!(
        job.outcome.as_deref(),
        Some("dry run: would write 1 field value(s) to 1 record(s)")
    );
    let result = job.result.expect("result");
    assert_eq!(
        serde_json::to_value(&result.would_write).expect("JSON"),
        json!([{"object": "Opportunity", "record_id": OPPORTUNITY,
                "field": "Main_Competitors__c", "old_value": null,
                "new_value": "Clari, Chorus, Outreach"}])
    );
    assert!(app.collection_updates().await.is_empty(), "nothing written");
    assert!(app.writes(&job.id).await.is_empty());
    let stopped = app.stop().await;

    // Dry run off, same store: the same delivery again is new work, not a duplicate.
    let app = TestApp::builder()
        .without_workers()
        .with("STORE__URL", &stopped.store_url)
        .spawn()
        .await;
    app.mount_happy_path().await;
    let real = app.process(&fixture("gong_webhook.json")).await;
    assert_ne!(real.id, job.id);
    assert_eq!(real.status, JobStatus::Done);
    assert_eq!(
        app.patches().await,
        vec![(
            OPPORTUNITY_URL.to_owned(),
            json!({"Main_Competitors__c": "Clari, Chorus, Outreach"})
        )]
    );
}
