//! The catch-up sweep: calls Gong has whose webhook never came are queued and written, calls
//! that came by webhook cost nothing more, a call swept before Gong processed it is written
//! by a later sweep, the automation rule's filter applies, and the day's reserve holds.

use std::time::Duration;

use competitor_sync::store::{JobOrigin, JobStatus, ListedCall, Store};
use competitor_sync::sweep::SweepOutcome;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::binary::{mount_salesforce_auth, service_env};
use crate::helpers::{TestApp, GONG_PATH};
use crate::stand_ins::{
    call_id_for, opportunity_for, synthetic_call, webhook_for, GongCalls, SalesforceRecords,
};

/// A service without background workers (the test runs the sweep and the jobs) over a
/// Gong that lists and returns the calls added to it, and a Salesforce that keeps values.
async fn sweeping_app(settings: &[(&str, &str)]) -> (TestApp, GongCalls, SalesforceRecords) {
    let mut builder = TestApp::builder().without_workers();
    for (key, value) in settings {
        builder = builder.with(key, value);
    }
    let app = builder.spawn().await;
    let gong = GongCalls::default();
    gong.mount(&app.gong).await;
    app.mount_token().await;
    let records = app.mount_records().await;
    (app, gong, records)
}

/// Synthetic call `n`, hearing `Competitor n`, started `ago`.
fn call_started(n: u32, ago: Duration) -> Value {
    let competitor = format!("Competitor {n}");
    let mut call = synthetic_call(n, &opportunity_for(n), &[competitor.as_str()]);
    let started = OffsetDateTime::now_utc() - ago;
    call["metaData"]["started"] = started.format(&Rfc3339).expect("time").into();
    call
}

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
const HOURS: Duration = Duration::from_secs(3600);

/// The Gong requests that asked for calls by id (the jobs' fetches), and their ids.
fn fetched_ids(gong: &GongCalls) -> Vec<String> {
    gong.requests
        .lock()
        .expect("lock")
        .iter()
        .flat_map(|(_, ids)| ids.clone())
        .collect()
}

/// The bodies of the listing requests (by date) Gong received.
async fn listing_requests(app: &TestApp) -> Vec<Value> {
    app.gong_requests()
        .await
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).expect("JSON"))
        .filter(|body| body["filter"].get("fromDateTime").is_some())
        .collect()
}

#[tokio::test]
async fn a_call_whose_webhook_never_came_is_written_by_one_sweep() {
    let (app, gong, records) = sweeping_app(&[("ADMIN__TOKEN", ADMIN_TOKEN)]).await;
    let came = call_started(1, 5 * HOURS);
    let lost = call_started(2, 5 * HOURS);
    let too_young = call_started(3, HOURS);
    for call in [&came, &lost, &too_young] {
        gong.add(call);
    }
    app.process(&webhook_for(&came)).await;
    let fetched_before = fetched_ids(&gong).len();

    let report = app.sweep_now().await;
    assert_eq!(report.outcome, SweepOutcome::Completed);
    assert_eq!(
        report.listed, 2,
        "the call younger than sweep.min_age is left: {report:?}"
    );
    assert_eq!(report.already_known, 1);
    assert_eq!(report.queued, [call_id_for(2)]);
    let listing = &listing_requests(&app).await[0];
    assert_eq!(listing["contentSelector"]["context"], "Extended");
    assert_eq!(
        listing["contentSelector"]["exposedFields"]["content"]["trackers"],
        true
    );

    app.run_jobs_until_settled().await;
    assert_eq!(
        records.value(&opportunity_for(2)).as_deref(),
        Some("Competitor 2")
    );
    assert_eq!(
        fetched_ids(&gong)[fetched_before..],
        [call_id_for(2)],
        "the call that came by webhook is not fetched again"
    );
    assert_eq!(records.patch_count(), 2, "each call written once");
    let swept = &app
        .store
        .jobs_for_call(&call_id_for(2))
        .await
        .expect("jobs")[0];
    assert_eq!(
        (swept.origin, swept.status),
        (JobOrigin::Sweep, JobStatus::Done)
    );
    let shown = app
        .admin_get(ADMIN_TOKEN, &format!("/admin/jobs/{}", swept.id))
        .await;
    assert_eq!(shown["origin"], "sweep", "{shown}");

    let ready = app.readyz().await;
    let sweep = ready["checks"]["sweep"].as_str().expect("sweep detail");
    assert!(sweep.contains("; last completed "), "{sweep}");
    assert!(sweep.contains("1 queued"), "{sweep}");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.lines().any(|line| {
            line.starts_with("competitor_sync_sweep_last_success_timestamp_seconds ")
                && !line.ends_with(" 0")
        }),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_webhook_after_the_sweep_makes_no_second_write() {
    let (app, gong, records) = sweeping_app(&[]).await;
    let late = call_started(4, 5 * HOURS);
    gong.add(&late);
    assert_eq!(app.sweep_now().await.queued, [call_id_for(4)]);
    app.run_jobs_until_settled().await;
    let response = app.post_webhook(&webhook_for(&late)).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["delivery"], "duplicate", "{answer}");
    app.run_jobs_until_settled().await;
    assert_eq!(records.patch_count(), 1);
    assert_eq!(app.store.count_jobs().await.expect("count"), 1);
    let jobs = app
        .store
        .jobs_for_call(&call_id_for(4))
        .await
        .expect("jobs");
    assert_eq!(jobs[0].origin, JobOrigin::Sweep);
}

#[tokio::test]
async fn a_call_swept_before_gong_processed_it_is_written_by_a_later_sweep() {
    let (app, gong, records) = sweeping_app(&[]).await;
    let mut unprocessed = call_started(5, 4 * HOURS);
    unprocessed["content"]["trackers"] = Value::Array(Vec::new());
    gong.add(&unprocessed);
    let first = app.sweep_now().await;
    assert_eq!((first.listed, first.nothing_to_write), (1, 1), "{first:?}");
    assert!(first.queued.is_empty());
    assert_eq!(
        app.store.count_jobs().await.expect("count"),
        0,
        "no job to end skipped"
    );

    gong.add(&call_started(5, 4 * HOURS));
    let later = app.sweep_now().await;
    assert_eq!(later.queued, [call_id_for(5)]);
    app.run_jobs_until_settled().await;
    assert_eq!(
        records.value(&opportunity_for(5)).as_deref(),
        Some("Competitor 5")
    );
}

#[tokio::test]
async fn the_sweep_queues_only_what_the_rules_filter_would_have_sent() {
    let (app, gong, _records) = sweeping_app(&[
        ("SWEEP__WORKSPACE_ID", "623457276584334"),
        ("SWEEP__SCOPE", "External"),
        ("SWEEP__MIN_DURATION", "10m"),
    ])
    .await;
    let mut internal = call_started(6, 5 * HOURS);
    internal["metaData"]["scope"] = "Internal".into();
    let mut short = call_started(7, 5 * HOURS);
    short["metaData"]["duration"] = 120.into();
    let mut other_workspace = call_started(8, 5 * HOURS);
    other_workspace["metaData"]["workspaceId"] = "1111".into();
    for call in [&mut internal, &mut short, &mut call_started(9, 5 * HOURS)] {
        call["metaData"]["workspaceId"] = "623457276584334".into();
        gong.add(call);
    }
    gong.add(&other_workspace);
    let report = app.sweep_now().await;
    assert_eq!(report.listed, 3, "Gong filters by workspace: {report:?}");
    assert_eq!(report.outside_filter, 2);
    assert_eq!(report.queued, [call_id_for(9)]);
    let listing = &listing_requests(&app).await[0];
    assert_eq!(listing["filter"]["workspaceId"], "623457276584334");
}

#[tokio::test]
async fn the_sweep_stops_at_the_days_reserve() {
    let (app, gong, _records) =
        sweeping_app(&[("GONG__DAILY_LIMIT", "100"), ("SWEEP__RESERVE", "10%")]).await;
    gong.add(&call_started(10, 5 * HOURS));
    // Webhook work of the day took 91 of the 100 requests: 9 are left, under the reserve.
    for _ in 0..91 {
        app.store
            .reserve_request("gong", Duration::from_millis(1), 100)
            .await
            .expect("slot");
    }
    let report = app.sweep_now().await;
    assert_eq!(report.outcome, SweepOutcome::StoppedAtReserve { left: 9 });
    assert!(listing_requests(&app).await.is_empty(), "no request spent");
    let ready = app.readyz().await;
    let sweep = ready["checks"]["sweep"].as_str().expect("sweep detail");
    assert!(sweep.contains("never completed"), "{sweep}");
}

#[tokio::test]
async fn the_sweep_lists_only_once_webhook_jobs_have_a_worker() {
    let (app, gong, _records) = sweeping_app(&[]).await;
    let came = call_started(11, 5 * HOURS);
    gong.add(&came);
    gong.add(&call_started(12, 5 * HOURS));
    app.accept(&webhook_for(&came)).await;
    let sweep = app.sweep_now();
    let jobs = async {
        // The sweep is waiting; nothing was listed while the webhook's job waited.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(listing_requests(&app).await.is_empty());
        app.run_pending_jobs().await;
    };
    let (report, ()) = tokio::join!(sweep, jobs);
    assert_eq!(report.queued, [call_id_for(12)]);
}

#[tokio::test]
async fn sweep_once_from_the_command_line_queues_and_summarises() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gong = MockServer::start().await;
    let salesforce = MockServer::start().await;
    let calls = GongCalls::default();
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(calls.clone())
        .mount(&gong)
        .await;
    mount_salesforce_auth(&salesforce).await;
    let env = service_env(dir.path(), &gong, &salesforce);
    let known = call_started(13, 5 * HOURS);
    calls.add(&known);
    calls.add(&call_started(14, 5 * HOURS));
    let store = Store::connect(&env["COMPETITOR_SYNC__STORE__URL"].clone())
        .await
        .expect("store");
    // Synced earlier by `competitor-sync sync`.
    store
        .enqueue_unknown(
            &[ListedCall {
                call_id: call_id_for(13),
                call_data: known.to_string(),
            }],
            JobOrigin::Sync,
        )
        .await
        .expect("queued");

    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_competitor-sync"))
            .args(["sweep", "--once"])
            .env_clear()
            .envs(&env)
            .output()
    })
    .await
    .expect("task")
    .expect("binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("listed 2 calls: 1 already known, 1 queued, 0 with nothing to write yet"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "queued (no webhook came for them): {}",
            call_id_for(14)
        )),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("no webhook arrived for call {}", call_id_for(14))),
        "{stderr}"
    );
    let swept = store.jobs_for_call(&call_id_for(14)).await.expect("jobs");
    assert_eq!(swept.len(), 1);
    assert_eq!(
        (swept[0].origin, swept[0].status),
        (JobOrigin::Sweep, JobStatus::Queued)
    );
    store.close().await;
}
