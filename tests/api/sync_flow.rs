//! From webhook to Salesforce write: what is sent upstream and what is stored.

use base64::Engine;
use competitor_sync::store::JobStatus;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_webhook_becomes_one_gong_request_and_one_exact_patch() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;

    let response = app.post_webhook(&fixture("gong_webhook.json")).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.expect("JSON");
    assert_eq!(accepted["call_id"], CALL_ID);
    let job_id = accepted["job_id"].as_str().expect("job id");

    app.run_pending_jobs().await;
    let job = app.finished_job(job_id).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 1);

    let gong = app.gong_requests().await;
    assert_eq!(gong.len(), 1);
    let expected_basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{GONG_KEY}:{GONG_SECRET}"));
    assert_eq!(
        gong[0].headers.get("authorization").expect("auth header"),
        &format!("Basic {expected_basic}")
    );
    let gong_body: Value = serde_json::from_slice(&gong[0].body).expect("JSON body");
    assert_eq!(
        gong_body,
        json!({
            "filter": {"callIds": [CALL_ID]},
            "contentSelector": {"context": "Extended", "exposedFields": {"content": {"trackers": true}}}
        })
    );

    let data = app.salesforce_data_requests().await;
    assert_eq!(
        data.len(),
        1,
        "only the PATCH: overwrite mode reads nothing"
    );
    let patch = &data[0];
    assert_eq!(patch.method.as_str(), "PATCH");
    assert_eq!(patch.url.path(), COLLECTIONS_PATH);
    assert_eq!(
        patch.headers.get("authorization").expect("auth header"),
        &format!("Bearer {ACCESS_TOKEN}")
    );
    assert_eq!(
        patch.headers.get("content-type").expect("content type"),
        "application/json"
    );
    let body: Value = serde_json::from_slice(&patch.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"allOrNone": false, "records": [{
            "attributes": {"type": "Opportunity"},
            "id": OPPORTUNITY,
            "Main_Competitors__c": "Clari, Chorus, Outreach"
        }]})
    );

    let writes = app.writes(job_id).await;
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].record_id, OPPORTUNITY);
    assert_eq!(writes[0].field, "Main_Competitors__c");
    assert_eq!(writes[0].new_value, "Clari, Chorus, Outreach");
    let plan = job.result.as_ref().and_then(|r| r.plan.as_ref());
    assert_eq!(
        plan.map(|plan| plan.records[0].fields[0].names.clone()),
        Some(vec![
            "Clari".to_owned(),
            "Chorus".to_owned(),
            "Outreach".to_owned()
        ])
    );
    app.stop().await;
}

#[tokio::test]
async fn account_only_context_is_skipped_without_any_upstream_request() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let body = webhook_with(|call| {
        call["context"][0]["objects"]
            .as_array_mut()
            .expect("objects")
            .retain(|o| o["objectType"] == "Account");
    });
    let job = app.process(&body).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert!(
        job.outcome
            .as_deref()
            .unwrap_or_default()
            .contains("not linked to any Salesforce Opportunity"),
        "{job:?}"
    );
    assert!(
        app.gong_requests().await.is_empty(),
        "no Gong request for an unlinked call"
    );
    assert!(TestApp::all_requests(&app.salesforce).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn without_webhook_context_the_context_from_gong_is_used() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let body = webhook_with(|call| {
        call["context"] = json!([]);
    });
    let job = app.process(&body).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    let patches = app.patches().await;
    assert_eq!(
        patches,
        vec![(
            OPPORTUNITY_URL.to_owned(),
            json!({"Main_Competitors__c": "Clari, Chorus, Outreach"})
        )]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_call_linked_to_nothing_anywhere_is_skipped_after_asking_gong() {
    let app = TestApp::builder().without_workers().spawn().await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["context"] = json!([]);
    app.mount_gong_call(&call).await;
    app.mount_token().await;
    let body = webhook_with(|call| {
        call.as_object_mut().expect("object").remove("context");
    });
    let job = app.process(&body).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert!(
        job.outcome
            .as_deref()
            .unwrap_or_default()
            .contains("not linked"),
        "{job:?}"
    );
    assert_eq!(app.gong_requests().await.len(), 1);
    assert!(app.salesforce_data_requests().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_call_without_the_tracker_writes_nothing() {
    let app = TestApp::builder().without_workers().spawn().await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["content"]["trackers"]
        .as_array_mut()
        .expect("trackers")
        .retain(|t| t["name"] != "Competitors");
    app.mount_happy_path_for(&call).await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert_eq!(
        job.outcome.as_deref(),
        Some("no phrases from tracker \"Competitors\" on this call")
    );
    assert!(app.patches().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn trackers_come_from_gong_not_from_the_webhook() {
    let app = TestApp::builder().without_workers().spawn().await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["content"]["trackers"][0]["phrases"] = json!([{"phrase": "Salesloft", "count": 1}]);
    app.mount_happy_path_for(&call).await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(
        app.patches().await[0].1,
        json!({"Main_Competitors__c": "Salesloft"})
    );
    app.stop().await;
}

#[tokio::test]
async fn tracker_names_and_phrases_are_matched_case_insensitively_and_deduplicated() {
    let app = TestApp::builder().without_workers().spawn().await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["content"]["trackers"] = json!([
        {"name": " competitors ", "type": "KEYWORD", "phrases": [
            {"phrase": " Clari "}, {"phrase": "clari"}, {"phrase": "CHORUS"}, {"phrase": ""}
        ]},
        {"name": "COMPETITORS", "type": "KEYWORD", "phrases": [{"phrase": "Chorus"}, {"phrase": "Gong"}]},
        {"name": "Competitors", "type": "SMART"}
    ]);
    app.mount_happy_path_for(&call).await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(
        app.patches().await[0].1,
        json!({"Main_Competitors__c": "Clari, CHORUS, Gong"})
    );
    app.stop().await;
}

#[tokio::test]
async fn every_linked_opportunity_is_written() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let body = webhook_with(|call| {
        let objects = call["context"][0]["objects"]
            .as_array_mut()
            .expect("objects");
        objects.push(
            json!({"objectType": "opportunity", "objectId": "0063t000012AbCeAAK", "fields": []}),
        );
        objects.push(json!({"objectType": "Opportunity", "objectId": OPPORTUNITY, "fields": []}));
    });
    let job_id = app.accept(&body).await;
    app.run_pending_jobs().await;
    let job = app.finished_job(&job_id).await;
    assert_eq!(job.status, JobStatus::Done);
    let mut paths: Vec<String> = app.patches().await.into_iter().map(|(p, _)| p).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            OPPORTUNITY_URL.to_owned(),
            "/services/data/v62.0/sobjects/Opportunity/0063t000012AbCeAAK".to_owned()
        ]
    );
    assert_eq!(app.writes(&job_id).await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn merge_mode_keeps_existing_names_and_adds_new_ones() {
    let app = TestApp::builder()
        .without_workers()
        .config("[[sync.rules]]\nmode = \"merge\"\n")
        .spawn()
        .await;
    let records = app.mount_happy_path().await;
    records.seed(OPPORTUNITY, "Gong, clari");
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;
    let job = app.finished_job(&job_id).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    let reads = TestApp::requests_to(&app.salesforce, "GET", QUERY_PATH).await;
    assert_eq!(reads.len(), 1, "one SOQL read");
    let soql: String = reads[0]
        .url
        .query_pairs()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.into_owned())
        .expect("q");
    assert_eq!(
        soql,
        format!("SELECT Id, Main_Competitors__c FROM Opportunity WHERE Id IN ('{OPPORTUNITY}')")
    );
    assert_eq!(
        app.patches().await,
        vec![(
            OPPORTUNITY_URL.to_owned(),
            json!({"Main_Competitors__c": "Gong, clari, Chorus, Outreach"})
        )]
    );
    let writes = app.writes(&job_id).await;
    assert_eq!(writes[0].old_value.as_deref(), Some("Gong, clari"));
    app.stop().await;
}

#[tokio::test]
async fn merge_mode_writes_nothing_when_every_name_is_already_there() {
    let app = TestApp::builder()
        .without_workers()
        .config("[[sync.rules]]\nmode = \"merge\"\n")
        .spawn()
        .await;
    let records = app.mount_happy_path().await;
    records.seed(OPPORTUNITY, "Outreach, Chorus, Clari");
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert!(
        job.outcome
            .as_deref()
            .unwrap_or_default()
            .contains("already holds"),
        "{job:?}"
    );
    assert!(app.patches().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn several_rules_write_several_fields_in_one_patch() {
    let app = TestApp::builder()
        .without_workers()
        .config(
            "[[sync.rules]]\n\
             [[sync.rules]]\ntracker = \"pricing\"\nfield = \"Pricing_Terms__c\"\nseparator = \"; \"\n",
        )
        .spawn()
        .await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(
        app.patches().await,
        vec![(
            OPPORTUNITY_URL.to_owned(),
            json!({"Main_Competitors__c": "Clari, Chorus, Outreach", "Pricing_Terms__c": "discount"})
        )]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_test_webhook_is_recorded_but_never_written() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let mut body = fixture("gong_webhook.json");
    body["isTest"] = json!(true);
    let job = app.process(&body).await;
    assert_eq!(job.status, JobStatus::Skipped);
    assert!(job.is_test);
    assert!(job
        .outcome
        .as_deref()
        .unwrap_or_default()
        .contains("test webhook"));
    assert!(app.gong_requests().await.is_empty());
    assert!(TestApp::all_requests(&app.salesforce).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_gong_outage_is_retried_until_it_succeeds() {
    let app = TestApp::builder().without_workers().spawn().await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>maintenance</html>"))
        .up_to_n_times(2)
        .mount(&app.gong)
        .await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 3);
    assert_eq!(app.gong_requests().await.len(), 3);
    assert_eq!(app.patches().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_call_gong_does_not_know_fails_without_retrying() {
    let app = TestApp::builder().without_workers().spawn().await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .mount(&app.gong)
        .await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(job.attempts, 1);
    assert_eq!(
        job.outcome.as_deref(),
        Some("call 7782342274025937895 was not found in Gong")
    );
    assert_eq!(app.gong_requests().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_field_name_fails_the_job_with_salesforces_reason() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    // Inside a 200 collection answer, as Salesforce reports per-record errors.
    let records = app.mount_records().await;
    records.fail(OPPORTUNITY, "INVALID_FIELD", 1);
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(job.attempts, 1);
    assert!(
        job.outcome
            .as_deref()
            .unwrap_or_default()
            .contains("INVALID_FIELD"),
        "{job:?}"
    );
    assert!(app.writes(&job.id).await.is_empty());
    app.stop().await;
}
