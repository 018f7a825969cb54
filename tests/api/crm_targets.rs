//! Where Salesforce teams keep competitors, end to end against the org stand-in with the real
//! API's checks: a restricted multi-select picklist (its values only, joined by `;`, the
//! describe read again when the org's values changed) and the Competitors related list
//! (`OpportunityCompetitor` rows created once, a person's rows left alone). The requests
//! sent are asserted exactly.

use competitor_sync::store::{Job, JobStatus};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;
use crate::stand_ins::{opportunity_for, synthetic_call, webhook_for, GongCalls};

const PICKLIST: &str = "Competitors__c";
const ROWS_DESCRIBE_PATH: &str = "/services/data/v62.0/sobjects/OpportunityCompetitor/describe";

const LIST: &str = r#"
[[sync.competitors]]
name = "Chorus"
aliases = ["chorus.ai"]

[[sync.competitors]]
name = "Clari"
"#;

const PICKLIST_MERGE: &str = r#"
[[sync.rules]]
field = "Competitors__c"
mode = "merge"
"#;

const ROWS: &str = r#"
[[sync.rules]]
object = "OpportunityCompetitor"
"#;

/// The service against `records`, with Gong knowing `calls`.
async fn app_with(config: &str, records: &SalesforceRecords, calls: &[Value]) -> TestApp {
    start(TestApp::builder().config(config), records, calls).await
}

/// The service `builder` makes, without background workers, against `records`, with Gong
/// knowing `calls`.
async fn start(builder: TestAppBuilder, records: &SalesforceRecords, calls: &[Value]) -> TestApp {
    let app = builder.without_workers().spawn().await;
    let gong = GongCalls::default();
    for call in calls {
        gong.add(call);
    }
    gong.mount(&app.gong).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(app.token_body(ACCESS_TOKEN)))
        .mount(&app.salesforce)
        .await;
    records.mount(&app.salesforce).await;
    app
}

async fn bodies(app: &TestApp, verb: &str, route: &str) -> Vec<Value> {
    TestApp::requests_to(&app.salesforce, verb, route)
        .await
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("JSON body"))
        .collect()
}

/// The SOQL of every query the service sent.
async fn queries(app: &TestApp) -> Vec<String> {
    TestApp::requests_to(&app.salesforce, "GET", QUERY_PATH)
        .await
        .iter()
        .filter_map(|request| {
            let (_, q) = request.url.query_pairs().find(|(k, _)| k == "q")?;
            Some(q.into_owned())
        })
        .collect()
}

async fn sync_one(app: &TestApp, call: &Value) -> Job {
    let job_id = app.accept(&webhook_for(call)).await;
    app.run_jobs_until_settled().await;
    app.finished_job(&job_id).await
}

fn plan_field(job: &Job) -> Value {
    let plan = job.result.as_ref().and_then(|r| r.plan.as_ref());
    serde_json::to_value(plan).expect("plan")["records"][0]["fields"][0].clone()
}

fn fit_notes(job: &Job) -> Vec<String> {
    plan_field(job)["fitted"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|note| format!("{}: {}", note["kind"], note["name"]))
        .collect()
}

#[tokio::test]
async fn a_multi_select_picklist_takes_its_values_joined_by_semicolons_and_keeps_what_is_selected()
{
    let records = SalesforceRecords::standard();
    let opportunity = opportunity_for(1);
    let call = synthetic_call(1, &opportunity, &["clari", "Wingman", "chorus.ai"]);
    records
        .org
        .lock()
        .expect("lock")
        .set(&opportunity, PICKLIST, json!("Gong"))
        .expect("seeded");
    let app = app_with(
        &format!("{LIST}{PICKLIST_MERGE}"),
        &records,
        std::slice::from_ref(&call),
    )
    .await;
    let job = sync_one(&app, &call).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        queries(&app).await,
        [format!(
            "SELECT Id, Competitors__c FROM Opportunity WHERE Id IN ('{opportunity}')"
        )]
    );
    assert_eq!(
        bodies(&app, "PATCH", COLLECTIONS_PATH).await,
        [json!({"allOrNone": false, "records": [{
            "attributes": {"type": "Opportunity"},
            "id": opportunity,
            "Competitors__c": "Gong;Clari;Chorus"
        }]})],
        "the values' spelling, `;`, the selected value kept, Wingman (no value) left out"
    );
    assert_eq!(
        records.field(&opportunity, PICKLIST).as_deref(),
        Some("Gong;Clari;Chorus")
    );
    assert_eq!(fit_notes(&job), ["\"not_a_value\": \"Wingman\""]);
}

#[tokio::test]
async fn a_job_whose_names_are_no_value_of_the_picklist_is_skipped_with_the_reason() {
    let records = SalesforceRecords::standard();
    let call = synthetic_call(2, &opportunity_for(2), &["Wingman", "Attention"]);
    let app = app_with(PICKLIST_MERGE, &records, std::slice::from_ref(&call)).await;
    let job = sync_one(&app, &call).await;
    assert_eq!(job.status, JobStatus::Skipped, "{job:?}");
    let reason = job.outcome.clone().unwrap_or_default();
    assert!(
        reason.contains("not a value of Competitors__c: Wingman")
            && reason.contains("not a value of Competitors__c: Attention"),
        "{reason}"
    );
    assert!(bodies(&app, "PATCH", COLLECTIONS_PATH).await.is_empty());
}

#[tokio::test]
async fn a_restricted_picklist_refusal_reads_the_describe_again_and_the_retry_uses_its_values() {
    let records = SalesforceRecords::standard();
    let first = synthetic_call(3, &opportunity_for(3), &["Clari"]);
    let second = synthetic_call(4, &opportunity_for(4), &["Chorus", "Clari"]);
    let config = format!(
        "{}\n[[sync.rules]]\nfield = \"Competitors__c\"\n",
        r#"
[[sync.competitors]]
name = "Chorus"
aliases = ["Chorus AI"]
"#
    );
    let app = app_with(&config, &records, &[first.clone(), second.clone()]).await;
    assert_eq!(sync_one(&app, &first).await.status, JobStatus::Done);
    // An admin renames a value after the service read the describe.
    records.set_picklist(PICKLIST, &["Clari", "Chorus AI", "Gong"]);
    let job = sync_one(&app, &second).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 2, "one refusal, one retry");
    let describes = TestApp::requests_to(&app.salesforce, "GET", DESCRIBE_PATH).await;
    assert_eq!(
        describes.len(),
        2,
        "read again after the refusal, not before"
    );
    let patches = bodies(&app, "PATCH", COLLECTIONS_PATH).await;
    let sent: Vec<&Value> = patches
        .iter()
        .map(|body| &body["records"][0][PICKLIST])
        .collect();
    assert_eq!(sent, ["Clari", "Chorus;Clari", "Chorus AI;Clari"]);
    assert_eq!(
        records.field(&opportunity_for(4), PICKLIST).as_deref(),
        Some("Chorus AI;Clari")
    );
}

#[tokio::test]
async fn related_list_rows_are_created_once_across_a_lost_answer_and_a_duplicate_webhook() {
    let records = SalesforceRecords::default();
    let opportunity = opportunity_for(5);
    let call = synthetic_call(5, &opportunity, &["Clari", "chorus.ai", "Chorus"]);
    let app = app_with(
        &format!("{LIST}{ROWS}"),
        &records,
        std::slice::from_ref(&call),
    )
    .await;
    records.lose_next_create_answers(1);
    let job = sync_one(&app, &call).await;
    assert_eq!(job.attempts, 2, "the lost answer is retried: {job:?}");
    let duplicate = app.post_webhook(&webhook_for(&call)).await;
    assert_eq!(duplicate.status(), 202);
    let duplicate: Value = duplicate.json().await.expect("JSON");
    assert_eq!(duplicate["delivery"], "duplicate");
    app.run_jobs_until_settled().await;
    let row = |name: &str| {
        json!({"attributes": {"type": "OpportunityCompetitor"},
               "OpportunityId": opportunity, "CompetitorName": name})
    };
    assert_eq!(
        bodies(&app, "POST", COLLECTIONS_PATH).await,
        [json!({"allOrNone": false, "records": [row("Clari"), row("Chorus")]})],
        "one create: the retry found the rows its lost answer had made"
    );
    let check = format!(
        "SELECT Id, OpportunityId, CompetitorName FROM OpportunityCompetitor WHERE OpportunityId IN ('{opportunity}')"
    );
    assert_eq!(queries(&app).await, [check.clone(), check]);
    let names: Vec<String> = records
        .competitor_rows(&opportunity)
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    assert_eq!(names, ["Clari", "Chorus"]);
    assert!(bodies(&app, "PATCH", COLLECTIONS_PATH).await.is_empty());
}

#[tokio::test]
async fn created_rows_are_in_the_audit_trail_and_a_persons_row_is_left_alone() {
    let records = SalesforceRecords::default();
    let opportunity = opportunity_for(6);
    let persons = records.add_competitor_row(&opportunity, "chorus.ai", Some("Great recordings"));
    let call = synthetic_call(6, &opportunity, &["Chorus", "Clari", "Outreach"]);
    let later = synthetic_call(7, &opportunity, &["Clari"]);
    let app = app_with(
        &format!("{LIST}{ROWS}"),
        &records,
        &[call.clone(), later.clone()],
    )
    .await;
    let job = sync_one(&app, &call).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    let rows = records.competitor_rows(&opportunity);
    assert_eq!(
        rows[0],
        (
            persons,
            "chorus.ai".to_owned(),
            Some("Great recordings".to_owned())
        ),
        "the person's row, as it was"
    );
    assert_eq!(records.row_updates(), 0);
    let created: Vec<(Option<String>, String)> = app
        .writes(&job.id)
        .await
        .into_iter()
        .map(|write| (write.created_id, write.new_value))
        .collect();
    let expected: Vec<(Option<String>, String)> = rows[1..]
        .iter()
        .map(|(id, name, _)| (Some(id.clone()), name.clone()))
        .collect();
    assert_eq!(created, expected);
    assert_eq!(
        expected.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        ["Clari", "Outreach"]
    );
    let again = app.accept(&webhook_for(&later)).await;
    app.run_jobs_until_settled().await;
    let again = app.finished_job(&again).await;
    assert_eq!(
        again.status,
        JobStatus::Skipped,
        "already listed: {again:?}"
    );
    assert_eq!(records.competitor_rows(&opportunity).len(), 3);
}

#[tokio::test]
async fn two_hundred_and_fifty_opportunities_take_two_collection_requests() {
    let records = SalesforceRecords::default();
    let calls: Vec<Value> = (100..350)
        .map(|n| synthetic_call(n, &opportunity_for(n), &["Clari"]))
        .collect();
    let builder = TestApp::builder()
        .config(ROWS)
        .prefill(calls.iter().map(webhook_for).collect());
    let app = start(builder, &records, &calls).await;
    app.run_jobs_until_settled().await;
    let creates = bodies(&app, "POST", COLLECTIONS_PATH).await;
    let sizes: Vec<usize> = creates
        .iter()
        .map(|body| body["records"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [200, 50]);
    assert_eq!(queries(&app).await.len(), 2, "one row check per batch");
    assert_eq!(
        TestApp::requests_to(&app.salesforce, "GET", ROWS_DESCRIBE_PATH)
            .await
            .len(),
        1
    );
    assert_eq!(records.rows_created(), 250);
}
