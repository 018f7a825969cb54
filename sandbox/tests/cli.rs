//! The sandbox's command line, run as the binary: what `fire` refuses before sending
//! anything. (tests/api/sandbox.rs, in the service's tests, runs the sandbox with the service.)

use std::process::{Command, Output};

const SANDBOX: &str = env!("CARGO_BIN_EXE_competitor-sync-sandbox");

/// `fire` with `args`, at a port where nothing listens: these runs must stop before sending.
fn fire(args: &[&str]) -> (Output, String) {
    let output = Command::new(SANDBOX)
        .args(["fire", "--service", "http://127.0.0.1:9/webhooks/gong"])
        .args(args)
        .env_remove("SANDBOX_WEBHOOK_SECRET")
        .output()
        .expect("the sandbox runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

#[test]
fn fire_names_the_seeded_calls_when_asked_for_another() {
    let (output, stderr) = fire(&["--call", "42"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing was sent");
    assert!(
        stderr.contains("--call names a call the sandbox does not have"),
        "{stderr}"
    );
    assert!(stderr.contains("7782342274025937895"), "{stderr}");
}

#[test]
fn fire_refuses_a_secret_that_is_not_a_standard_webhooks_one() {
    let (output, stderr) = fire(&["--secret", "not-base64!"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--secret is not a Standard Webhooks secret"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-base64!"), "the secret is not echoed");
}
