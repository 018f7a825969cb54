//! The Gong client against wiremock: paging, batching, the shared limit, error classes and
//! transcripts.

use std::num::NonZeroU32;

use serde_json::Value;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::config::GongCredentials;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn client(server: &MockServer) -> GongClient {
    client_at(server, 100)
}

fn client_at(server: &MockServer, requests_per_second: u32) -> GongClient {
    let settings = GongSettings {
        base_url: server.uri(),
        credentials: GongCredentials {
            access_key: SecretString::from("key"),
            access_key_secret: SecretString::from("secret"),
        },
        request_timeout: Duration::from_secs(5),
        requests_per_second: NonZeroU32::new(requests_per_second).expect("non-zero"),
        daily_limit: NonZeroU32::new(10_000).expect("non-zero"),
        batch_size: 100,
    };
    GongClient::new(&settings, reqwest::Client::new())
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn pages_are_followed_through_the_cursor() {
    let server = MockServer::start().await;
    let first = fixture("gong_calls_extensive_page_with_cursor.json");
    let cursor = first["records"]["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let mut second = fixture("gong_calls_extensive_one.json");
    second["calls"][0]["metaData"]["id"] = json!("7782342274025937897");
    Mock::given(method("POST"))
        .and(path("/v2/calls/extensive"))
        .and(body_partial_json(json!({ "cursor": cursor })))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/calls/extensive"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(1)
        .mount(&server)
        .await;
    let wanted = ids(&[
        "7782342274025937895",
        "7782342274025937896",
        "7782342274025937897",
    ]);
    let batch = client(&server)
        .fetch_calls(&wanted, 100, CallParts::default())
        .await
        .expect("fetched");
    let mut found: Vec<&String> = batch.calls.keys().collect();
    found.sort();
    assert_eq!(found, wanted.iter().collect::<Vec<_>>());
    let requests = server.received_requests().await.unwrap_or_default();
    let second_body: Value = serde_json::from_slice(&requests[1].body).expect("JSON");
    assert_eq!(
        second_body["filter"]["callIds"],
        json!(wanted),
        "same filter on every page"
    );
    // The call without context still parses, with an empty context.
    assert!(batch.calls["7782342274025937896"].context.is_empty());
}

#[tokio::test]
async fn transcripts_follow_their_cursor_and_join_each_calls_sentences() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/calls/extensive"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("gong_calls_extensive_one.json")),
        )
        .mount(&server)
        .await;
    let monologue = |speaker: &str, text: &str| {
        json!({"speakerId": speaker, "topic": null,
               "sentences": [{"start": 0, "end": 900, "text": text}]})
    };
    Mock::given(method("POST"))
        .and(path("/v2/calls/transcript"))
        .and(body_partial_json(json!({ "cursor": "page-2" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": {"totalRecords": 2, "currentPageSize": 1, "currentPageNumber": 1},
            "callTranscripts": [{"callId": "1", "transcript": [monologue("9", "Elsewhere.")]}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/calls/transcript"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": {"totalRecords": 2, "currentPageSize": 1, "currentPageNumber": 0,
                        "cursor": "page-2"},
            "callTranscripts": [{"callId": "7782342274025937895", "transcript": [
                monologue("8432345678555530012", "We looked at Clari."),
                monologue("6432345678555530067", "Unlike Gong, we coach.")
            ]}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let parts = CallParts {
        transcripts: true,
        ..CallParts::default()
    };
    let batch = client(&server)
        .fetch_calls(&ids(&["7782342274025937895"]), 100, parts)
        .await
        .expect("fetched");
    let transcript = batch.calls["7782342274025937895"]
        .transcript
        .clone()
        .expect("a transcript");
    let said: Vec<(&str, &str)> = transcript
        .iter()
        .map(|s| (s.speaker_id.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("8432345678555530012", "We looked at Clari."),
            ("6432345678555530067", "Unlike Gong, we coach.")
        ]
    );
    let requests = server.received_requests().await.unwrap_or_default();
    let second: Value = serde_json::from_slice(&requests[2].body).expect("JSON");
    assert_eq!(
        second,
        json!({"filter": {"callIds": ["7782342274025937895"]}, "cursor": "page-2"})
    );
}

#[tokio::test]
async fn ids_are_sent_in_chunks_of_the_batch_size() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"calls": []})))
        .expect(3)
        .mount(&server)
        .await;
    let wanted: Vec<String> = (0..5).map(|n| n.to_string()).collect();
    let batch = client(&server)
        .fetch_calls(&wanted, 2, CallParts::default())
        .await
        .expect("fetched");
    assert!(batch.calls.is_empty());
    assert!(
        batch.not_found.is_empty(),
        "absent from a 200 is not 'not found'"
    );
}

#[tokio::test]
async fn a_404_marks_every_id_of_the_request_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .mount(&server)
        .await;
    let wanted = ids(&["1", "2"]);
    let batch = client(&server)
        .fetch_calls(&wanted, 100, CallParts::default())
        .await
        .expect("a 404 is an answer");
    assert_eq!(batch.not_found.len(), 2);
}

/// Answers 429 (`Retry-After: 1`) to the first request and an empty page after, noting
/// when each request arrived.
#[derive(Clone, Default)]
struct LimitedOnce {
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl wiremock::Respond for LimitedOnce {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().expect("lock");
        arrivals.push(std::time::Instant::now());
        if arrivals.len() == 1 {
            ResponseTemplate::new(429).insert_header("retry-after", "1")
        } else {
            ResponseTemplate::new(200).set_body_json(json!({"calls": []}))
        }
    }
}

#[tokio::test]
async fn a_429_holds_requests_that_had_already_taken_their_slot() {
    let server = MockServer::start().await;
    let gong_answers = LimitedOnce::default();
    Mock::given(method("POST"))
        .respond_with(gong_answers.clone())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/store.db", dir.path().display());
    let store = crate::store::Store::connect(&url).await.expect("store");
    let gong = std::sync::Arc::new(client_at(&server, 10).sharing_limits_through(Arc::new(store)));
    // Four requests at once: three wait for their slots while the first meets the 429.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..4 {
        let gong = std::sync::Arc::clone(&gong);
        tasks.spawn(async move {
            gong.fetch_calls(&ids(&[&n.to_string()]), 100, CallParts::default())
                .await
        });
    }
    while tasks.join_next().await.is_some() {}
    let arrivals = gong_answers.arrivals.lock().expect("lock").clone();
    assert_eq!(arrivals.len(), 4);
    for later in &arrivals[1..] {
        assert!(
            *later - arrivals[0] >= Duration::from_millis(950),
            "a request went out within the 429's hold: {:?}",
            arrivals
                .iter()
                .map(|a| *a - arrivals[0])
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn errors_are_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errors": ["bad"]})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    let gong = client(&server);
    let wanted = ids(&["1"]);
    let limited = gong
        .fetch_calls(&wanted, 100, CallParts::default())
        .await
        .expect_err("429");
    assert_eq!(
        limited.disposition(),
        Disposition::Defer {
            after: Duration::from_secs(1)
        }
    );
    let unauthorized = gong
        .fetch_calls(&wanted, 100, CallParts::default())
        .await
        .expect_err("401");
    assert_eq!(unauthorized.disposition(), Disposition::Permanent);
    assert!(
        unauthorized.to_string().contains("us-NNNNN"),
        "{unauthorized}"
    );
    let outage = gong
        .fetch_calls(&wanted, 100, CallParts::default())
        .await
        .expect_err("502");
    assert_eq!(outage.disposition(), Disposition::Retry { after: None });
    assert!(outage.to_string().contains("bad gateway"), "{outage}");
}
