//! `competitor-sync check`: the configuration, then the outside world, one line per check.

use std::fmt::Write;

use competitor_sync::app::http_client;
use competitor_sync::config::{Settings, StoreUrl};
use competitor_sync::gong::GongClient;
use competitor_sync::salesforce::SalesforceClient;
use competitor_sync::store::Store;
use competitor_sync::sync::{FieldKind, Rule, RuleTarget, COMPETITOR_ROWS, ROW_NAME_FIELD};

/// One check's verdict: what passed, or what failed and how to fix it.
struct Verdict {
    name: String,
    outcome: Result<String, (String, &'static str)>,
}

impl Verdict {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            outcome: Ok(detail.into()),
        }
    }

    fn fail(name: impl Into<String>, problem: impl ToString, fix: &'static str) -> Self {
        Self {
            name: name.into(),
            outcome: Err((problem.to_string(), fix)),
        }
    }
}

/// What to look at when the store cannot be opened, or opened but not written.
struct StoreHint {
    open: &'static str,
    commit: &'static str,
}

fn store_hint(url: &StoreUrl) -> StoreHint {
    if url.is_postgres() {
        StoreHint {
            open: "check store.url (host, port, database, user; the password from the URL or \
                   PGPASSWORD) and that the PostgreSQL server is up and reachable from here",
            commit: "check that store.url's user may write its database and the server's free \
                     disk space",
        }
    } else {
        StoreHint {
            open: "check store.url and that its directory can be created",
            commit: "check the path's permissions and free disk space (store.url)",
        }
    }
}

/// Runs every check; returns the report and whether all passed.
pub async fn run(settings: &Settings) -> (String, bool) {
    let mut verdicts = vec![Verdict::pass("configuration", "loaded and valid")];
    verdicts.push(webhook_authentication(settings));
    let store = match competitor_sync::app::open_store(&settings.store).await {
        Ok(store) => {
            verdicts.push(match store.probe_commit().await {
                Ok(()) => Verdict::pass(
                    "store",
                    format!("{} is writable", settings.store.url.redacted()),
                ),
                Err(e) => Verdict::fail("store", e, store_hint(&settings.store.url).commit),
            });
            Some(store)
        }
        Err(e) => {
            verdicts.push(Verdict::fail(
                "store",
                e,
                store_hint(&settings.store.url).open,
            ));
            None
        }
    };
    verdicts.push(gong(settings).await);
    if let Some(store) = &store {
        verdicts.extend(salesforce(settings, store.clone()).await);
        store.close().await;
    }
    let passed = verdicts.iter().all(|v| v.outcome.is_ok());
    let mut report = String::new();
    for verdict in &verdicts {
        let _ = match &verdict.outcome {
            Ok(detail) => writeln!(report, "✓ {}: {detail}", verdict.name),
            Err((problem, fix)) => {
                writeln!(report, "✗ {}: {problem}\n    fix: {fix}", verdict.name)
            }
        };
    }
    (report, passed)
}

fn webhook_authentication(settings: &Settings) -> Verdict {
    let name = "webhook authentication";
    let webhook = &settings.webhook;
    let mut methods = Vec::new();
    if webhook.token.is_some() {
        methods.push("token".to_owned());
    }
    if !webhook.gong_public_keys.is_empty() {
        methods.push(format!(
            "Gong signed JWT ({} key(s))",
            webhook.gong_public_keys.len()
        ));
    }
    if !webhook.hmac_secrets.is_empty() {
        methods.push(format!(
            "Standard Webhooks ({} secret(s))",
            webhook.hmac_secrets.len()
        ));
    }
    if methods.is_empty() {
        return Verdict::fail(
            name,
            "none: webhook.allow_unauthenticated lets anyone enqueue work",
            "set COMPETITOR_SYNC__WEBHOOK__TOKEN or a signing method before exposing the URL",
        );
    }
    Verdict::pass(name, methods.join(", "))
}

async fn gong(settings: &Settings) -> Verdict {
    let name = "Gong credentials";
    let http = match http_client(settings.gong.request_timeout) {
        Ok(http) => http,
        Err(e) => return Verdict::fail(name, e, "this machine's TLS setup"),
    };
    match GongClient::new(&settings.gong, http).check_credentials().await {
        Ok(()) => Verdict::pass(name, format!("accepted by {}", settings.gong.base_url)),
        Err(e) => Verdict::fail(
            name,
            e,
            "check gong.access_key, gong.access_key_secret and gong.base_url (Company settings -> API in Gong)",
        ),
    }
}

/// The token, then each rule's target: a field (exists, updateable, its type, how long a
/// value may be or how many values a picklist offers) or the related list (creatable).
async fn salesforce(settings: &Settings, store: Store) -> Vec<Verdict> {
    let name = "Salesforce token";
    let http = match http_client(settings.salesforce.request_timeout) {
        Ok(http) => http,
        Err(e) => return vec![Verdict::fail(name, e, "this machine's TLS setup")],
    };
    let shared = std::sync::Arc::new(store);
    let client = SalesforceClient::new(&settings.salesforce, http, shared.clone(), shared);
    let instance = match client.instance_url().await {
        Ok(instance) => instance,
        Err(e) => {
            return vec![Verdict::fail(
                name,
                e,
                "check salesforce.login_url (client credentials need the My Domain host) and the flow's credentials",
            )]
        }
    };
    let mut verdicts = vec![Verdict::pass(name, format!("issued for {instance}"))];
    let mut checked: Vec<(String, String)> = Vec::new();
    for rule in settings.sync.effective_rules() {
        // A tracker rule and a transcript rule may share a target: check it once.
        let target = (
            rule.object.to_ascii_lowercase(),
            rule.written_field().to_ascii_lowercase(),
        );
        if !checked.contains(&target) {
            verdicts.push(target_verdict(&client, &rule).await);
            checked.push(target);
        }
    }
    verdicts
}

/// What the describe says of one rule's target.
async fn target_verdict(client: &SalesforceClient, rule: &Rule) -> Verdict {
    let (object, field) = match rule.target() {
        RuleTarget::CompetitorRows => {
            let name = format!("object {COMPETITOR_ROWS}");
            return match client.creatable_rows().await {
                Ok(rows) => Verdict::pass(
                    name,
                    match rows.name_max_chars {
                        Some(max) => format!("createable, {ROW_NAME_FIELD} up to {max} characters"),
                        None => "createable".to_owned(),
                    },
                ),
                Err(e) => Verdict::fail(
                    name,
                    e,
                    "give the integration user Create on Opportunity Competitors (object and field permissions)",
                ),
            };
        }
        RuleTarget::Field { object, field } => (object, field),
    };
    let name = format!("field {object}.{field}");
    match client.writable_field(object, field).await {
        Ok(described) => {
            let what = match (&described.shape.kind, described.shape.max_chars) {
                (FieldKind::Picklist { values, .. }, _) => {
                    format!("{}, {} active values", described.type_name, values.len())
                }
                (FieldKind::Text, Some(max)) => {
                    format!("{}, up to {max} characters", described.type_name)
                }
                (FieldKind::Text, None) => described.type_name.clone(),
            };
            Verdict::pass(name, format!("{what}, updateable"))
        }
        Err(e) => Verdict::fail(
            name,
            e,
            "check the rule's field API name, and the integration user's field-level security",
        ),
    }
}
