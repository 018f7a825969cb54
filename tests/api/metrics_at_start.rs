//! Series whose labels are a fixed set are exported from start-up, at zero, so alerts and
//! `rate()` work from the first scrape rather than from the first event.

use crate::helpers::*;

#[tokio::test]
async fn fixed_series_are_exported_before_any_webhook_or_job() {
    // The recorder is shared by every test in this binary: only presence is asserted.
    let app = TestApp::spawn().await;
    let metrics = app.metrics_text().await;
    let mut expected: Vec<String> = [
        "accepted",
        "joined",
        "duplicate",
        "invalid",
        "unauthorized",
        "too_large",
        "unavailable",
        "error",
    ]
    .iter()
    .map(|outcome| format!("competitor_sync_webhooks_received_total{{outcome=\"{outcome}\"}} "))
    .collect();
    expected.extend(
        ["synced", "skipped", "failed", "dry_run"]
            .iter()
            .map(|outcome| {
                format!("competitor_sync_jobs_completed_total{{outcome=\"{outcome}\"}} ")
            }),
    );
    expected.extend(
        [
            "competitor_sync_job_retries_total ",
            "competitor_sync_job_duration_seconds_count ",
            "competitor_sync_salesforce_paused ",
        ]
        .map(str::to_owned),
    );
    let missing: Vec<&String> = expected
        .iter()
        .filter(|series| {
            !metrics
                .lines()
                .any(|line| line.starts_with(series.as_str()))
        })
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in\n{metrics}");
    app.stop().await;
}
