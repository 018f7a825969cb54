//! `POST /v2/calls/transcript`: what was said on each call, sentence by sentence, for the
//! rules that read transcripts. Batched like the extensive fetch, cursor followed.
//!
//! The shape (`callTranscripts[].transcript[].{speakerId, sentences[].text}`) is Gong's
//! OpenAPI description; no captured Gong body of it is on record, so it is read leniently.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use super::types::{string_or_number, PageRecords, Paged};
use super::{GongClient, GongError};
use crate::config::MAX_CALLS_PER_REQUEST;
use crate::sync::Sentence;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TranscriptPage {
    #[serde(default)]
    records: Option<PageRecords>,
    #[serde(default)]
    call_transcripts: Option<Vec<CallTranscript>>,
}

impl Paged for TranscriptPage {
    fn records(&self) -> Option<&PageRecords> {
        self.records.as_ref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallTranscript {
    #[serde(deserialize_with = "string_or_number")]
    call_id: String,
    #[serde(default)]
    transcript: Option<Vec<Monologue>>,
}

/// What one speaker said without interruption.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Monologue {
    #[serde(default, deserialize_with = "string_or_number")]
    speaker_id: String,
    #[serde(default)]
    sentences: Option<Vec<WireSentence>>,
}

#[derive(Debug, Deserialize)]
struct WireSentence {
    #[serde(default)]
    text: String,
}

impl GongClient {
    /// The transcripts of `call_ids`, by call id; a call Gong has none for is absent.
    pub(super) async fn fetch_transcripts(
        &self,
        call_ids: &[String],
        per_request: usize,
    ) -> Result<HashMap<String, Vec<Sentence>>, GongError> {
        let mut transcripts: HashMap<String, Vec<Sentence>> = HashMap::new();
        for chunk in call_ids.chunks(per_request.clamp(1, MAX_CALLS_PER_REQUEST)) {
            let body = json!({ "filter": { "callIds": chunk } });
            let pages = self
                .pages::<TranscriptPage>(&self.transcripts_url, body)
                .await?;
            let calls = pages
                .answered
                .into_iter()
                .flat_map(|page| page.call_transcripts.unwrap_or_default());
            for call in calls {
                let sentences = transcripts.entry(call.call_id).or_default();
                for monologue in call.transcript.unwrap_or_default() {
                    sentences.extend(monologue.sentences.unwrap_or_default().into_iter().map(
                        |sentence| Sentence {
                            speaker_id: monologue.speaker_id.clone(),
                            text: sentence.text,
                        },
                    ));
                }
            }
        }
        Ok(transcripts)
    }
}
