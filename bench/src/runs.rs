//! The pipelines under test (the service's replicas, or the naive baseline), each against
//! stand-ins of its own, and the two loads: a burst of webhooks sent as fast as they are
//! taken, or lone calls spaced apart with each one's webhook-to-write latency.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use competitor_sync_stand_ins::synthetic;

use crate::baseline::{Baseline, Outcomes};
use crate::services::{Replicas, Rules, SharedStore, TOKEN};
use crate::upstreams::Upstreams;
use crate::Args;

/// How the webhooks of a burst were received.
pub struct Fired {
    /// Of each accepted webhook, how long the pipeline took to answer it.
    pub latencies: Vec<Duration>,
    pub refused: u64,
    /// From the first webhook sent to the last answer.
    pub elapsed: Duration,
}

/// A pipeline taking webhooks.
pub enum Pipeline {
    Service {
        replicas: Replicas,
        /// Kept until the replicas are gone: it holds their store's temporary directory.
        _store: Arc<SharedStore>,
    },
    Baseline(Baseline),
}

impl Pipeline {
    /// The service's replicas on a fresh store, against `upstreams`.
    pub async fn service(
        args: &Args,
        binary: &Path,
        upstreams: &Upstreams,
    ) -> anyhow::Result<Self> {
        let store = Arc::new(SharedStore::create(args.store)?);
        let rules = Rules {
            merge: args.merge,
            transcripts: args.transcripts,
        };
        let replicas =
            Replicas::start(binary, &store, args.replicas, &upstreams.url, rules).await?;
        Ok(Self::Service {
            replicas,
            _store: store,
        })
    }

    pub async fn baseline(upstreams: &Upstreams) -> anyhow::Result<Self> {
        Ok(Self::Baseline(Baseline::start(&upstreams.url).await?))
    }

    fn webhook_urls(&self) -> Vec<String> {
        let bases = match self {
            Self::Service { replicas, .. } => replicas.urls.clone(),
            Self::Baseline(baseline) => vec![baseline.url.clone()],
        };
        bases
            .iter()
            .map(|base| format!("{base}/webhooks/gong"))
            .collect()
    }

    /// The answer that means a webhook was taken: the service's 202 (queued durably), the
    /// baseline's 200 (answered before any work).
    fn accepted_status(&self) -> u16 {
        match self {
            Self::Service { .. } => 202,
            Self::Baseline(_) => 200,
        }
    }

    /// Calls the pipeline is done with, written or lost, when it can tell: the baseline can,
    /// the service retries until it writes, so its calls are known by their writes alone.
    fn settled(&self) -> Option<u64> {
        match self {
            Self::Service { .. } => None,
            Self::Baseline(baseline) => Some(baseline.outcomes.settled()),
        }
    }

    pub fn replicas(&mut self) -> Option<&mut Replicas> {
        match self {
            Self::Service { replicas, .. } => Some(replicas),
            Self::Baseline(_) => None,
        }
    }

    /// What became of the baseline's calls.
    pub fn outcomes(&self) -> Option<&Outcomes> {
        match self {
            Self::Service { .. } => None,
            Self::Baseline(baseline) => Some(&baseline.outcomes),
        }
    }
}

/// Fires `args.webhooks` webhooks, waits until the pipeline is done with every accepted one,
/// and returns how they were received and the time from the first webhook to the last write.
pub async fn burst(
    args: &Args,
    pipeline: &Pipeline,
    upstreams: &Arc<Upstreams>,
) -> anyhow::Result<(Fired, Option<Duration>)> {
    let started = Instant::now();
    let fired = fire(args, pipeline, upstreams).await?;
    let accepted = fired.latencies.len();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        let done = match pipeline.settled() {
            Some(settled) => settled >= u64::try_from(accepted)?,
            None => upstreams.written() >= accepted,
        };
        if done {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {accepted} records written in time",
                upstreams.written()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last_write = upstreams
        .counters
        .last_write()
        .map(|t| t.saturating_duration_since(started));
    Ok((fired, last_write))
}

/// Sends the webhooks from `args.concurrency` tasks, to the pipeline's URLs in turn, each
/// call given to Gong just before its webhook is sent.
async fn fire(
    args: &Args,
    pipeline: &Pipeline,
    upstreams: &Arc<Upstreams>,
) -> anyhow::Result<Fired> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let urls = Arc::new(pipeline.webhook_urls());
    let accepted_status = pipeline.accepted_status();
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, urls, next) = (http.clone(), Arc::clone(&urls), Arc::clone(&next));
        let upstreams = Arc::clone(upstreams);
        let total = args.webhooks;
        senders.spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let body = upstreams.add_call(n);
                let url = &urls[usize::try_from(n).unwrap_or_default() % urls.len()];
                let sent = Instant::now();
                let response = http.post(url).bearer_auth(TOKEN).json(&body).send().await;
                match response {
                    Ok(r) if r.status().as_u16() == accepted_status => {
                        latencies.push(sent.elapsed());
                    }
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        });
    }
    let mut fired = Fired {
        latencies: Vec::new(),
        refused: 0,
        elapsed: Duration::ZERO,
    };
    for (mut latencies, refused) in senders.join_all().await {
        fired.latencies.append(&mut latencies);
        fired.refused += refused;
    }
    fired.elapsed = started.elapsed();
    Ok(fired)
}

/// Lone calls and what became of each.
pub struct Quiet {
    /// Per call in order, from just before its webhook was sent to the stand-in's answer to
    /// the write of its Opportunity; `None` when it was refused, lost or not written in time.
    pub latencies: Vec<Option<Duration>>,
    /// From the first webhook sent to the last write.
    pub last_write: Option<Duration>,
}

/// Sends `calls` lone calls, call `n` at `n × interval` after the first, or as soon as call
/// `n - 1` is written if that comes later: one call is in flight at a time.
pub async fn quiet(
    args: &Args,
    pipeline: &Pipeline,
    upstreams: &Upstreams,
    calls: u64,
) -> anyhow::Result<Quiet> {
    let timeout = Duration::from_secs(args.timeout_secs);
    let http = reqwest::Client::builder().timeout(timeout).build()?;
    let urls = pipeline.webhook_urls();
    let started = Instant::now();
    let mut latencies = Vec::new();
    for n in 0..calls {
        let due = u32::try_from(n)
            .ok()
            .and_then(|n| args.quiet_interval.checked_mul(n))
            .unwrap_or(Duration::MAX);
        if let Some(at) = started.checked_add(due) {
            tokio::time::sleep_until(at.into()).await;
        }
        let body = upstreams.add_call(n);
        let opportunity = synthetic::opportunity_id(n);
        let url = &urls[usize::try_from(n).unwrap_or_default() % urls.len()];
        let settled_before = pipeline.settled();
        // Built (and its body serialised) first, so that `sent` is just before sending.
        let request = http.post(url).bearer_auth(TOKEN).json(&body).build()?;
        let sent = Instant::now();
        let accepted = http
            .execute(request)
            .await
            .is_ok_and(|r| r.status().as_u16() == pipeline.accepted_status());
        let latency = if accepted {
            let wait = Wait {
                pipeline,
                upstreams,
                opportunity: &opportunity,
                settled_before,
                deadline: sent + timeout,
            };
            wait.until_written()
                .await
                .map(|at| at.saturating_duration_since(sent))
        } else {
            None
        };
        latencies.push(latency);
    }
    let last_write = upstreams
        .counters
        .last_write()
        .map(|t| t.saturating_duration_since(started));
    Ok(Quiet {
        latencies,
        last_write,
    })
}

/// Waiting for one lone call's write.
struct Wait<'a> {
    pipeline: &'a Pipeline,
    upstreams: &'a Upstreams,
    opportunity: &'a str,
    /// The pipeline's settled calls before this one was sent (the baseline's).
    settled_before: Option<u64>,
    deadline: Instant,
}

impl Wait<'_> {
    /// When the stand-in answered the write of the call's Opportunity; `None` when the
    /// pipeline gave the call up or the deadline passed.
    async fn until_written(&self) -> Option<Instant> {
        let counters = &self.upstreams.counters;
        loop {
            // Registered before the checks, so a stamp made between them still wakes us.
            let stamped = counters.stamped();
            tokio::pin!(stamped);
            stamped.as_mut().enable();
            // Read before the stamp: a call the baseline settled has its stamp already.
            let gave_up = self.pipeline.settled() > self.settled_before;
            if let Some(at) = counters.written_at(self.opportunity) {
                return Some(at);
            }
            if gave_up || Instant::now() > self.deadline {
                return None;
            }
            // The latency is the stand-in's stamp, not this wake-up: the fallback only bounds
            // how late a call the baseline lost (no stamp, no wake-up) is noticed.
            tokio::select! {
                () = &mut stamped => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
}
