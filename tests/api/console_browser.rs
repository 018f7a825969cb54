//! The console in a real browser (headless Chromium): an operator signs in, finds a dead job
//! by filter, opens it, retries it and sees it turn done, and reads the Opportunity's
//! history; a call title that is markup shows as text.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::browser::Browser;
use crate::console::ADMIN_TOKEN;
use crate::helpers::*;
use crate::sandbox::{opportunities, sandbox_binary, start_sandbox, start_service_with};

const XSS_TITLE: &str = "<script>alert(1)</script> Acme | Pricing";

#[tokio::test]
async fn an_operator_finds_a_dead_job_retries_it_and_reads_the_opportunitys_history() {
    let app = TestApp::builder()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    // Gong answers 404 once (the job dies), then knows the call.
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.gong)
        .await;
    let webhook = webhook_with(|call| call["metaData"]["title"] = Value::from(XSS_TITLE));
    let records = app.mount_happy_path_for(&webhook["callData"]).await;
    let dead = app.process(&webhook).await;
    assert_eq!(dead.status, competitor_sync::store::JobStatus::Dead);

    let browser = Browser::start().await;
    browser.goto(&app.url("/console")).await;
    browser.fill("#token", ADMIN_TOKEN).await;
    browser.click("form.card button[type=submit]").await;
    browser
        .wait_for_text("the overview", "main h1", |t| t == "Overview")
        .await;
    let dead_letters = browser.text("main ul.plain").await;
    assert!(
        dead_letters.contains(XSS_TITLE),
        "markup shown as text: {dead_letters}"
    );

    browser.goto(&app.url("/console/jobs")).await;
    browser.select("select[name=status]", "dead").await;
    browser.fill("input[name=q]", "not found").await;
    browser.click("form.filters button[type=submit]").await;
    browser.wait_for_url("q=not+found").await;
    let rows = browser
        .client
        .find_all(fantoccini::Locator::Css("table.jobs tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(browser
        .text("table.jobs tbody tr")
        .await
        .contains(XSS_TITLE));
    browser.click("table.jobs tbody tr td a").await;
    browser
        .wait_for_text("the dead job's page", "#job-status", |t| t == "dead")
        .await;

    browser.click("form[action$='/retry'] button").await;
    browser.wait_for_url("notice=queued").await;
    browser
        .reload_until("the retried job to be done", "#job-status", |s| s == "done")
        .await;
    let written = records.value(OPPORTUNITY).expect("written");

    browser
        .click(&format!("a[href='/console/opportunities/{OPPORTUNITY}']"))
        .await;
    let heading = format!("Opportunity {OPPORTUNITY}");
    browser
        .wait_for_text("the Opportunity's page", "main h1", |t| t == heading)
        .await;
    let history = browser.text("main section.card table").await;
    assert!(
        history.contains(&written) && history.contains(CALL_ID),
        "{history}"
    );
    browser.close().await;
}

/// The console against the sandbox after its demo, as `docs/console.md` shows it. The
/// screenshots go to the test's scratch folder, and with `UPDATE_CONSOLE_SCREENSHOTS=1` to
/// `docs/console/` too.
#[tokio::test]
async fn screenshots_of_the_console_after_the_sandbox_demo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sandbox, sandbox_url) = start_sandbox(&[]).await;
    let (_service, address) =
        start_service_with(dir.path(), &sandbox_url, &[("ADMIN__TOKEN", ADMIN_TOKEN)]).await;
    let fired = std::process::Command::new(sandbox_binary())
        .args(["fire", "--service"])
        .arg(format!("http://{address}/webhooks/gong"))
        .env_remove("SANDBOX_WEBHOOK_SECRET")
        .output()
        .expect("fire runs");
    assert!(fired.status.success());
    let http = reqwest::Client::new();
    eventually("the demo's Opportunities", WAIT, || async {
        let list = opportunities(&http, &sandbox_url).await;
        let written = list
            .iter()
            .filter(|o| o["api_writes"].as_u64() > Some(0))
            .count();
        (written == 7).then_some(())
    })
    .await;

    let console = format!("http://{address}/console");
    let browser = Browser::start().await;
    browser.goto(&console).await;
    browser.fill("#token", ADMIN_TOKEN).await;
    browser.click("form.card button[type=submit]").await;
    browser
        .wait_for_text("the overview", "main", |t| {
            t.contains("Gong requests today")
        })
        .await;
    let mut shots = vec![("console-overview.png", browser.screenshot().await)];
    browser.goto(&format!("{console}/jobs")).await;
    assert!(browser
        .text("table.jobs")
        .await
        .contains("Initech | Technical deep dive"));
    shots.push(("console-jobs.png", browser.screenshot().await));
    browser
        .goto(&format!("{console}/jobs?call_id=7782342274025937913"))
        .await;
    browser.click("table.jobs tbody tr td a").await;
    browser
        .wait_for_text("the job's page", "#job-status", |t| t == "done")
        .await;
    shots.push(("console-job.png", browser.screenshot().await));
    // A phone's width: the filters stack and the table scrolls sideways within the page.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("resized");
    browser.goto(&format!("{console}/jobs?status=done")).await;
    shots.push(("console-jobs-phone.png", browser.screenshot().await));
    browser.close().await;

    let mut folders = vec![std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console")];
    if std::env::var_os("UPDATE_CONSOLE_SCREENSHOTS").is_some_and(|v| v == "1") {
        folders.push(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console"));
    }
    for (name, png) in &shots {
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        for folder in &folders {
            std::fs::create_dir_all(folder).expect("screenshot folder");
            std::fs::write(folder.join(name), png).expect("screenshot written");
        }
    }
}
