//! The real `competitor-sync` binary, run as an operator would: start-up errors, JSON logs
//! without secrets, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_competitor-sync");
const WEBHOOK_TOKEN: &str = "binary-test-webhook-token-42";
const GONG_SECRET: &str = "binary-test-gong-secret-42";
const SF_SECRET: &str = "binary-test-sf-secret-42";
const ACCESS_TOKEN: &str = "00DBINARY!access-token-secret-42";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// Collects everything the child prints on stdout and stderr.
fn capture(child: &mut Child) -> Arc<Mutex<String>> {
    let output = Arc::new(Mutex::new(String::new()));
    let streams: Vec<Box<dyn std::io::Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout piped")),
        Box::new(child.stderr.take().expect("stderr piped")),
    ];
    for stream in streams {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut text = output.lock().expect("lock");
                text.push_str(&line);
                text.push('\n');
            }
        });
    }
    output
}

async fn wait_for(output: &Mutex<String>, what: &str, found: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !found(&output.lock().expect("lock")) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; output so far:\n{}",
            output.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
    let mut call = fixture("gong_calls_extensive_one.json");
    call["requestId"] = Value::String("req".into());
    Mock::given(method("POST"))
        .and(path("/v2/calls/extensive"))
        .respond_with(ResponseTemplate::new(200).set_body_json(call))
        .mount(&gong)
        .await;
    let mut token = fixture("sf_token.json");
    token["instance_url"] = Value::String(salesforce.uri());
    token["access_token"] = Value::String(ACCESS_TOKEN.into());
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token))
        .mount(&salesforce)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/sobjects/Opportunity/describe"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("sf_opportunity_describe.json")),
        )
        .mount(&salesforce)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&salesforce)
        .await;

    let mut child = Command::new(BIN)
        .arg("serve")
        .env("COMPETITOR_SYNC__SERVER__BIND", "127.0.0.1:0")
        .env(
            "COMPETITOR_SYNC__STORE__URL",
            format!("sqlite://{}/data/jobs.db", dir.path().display()),
        )
        .env("COMPETITOR_SYNC__WEBHOOK__TOKEN", WEBHOOK_TOKEN)
        .env("COMPETITOR_SYNC__GONG__BASE_URL", gong.uri())
        .env("COMPETITOR_SYNC__GONG__ACCESS_KEY", "binary-key")
        .env("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET", GONG_SECRET)
        .env("COMPETITOR_SYNC__SALESFORCE__LOGIN_URL", salesforce.uri())
        .env("COMPETITOR_SYNC__SALESFORCE__CLIENT_ID", "binary-client")
        .env("COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET", SF_SECRET)
        .env("COMPETITOR_SYNC__LOG__LEVEL", "debug")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let output = capture(&mut child);
    wait_for(&output, "the listening line", |text| {
        text.contains("competitor-sync listening")
    })
    .await;
    let address = output
        .lock()
        .expect("lock")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|line| line["addr"].as_str().map(str::to_owned))
        .expect("the listening line is JSON with the address");

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
    wait_for(&output, "the job to finish", |text| {
        text.contains("job done")
    })
    .await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    wait_for(&output, "the last log line", |text| {
        text.contains("\"stopped\"")
    })
    .await;

    let logs = output.lock().expect("lock").clone();
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
