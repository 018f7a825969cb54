//! Several service processes on one PostgreSQL database, as replicas behind a load
//! balancer: a burst split across two is synced once per call, a `kill -9` of one loses
//! nothing, a rolling restart loses nothing, and together they keep to Gong's rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use competitor_sync::store::Store;
use serde_json::Value;
use wiremock::MockServer;

use crate::binary::{mount_records, mount_salesforce_auth, service_env, Service, WEBHOOK_TOKEN};
use crate::helpers::eventually;
use crate::postgres_server::Server;
use crate::stand_ins::{
    call_id_for, opportunity_for, synthetic_call, webhook_for, GongCalls, SalesforceRecords,
};

/// Gong and Salesforce stand-ins and the settings of replicas sharing one database.
struct Cluster {
    gong_calls: GongCalls,
    records: SalesforceRecords,
    env: HashMap<String, String>,
    store_url: String,
    _gong: MockServer,
    _salesforce: MockServer,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let gong = MockServer::start().await;
        let salesforce = MockServer::start().await;
        let gong_calls = GongCalls::default();
        gong_calls.mount(&gong).await;
        mount_salesforce_auth(&salesforce).await;
        let records = SalesforceRecords::default();
        mount_records(&salesforce, &records).await;
        let store_url = Server::get().fresh_database().await;
        let mut env = service_env(dir.path(), &gong, &salesforce);
        env.insert("COMPETITOR_SYNC__STORE__URL".into(), store_url.clone());
        env.insert("COMPETITOR_SYNC__LOG__LEVEL".into(), "info".into());
        for (key, value) in settings {
            env.insert(format!("COMPETITOR_SYNC__{key}"), (*value).to_owned());
        }
        Self {
            gong_calls,
            records,
            env,
            store_url,
            _gong: gong,
            _salesforce: salesforce,
            _dir: dir,
        }
    }

    /// A replica started, and its address.
    async fn replica(&self) -> (Service, String) {
        let mut service = Service::start(&self.env);
        let address = service.address().await;
        (service, address)
    }

    /// The webhook of synthetic call `n`, whose Gong stand-in now knows it.
    fn webhook(&self, n: u32) -> Value {
        let competitor = format!("Competitor {n}");
        let call = synthetic_call(n, &opportunity_for(n), &[competitor.as_str()]);
        self.gong_calls.add(&call);
        webhook_for(&call)
    }

    /// Waits until every call of `acknowledged` is written with its value.
    async fn all_written(&self, acknowledged: &[u32]) {
        eventually(
            "every acknowledged call to be written",
            Duration::from_secs(90),
            || {
                let unwritten = acknowledged.iter().find(|n| {
                    let expected = format!("Competitor {n}");
                    self.records.value(&opportunity_for(**n)).as_deref() != Some(&*expected)
                });
                std::future::ready(match unwritten {
                    None => Ok(()),
                    Some(n) => Err(format!(
                        "call {} was acknowledged but is not written ({} of {} written)",
                        call_id_for(*n),
                        self.records.written(),
                        acknowledged.len()
                    )),
                })
            },
        )
        .await;
    }

    async fn store(&self) -> Store {
        Store::connect(&self.store_url).await.expect("store")
    }

    /// Waits until `jobs` jobs are done: a write reaches Salesforce before its job's ending
    /// is recorded.
    async fn all_done(&self, jobs: u32) {
        let store = self.store().await;
        eventually("every job to end done", Duration::from_secs(60), || async {
            let depth = store.queue_depth().await.expect("depth");
            if depth.done == u64::from(jobs) {
                Ok(())
            } else {
                Err(format!("{depth:?}"))
            }
        })
        .await;
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// Posts `webhook` to `address`; whether it was acknowledged.
async fn post(http: &reqwest::Client, address: &str, webhook: &Value) -> bool {
    http.post(format!("http://{address}/webhooks/gong"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(webhook)
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// Posts `webhook` as a load balancer would: to the first replica of `addresses` that takes it.
async fn post_to_any(http: &reqwest::Client, addresses: &[String], webhook: &Value) -> bool {
    for address in addresses {
        if post(http, address, webhook).await {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn a_burst_split_across_two_replicas_is_synced_once_per_call() {
    const CALLS: u32 = 200;
    let cluster = Cluster::start(&[]).await;
    let (_first, a) = cluster.replica().await;
    let (_second, b) = cluster.replica().await;
    let http = http();
    let mut acknowledged = Vec::new();
    // 16 calls at a time, each to both replicas at once (as a retried delivery may reach
    // two replicas): within server.max_concurrent_webhooks, which would shed the surplus.
    for group in (0..CALLS).collect::<Vec<_>>().chunks(16) {
        let mut sends = tokio::task::JoinSet::new();
        for &n in group {
            let webhook = cluster.webhook(n);
            let (http, a, b) = (http.clone(), a.clone(), b.clone());
            sends.spawn(async move {
                let (one, other) =
                    tokio::join!(post(&http, &a, &webhook), post(&http, &b, &webhook));
                (n, one && other)
            });
        }
        while let Some(sent) = sends.join_next().await {
            let (n, both) = sent.expect("task");
            assert!(both, "call {n} was refused");
            acknowledged.push(n);
        }
    }
    cluster.all_written(&acknowledged).await;
    cluster.all_done(CALLS).await;
    let store = cluster.store().await;
    assert_eq!(store.count_jobs().await.expect("count"), u64::from(CALLS));
    assert_eq!(
        cluster.records.patch_count(),
        CALLS as usize,
        "each Opportunity written once"
    );
}

#[tokio::test]
async fn a_replica_killed_under_load_loses_nothing() {
    const CALLS: u32 = 120;
    const KILL_AFTER: u32 = 50;
    // The shortest lease the configuration allows: the dead replica's jobs come back then.
    let cluster = Cluster::start(&[("WORKER__LEASE", "10s")]).await;
    let (mut doomed, a) = cluster.replica().await;
    let (_survivor, b) = cluster.replica().await;
    let http = http();
    let mut acknowledged = Vec::new();
    let mut addresses = vec![a, b];
    for n in 0..CALLS {
        let webhook = cluster.webhook(n);
        if post_to_any(&http, &addresses, &webhook).await {
            acknowledged.push(n);
        }
        if n == KILL_AFTER {
            doomed.0.child.kill().expect("SIGKILL");
            doomed.0.child.wait().expect("reaped");
            addresses.remove(0);
        }
        addresses.rotate_left(1);
    }
    assert_eq!(
        acknowledged.len(),
        CALLS as usize,
        "the survivor takes every webhook"
    );
    cluster.all_written(&acknowledged).await;
    // The dead replica's claimed jobs come back when their leases run out.
    cluster.all_done(CALLS).await;
}

#[tokio::test]
async fn a_rolling_restart_while_webhooks_arrive_loses_nothing() {
    let cluster = Arc::new(Cluster::start(&[]).await);
    let (first, a) = cluster.replica().await;
    let (second, b) = cluster.replica().await;
    let addresses = Arc::new(Mutex::new(vec![a, b]));
    let stop = tokio_util::sync::CancellationToken::new();
    let sender = {
        let (cluster, addresses, stop) =
            (Arc::clone(&cluster), Arc::clone(&addresses), stop.clone());
        tokio::spawn(async move {
            let http = http();
            let mut acknowledged = Vec::new();
            let mut refused = Vec::new();
            let mut n = 0;
            while !stop.is_cancelled() {
                let webhook = cluster.webhook(n);
                let now: Vec<String> = addresses.lock().expect("lock").clone();
                if post_to_any(&http, &now, &webhook).await {
                    acknowledged.push(n);
                } else {
                    refused.push(n);
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acknowledged, refused)
        })
    };
    // One replica at a time: stop it (SIGTERM: no new webhooks, jobs finish or go back to
    // the queue), start its successor, then the other.
    let mut successors = Vec::new();
    for old in [first, second] {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (exit, _) = old.terminate().await;
        assert!(exit.success());
        let (successor, address) = cluster.replica().await;
        {
            let mut live = addresses.lock().expect("lock");
            live.remove(0);
            live.push(address);
        }
        successors.push(successor);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    let (acknowledged, refused) = sender.await.expect("sender");
    assert!(
        refused.is_empty(),
        "webhooks refused during the restart: {refused:?}"
    );
    assert!(acknowledged.len() > 50, "{} sent", acknowledged.len());
    cluster.all_written(&acknowledged).await;
    cluster
        .all_done(u32::try_from(acknowledged.len()).expect("a few hundred"))
        .await;
}

#[tokio::test]
async fn two_replicas_together_keep_to_gongs_rate() {
    const CALLS: u32 = 12;
    // One call per Gong request, so the calls need as many requests as the rate allows.
    let cluster =
        Cluster::start(&[("GONG__BATCH_SIZE", "1"), ("WORKER__BATCH_WINDOW", "1ms")]).await;
    let (_first, a) = cluster.replica().await;
    let (_second, b) = cluster.replica().await;
    let http = http();
    let addresses = [a, b];
    let mut acknowledged = Vec::new();
    for n in 0..CALLS {
        if post(&http, &addresses[n as usize % 2], &cluster.webhook(n)).await {
            acknowledged.push(n);
        }
    }
    cluster.all_written(&acknowledged).await;
    cluster.all_done(CALLS).await;
    let times: Vec<Instant> = cluster
        .gong_calls
        .requests
        .lock()
        .expect("lock")
        .iter()
        .map(|request| request.0)
        .collect();
    assert!(times.len() >= CALLS as usize, "{} requests", times.len());
    // Gong allows 3 requests a second: any 4 consecutive requests span over a second.
    for window in times.windows(4) {
        let span = window[3] - window[0];
        assert!(
            span >= Duration::from_millis(1000),
            "4 Gong requests within {span:?}"
        );
    }
}

#[tokio::test]
async fn without_notify_replicas_find_new_work_by_polling() {
    // Behind a pooler in transaction mode LISTEN does not work: store.notify = false.
    let cluster = Cluster::start(&[
        ("STORE__NOTIFY", "false"),
        ("WORKER__POLL_INTERVAL", "200ms"),
    ])
    .await;
    let (_first, a) = cluster.replica().await;
    let (_second, b) = cluster.replica().await;
    let http = http();
    let mut acknowledged = Vec::new();
    for n in 0..6 {
        let address = if n % 2 == 0 { &a } else { &b };
        if post(&http, address, &cluster.webhook(n)).await {
            acknowledged.push(n);
        }
    }
    assert_eq!(acknowledged.len(), 6);
    cluster.all_written(&acknowledged).await;
    cluster.all_done(6).await;
}

#[tokio::test]
async fn two_replicas_sweep_once_per_interval_and_recover_calls_without_a_webhook() {
    const CALLS: u32 = 3;
    let cluster = Cluster::start(&[
        ("SWEEP__ENABLED", "true"),
        ("SWEEP__INTERVAL", "1h"),
        // The synthetic calls started on 2026-11-20.
        ("SWEEP__LOOKBACK", "3650d"),
        ("SWEEP__MIN_AGE", "0s"),
    ])
    .await;
    for n in 0..CALLS {
        // In Gong, but no webhook ever came.
        cluster.webhook(n);
    }
    let (_first, _) = cluster.replica().await;
    let (_second, _) = cluster.replica().await;
    let calls: Vec<u32> = (0..CALLS).collect();
    cluster.all_written(&calls).await;
    cluster.all_done(CALLS).await;
    let listings = cluster
        .gong_calls
        .requests
        .lock()
        .expect("lock")
        .iter()
        .filter(|(_, ids)| ids.is_empty())
        .count();
    assert_eq!(
        listings, 1,
        "one sweep of one page, by one of the two replicas"
    );
    let store = cluster.store().await;
    let status = store
        .sweep_status(competitor_sync::sweep::SWEEP_NAME)
        .await
        .expect("status")
        .expect("swept");
    assert!(status.last_success_unix_ms.is_some(), "{status:?}");
}
