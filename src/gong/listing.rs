//! Listing calls by date, page by page: what `backfill` and the catch-up sweep both read.

use std::time::Duration;

use serde_json::json;

use super::{GongClient, GongError};
use crate::retry::{Classify, Disposition};
use crate::sync;

/// Listing attempts per page before giving up on a Gong outage (rate limits do not count).
const LISTING_ATTEMPTS: u32 = 5;

/// Which calls to list: those that started from `from` (included) to `to` (excluded),
/// RFC 3339.
#[derive(Debug, Clone, Copy)]
pub struct CallListing<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Only calls of this Gong workspace (`filter.workspaceId`).
    pub workspace_id: Option<&'a str>,
    /// Ask for the trackers too. A backfill's jobs fetch them; the sweep needs them to tell
    /// a call worth queueing from one Gong has not processed yet.
    pub trackers: bool,
}

/// One page of the calls Gong lists for a date range.
#[derive(Debug, Default)]
pub struct ListedPage {
    pub calls: Vec<Listed>,
    /// How many calls the whole range holds, as Gong counts them.
    pub total: Option<u64>,
    /// Pass back for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// A listed call: as the domain reads it, and as Gong sent it (kept with its job, like a
/// webhook's `callData`).
#[derive(Debug, Clone)]
pub struct Listed {
    pub call: sync::Call,
    pub json: String,
}

impl GongClient {
    /// One page (up to 100) of the calls `listing` selects, with their Extended CRM context
    /// and, when asked, their trackers. An empty range is an empty last page (Gong answers
    /// it with 404).
    pub async fn list_calls(
        &self,
        listing: &CallListing<'_>,
        cursor: Option<&str>,
    ) -> Result<ListedPage, GongError> {
        let mut body = json!({
            "filter": { "fromDateTime": listing.from, "toDateTime": listing.to },
            "contentSelector": { "context": "Extended" }
        });
        if let Some(workspace_id) = listing.workspace_id {
            body["filter"]["workspaceId"] = json!(workspace_id);
        }
        if listing.trackers {
            body["contentSelector"]["exposedFields"] = json!({ "content": { "trackers": true } });
        }
        if let Some(cursor) = cursor {
            body["cursor"] = json!(cursor);
        }
        let Some(page) = self.post(&body).await? else {
            return Ok(ListedPage::default());
        };
        let (total, next_cursor) = page
            .records
            .map(|r| (r.total_records, r.cursor.filter(|c| !c.is_empty())))
            .unwrap_or_default();
        let calls = page
            .calls
            .into_iter()
            .map(|call| {
                let json =
                    serde_json::to_string(&call).map_err(|e| GongError::Decode(e.to_string()))?;
                Ok(Listed {
                    call: call.into(),
                    json,
                })
            })
            .collect::<Result<_, GongError>>()?;
        Ok(ListedPage {
            calls,
            total,
            next_cursor,
        })
    }

    /// [`GongClient::list_calls`], waiting out Gong's rate limit (the shared limiter backs
    /// off; the next try waits for it) and retrying a short outage a few times with growing
    /// pauses. The error is the last one, when the page could not be had.
    pub async fn list_page_patiently(
        &self,
        listing: &CallListing<'_>,
        cursor: Option<&str>,
    ) -> Result<ListedPage, GongError> {
        let mut failures = 0;
        loop {
            match self.list_calls(listing, cursor).await {
                Ok(page) => return Ok(page),
                Err(GongError::RateLimited { .. }) => {}
                Err(error) => match error.disposition() {
                    Disposition::Retry { .. } if failures + 1 < LISTING_ATTEMPTS => {
                        failures += 1;
                        tracing::warn!(%error, "listing calls failed; trying again");
                        tokio::time::sleep(Duration::from_secs(2u64.pow(failures))).await;
                    }
                    _ => return Err(error),
                },
            }
        }
    }
}
