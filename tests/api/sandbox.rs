//! The sandbox and the service run as a newcomer runs them: two processes, the committed
//! config/sandbox.toml and config/sandbox.env, and the demo webhooks sent with the sandbox's
//! own `fire` command. The sandbox's Opportunities must end up holding the competitors heard
//! on each call, and the sandbox must answer like Gong and Salesforce where the service
//! depends on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::helpers::{eventually, WAIT};
use crate::process::ChildProcess;

const SERVICE: &str = env!("CARGO_BIN_EXE_competitor-sync");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The sandbox's binary. It belongs to another package of the workspace, for which Cargo gives
/// no `CARGO_BIN_EXE_`: it is found beside the service's (same target directory and profile).
/// `cargo test` at the root builds it (the sandbox is a default member and has integration
/// tests); `cargo test -p competitor-sync` alone does not, hence the checks.
pub(crate) fn sandbox_binary() -> PathBuf {
    let binary = Path::new(SERVICE).with_file_name(format!(
        "competitor-sync-sandbox{}",
        std::env::consts::EXE_SUFFIX
    ));
    let build =
        "build it with `cargo build -p competitor-sync-sandbox`, or run `cargo test` at the root";
    let built =
        modified(&binary).unwrap_or_else(|| panic!("{} is missing: {build}", binary.display()));
    let sources = ["sandbox", "stand-ins"].map(|member| Path::new(REPO).join(member));
    let newest = sources.iter().filter_map(|dir| newest_source(dir)).max();
    assert!(
        newest.is_none_or(|newest| newest <= built),
        "{} is older than its sources: {build}",
        binary.display()
    );
    binary
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest change to a member's manifest or `src/`: what its binary is built from.
fn newest_source(member: &Path) -> Option<SystemTime> {
    let mut newest = modified(&member.join("Cargo.toml"));
    let mut pending = vec![member.join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                newest = newest.max(modified(&path));
            }
        }
    }
    newest
}

/// The sandbox on an ephemeral port, and its URL.
pub(crate) async fn start_sandbox(extra_args: &[&str]) -> (ChildProcess, String) {
    let mut sandbox = ChildProcess::start(
        Command::new(sandbox_binary())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra_args),
    );
    let url = sandbox
        .wait_for("the sandbox's listening line", |output| {
            output.lines().find_map(|line| {
                line.strip_prefix("competitor-sync-sandbox listening on ")
                    .map(str::to_owned)
            })
        })
        .await;
    (sandbox, url)
}

/// `KEY=VALUE` lines of an env file, comments and blank lines aside.
fn env_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .expect("env file")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The service with the committed sandbox configuration, pointed at `sandbox_url`, its store
/// in `dir`; and the address it listens on.
async fn start_service(dir: &Path, sandbox_url: &str) -> (ChildProcess, String) {
    start_service_with(dir, sandbox_url, &[]).await
}

/// [`start_service`] with more `COMPETITOR_SYNC__<key>` settings.
pub(crate) async fn start_service_with(
    dir: &Path,
    sandbox_url: &str,
    settings: &[(&str, &str)],
) -> (ChildProcess, String) {
    let config = Path::new(REPO).join("config");
    let overrides = [
        ("SERVER__BIND", "127.0.0.1:0".to_owned()),
        (
            "STORE__URL",
            format!("sqlite://{}/sandbox.db", dir.display()),
        ),
        ("GONG__BASE_URL", sandbox_url.to_owned()),
        ("SALESFORCE__LOGIN_URL", sandbox_url.to_owned()),
        ("LOG__FORMAT", "json".to_owned()),
    ]
    .map(|(key, value)| (format!("COMPETITOR_SYNC__{key}"), value));
    let extra = settings
        .iter()
        .map(|(key, value)| (format!("COMPETITOR_SYNC__{key}"), (*value).to_owned()));
    let mut service = ChildProcess::start(
        Command::new(SERVICE)
            .args(["serve", "--config"])
            .arg(config.join("sandbox.toml"))
            .envs(env_file(&config.join("sandbox.env")))
            .envs(overrides)
            .envs(extra),
    );
    let address = service
        .wait_for("the service's listening line", |output| {
            output
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|line| line["message"] == "competitor-sync listening")
                .find_map(|line| line["addr"].as_str().map(str::to_owned))
        })
        .await;
    (service, address)
}

async fn admin_get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the service answers");
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.expect("JSON")
}

pub(crate) async fn opportunities(http: &reqwest::Client, sandbox_url: &str) -> Vec<Value> {
    let body: Value = http
        .get(format!("{sandbox_url}/sandbox/opportunities"))
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("JSON");
    body["opportunities"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn by_name(list: &[Value], name: &str) -> Value {
    list.iter()
        .find(|o| o["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no Opportunity named {name}"))
}

/// The README's demo values, as scripts/demo.sh checks them: each seeded Opportunity's id and
/// the Main Competitors it ends with.
fn demo_values() -> Vec<(String, String)> {
    let path = format!("{}/scripts/demo-expected.tsv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let values: Vec<(String, String)> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (id, value) = line.split_once('\t').expect("id<tab>value");
            (id.to_owned(), value.to_owned())
        })
        .collect();
    assert_eq!(values.len(), 9, "{path}");
    values
}

/// The demo's names in the Competitors picklist (its values only: Wingman is none, and the
/// rep's Outreach on Globex is kept) and as related-list rows (beside the person's row).
const PICKLIST_AND_ROWS: [(&str, &[&str], &[&str]); 9] = [
    (
        "Acme Corp - Renewal 2027",
        &["Clari", "Chorus", "Outreach"],
        &["Clari", "Chorus", "Outreach"],
    ),
    (
        "Globex - New Business",
        &["Outreach", "Salesloft"],
        &["Outreach", "Salesloft"],
    ),
    (
        "Initech - Platform Expansion",
        &["Clari", "People.ai"],
        &["Clari", "People.ai"],
    ),
    (
        "Initech - EMEA Rollout",
        &["Clari", "People.ai"],
        &["Clari", "People.ai"],
    ),
    (
        "Hooli - Enterprise Agreement",
        &["Chorus"],
        &["Chorus", "Wingman"],
    ),
    (
        "Vandelay Industries - Import/Export Suite",
        &["Outreach", "Salesloft", "Clari"],
        &["Outreach", "Salesloft", "Clari"],
    ),
    ("Wayne Enterprises - Analytics Pilot", &[], &[]),
    ("Umbrella - Security Pilot", &[], &[]),
    ("Soylent - Q3 Upsell", &[], &[]),
];

/// The sandbox's own `fire`, with its default secret (the one config/sandbox.env gives the
/// service): what it printed, after checking that it sent 8 webhooks, each answered 202.
fn fire_demo(address: &str) -> String {
    let fired = Command::new(sandbox_binary())
        .args(["fire", "--service"])
        .arg(format!("http://{address}/webhooks/gong"))
        .env_remove("SANDBOX_WEBHOOK_SECRET")
        .output()
        .expect("fire runs");
    let printed = String::from_utf8_lossy(&fired.stdout).into_owned();
    assert!(
        fired.status.success(),
        "fire failed: {printed}{}",
        String::from_utf8_lossy(&fired.stderr)
    );
    assert_eq!(
        printed.lines().filter(|l| l.starts_with("202 ")).count(),
        8,
        "{printed}"
    );
    printed
}

/// The fields of the first record in the plan of `call_id`'s job, once it is done: a record
/// is written before its job records its ending, so this waits for the ending.
async fn plan_fields(
    http: &reqwest::Client,
    address: &str,
    admin_token: &str,
    call_id: &str,
) -> Value {
    let url = format!("http://{address}/admin/jobs?call_id={call_id}&status=done");
    let what = format!("call {call_id}'s job to be done");
    let list: Value = eventually(&what, WAIT, || async {
        let list = admin_get(http, &url, admin_token).await;
        list["jobs"][0]["id"].is_string().then_some(list)
    })
    .await;
    let job_id = list["jobs"][0]["id"].as_str().unwrap_or_default();
    let url = format!("http://{address}/admin/jobs/{job_id}");
    let job: Value = admin_get(http, &url, admin_token).await;
    job["result"]["plan"]["records"][0]["fields"].clone()
}

fn by_id(list: &[Value], id: &str) -> Value {
    list.iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no Opportunity {id}"))
}

#[tokio::test]
async fn the_demo_webhooks_write_each_calls_competitors_into_the_sandboxs_opportunities() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sandbox, sandbox_url) = start_sandbox(&[]).await;
    let admin_token = "sandbox-test-admin-token-0123456789";
    let (service, address) =
        start_service_with(dir.path(), &sandbox_url, &[("ADMIN__TOKEN", admin_token)]).await;
    let http = reqwest::Client::new();

    let before = opportunities(&http, &sandbox_url).await;
    assert_eq!(
        by_name(&before, "Globex - New Business")["main_competitors"],
        "Outreach",
        "seeded with a rep's value"
    );

    let printed = fire_demo(&address);

    let expected = demo_values();
    // The same names in the Competitors picklist (its values only: Wingman is none, and the
    // rep's Outreach on Globex is kept) and as related-list rows (beside the person's row).
    let row_names = |opportunity: &Value| -> Vec<String> {
        opportunity["competitor_rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|row| row["name"].as_str().map(str::to_owned))
            .collect()
    };
    let after = eventually("the Opportunities to be written", WAIT, || async {
        let list = opportunities(&http, &sandbox_url).await;
        let written = expected
            .iter()
            .all(|(id, value)| by_id(&list, id)["main_competitors"] == *value)
            && PICKLIST_AND_ROWS.iter().all(|(name, values, rows)| {
                let opportunity = by_name(&list, name);
                opportunity["competitors_picklist"] == json!(values)
                    && row_names(&opportunity) == **rows
            });
        if written {
            return Ok(list);
        }
        Err(format!(
            "the Opportunities: {list:#?}\nservice output:\n{}",
            service.output()
        ))
    })
    .await;
    // A call that heard no competitor leaves the rep's value alone, and an Opportunity no
    // call links to is never touched.
    for (name, kept) in [
        ("Umbrella - Security Pilot", "Chorus"),
        ("Soylent - Q3 Upsell", "Clari"),
    ] {
        let opportunity = by_name(&after, name);
        assert_eq!(opportunity["main_competitors"], kept, "{name}");
        assert_eq!(opportunity["api_writes"], 0, "{name}");
    }
    assert_eq!(by_name(&after, "Acme Corp - Renewal 2027")["api_writes"], 1);
    let globex_rows = &by_name(&after, "Globex - New Business")["competitor_rows"];
    assert_eq!(
        globex_rows[0]["strengths"], "Sequencing; large install base",
        "the person's row is left as it was: {globex_rows}"
    );
    // The competitor list and the rules of config/sandbox.toml, explained in each plan.
    let field = |call_id| plan_fields(&http, &address, admin_token, call_id);
    let hooli = field("7782342274025937952").await;
    assert_eq!(
        hooli[0]["evidence"][0]["heard_as"],
        json!(["Chorus", "chorus.ai"])
    );
    assert_eq!(
        hooli[1]["fitted"],
        json!([{"name": "Wingman", "field": "Competitors__c", "kind": "not_a_value"}]),
        "{hooli}"
    );
    let globex = field("7782342274025937901").await;
    assert_eq!(globex[0]["dropped"][0]["phrase"], "Gong", "{globex}");
    let wayne = field("7782342274025937990").await;
    assert_eq!(wayne[0]["evidence"][0]["source"], "transcript", "{wayne}");
    assert!(
        printed.contains("7782342274025937990") && printed.contains("no webhook"),
        "{printed}"
    );
    assert!(
        service
            .output()
            .contains("no webhook arrived for call 7782342274025937990"),
        "the sweep names the recovered call in its warning"
    );
}

#[tokio::test]
async fn fire_reports_a_service_that_refuses_its_signature() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sandbox, sandbox_url) = start_sandbox(&[]).await;
    let (_service, address) = start_service(dir.path(), &sandbox_url).await;
    let fired = Command::new(sandbox_binary())
        .args(["fire", "--call", "7782342274025937895", "--service"])
        .arg(format!("http://{address}/webhooks/gong"))
        .args(["--secret", "whsec_c29tZW9uZSBlbHNlJ3Mgc2VjcmV0IGtleQ=="])
        .output()
        .expect("fire runs");
    assert!(!fired.status.success());
    let printed = String::from_utf8_lossy(&fired.stdout);
    let complaint = String::from_utf8_lossy(&fired.stderr);
    assert!(printed.starts_with("401 "), "{printed}");
    assert!(complaint.contains("webhook.hmac_secret"), "{complaint}");
    assert!(
        !complaint.contains("c29tZW9uZSBlbHNl"),
        "the secret is not echoed"
    );
}

#[tokio::test]
async fn the_sandbox_answers_like_gong_and_salesforce_where_the_service_depends_on_it() {
    let public_url = "http://sandbox.test:8081";
    let (_sandbox, url) = start_sandbox(&[
        "--gong-requests-per-second",
        "1",
        "--public-url",
        public_url,
    ])
    .await;
    let http = reqwest::Client::new();
    let calls = format!("{url}/v2/calls/extensive");
    let wanted = json!({"filter": {"callIds": ["7782342274025937895"]}});

    let wrong = http
        .post(&calls)
        .basic_auth("sandbox-gong-access-key", Some("guess"))
        .json(&wanted)
        .send()
        .await
        .expect("answered");
    assert_eq!(wrong.status(), 401);
    let gong = |body: &Value| {
        http.post(&calls)
            .basic_auth(
                "sandbox-gong-access-key",
                Some("sandbox-gong-access-key-secret"),
            )
            .json(body)
            .send()
    };
    let first = gong(&wanted).await.expect("answered");
    assert_eq!(first.status(), 200);
    let page: Value = first.json().await.expect("JSON");
    assert_eq!(page["calls"][0]["metaData"]["id"], "7782342274025937895");
    let second = gong(&wanted).await.expect("answered");
    assert_eq!(second.status(), 429, "over the per-second limit");
    assert_eq!(
        second
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );

    let token: Value = http
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sandbox-connected-app"),
            ("client_secret", "sandbox-client-secret"),
        ])
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(token["instance_url"], public_url);
    let access_token = token["access_token"].as_str().expect("a token");
    let query = format!("{url}/services/data/v62.0/query");
    let soql = "SELECT Id, Main_Competitors__c FROM Opportunity WHERE Id IN ('0065g0000GlbxNBAAA')";
    let answer = http
        .get(&query)
        .bearer_auth(access_token)
        .query(&[("q", soql)])
        .send()
        .await
        .expect("answered");
    let usage = answer
        .headers()
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(usage.as_deref(), Some("api-usage=1/100000"));
    let found: Value = answer.json().await.expect("JSON");
    assert_eq!(found["records"][0]["Main_Competitors__c"], "Outreach");
    let revoked = http
        .get(&query)
        .bearer_auth("00Dnot-a-token")
        .query(&[("q", soql)])
        .send()
        .await
        .expect("answered");
    assert_eq!(revoked.status(), 401);
    let error: Value = revoked.json().await.expect("JSON");
    assert_eq!(error[0]["errorCode"], "INVALID_SESSION_ID");
}
