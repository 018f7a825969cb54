//! `POST /v2/calls/transcript` ("Retrieve transcripts of calls"): the same `callIds` and date
//! filter and cursor pages as the extensive listing, each call's monologues
//! (`speakerId`, `topic`, `sentences[] {start, end, text}`) as Gong's OpenAPI describes them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{request_id, Calls, Failure, Filter};
use crate::Answer;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TranscriptRequest {
    cursor: Option<String>,
    #[serde(default)]
    filter: Filter,
}

impl Calls {
    /// The answer to a transcript request body: a page of transcripts, or Gong's error. A call
    /// with no transcript has an empty one.
    pub fn respond_transcripts(&self, body: &[u8]) -> Answer {
        let answer = serde_json::from_slice::<TranscriptRequest>(body)
            .map_err(|error| {
                Failure::bad_request(format!("The request body is not valid: {error}"))
            })
            .and_then(|request| {
                let (page, records) = self.page(&request.filter, request.cursor.as_deref())?;
                let transcripts: Vec<Value> = page
                    .iter()
                    .map(|call| json!({ "callId": call.id, "transcript": call.transcript }))
                    .collect();
                Ok(json!({
                    "requestId": request_id(),
                    "records": records,
                    "callTranscripts": transcripts
                }))
            });
        match answer {
            Ok(page) => Answer::ok(page),
            Err(refused) => refused.into_answer(),
        }
    }
}
