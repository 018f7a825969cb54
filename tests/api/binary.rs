//! The real `competitor-sync` binary, run as an operator would: start-up errors, JSON logs
//! without secrets, a clean exit on SIGTERM, and no accepted webhook lost to `kill -9`.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{eventually, fixture};
use crate::process::ChildProcess;
use crate::stand_ins::{
    call_id_for, opportunity_for, synthetic_call, webhook_for, GongCalls, SalesforceRecords,
};

const BIN: &str = env!("CARGO_BIN_EXE_competitor-sync");
pub(crate) const WEBHOOK_TOKEN: &str = "binary-test-webhook-token-42";
const GONG_SECRET: &str = "binary-test-gong-secret-42";
const SF_SECRET: &str = "binary-test-sf-secret-42";
const ACCESS_TOKEN: &str = "00DBINARY!access-token-secret-42";

/// A running service process and everything it printed.
pub(crate) struct Service(pub(crate) ChildProcess);

impl Service {
    pub(crate) fn start(env: &HashMap<String, String>) -> Self {
        Self(ChildProcess::start(
            Command::new(BIN).arg("serve").envs(env),
        ))
    }

    async fn wait_for(&mut self, what: &str, found: impl Fn(&str) -> bool) {
        self.0
            .wait_for(what, |text| found(text).then_some(()))
            .await;
    }

    /// The address from the "listening" log line.
    pub(crate) async fn address(&mut self) -> String {
        self.0
            .wait_for("the listening line", |text| {
                text.lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .filter(|line| line["message"] == "competitor-sync listening")
                    .find_map(|line| line["addr"].as_str().map(str::to_owned))
            })
            .await
    }

    /// SIGTERM, then the exit status.
    pub(crate) async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let child = &mut self.0.child;
        let exit = eventually(
            "the service to stop on SIGTERM",
            Duration::from_secs(20),
            || std::future::ready(child.try_wait().expect("wait")),
        )
        .await;
        self.wait_for("the last log line", |text| text.contains("\"stopped\""))
            .await;
        (exit, self.0.output())
    }
}

/// Environment for a service using `gong` and `salesforce` and the store in `dir`.
pub(crate) fn service_env(
    dir: &std::path::Path,
    gong: &MockServer,
    salesforce: &MockServer,
) -> HashMap<String, String> {
    [
        ("SERVER__BIND", "127.0.0.1:0".to_owned()),
        (
            "STORE__URL",
            format!("sqlite://{}/data/jobs.db", dir.display()),
        ),
        ("WEBHOOK__TOKEN", WEBHOOK_TOKEN.to_owned()),
        ("GONG__BASE_URL", gong.uri()),
        ("GONG__ACCESS_KEY", "binary-key".to_owned()),
        ("GONG__ACCESS_KEY_SECRET", GONG_SECRET.to_owned()),
        ("SALESFORCE__LOGIN_URL", salesforce.uri()),
        ("SALESFORCE__CLIENT_ID", "binary-client".to_owned()),
        ("SALESFORCE__CLIENT_SECRET", SF_SECRET.to_owned()),
        ("LOG__LEVEL", "debug".to_owned()),
        // The tests that want a sweep turn it on; the others see only their own requests.
        ("SWEEP__ENABLED", "false".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (format!("COMPETITOR_SYNC__{key}"), value))
    .collect()
}

/// Collection updates and SOQL reads answered by `records`.
pub(crate) async fn mount_records(salesforce: &MockServer, records: &SalesforceRecords) {
    for (verb, route) in [
        ("PATCH", "/services/data/v62.0/composite/sobjects"),
        ("GET", "/services/data/v62.0/query"),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(records.clone())
            .mount(salesforce)
            .await;
    }
}

/// Token and describe on the Salesforce stand-in.
pub(crate) async fn mount_salesforce_auth(salesforce: &MockServer) {
    let mut token = fixture("sf_token.json");
    token["instance_url"] = Value::String(salesforce.uri());
    token["access_token"] = Value::String(ACCESS_TOKEN.into());
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token))
        .mount(salesforce)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/sobjects/Opportunity/describe"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("sf_opportunity_describe.json")),
        )
        .mount(salesforce)
        .await;
}

#[test]
fn a_missing_secret_stops_start_up_with_the_key_named() {
    let output = Command::new(BIN)
        .arg("serve")
        .env_remove("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET")
        .env("COMPETITOR_SYNC__WEBHOOK__TOKEN", WEBHOOK_TOKEN)
        .env("COMPETITOR_SYNC__GONG__ACCESS_KEY", "key")
        .env("COMPETITOR_SYNC__SALESFORCE__CLIENT_ID", "id")
        .env("COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET", SF_SECRET)
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gong.access_key_secret"), "{stderr}");
    assert!(!stderr.contains(SF_SECRET), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_syntax_error_on_a_secret_line_names_the_key_and_line_but_prints_none_of_the_secret() {
    const SECRET: &str = "Zq7vX9pLw2Rk4mTbN8";
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("competitor-sync.toml");
    // An unterminated string: the parser's own report would quote the whole line.
    std::fs::write(&config, format!("[webhook]\ntoken = \"{SECRET}\n")).expect("write config");
    let output = Command::new(BIN)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("webhook.token"), "{printed}");
    assert!(printed.contains("line 2"), "{printed}");
    assert!(printed.contains(&config.display().to_string()), "{printed}");
    for piece in SECRET.as_bytes().windows(6) {
        let piece = std::str::from_utf8(piece).expect("ASCII");
        assert!(!printed.contains(piece), "`{piece}` is printed:\n{printed}");
    }
}

#[test]
fn help_explains_the_serve_command() {
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--config"), "{help}");
    assert!(help.contains("COMPETITOR_SYNC__"), "{help}");
}

#[tokio::test]
async fn a_full_run_logs_json_without_secrets_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gong = MockServer::start().await;
    let salesforce = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/calls/extensive"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("gong_calls_extensive_one.json")),
        )
        .mount(&gong)
        .await;
    mount_salesforce_auth(&salesforce).await;
    let records = SalesforceRecords::default();
    mount_records(&salesforce, &records).await;

    let mut service = Service::start(&service_env(dir.path(), &gong, &salesforce));
    let address = service.address().await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!(
            "http://{address}/webhooks/gong?key={WEBHOOK_TOKEN}"
        ))
        .json(&fixture("gong_webhook.json"))
        .send()
        .await
        .expect("webhook sent");
    assert_eq!(response.status(), 202);
    let rejected = http
        .post(format!("http://{address}/webhooks/gong"))
        .header("authorization", format!("Bearer {WEBHOOK_TOKEN}-wrong"))
        .json(&fixture("gong_webhook.json"))
        .send()
        .await
        .expect("webhook sent");
    assert_eq!(rejected.status(), 401);
    service
        .wait_for("the job to finish", |text| text.contains("job done"))
        .await;

    let (exit, logs) = service.terminate().await;
    assert!(exit.success(), "exit status {exit:?}");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
    let job_line = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["message"] == "job done")
        .expect("a job line");
    assert_eq!(
        job_line["span"]["call_id"], "7782342274025937895",
        "{job_line}"
    );
    assert!(job_line["span"]["job_id"].is_string(), "{job_line}");
    for secret in [
        WEBHOOK_TOKEN,
        GONG_SECRET,
        SF_SECRET,
        ACCESS_TOKEN,
        "binary-key",
    ] {
        assert!(
            !logs.contains(secret),
            "secret {secret} appears in the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn every_webhook_acknowledged_before_a_sigkill_is_written_after_restart() {
    const CALLS: u32 = 80;
    const KILL_AFTER: u32 = 30;
    let dir = tempfile::tempdir().expect("temp dir");
    let gong = MockServer::start().await;
    let salesforce = MockServer::start().await;
    // A slow Gong keeps jobs in flight, with nothing written yet, when the process is killed:
    // the restart must pick them up at once rather than after their lease.
    let gong_calls = GongCalls {
        delay: Duration::from_millis(150),
        ..GongCalls::default()
    };
    gong_calls.mount(&gong).await;
    mount_salesforce_auth(&salesforce).await;
    let records = SalesforceRecords::default();
    mount_records(&salesforce, &records).await;
    let env = service_env(dir.path(), &gong, &salesforce);

    let mut service = Service::start(&env);
    let address = service.address().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut acknowledged = Vec::new();
    let mut written_at_kill = None;
    for n in 0..CALLS {
        let competitor = format!("Competitor {n}");
        let call = synthetic_call(n, &opportunity_for(n), &[competitor.as_str()]);
        gong_calls.add(&call);
        let sent = http
            .post(format!("http://{address}/webhooks/gong"))
            .bearer_auth(WEBHOOK_TOKEN)
            .json(&webhook_for(&call))
            .send()
            .await;
        if sent.is_ok_and(|response| response.status().is_success()) {
            acknowledged.push(n);
        }
        if n == KILL_AFTER {
            written_at_kill = Some(records.patch_count());
            service.0.child.kill().expect("SIGKILL");
            service.0.child.wait().expect("reaped");
        }
    }
    let written_at_kill = written_at_kill.expect("killed");
    assert_eq!(
        acknowledged.len(),
        KILL_AFTER as usize + 1,
        "nothing is acknowledged after the kill"
    );
    assert!(
        written_at_kill < acknowledged.len(),
        "the kill should land with work in flight ({written_at_kill} written)"
    );

    let mut restarted = Service::start(&env);
    restarted.address().await;
    eventually(
        "every acknowledged call to be written",
        Duration::from_secs(60),
        || {
            let unwritten = acknowledged.iter().find(|n| {
                let expected = format!("Competitor {n}");
                records.value(&opportunity_for(**n)).as_deref() != Some(expected.as_str())
            });
            std::future::ready(match unwritten {
                None => Ok(()),
                Some(n) => Err(format!(
                    "call {} was acknowledged but never written ({} of {} written)",
                    call_id_for(*n),
                    records.written(),
                    acknowledged.len()
                )),
            })
        },
    )
    .await;
    let (exit, _) = restarted.terminate().await;
    assert!(exit.success());
}
