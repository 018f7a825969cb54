//! `competitor-sync jobs ...` against a store left by a real service run.

use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_competitor-sync");
const SECOND_OPPORTUNITY: &str = "0063t000012AbCeAAK";

/// Runs `competitor-sync jobs <args>` on `store`, with no Gong or Salesforce
/// settings at all: the jobs commands must not need them.
fn jobs(store: &Stopped, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .arg("jobs")
        .args(args)
        .env_clear()
        .env("COMPETITOR_SYNC__STORE__URL", &store.store_url)
        .output()
        .expect("binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A store holding one done job (the fixture call) and one dead one (a deleted Opportunity).
async fn store_with_history() -> (Stopped, String, String) {
    let app = TestApp::spawn().await;
    app.mount_fixture_call().await;
    let mut other = fixture("gong_webhook.json")["callData"].clone();
    other["metaData"]["id"] = json!("42");
    other["context"][0]["objects"][1]["objectId"] = json!(SECOND_OPPORTUNITY);
    app.mount_token().await;
    let records = app.mount_records().await;
    records.fail(SECOND_OPPORTUNITY, "ENTITY_IS_DELETED", 1);
    let done = app.process(&fixture("gong_webhook.json")).await;
    // The second call's Gong answer replaces the first's.
    app.gong.reset().await;
    app.mount_gong_call(&other).await;
    let dead = app
        .finished_job(
            &app.accept(&json!({"isTest": false, "callData": other}))
                .await,
        )
        .await;
    (app.stop().await, done.id, dead.id)
}

#[tokio::test]
async fn list_show_retry_and_purge() {
    let (dir, done, dead) = store_with_history().await;

    let (ok, out, err) = jobs(&dir, &["list"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("OUTCOME"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[1].starts_with(&dead) && lines[1].contains("dead"),
        "newest first: {out}"
    );
    assert!(
        lines[2].starts_with(&done) && lines[2].contains("done"),
        "{out}"
    );

    let (ok, out, _) = jobs(&dir, &["list", "--status", "dead", "--json"]);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], dead.as_str());
    assert!(listed[0]["outcome"]
        .as_str()
        .unwrap_or_default()
        .contains("ENTITY_IS_DELETED"));

    let (ok, out, _) = jobs(&dir, &["list", "--call-id", CALL_ID]);
    assert!(ok && out.contains(&done) && !out.contains(&dead), "{out}");

    let (ok, out, _) = jobs(&dir, &["show", &dead]);
    assert!(ok);
    assert!(
        out.contains(&format!(
            "Opportunity {SECOND_OPPORTUNITY}  dead  ENTITY_IS_DELETED"
        )),
        "{out}"
    );

    let (ok, _, err) = jobs(&dir, &["show", "no-such-job"]);
    assert!(!ok && err.contains("no job no-such-job"), "{err}");
    let (ok, _, err) = jobs(&dir, &["retry", &done]);
    assert!(
        !ok && err.contains("only dead jobs can be retried"),
        "{err}"
    );

    let (ok, out, err) = jobs(&dir, &["retry", &dead]);
    assert!(ok && out.contains("queued again"), "{err}");
    let (_, out, _) = jobs(&dir, &["list", "--status", "queued", "--json"]);
    let queued: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(queued[0]["id"], dead.as_str());
    assert_eq!(queued[0]["attempts"], 0);

    let (ok, out, _) = jobs(&dir, &["purge", "--older-than", "1h"]);
    assert!(ok && out.starts_with("deleted 0 "), "{out}");
    let (ok, out, _) = jobs(&dir, &["purge", "--older-than", "0s"]);
    assert!(
        ok && out.starts_with("deleted 1 "),
        "the done job goes, the queued one stays: {out}"
    );
    let (_, out, _) = jobs(&dir, &["list", "--json"]);
    let left: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(left.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn show_prints_what_was_written() {
    let (dir, done, _) = store_with_history().await;
    let (ok, out, err) = jobs(&dir, &["show", &done]);
    assert!(ok, "{err}");
    // Ids and times vary from run to run; everything else is fixed.
    let masked: Vec<String> = out
        .lines()
        .map(|line| match line.split_once(char::is_whitespace) {
            Some(("job", _)) => "job         <id>".to_owned(),
            Some(("created" | "updated", _)) => format!("{}  <time>", &line[..10]),
            _ => line.to_owned(),
        })
        .collect();
    assert_eq!(
        masked.join("\n"),
        "job         <id>
call        7782342274025937895
from        webhook
status      done after 1 attempt(s)
created     <time>
updated     <time>
outcome     wrote 1 field value(s) to 1 record(s)
deliveries  1
records
  Opportunity 0063t000012AbCdAAK  done  wrote Main_Competitors__c
names       Main_Competitors__c
  Clari ← tracker: \"Clari\" (5×, the customer)
  Chorus ← tracker: \"Chorus\" (3×, the company)
  Outreach ← tracker: \"Outreach\" (1×, the customer)
written
  Opportunity 0063t000012AbCdAAK.Main_Competitors__c: (not read) -> \"Clari, Chorus, Outreach\""
    );
}

#[test]
fn retry_needs_an_id_or_all_dead() {
    let output = Command::new(BIN)
        .args(["jobs", "retry"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--all-dead"));
}

/// `competitor-sync check` with a complete configuration against stand-ins: Gong answers
/// `gong_status`, and the one rule writes `field`.
async fn check(gong_status: u16, field: &str) -> (bool, String) {
    check_rules(
        gong_status,
        &format!("[[sync.rules]]\nfield = \"{field}\"\n"),
        None,
    )
    .await
}

/// `check` with `rules`; the describes come from `org` (the stand-in org with its picklist
/// and related list), or from the recorded Opportunity describe.
async fn check_rules(
    gong_status: u16,
    rules: &str,
    org: Option<SalesforceRecords>,
) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let gong = wiremock::MockServer::start().await;
    let salesforce = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(GONG_PATH))
        .respond_with(
            wiremock::ResponseTemplate::new(gong_status).set_body_json(json!({"errors": ["x"]})),
        )
        .expect(1)
        .mount(&gong)
        .await;
    let mut token = fixture("sf_token.json");
    token["instance_url"] = json!(salesforce.uri());
    wiremock::Mock::given(wiremock::matchers::path(TOKEN_PATH))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(token))
        .mount(&salesforce)
        .await;
    match org {
        Some(org) => org.mount(&salesforce).await,
        None => {
            wiremock::Mock::given(wiremock::matchers::path(DESCRIBE_PATH))
                .respond_with(
                    wiremock::ResponseTemplate::new(200)
                        .set_body_json(fixture("sf_opportunity_describe.json")),
                )
                .mount(&salesforce)
                .await
        }
    }
    let config = dir.path().join("check.toml");
    std::fs::write(&config, rules).expect("config");
    let output = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .env_clear()
        .env("COMPETITOR_SYNC__STORE__URL", store_url(dir.path()))
        .env("COMPETITOR_SYNC__WEBHOOK__TOKEN", WEBHOOK_TOKEN)
        .env("COMPETITOR_SYNC__GONG__BASE_URL", gong.uri())
        .env("COMPETITOR_SYNC__GONG__ACCESS_KEY", GONG_KEY)
        .env("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET", GONG_SECRET)
        .env("COMPETITOR_SYNC__SALESFORCE__LOGIN_URL", salesforce.uri())
        .env("COMPETITOR_SYNC__SALESFORCE__CLIENT_ID", SF_CLIENT_ID)
        .env(
            "COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET",
            SF_CLIENT_SECRET,
        )
        .output()
        .expect("binary runs");
    let requests = TestApp::all_requests(&gong).await;
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON");
    assert!(
        body["filter"]["fromDateTime"].is_string(),
        "a date-range request, no call ids: {body}"
    );
    assert!(requests[0].headers.contains_key("authorization"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    for secret in [GONG_SECRET, SF_CLIENT_SECRET, WEBHOOK_TOKEN] {
        assert!(!stdout.contains(secret));
    }
    (output.status.success(), stdout)
}

#[tokio::test]
async fn check_passes_when_everything_answers() {
    let (ok, out) = check(404, "Main_Competitors__c").await;
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines.iter().all(|l| l.starts_with('✓')), "{out}");
    assert!(out.contains("✓ webhook authentication: token"), "{out}");
    assert!(
        out.contains(
            "✓ field Opportunity.Main_Competitors__c: string, up to 255 characters, updateable"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn check_names_what_fails_and_how_to_fix_it() {
    let (ok, out) = check(401, "Main_Competitor__c").await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ Gong credentials: Gong rejected the API credentials (401)"),
        "{out}"
    );
    assert!(out.contains("us-NNNNN"), "{out}");
    assert!(
        out.contains("✗ field Opportunity.Main_Competitor__c: "),
        "{out}"
    );
    assert!(
        out.contains("    fix: check the rule's field API name"),
        "{out}"
    );
    assert!(
        out.contains("✓ Salesforce token: issued for http://127.0.0.1"),
        "{out}"
    );
}

#[tokio::test]
async fn check_describes_a_picklist_and_the_related_list() {
    let rules = "[[sync.rules]]\nfield = \"Competitors__c\"\n\n\
                 [[sync.rules]]\nobject = \"OpportunityCompetitor\"\n";
    let (ok, out) = check_rules(404, rules, Some(SalesforceRecords::standard())).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "✓ field Opportunity.Competitors__c: multipicklist, 14 active values, updateable"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "✓ object OpportunityCompetitor: createable, CompetitorName up to 40 characters"
        ),
        "{out}"
    );
}

#[test]
fn check_reports_an_invalid_configuration_first() {
    let output = Command::new(BIN)
        .arg("check")
        .env_clear()
        .env("COMPETITOR_SYNC__WEBHOOK__TOKEN", WEBHOOK_TOKEN)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("✗ configuration: "), "{stdout}");
    assert!(stdout.contains("gong.access_key"), "{stdout}");
}
