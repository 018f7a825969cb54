//! What operators look at, assembled once from the store for every surface that shows it
//! (the admin API's JSON, and the console's pages): the overview, a filtered page of jobs,
//! one job with its call and history, and one record's history.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ApiError;
use super::AppState;
use crate::gong::types::parse_call;
use crate::gong::SHARED_ALLOWANCE;
use crate::shared::SALESFORCE_PAUSE;
use crate::store::{
    rfc3339, Attempt, DeliveryRecord, HourOutcomes, Job, JobDetail, JobFilter, JobOrigin,
    JobStatus, JobView, QueueDepth, RecordWrite, Store, StoreError,
};
use crate::sweep::SWEEP_NAME;
use crate::sync::linked_record_ids;

/// Jobs per page of a list.
pub const PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 1000;
const HOUR_MS: i64 = 3_600_000;

/// A job filter as query parameters: `status`, `origin`, `call_id`, `record_id`, `since` and
/// `until` (RFC 3339 times or dates, on the job's last change), `q` (text in the error or
/// outcome), and the page: `offset` and `limit`.
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    pub status: Option<String>,
    pub origin: Option<String>,
    pub call_id: Option<String>,
    pub record_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub q: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

impl FilterParams {
    /// The filter these parameters describe; a 400 naming the parameter when one is wrong.
    /// Empty parameters (a form's blank fields) are ignored.
    pub fn filter(&self) -> Result<JobFilter, ApiError> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = given(&self.status)
            .map(|text| {
                JobStatus::parse(&text).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_status",
                        format!("status must be one of queued, running, done, skipped, dead; got `{text}`"),
                    )
                })
            })
            .transpose()?;
        let origin = given(&self.origin)
            .map(|text| {
                JobOrigin::parse(&text).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_origin",
                        format!(
                            "origin must be one of webhook, sweep, backfill, sync; got `{text}`"
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(JobFilter {
            status,
            origin,
            call_id: given(&self.call_id),
            record_id: given(&self.record_id),
            updated_since: given(&self.since)
                .map(|t| parse_time("since", &t))
                .transpose()?,
            updated_before: given(&self.until)
                .map(|t| parse_time("until", &t))
                .transpose()?,
            text: given(&self.q),
        })
    }

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }
}

/// An RFC 3339 time, or a date (its midnight, UTC), as Unix ms.
fn parse_time(name: &'static str, text: &str) -> Result<i64, ApiError> {
    let date = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]").ok();
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| {
            time::Date::parse(text, date.as_deref()?)
                .ok()
                .map(|date| date.midnight().assume_utc())
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_time",
                format!(
                    "{name} must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)"
                ),
            )
        })?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::bad_request("invalid_time", format!("{name} is out of range")))
}

/// A job in a list: its view, with what an operator scans a list for.
#[derive(Serialize)]
pub struct JobRow {
    #[serde(flatten)]
    pub job: JobView,
    /// The call's title, as the webhook or listing gave it.
    pub title: Option<String>,
    /// The call's Gong page.
    pub call_url: Option<String>,
    /// The records the job planned to write, or else the Opportunities its call links.
    pub opportunities: Vec<String>,
    /// The competitor names planned, in order.
    pub competitors: Vec<String>,
}

impl JobRow {
    pub fn of(job: &Job) -> Self {
        let call = CallSummary::of(&job.call_data);
        let plan = job.result.as_ref().and_then(|report| report.plan.as_ref());
        let opportunities = match plan {
            Some(plan) => plan.records.iter().map(|r| r.record_id.clone()).collect(),
            None => parse_call(&job.call_data)
                .map(|call| linked_record_ids(&call.context, "Opportunity"))
                .unwrap_or_default(),
        };
        let mut competitors: Vec<String> = Vec::new();
        for name in plan
            .into_iter()
            .flat_map(|plan| &plan.records)
            .flat_map(|record| &record.fields)
            .flat_map(|field| &field.names)
        {
            if !competitors.contains(name) {
                competitors.push(name.clone());
            }
        }
        Self {
            job: JobView::from(job),
            title: call.title,
            call_url: call.url,
            opportunities,
            competitors,
        }
    }
}

/// One page of the jobs a filter selects.
#[derive(Serialize)]
pub struct JobsPage {
    pub jobs: Vec<JobRow>,
    /// Every job the filter selects, over all pages.
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

pub async fn jobs_page(store: &Store, params: &FilterParams) -> Result<JobsPage, ApiError> {
    let filter = params.filter()?;
    let (limit, offset) = (params.limit(), params.offset.unwrap_or(0));
    let jobs = store
        .find_jobs(&filter, limit, offset)
        .await
        .map_err(store_error)?;
    let total = store.count_matching(&filter).await.map_err(store_error)?;
    Ok(JobsPage {
        jobs: jobs.iter().map(JobRow::of).collect(),
        total,
        offset,
        limit,
    })
}

/// The call as its job keeps it (a webhook's `callData`, a listing's call).
#[derive(Debug, Default, Serialize)]
pub struct CallSummary {
    pub title: Option<String>,
    pub started: Option<String>,
    /// The call's page in Gong.
    pub url: Option<String>,
    pub parties: Vec<Party>,
}

#[derive(Debug, Serialize)]
pub struct Party {
    pub name: String,
    /// `Internal`, `External` or `Unknown`.
    pub affiliation: Option<String>,
}

impl CallSummary {
    /// Read leniently: what the payload lacks is left out.
    fn of(call_data: &str) -> Self {
        let Ok(call) = serde_json::from_str::<serde_json::Value>(call_data) else {
            return Self::default();
        };
        let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
        let meta = &call["metaData"];
        Self {
            title: text(&meta["title"]),
            started: text(&meta["started"]),
            url: text(&meta["url"]).filter(|url| url.starts_with("https://")),
            parties: call["parties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|party| {
                    Some(Party {
                        name: text(&party["name"])?,
                        affiliation: text(&party["affiliation"]),
                    })
                })
                .collect(),
        }
    }
}

/// One job with its call, every attempt and every delivery.
#[derive(Serialize)]
pub struct JobPage {
    #[serde(flatten)]
    pub detail: JobDetail,
    pub call: CallSummary,
    pub attempt_history: Vec<Attempt>,
    pub delivery_history: Vec<DeliveryRecord>,
}

pub async fn job_page(store: &Store, id: &str) -> Result<JobPage, ApiError> {
    let Some(job) = store.job(id).await.map_err(store_error)? else {
        return Err(no_such_job(id));
    };
    let detail = JobDetail::load(store, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| no_such_job(id))?;
    Ok(JobPage {
        detail,
        call: CallSummary::of(&job.call_data),
        attempt_history: store.attempts(id).await.map_err(store_error)?,
        delivery_history: store.deliveries(id).await.map_err(store_error)?,
    })
}

/// What was written to one record, and the jobs that touched it.
#[derive(Serialize)]
pub struct RecordPage {
    pub record_id: String,
    pub writes: Vec<RecordWrite>,
    pub jobs: Vec<JobRow>,
}

pub async fn record_page(store: &Store, record_id: &str) -> Result<RecordPage, ApiError> {
    if !crate::sync::is_salesforce_id(record_id) {
        return Err(ApiError::bad_request(
            "invalid_record_id",
            "a record id is 15 or 18 letters and digits",
        ));
    }
    let filter = JobFilter {
        record_id: Some(record_id.to_owned()),
        ..JobFilter::default()
    };
    let jobs = store
        .find_jobs(&filter, PAGE_SIZE, 0)
        .await
        .map_err(store_error)?;
    Ok(RecordPage {
        record_id: record_id.to_owned(),
        writes: store.record_writes(record_id).await.map_err(store_error)?,
        jobs: jobs.iter().map(JobRow::of).collect(),
    })
}

/// The state of the service at a glance.
#[derive(Serialize)]
pub struct Overview {
    pub jobs: QueueDepth,
    /// The last 24 hours' endings, per hour, oldest first (hours without any left out).
    pub last_24h: Vec<HourOutcomes>,
    pub oldest_queued_age_seconds: Option<u64>,
    pub gong_requests_today: u64,
    pub gong_daily_limit: u32,
    /// `paused until …: reason` while Salesforce work is paused.
    pub salesforce_pause: Option<String>,
    /// The org's daily API requests used and allowed, as Salesforce last reported them to
    /// this process (`Sforce-Limit-Info`); absent before its first report.
    pub salesforce_api_usage: Option<SalesforceUsage>,
    pub sweep: Option<SweepView>,
    /// The newest dead letters.
    pub dead_letters: Vec<JobRow>,
}

#[derive(Serialize)]
pub struct SalesforceUsage {
    pub used: u64,
    pub max: u64,
}

#[derive(Serialize)]
pub struct SweepView {
    pub last_started: String,
    pub last_success: Option<String>,
    pub last_outcome: Option<String>,
}

pub async fn overview(state: &AppState) -> Result<Overview, StoreError> {
    let store = &state.store;
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let dead = JobFilter {
        status: Some(JobStatus::Dead),
        ..JobFilter::default()
    };
    Ok(Overview {
        jobs: store.queue_depth().await?,
        last_24h: store.outcomes_by_hour(now - 24 * HOUR_MS).await?,
        oldest_queued_age_seconds: store.oldest_queued_age().await?.map(|age| age.as_secs()),
        gong_requests_today: store.requests_used_today(SHARED_ALLOWANCE).await?,
        gong_daily_limit: state.gong_daily_limit,
        salesforce_pause: store
            .active_pause(SALESFORCE_PAUSE)
            .await?
            .map(|p| format!("paused until {}: {}", rfc3339(p.until_unix_ms), p.reason)),
        salesforce_api_usage: crate::telemetry::last_salesforce_api_usage()
            .map(|(used, max)| SalesforceUsage { used, max }),
        sweep: store.sweep_status(SWEEP_NAME).await?.map(|s| SweepView {
            last_started: rfc3339(s.last_started_unix_ms),
            last_success: s.last_success_unix_ms.map(rfc3339),
            last_outcome: s.last_outcome,
        }),
        dead_letters: store
            .find_jobs(&dead, 10, 0)
            .await?
            .iter()
            .map(JobRow::of)
            .collect(),
    })
}

/// Retries one job now: a dead one with fresh attempts (records it already wrote are not
/// written again), or a queued one waiting for its next attempt. A 404 for an unknown job, a
/// 409 for one that is running or finished.
pub async fn retry_job(store: &Store, id: &str) -> Result<(), ApiError> {
    if store.retry_dead(id).await.map_err(store_error)?
        || store.retry_now(id).await.map_err(store_error)?
    {
        tracing::info!(job_id = %id, "job retried by an operator");
        return Ok(());
    }
    match store.job(id).await.map_err(store_error)? {
        None => Err(no_such_job(id)),
        Some(job) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_dead",
            format!(
                "job {id} is {}: only dead jobs, or queued ones waiting for their next \
                 attempt, can be retried",
                job.status
            ),
        )),
    }
}

pub fn no_such_job(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("no job {id}"),
    )
}

pub fn store_error(error: StoreError) -> ApiError {
    tracing::error!(%error, "an operator request failed on the store");
    ApiError::unavailable("the job store is unavailable")
}
