//! The results as a Markdown table, as docs/benchmarks.md shows them.

use std::time::Duration;

use crate::runs::Fired;
use crate::services::StoreKind;
use crate::upstreams::Counters;
use crate::Args;

pub fn print(
    args: &Args,
    mut fired: Fired,
    last_write: Duration,
    counters: &Counters,
    rss_kib: &[u64],
    connections: u64,
) {
    let accepted = fired.latencies.len();
    let latencies = &mut fired.latencies;
    latencies.sort();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let per_100 = |count: u64| count as f64 * 100.0 / accepted.max(1) as f64;
    let gong_requests = Counters::get(&counters.gong_requests);
    let gong_429 = Counters::get(&counters.gong_throttled);
    let sf_data = Counters::get(&counters.salesforce_update)
        + Counters::get(&counters.salesforce_query)
        + Counters::get(&counters.salesforce_describe);
    let sf_token = Counters::get(&counters.salesforce_token);

    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| webhooks accepted (202) | {accepted} of {} ({} refused) |",
        args.webhooks, fired.refused
    );
    println!(
        "| acceptance rate | {:.0} webhooks/s |",
        accepted as f64 / fired.elapsed.as_secs_f64()
    );
    println!(
        "| acceptance latency p50 / p99 / max | {:.1} ms / {:.1} ms / {:.1} ms |",
        ms(quantile(0.50)),
        ms(quantile(0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "| time until the last Opportunity is written | {:.2} s |",
        last_write.as_secs_f64()
    );
    println!(
        "| Gong requests | {gong_requests} ({} for transcripts; {gong_429} answered 429), {:.2} per 100 calls; at most {} in any one second |",
        Counters::get(&counters.gong_transcript_requests),
        per_100(gong_requests),
        counters.gong_busiest_second()
    );
    println!(
        "| Salesforce API requests | {sf_data} ({} collection updates, {} queries, {} describes), {:.2} per 100 calls; plus {sf_token} token request(s) |",
        Counters::get(&counters.salesforce_update),
        Counters::get(&counters.salesforce_query),
        Counters::get(&counters.salesforce_describe),
        per_100(sf_data)
    );
    let rss: Vec<String> = rss_kib
        .iter()
        .map(|kib| format!("{:.1} MiB", *kib as f64 / 1024.0))
        .collect();
    println!("| service peak RSS (per replica) | {} |", rss.join(", "));
    if args.store == StoreKind::Postgres {
        println!("| database connections (most at once) | {connections} |");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
