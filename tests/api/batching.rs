//! Spending little quota: batched Gong fetches, collection writes, the shared rate limit and
//! Salesforce's usage header.

use std::time::{Duration, Instant};

use competitor_sync::store::JobStatus;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::helpers::*;
use crate::stand_ins::{
    call_id_for, opportunity_for, synthetic_call, webhook_for, GongCalls, SalesforceRecords,
};

/// Webhooks for synthetic calls `0..count`, each linked to its own Opportunity, and a Gong
/// stand-in that knows them.
fn calls(count: u32) -> (Vec<Value>, GongCalls) {
    let gong = GongCalls::default();
    let webhooks = (0..count)
        .map(|n| {
            let competitor = format!("Rival {n}");
            let call = synthetic_call(n, &opportunity_for(n), &[competitor.as_str()]);
            gong.add(&call);
            webhook_for(&call)
        })
        .collect();
    (webhooks, gong)
}

async fn mount_gong(app: &TestApp, gong: &GongCalls) {
    gong.mount(&app.gong).await;
}

#[tokio::test]
async fn two_hundred_and_fifty_queued_jobs_cost_three_gong_requests_and_two_writes() {
    let (webhooks, gong) = calls(250);
    let app = TestApp::builder()
        .without_workers()
        .prefill(webhooks)
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    let records = app.mount_records().await;
    app.run_pending_jobs().await;
    assert_eq!(app.store.queue_depth().await.expect("depth").done, 250);

    let requests = gong.requests.lock().expect("lock").clone();
    assert_eq!(
        requests.len(),
        3,
        "Gong requests: {:?}",
        requests.iter().map(|r| r.1.len()).collect::<Vec<_>>()
    );
    let mut asked: Vec<String> = requests.iter().flat_map(|(_, ids)| ids.clone()).collect();
    assert!(requests.iter().all(|(_, ids)| ids.len() <= 100));
    asked.sort();
    let mut expected: Vec<String> = (0..250).map(call_id_for).collect();
    expected.sort();
    assert_eq!(asked, expected, "every call asked for exactly once");

    let updates = app.collection_updates().await;
    assert_eq!(updates.len(), 2, "one collection PATCH per 200 records");
    assert_eq!(records.patch_count(), 250);
    for n in [0, 199, 249] {
        assert_eq!(
            records.value(&opportunity_for(n)),
            Some(format!("Rival {n}"))
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn one_record_refused_in_a_collection_answer_dead_letters_only_its_job() {
    let (webhooks, gong) = calls(3);
    let app = TestApp::builder()
        .without_workers()
        .prefill(webhooks)
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    let records = app.mount_records().await;
    records.fail(&opportunity_for(1), "FIELD_CUSTOM_VALIDATION_EXCEPTION", 1);
    app.run_pending_jobs().await;

    for n in 0..3u32 {
        let job = app
            .store
            .jobs_for_call(&call_id_for(n))
            .await
            .expect("read")
            .remove(0);
        if n == 1 {
            assert_eq!((job.status, job.attempts), (JobStatus::Dead, 1), "{job:?}");
            let outcome = job.outcome.unwrap_or_default();
            assert!(
                outcome.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"),
                "{outcome}"
            );
        } else {
            assert_eq!(job.status, JobStatus::Done, "{job:?}");
        }
    }
    assert_eq!(app.collection_updates().await.len(), 1);
    assert_eq!(records.patch_count(), 2);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(
            "competitor_sync_targets_failed_total{code=\"FIELD_CUSTOM_VALIDATION_EXCEPTION\"}"
        ),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_gong_limiter_never_lets_more_than_the_rate_through() {
    let (webhooks, gong) = calls(8);
    // One call per request, so the eight calls need eight requests.
    let app = TestApp::builder()
        .with("GONG__BATCH_SIZE", "1")
        .with("GONG__REQUESTS_PER_SECOND", "3")
        .prefill(webhooks)
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    app.mount_records().await;
    app.settled(8).await;
    let times: Vec<Instant> = gong
        .requests
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(times.len(), 8);
    // Any four consecutive requests span at least a second (with 50 ms for scheduling).
    for window in times.windows(4) {
        let span = window[3] - window[0];
        assert!(
            span >= Duration::from_millis(950),
            "4 requests within {span:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn high_api_usage_pauses_salesforce_writes_and_gong_fetches() {
    let (webhooks, gong) = calls(2);
    let app = TestApp::builder()
        .without_workers()
        .with("SALESFORCE__MAX_API_USAGE_RATIO", "0.9")
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    let records = app.mount_records().await;
    *records.limit_info.lock().expect("lock") = Some("api-usage=95000/100000".into());

    let first = app.process(&webhooks[0]).await;
    assert_eq!(
        first.status,
        JobStatus::Done,
        "the write that reported the usage went through"
    );
    let ready = app.readyz().await;
    let salesforce = ready["checks"]["salesforce"].as_str().unwrap_or_default();
    assert!(salesforce.contains("95000/100000"), "{salesforce}");
    assert!(salesforce.contains("max_api_usage_ratio"), "{salesforce}");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("competitor_sync_salesforce_api_usage_ratio 0.95"),
        "{metrics}"
    );
    assert!(
        metrics.contains("competitor_sync_salesforce_paused 1"),
        "{metrics}"
    );

    let second_id = app.accept(&webhooks[1]).await;
    app.run_pending_jobs().await;
    let held = app.job(&second_id).await;
    assert_eq!(held.status, JobStatus::Queued, "{held:?}");
    assert!(held.last_error.unwrap_or_default().contains("paused"));
    assert_eq!(held.attempts, 0, "waiting on a pause costs no attempt");
    assert_eq!(
        gong.requests.lock().expect("lock").len(),
        1,
        "no Gong quota spent while paused"
    );
    assert_eq!(records.patch_count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_salesforce_outage_costs_no_gong_request_and_its_batch_retries_as_one() {
    let (webhooks, gong) = calls(30);
    // Jobs run by the test meet no batch window to gather stragglers: jobs that came back at
    // different times would be claimed in different batches.
    let app = TestApp::builder()
        .without_workers()
        .prefill(webhooks)
        .with("RETRY__BASE_DELAY", "300ms")
        .with("RETRY__MAX_DELAY", "2s")
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    Mock::given(method("PATCH"))
        .and(path(COLLECTIONS_PATH))
        .respond_with(wiremock::ResponseTemplate::new(503).set_body_json(
            serde_json::json!([{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]),
        ))
        .up_to_n_times(3)
        .mount(&app.salesforce)
        .await;
    let records = app.mount_records().await;
    app.run_jobs_until_settled().await;
    assert_eq!(app.store.queue_depth().await.expect("depth").done, 30);

    let gong_requests = gong.requests.lock().expect("lock").len();
    assert_eq!(
        gong_requests, 1,
        "the calls are fetched once; retries caused by Salesforce write from the kept plan"
    );
    let updates = app.collection_updates().await;
    let sizes: Vec<usize> = updates
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON");
            body["records"].as_array().map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(
        sizes,
        [30, 30, 30, 30],
        "the batch that failed together retried together"
    );
    assert_eq!(records.patch_count(), 30);
    app.stop().await;
}

#[tokio::test]
async fn jobs_gather_while_a_fetch_is_in_flight_and_a_lone_call_goes_alone() {
    let (webhooks, mut gong) = calls(11);
    // Long enough for the other ten webhooks to arrive while the first call's fetch waits.
    let fetch_takes = Duration::from_secs(3);
    gong.delay = fetch_takes;
    let app = TestApp::spawn().await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    app.mount_records().await;
    app.accept(&webhooks[0]).await;
    let first_fetch = eventually("the first fetch to leave", WAIT, || async {
        gong.requests
            .lock()
            .expect("lock")
            .first()
            .map(|(at, _)| *at)
    })
    .await;
    // Half of them, then the rest well after a fixed window would have sent the first half
    // on its own: they still wait for the fetch in flight, and go together.
    for webhook in &webhooks[1..6] {
        app.accept(webhook).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    for webhook in &webhooks[6..] {
        app.accept(webhook).await;
    }
    let all_accepted = Instant::now();
    app.settled(11).await;
    assert!(
        all_accepted < first_fetch + fetch_takes,
        "this machine took too long to accept ten webhooks for the test to tell anything"
    );
    let asked: Vec<Vec<String>> = gong
        .requests
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, ids)| ids.clone())
        .collect();
    let mut gathered: Vec<String> = (1..11).map(call_id_for).collect();
    gathered.sort();
    assert_eq!(
        asked,
        [vec![call_id_for(0)], gathered],
        "the first call alone, at once; the ten that came during its fetch in one request"
    );
}

#[tokio::test]
async fn writes_of_batches_that_wait_for_a_collection_request_in_flight_go_together() {
    let (webhooks, gong) = calls(3);
    let app = TestApp::builder()
        .with("WORKER__CONCURRENCY", "3")
        .spawn()
        .await;
    mount_gong(&app, &gong).await;
    app.mount_token().await;
    // Long enough for the two later calls to be fetched, each in its own batch, while the
    // first call's write waits for its answer.
    app.mount_records_as(SalesforceRecords {
        write_delay: Duration::from_secs(3),
        ..SalesforceRecords::default()
    })
    .await;
    app.accept(&webhooks[0]).await;
    let first_write = eventually("the first write to leave", WAIT, || async {
        (!app.collection_updates().await.is_empty()).then(Instant::now)
    })
    .await;
    for (n, webhook) in webhooks.iter().enumerate().skip(1) {
        app.accept(webhook).await;
        eventually("its own Gong request", WAIT, || async {
            (gong.requests.lock().expect("lock").len() > n).then_some(())
        })
        .await;
    }
    let both_fetched = Instant::now();
    app.settled(3).await;
    assert!(
        both_fetched < first_write + Duration::from_secs(3),
        "this machine took too long to fetch two calls for the test to tell anything"
    );
    let written: Vec<Vec<String>> = app
        .collection_updates()
        .await
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON");
            let mut ids: Vec<String> = body["records"]
                .as_array()
                .expect("records")
                .iter()
                .map(|record| record["id"].as_str().expect("id").to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    let mut later = vec![opportunity_for(1), opportunity_for(2)];
    later.sort();
    assert_eq!(
        written,
        [vec![opportunity_for(0)], later],
        "the first call's write at once; the two batches that came during it in one request"
    );
    app.stop().await;
}
