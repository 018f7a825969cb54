//! `competitor-sync-sandbox fire`: sends the seeded calls' webhooks to the service, as Gong
//! would after processing each call, signed with a Standard Webhooks secret.

use std::time::Duration;

use anyhow::{bail, Context};
use competitor_sync_stand_ins::seed;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::signing::{Signer, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub struct Delivery {
    /// The service's webhook URL.
    pub service: String,
    /// `whsec_...`, as the service's `webhook.hmac_secret`.
    pub secret: String,
    /// Only these calls; every seeded call when empty.
    pub calls: Vec<String>,
    /// Flag the webhooks `isTest: true`, as Gong's "Test now" does.
    pub test: bool,
}

pub async fn run(delivery: Delivery) -> anyhow::Result<()> {
    let signer =
        Signer::parse(&delivery.secret).map_err(|problem| anyhow::anyhow!("--secret {problem}"))?;
    let service = reqwest::Url::parse(&delivery.service)
        .with_context(|| format!("--service `{}` is not a URL", delivery.service))?;
    let shown = without_query(&service);
    let calls = seed::calls(OffsetDateTime::now_utc());
    let (selected, lost) = select(&calls, &delivery.calls)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .context("cannot set up an HTTP client")?;
    let mut refused = 0;
    for call in &selected {
        let (status, outcome) = send(&http, &signer, &service, &shown, call, delivery.test).await?;
        let outcome = match outcome {
            Ok(accepted) => accepted,
            Err(refusal) => {
                refused += 1;
                refusal
            }
        };
        println!(
            "{} {:<21} {:<40} {outcome}",
            status.as_u16(),
            seed::call_id(call),
            seed::call_title(call),
        );
    }
    for call in &lost {
        println!(
            "--- {:<21} {:<40} no webhook: its delivery was lost; the service's catch-up sweep finds it",
            seed::call_id(call),
            seed::call_title(call),
        );
    }
    if refused > 0 {
        bail!(
            "the service at {shown} refused {refused} of {} webhooks (is --secret the service's webhook.hmac_secret?)",
            selected.len()
        );
    }
    println!(
        "{} webhooks accepted by {shown}; the Opportunities change within seconds.",
        selected.len()
    );
    Ok(())
}

/// The URL as shown in messages: without its query string, which may carry a key.
fn without_query(service: &reqwest::Url) -> String {
    format!(
        "{}://{}{}",
        service.scheme(),
        service.host_str().unwrap_or_default(),
        service.port().map_or_else(
            || service.path().to_owned(),
            |p| format!(":{p}{}", service.path())
        )
    )
}

/// The calls to send (`wanted`, or every seeded call) and, without `wanted`, the seeded call
/// whose delivery Gong "lost", which gets no webhook.
fn select<'a>(
    calls: &'a [Value],
    wanted: &[String],
) -> anyhow::Result<(Vec<&'a Value>, Vec<&'a Value>)> {
    let (selected, lost): (Vec<&Value>, Vec<&Value>) = calls
        .iter()
        .filter(|call| wanted.is_empty() || wanted.iter().any(|id| id == seed::call_id(call)))
        .partition(|call| !wanted.is_empty() || seed::webhook_sent(seed::call_id(call)));
    if selected.len() < wanted.len() {
        let known: Vec<&str> = calls.iter().map(seed::call_id).collect();
        bail!(
            "--call names a call the sandbox does not have; its calls are {}",
            known.join(", ")
        );
    }
    Ok((selected, lost))
}

/// Sends one call's signed webhook to `service` (`shown` in messages): the answer's status,
/// and what the service said (`Ok` when it accepted the webhook, `Err` with its message when
/// it refused it).
async fn send(
    http: &reqwest::Client,
    signer: &Signer,
    service: &reqwest::Url,
    shown: &str,
    call: &Value,
    test: bool,
) -> anyhow::Result<(reqwest::StatusCode, Result<String, String>)> {
    let body = serde_json::to_vec(&json!({
        "isTest": test,
        "callData": seed::webhook_call_data(call),
    }))?;
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = signer.sign(&id, &timestamp, &body);
    let response = http
        .post(service.clone())
        .header("content-type", "application/json")
        .header(ID_HEADER, &id)
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach the service at {shown}: is it running?"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let outcome = if status.is_success() {
        Ok(format!(
            "{} (job {})",
            answer["delivery"].as_str().unwrap_or("accepted"),
            answer["job_id"].as_str().unwrap_or("?")
        ))
    } else {
        Err(answer["message"]
            .as_str()
            .map_or_else(|| "refused".to_owned(), str::to_owned))
    };
    Ok((status, outcome))
}
