//! Loading whole configurations: defaults, a file and variables, and what each refuses.

use std::path::PathBuf;

use super::*;
use crate::sync::{Rule, WriteMode};

/// The required secrets as variables, with `pairs` added.
pub(super) fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("COMPETITOR_SYNC__WEBHOOK__TOKEN", "0123456789abcdef0123"),
        ("COMPETITOR_SYNC__GONG__ACCESS_KEY", "key"),
        ("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET", "secret"),
        ("COMPETITOR_SYNC__SALESFORCE__CLIENT_ID", "client"),
        ("COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET", "sf-secret"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

fn error_for(pairs: &[(&str, &str)]) -> String {
    Settings::load_from(None, Some(env(pairs)))
        .expect_err("configuration should be rejected")
        .to_string()
}

#[test]
fn defaults_plus_required_secrets_load() {
    let settings = Settings::load_from(None, Some(env(&[]))).expect("valid configuration");
    assert_eq!(settings.server.bind.port(), 8080);
    assert_eq!(settings.salesforce.api_version, "v62.0");
    assert_eq!(settings.sync.effective_rules(), vec![Rule::default()]);
    assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
}

#[test]
fn environment_overrides_nested_keys() {
    let settings = Settings::load_from(
        None,
        Some(env(&[(
            "COMPETITOR_SYNC__GONG__BASE_URL",
            "https://us-12345.api.gong.io",
        )])),
    )
    .expect("valid configuration");
    assert_eq!(settings.gong.base_url, "https://us-12345.api.gong.io");
}

#[test]
fn missing_secret_names_the_key_and_variable() {
    let mut vars = env(&[]);
    vars.remove("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET");
    let message = Settings::load_from(None, Some(vars))
        .unwrap_err()
        .to_string();
    assert!(message.contains("gong.access_key_secret"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET"),
        "{message}"
    );
}

#[test]
fn refuses_to_start_without_webhook_authentication() {
    let mut vars = env(&[]);
    vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
    let message = Settings::load_from(None, Some(vars))
        .unwrap_err()
        .to_string();
    assert!(message.contains("webhook.token"), "{message}");
    assert!(message.contains("allow_unauthenticated"), "{message}");

    let mut vars = env(&[("COMPETITOR_SYNC__WEBHOOK__ALLOW_UNAUTHENTICATED", "true")]);
    vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
    assert!(Settings::load_from(None, Some(vars)).is_ok());
}

#[test]
fn invalid_values_name_their_key() {
    assert!(error_for(&[("COMPETITOR_SYNC__SERVER__BIND", "not-an-address")]).contains("bind"));
    assert!(
        error_for(&[("COMPETITOR_SYNC__SERVER__HEADER_READ_TIMEOUT", "0s")])
            .contains("server.header_read_timeout")
    );
    assert!(error_for(&[("COMPETITOR_SYNC__GONG__BASE_URL", "ftp://x")]).contains("gong.base_url"));
    assert!(error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "password")]).contains("auth"));
    assert!(
        error_for(&[("COMPETITOR_SYNC__SALESFORCE__API_VERSION", "62")])
            .contains("salesforce.api_version")
    );
    assert!(error_for(&[("COMPETITOR_SYNC__WEBHOOK__TOKEN", "short")]).contains("webhook.token"));
    assert!(
        error_for(&[("COMPETITOR_SYNC__WORKER__CONCURRENCY", "0")]).contains("worker.concurrency")
    );
    assert!(error_for(&[("COMPETITOR_SYNC__RETRY__MAX_DELAY", "1s")]).contains("retry.base_delay"));
    assert!(
        error_for(&[("COMPETITOR_SYNC__SWEEP__MIN_AGE", "3d")]).contains("sweep.lookback"),
        "the window would be empty"
    );
    assert!(error_for(&[("COMPETITOR_SYNC__SWEEP__SCOPE", "Everyone")]).contains("sweep.scope"));
    assert!(error_for(&[("COMPETITOR_SYNC__SWEEP__RESERVE", "lots")]).contains("sweep.reserve"));
}

#[test]
fn each_auth_flow_requires_its_own_keys() {
    let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "jwt_bearer")]);
    assert!(message.contains("salesforce.username"), "{message}");
    let message = error_for(&[
        ("COMPETITOR_SYNC__SALESFORCE__AUTH", "jwt_bearer"),
        (
            "COMPETITOR_SYNC__SALESFORCE__USERNAME",
            "integration@acme.example",
        ),
    ]);
    assert!(message.contains("salesforce.private_key"), "{message}");
    let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "refresh_token")]);
    assert!(message.contains("salesforce.refresh_token"), "{message}");
}

#[test]
fn rules_come_from_a_file_and_are_validated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(
        &path,
        r#"
[[sync.rules]]
tracker = "Competitors"
mode = "merge"

[[sync.rules]]
tracker = "Pricing"
field = "Pricing_Topics__c"
separator = "; "
"#,
    )
    .expect("write config");
    let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid rules");
    let rules = settings.sync.effective_rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].mode, WriteMode::Merge);
    assert_eq!(rules[0].written_field(), "Main_Competitors__c");
    assert_eq!(rules[1].separator, "; ");

    std::fs::write(&path, "[[sync.rules]]\nfield = \"Bad Field'\"\n").expect("write config");
    let message = Settings::load_from(Some(&path), Some(env(&[])))
        .unwrap_err()
        .to_string();
    assert!(message.contains("sync.rules[0].field"), "{message}");

    std::fs::write(
        &path,
        "[[sync.rules]]\n[[sync.rules]]\ntracker = \"Other\"\n",
    )
    .expect("write config");
    let message = Settings::load_from(Some(&path), Some(env(&[])))
        .unwrap_err()
        .to_string();
    assert!(message.contains("sync.rules[1].field"), "{message}");
}

#[test]
fn secrets_in_a_config_file_are_warned_about() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("prod.toml");
    std::fs::write(
        &path,
        "[gong]\naccess_key_secret = \"oops\"\nbase_url = \"https://api.gong.io\"\n",
    )
    .expect("write config");
    let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid");
    assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
    assert!(settings.warnings[0].contains("gong.access_key_secret"));
    assert!(settings.warnings[0].contains("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET"));
    assert!(!settings.warnings[0].contains("oops"));
    assert!(Settings::load_from(None, Some(env(&[])))
        .expect("valid")
        .warnings
        .is_empty());
}

/// A Gong webhook rule's public key as Gong shows it: base64 DER on one line.
fn gong_key() -> String {
    fixture_text("jwt_test_key.pub.pem")
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

const HMAC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn key_lists_come_from_a_file_or_a_comma_separated_variable() {
    let settings = Settings::load_from(
        None,
        Some(env(&[
            (
                "COMPETITOR_SYNC__WEBHOOK__GONG_PUBLIC_KEY",
                &format!("{}, {}", gong_key(), gong_key()),
            ),
            ("COMPETITOR_SYNC__WEBHOOK__HMAC_SECRET", HMAC_SECRET),
        ])),
    )
    .expect("valid");
    assert_eq!(settings.webhook.gong_public_keys.len(), 2);
    assert_eq!(settings.webhook.hmac_secrets.len(), 1);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.toml");
    let pem = fixture_text("jwt_test_key.pub.pem").replace('\n', "\\n");
    std::fs::write(
        &path,
        format!(
            "[webhook]\ngong_public_key = [\"{}\", \"{}\", \"{pem}\"]\n",
            gong_key(),
            gong_key()
        ),
    )
    .expect("write config");
    let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid");
    assert_eq!(settings.webhook.gong_public_keys.len(), 3);
}

#[test]
fn a_signing_method_alone_is_enough_authentication() {
    let mut vars = env(&[("COMPETITOR_SYNC__WEBHOOK__HMAC_SECRET", HMAC_SECRET)]);
    vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
    assert!(Settings::load_from(None, Some(vars)).is_ok());
}

#[test]
fn malformed_keys_stop_start_up_naming_the_entry() {
    let message = error_for(&[(
        "COMPETITOR_SYNC__WEBHOOK__GONG_PUBLIC_KEY",
        &format!("{}, nope", gong_key()),
    )]);
    assert!(message.contains("webhook.gong_public_key[1]"), "{message}");
    assert!(message.contains("is not an RSA public key"), "{message}");
    let message = error_for(&[("COMPETITOR_SYNC__WEBHOOK__HMAC_SECRET", "whsec_***")]);
    assert!(message.contains("webhook.hmac_secret[0]"), "{message}");
    assert!(!message.contains("***"), "{message}");

    let (_dir, path) = config_file("[webhook]\nhmac_secret = [\"whsec_c2hvcnQ=\"]\n");
    let message = file_error(&path);
    assert!(message.contains("webhook.hmac_secret[0]"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("is too short"), "{message}");
}

#[test]
fn unknown_keys_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "[gong]\nacess_key = \"x\"\n").expect("write config");
    let message = Settings::load_from(Some(&path), Some(env(&[])))
        .unwrap_err()
        .to_string();
    assert!(message.contains("acess_key"), "{message}");
}

/// A config file holding `text`, in a directory removed when the guard drops.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

fn file_error(path: &Path) -> String {
    Settings::load_from(Some(path), Some(env(&[])))
        .expect_err("configuration should be rejected")
        .to_string()
}

#[test]
fn a_syntax_error_names_the_file_line_and_key_but_not_the_secret() {
    for (text, secret) in [
        (
            "[webhook]\ntoken = \"s3cret-value-here-123\n",
            "s3cret-value-here-123",
        ),
        ("[webhook]\ntoken = s3cret-value\n", "s3cret-value"),
    ] {
        let (_dir, path) = config_file(text);
        let message = file_error(&path);
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("webhook.token"), "{message}");
        assert!(!message.contains(secret), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }
}

#[test]
fn a_variable_of_the_wrong_type_is_named_but_not_echoed() {
    let secret = "some-secret-looking-value";
    let message = error_for(&[("COMPETITOR_SYNC__SYNC__DRY_RUN", secret)]);
    assert!(message.contains("sync.dry_run"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__SYNC__DRY_RUN"),
        "{message}"
    );
    assert!(message.contains("expected a boolean"), "{message}");
    assert!(!message.contains(secret), "{message}");
}

#[test]
fn a_bad_duration_or_address_variable_is_named_but_not_echoed() {
    let secret = "ten-secret-seconds";
    let message = error_for(&[("COMPETITOR_SYNC__SERVER__REQUEST_TIMEOUT", secret)]);
    assert!(message.contains("server.request_timeout"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__SERVER__REQUEST_TIMEOUT"),
        "{message}"
    );
    assert!(message.contains("expected a duration"), "{message}");
    assert!(!message.contains(secret), "{message}");

    let secret = "secret-host-name:80x";
    let message = error_for(&[("COMPETITOR_SYNC__SERVER__BIND", secret)]);
    assert!(message.contains("server.bind"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__SERVER__BIND"),
        "{message}"
    );
    assert!(message.contains("socket address"), "{message}");
    assert!(!message.contains("secret-host"), "{message}");
}

#[test]
fn an_unknown_choice_is_named_but_not_echoed() {
    let secret = "Password-Flow-Secret";
    let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", secret)]);
    assert!(message.contains("salesforce.auth"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__SALESFORCE__AUTH"),
        "{message}"
    );
    assert!(
        !message.to_lowercase().contains("password-flow"),
        "{message}"
    );
}

#[test]
fn a_file_value_of_the_wrong_type_names_file_line_and_key_but_not_the_value() {
    let (_dir, path) = config_file("[server]\nmax_body_bytes = \"lots-of-secret\"\n");
    let message = file_error(&path);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("server.max_body_bytes"), "{message}");
    assert!(message.contains("expected an integer"), "{message}");
    assert!(!message.contains("lots-of-secret"), "{message}");

    let (_dir, path) = config_file("[[sync.rules]]\nmode = \"secret-mode\"\n");
    let message = file_error(&path);
    assert!(message.contains("sync.rules[0].mode"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("secret-mode"), "{message}");
}

#[test]
fn a_store_setting_of_the_wrong_type_names_its_key() {
    let (_dir, path) = config_file("[store]\n\nmax_queued = \"many-secret-jobs\"\n");
    let message = Settings::load_store(Some(&path))
        .expect_err("a string is not a count")
        .to_string();
    assert!(message.contains("store.max_queued"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    assert!(!message.contains("many-secret-jobs"), "{message}");
}

#[test]
fn a_url_that_is_not_http_is_not_echoed() {
    let message = error_for(&[(
        "COMPETITOR_SYNC__WEBHOOK__PUBLIC_URL",
        "ftp://sync.example.com/webhooks/gong?key=url-secret-token-42",
    )]);
    assert!(message.contains("webhook.public_url"), "{message}");
    assert!(
        message.contains("COMPETITOR_SYNC__WEBHOOK__PUBLIC_URL"),
        "{message}"
    );
    assert!(!message.contains("url-secret-token-42"), "{message}");
}

#[test]
fn debug_output_redacts_secrets() {
    let settings = Settings::load_from(None, Some(env(&[]))).expect("valid configuration");
    let debug = format!("{settings:?}");
    assert!(!debug.contains("sf-secret"), "{debug}");
    assert!(!debug.contains("0123456789abcdef0123"), "{debug}");
}

fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

const JWT_BEARER: [(&str, &str); 2] = [
    ("COMPETITOR_SYNC__SALESFORCE__AUTH", "jwt_bearer"),
    (
        "COMPETITOR_SYNC__SALESFORCE__USERNAME",
        "integration@acme.example",
    ),
];

#[test]
fn a_bad_jwt_bearer_key_fails_at_load_time_naming_its_key() {
    let pem = "-----BEGIN PRIVATE KEY-----\nnot-a-key-but-a-secret\n-----END PRIVATE KEY-----";
    let message = error_for(&[
        JWT_BEARER[0],
        JWT_BEARER[1],
        ("COMPETITOR_SYNC__SALESFORCE__PRIVATE_KEY", pem),
    ]);
    assert!(message.contains("salesforce.private_key"), "{message}");
    assert!(message.contains("is not an RSA private key"), "{message}");
    assert!(!message.contains("not-a-key-but-a-secret"), "{message}");

    let (_dir, key_file) = config_file("not a key either");
    let message = error_for(&[
        JWT_BEARER[0],
        JWT_BEARER[1],
        (
            "COMPETITOR_SYNC__SALESFORCE__PRIVATE_KEY_FILE",
            &key_file.display().to_string(),
        ),
    ]);
    assert!(message.contains("salesforce.private_key_file"), "{message}");
    assert!(message.contains("is not an RSA private key"), "{message}");

    let missing = key_file.with_file_name("absent.pem");
    let message = error_for(&[
        JWT_BEARER[0],
        JWT_BEARER[1],
        (
            "COMPETITOR_SYNC__SALESFORCE__PRIVATE_KEY_FILE",
            &missing.display().to_string(),
        ),
    ]);
    assert!(message.contains("salesforce.private_key_file"), "{message}");
    assert!(message.contains("cannot be read"), "{message}");
}

#[test]
fn each_auth_flow_arrives_with_its_credentials() {
    let settings = Settings::load_from(None, Some(env(&[]))).expect("valid");
    assert_eq!(
        settings.gong.credentials.access_key_secret.expose_secret(),
        "secret"
    );
    assert!(matches!(
        &settings.salesforce.auth,
        SalesforceAuth::ClientCredentials { client_id, client_secret }
            if client_id == "client" && client_secret.expose_secret() == "sf-secret"
    ));

    // A literal "\n" stands for a newline, as an environment variable holds a PEM key.
    let pem = fixture_text("jwt_test_key.pem").replace('\n', "\\n");
    let settings = Settings::load_from(
        None,
        Some(env(&[
            JWT_BEARER[0],
            JWT_BEARER[1],
            ("COMPETITOR_SYNC__SALESFORCE__PRIVATE_KEY", &pem),
        ])),
    )
    .expect("valid");
    assert!(matches!(
        &settings.salesforce.auth,
        SalesforceAuth::JwtBearer { username, audience, .. }
            if username == "integration@acme.example" && audience == "https://login.salesforce.com"
    ));
    assert!(
        !format!("{settings:?}").contains("MII"),
        "no part of the key"
    );

    let settings = Settings::load_from(
        None,
        Some(env(&[
            ("COMPETITOR_SYNC__SALESFORCE__AUTH", "refresh_token"),
            ("COMPETITOR_SYNC__SALESFORCE__REFRESH_TOKEN", "refresh-me"),
            ("COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET", ""),
        ])),
    )
    .expect("valid");
    assert!(matches!(
        &settings.salesforce.auth,
        SalesforceAuth::RefreshToken { client_secret: None, refresh_token, .. }
            if refresh_token.expose_secret() == "refresh-me"
    ));
}

#[test]
fn a_store_url_this_build_cannot_open_stops_start_up_without_its_password() {
    let message = error_for(&[(
        "COMPETITOR_SYNC__STORE__URL",
        "mysql://sync:hunter2-secret@db.internal/jobs",
    )]);
    assert!(message.contains("store.url"), "{message}");
    assert!(message.contains("COMPETITOR_SYNC__STORE__URL"), "{message}");
    assert!(message.contains("`mysql` is not supported"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let (_dir, path) = config_file("[store]\nurl = \"mysql://sync:hunter2-secret@db/jobs\"\n");
    let message = Settings::load_store(Some(&path))
        .expect_err("not a store this build opens")
        .to_string();
    assert!(message.contains("store.url"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let (_dir, path) = config_file("[store]\nurl = \"sqlite://jobs/here.db\"\n");
    let store = Settings::load_store(Some(&path)).expect("a sqlite URL");
    assert_eq!(store.url.expose(), "sqlite://jobs/here.db");
    assert_eq!(store.url.redacted(), "sqlite://jobs/here.db");
}
