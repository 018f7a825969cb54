//! The store on a real filesystem that fills up: a small tmpfs. Mounting needs root, as
//! `.ci/run` and the development machines have; elsewhere the test fails saying so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use competitor_sync::store::JobStatus;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

/// A tmpfs of a few MiB on a temporary directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "this test mounts a {size} tmpfs to fill it up, which needs root (as .ci/run has)"
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem refuses more; returns it (delete it to free space).
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..512]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn test_delivery(n: u32) -> Value {
    json!({"isTest": true, "callData": {"metaData": {"id": format!("{}", 900_000 + n)}}})
}

#[tokio::test]
async fn a_full_disk_refuses_webhooks_until_space_is_back_and_finishes_the_jobs_it_interrupted() {
    let disk = SmallDisk::mount("12m");
    let app = TestApp::builder()
        .with(
            "STORE__URL",
            &format!("sqlite://{}/jobs.db", disk.path().display()),
        )
        .spawn()
        .await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    // Salesforce takes its time: the disk fills up while the write is on its way.
    Mock::given(method("PATCH"))
        .and(path(COLLECTIONS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": OPPORTUNITY, "success": true, "errors": []}]))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&app.salesforce)
        .await;
    let written = app.accept(&fixture("gong_webhook.json")).await;
    eventually("the Salesforce write to be sent", WAIT, || async {
        (!app.collection_updates().await.is_empty()).then_some(())
    })
    .await;

    let filler = disk.fill();
    let mut refused = None;
    for n in 0..2_000 {
        let response = app.post_webhook(&test_delivery(n)).await;
        if response.status() != 202 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a webhook is refused once the disk is full");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.expect("JSON error");
    assert_eq!(body["error"], "unavailable", "{body}");

    let response = app.get("/readyz").await;
    assert_eq!(
        response.status(),
        503,
        "not ready while the store cannot commit"
    );
    let readiness: Value = response.json().await.expect("JSON");
    let reason = readiness["checks"]["store"].as_str().unwrap_or_default();
    assert!(reason.contains("full"), "{readiness}");

    // Let Salesforce answer while the disk is still full: recording the write fails.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    std::fs::remove_file(filler).expect("space freed");

    let response = app.post_webhook(&test_delivery(5_000)).await;
    assert_eq!(response.status(), 202, "accepted again without a restart");
    let job = app.finished_job(&written).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(
        app.collection_updates().await.len(),
        1,
        "the write is recorded, not sent again"
    );
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}
