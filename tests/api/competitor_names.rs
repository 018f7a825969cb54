//! Competitor names a team can trust, end to end: what is asked of Gong for each kind of
//! rule, and what is written. The Gong stand-in answers with only the parts asked for (no
//! occurrences without `trackerOccurrences`), so a request that asks too little shows in the
//! values written.

use competitor_sync::store::{Job, JobStatus};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::stand_ins::GongCalls;

const TRANSCRIPT_PATH: &str = "/v2/calls/transcript";
const REP: &str = "6432345678555530067";
const BUYER: &str = "8432345678555530012";

/// The fixture call (Clari and Outreach said by the buyer, Chorus by the rep), edited.
fn call_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    edit(&mut call);
    call
}

fn phrase(text: &str, speakers: &[&str]) -> Value {
    let occurrences: Vec<Value> = speakers
        .iter()
        .enumerate()
        .map(|(n, speaker)| json!({"startTime": 30.0 + 60.0 * n as f64, "speakerId": speaker}))
        .collect();
    json!({"count": speakers.len(), "occurrences": occurrences, "phrase": text})
}

fn sentence(speaker: &str, text: &str) -> Value {
    json!({"speakerId": speaker, "topic": null,
           "sentences": [{"start": 1000, "end": 4000, "text": text}]})
}

/// A Gong that knows `call` (and its transcript, when it has one) at both endpoints.
async fn app_with(config: &str, call: &Value) -> (TestApp, crate::stand_ins::SalesforceRecords) {
    let app = TestApp::builder()
        .without_workers()
        .config(config)
        .spawn()
        .await;
    let gong = GongCalls::default();
    gong.add(call);
    gong.mount(&app.gong).await;
    app.mount_token().await;
    let records = app.mount_records().await;
    (app, records)
}

async fn sync(app: &TestApp) -> Job {
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;
    app.finished_job(&job_id).await
}

async fn bodies(app: &TestApp, endpoint: &str) -> Vec<Value> {
    TestApp::requests_to(&app.gong, "POST", endpoint)
        .await
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("JSON body"))
        .collect()
}

fn field_plan(job: &Job) -> Value {
    let plan = job.result.as_ref().and_then(|r| r.plan.as_ref());
    serde_json::to_value(plan).expect("plan")["records"][0]["fields"][0].clone()
}

const COMPETITORS: &str = r#"
[[sync.competitors]]
name = "Chorus"
aliases = ["chorus.ai", "Chorus AI"]

[[sync.competitors]]
name = "Clari"

[[sync.competitors]]
name = "ZoomInfo"

[[sync.competitors]]
name = "Outreach"

[[sync.competitors]]
name = "Outreach.io"
aliases = ["outreach io"]
"#;

#[tokio::test]
async fn aliases_are_written_under_their_canonical_name_and_trackers_alone_are_asked_for() {
    let call = call_with(|call| {
        call["content"]["trackers"][0]["phrases"] = json!([
            phrase("chorus.ai", &[BUYER]),
            phrase("Zoom Info", &[BUYER]),
            phrase("CHORUS", &[BUYER]),
            phrase("zoominfo", &[REP]),
            phrase("Wingman", &[BUYER])
        ]);
    });
    let config = format!("{COMPETITORS}\n[sync]\nunknown_names = \"drop\"\n");
    let (app, records) = app_with(&config, &call).await;
    let job = sync(&app).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        records.value(OPPORTUNITY).as_deref(),
        Some("Chorus, ZoomInfo")
    );
    assert_eq!(
        bodies(&app, GONG_PATH).await,
        [json!({
            "filter": {"callIds": [CALL_ID]},
            "contentSelector": {"context": "Extended", "exposedFields": {"content": {"trackers": true}}}
        })],
        "a rule that takes anyone's mentions needs neither parties nor occurrences"
    );
    assert!(bodies(&app, TRANSCRIPT_PATH).await.is_empty());
    let field = field_plan(&job);
    assert_eq!(field["evidence"][0]["name"], "Chorus");
    assert_eq!(
        field["evidence"][0]["heard_as"],
        json!(["chorus.ai", "CHORUS"])
    );
    assert_eq!(field["evidence"][0]["mentions"], 2);
    assert_eq!(field["evidence"][0]["source"], "tracker");
    assert_eq!(field["dropped"][0]["phrase"], "Wingman");
    app.stop().await;
}

#[tokio::test]
async fn a_customer_rule_asks_for_occurrences_and_writes_only_what_the_buyer_said() {
    let call = fixture("gong_webhook.json")["callData"].clone();
    let config = "[[sync.rules]]\nmentioned_by = \"customer\"\n";
    let (app, records) = app_with(config, &call).await;
    let job = sync(&app).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        records.value(OPPORTUNITY).as_deref(),
        Some("Clari, Outreach")
    );
    assert_eq!(
        bodies(&app, GONG_PATH).await,
        [json!({
            "filter": {"callIds": [CALL_ID]},
            "contentSelector": {"context": "Extended", "exposedFields": {
                "parties": true,
                "content": {"trackers": true, "trackerOccurrences": true}
            }}
        })]
    );
    assert!(bodies(&app, TRANSCRIPT_PATH).await.is_empty());
    let field = field_plan(&job);
    assert_eq!(field["evidence"][0]["said_by"], json!(["External"]));
    assert_eq!(
        field["dropped"],
        json!([{"phrase": "Chorus", "reason": "not said by the customer (said by the company)"}])
    );
    app.stop().await;
}

#[tokio::test]
async fn without_occurrences_every_phrase_counts_and_the_plan_says_the_speaker_was_not_checked() {
    // A keyword tracker set to list each term separately: Gong sends no occurrences.
    let call = call_with(|call| {
        for phrase in call["content"]["trackers"][0]["phrases"]
            .as_array_mut()
            .expect("phrases")
        {
            phrase["occurrences"] = json!([]);
        }
    });
    let (app, records) = app_with("[[sync.rules]]\nmentioned_by = \"customer\"\n", &call).await;
    let job = sync(&app).await;
    assert_eq!(
        records.value(OPPORTUNITY).as_deref(),
        Some("Clari, Chorus, Outreach")
    );
    let note = field_plan(&job)["speaker_note"].as_str().map(str::to_owned);
    assert!(
        note.as_deref()
            .is_some_and(|n| n.contains("could not be checked")),
        "{note:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_call_whose_every_name_is_left_out_is_skipped_with_each_reason() {
    let call = call_with(|call| {
        call["content"]["trackers"][0]["phrases"] = json!([phrase("Gong", &[REP])]);
    });
    let (app, records) = app_with("[[sync.rules]]\nmentioned_by = \"customer\"\n", &call).await;
    let job = sync(&app).await;
    assert_eq!(job.status, JobStatus::Skipped, "{job:?}");
    let outcome = job.outcome.clone().unwrap_or_default();
    assert!(
        outcome.contains("Gong: not said by the customer"),
        "{outcome}"
    );
    assert_eq!(records.patch_count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_transcript_rule_reads_the_transcript_once_per_batch_and_keeps_the_customers_names() {
    let call = call_with(|call| {
        call["content"]["trackers"] = json!([]);
        call["transcript"] = json!([
            sentence(REP, "Unlike Gong and Chorus, we coach every call."),
            sentence(
                BUYER,
                "We trialled Outreach.io, and zoom info is in the mix."
            ),
            sentence(BUYER, "Honestly the gongs in Hong Kong were louder.")
        ]);
    });
    let config = format!(
        "{COMPETITORS}\n[[sync.competitors]]\nname = \"Gong\"\n\n\
         [[sync.rules]]\nsource = \"transcript\"\nmentioned_by = \"customer\"\n"
    );
    let (app, records) = app_with(&config, &call).await;
    let job = sync(&app).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        records.value(OPPORTUNITY).as_deref(),
        Some("Outreach.io, ZoomInfo")
    );
    assert_eq!(
        bodies(&app, TRANSCRIPT_PATH).await,
        [json!({"filter": {"callIds": [CALL_ID]}})]
    );
    assert_eq!(
        bodies(&app, GONG_PATH).await,
        [json!({
            "filter": {"callIds": [CALL_ID]},
            "contentSelector": {"context": "Extended", "exposedFields": {
                "parties": true, "content": {"trackers": true}
            }}
        })],
        "a transcript rule needs the parties, not the tracker's occurrences"
    );
    let field = field_plan(&job);
    assert_eq!(field["tracker"], "transcript");
    assert_eq!(field["evidence"][0]["source"], "transcript");
    assert_eq!(field["evidence"][1]["heard_as"], json!(["zoom info"]));
    let dropped: Vec<&str> = field["dropped"]
        .as_array()
        .expect("dropped")
        .iter()
        .filter_map(|d| d["phrase"].as_str())
        .collect();
    assert_eq!(dropped, ["Gong", "Chorus"]);
    app.stop().await;
}

#[tokio::test]
async fn a_tracker_rule_and_a_transcript_rule_fill_one_field_together() {
    let call = call_with(|call| {
        call["transcript"] = json!([sentence(BUYER, "ZoomInfo came up with our CFO.")]);
    });
    let config =
        format!("{COMPETITORS}\n[[sync.rules]]\n\n[[sync.rules]]\nsource = \"transcript\"\n");
    let (app, records) = app_with(&config, &call).await;
    let job = sync(&app).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        records.value(OPPORTUNITY).as_deref(),
        Some("Clari, Chorus, Outreach, ZoomInfo")
    );
    assert_eq!(records.patch_count(), 1, "one write for the record");
    app.stop().await;
}
