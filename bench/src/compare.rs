//! The side-by-side report: one column per pipeline run in this invocation, as a Markdown
//! table to paste into docs/benchmarks.md, with the command line that produced it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::baseline::Outcomes;
use crate::upstreams::Counters;

/// What one pipeline did, as the report shows it.
pub struct Column {
    pub name: &'static str,
    /// Calls announced (webhooks sent).
    pub sent: u64,
    pub written: usize,
    /// Of the baseline's calls: lost to Gong's 429, lost to other errors.
    pub lost: Option<(u64, u64)>,
    gong: u64,
    gong_429: u64,
    collection_updates: u64,
    record_updates: u64,
    queries: u64,
    describes: u64,
    tokens: u64,
    pub last_write: Option<Duration>,
    /// Each lone call's latency in order (`None`: not written), when the run was quiet.
    pub lone: Option<Vec<Option<Duration>>>,
}

impl Column {
    pub fn new(
        name: &'static str,
        sent: u64,
        written: usize,
        counters: &Counters,
        outcomes: Option<&Outcomes>,
    ) -> Self {
        Self {
            name,
            sent,
            written,
            lost: outcomes.map(|outcomes| {
                (
                    outcomes.lost_to_429.load(Ordering::Acquire),
                    outcomes.lost_to_errors.load(Ordering::Acquire),
                )
            }),
            gong: Counters::get(&counters.gong_requests),
            gong_429: Counters::get(&counters.gong_throttled),
            collection_updates: Counters::get(&counters.salesforce_update),
            record_updates: Counters::get(&counters.salesforce_record_update),
            queries: Counters::get(&counters.salesforce_query),
            describes: Counters::get(&counters.salesforce_describe),
            tokens: Counters::get(&counters.salesforce_token),
            last_write: None,
            lone: None,
        }
    }

    fn per_100(&self, count: u64) -> f64 {
        count as f64 * 100.0 / self.sent.max(1) as f64
    }

    fn salesforce(&self) -> u64 {
        self.collection_updates + self.record_updates + self.queries + self.describes
    }

    fn written_cell(&self) -> String {
        let mut cell = format!("{} of {}", self.written, self.sent);
        if let Some((to_429, to_errors)) = self.lost {
            cell += &format!(" ({to_429} lost to Gong's 429, {to_errors} to other errors)");
        }
        cell
    }

    fn gong_cell(&self) -> String {
        format!("{:.2} ({} requests)", self.per_100(self.gong), self.gong)
    }

    fn salesforce_cell(&self) -> String {
        let parts = [
            (
                self.collection_updates,
                "collection update",
                "collection updates",
            ),
            (self.record_updates, "record update", "record updates"),
            (self.queries, "query", "queries"),
            (self.describes, "describe", "describes"),
        ];
        let named: Vec<String> = parts
            .iter()
            .filter(|(count, ..)| *count > 0)
            .map(|&(count, one, many)| format!("{count} {}", if count == 1 { one } else { many }))
            .collect();
        let named = if named.is_empty() {
            "none".to_owned()
        } else {
            named.join(" + ")
        };
        let tokens = match self.tokens {
            1 => "1 token request".to_owned(),
            n => format!("{n} token requests"),
        };
        format!(
            "{:.2} ({named}; plus {tokens})",
            self.per_100(self.salesforce())
        )
    }

    /// Median / p90 / max of the written lone calls, and how many they are when not all.
    fn lone_cell(&self) -> Option<String> {
        let lone = self.lone.as_ref()?;
        let mut written: Vec<Duration> = lone.iter().flatten().copied().collect();
        if written.is_empty() {
            return Some("no call written".to_owned());
        }
        written.sort();
        let mut cell = format!(
            "{} / {} / {}",
            ms(quantile(&written, 0.50)),
            ms(quantile(&written, 0.90)),
            ms(written.last().copied().unwrap_or_default())
        );
        if written.len() < lone.len() {
            cell += &format!(" (of the {} written)", written.len());
        }
        Some(cell)
    }
}

/// The `q` quantile of `sorted` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Prints the table, the command line, how the pipelines were run (`order`), and each lone
/// call's latency in order.
pub fn print(columns: &[Column], order: &str) {
    println!();
    println!("command: `{}`", command_line());
    println!("{order}");
    println!();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    println!("| measure | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let row = |measure: &str, cell: &dyn Fn(&Column) -> String| {
        let cells: Vec<String> = columns.iter().map(cell).collect();
        println!("| {measure} | {} |", cells.join(" | "));
    };
    row("calls written", &Column::written_cell);
    row("Gong requests answered 429", &|c| c.gong_429.to_string());
    row("Gong requests per 100 calls", &Column::gong_cell);
    row(
        "Salesforce API requests per 100 calls",
        &Column::salesforce_cell,
    );
    row(
        "time to the last write (from the first webhook sent)",
        &|c| {
            c.last_write.map_or("no write".to_owned(), |d| {
                format!("{:.2} s", d.as_secs_f64())
            })
        },
    );
    if columns.iter().any(|c| c.lone.is_some()) {
        row(
            "lone-call latency, webhook to write: median / p90 / max",
            &|c| c.lone_cell().unwrap_or_default(),
        );
    }
    for column in columns {
        if let Some(lone) = &column.lone {
            let each: Vec<String> = lone
                .iter()
                .map(|latency| latency.map_or("not written".to_owned(), ms))
                .collect();
            println!();
            println!("{}, each call in order: {}", column.name, each.join(", "));
        }
    }
}

/// This invocation as scripts/bench.sh would take it, arguments quoted where needed.
fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|arg| {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg
            }
        })
        .collect();
    std::iter::once("scripts/bench.sh".to_owned())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let sorted: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(quantile(&sorted, 0.5), Duration::from_millis(5));
        assert_eq!(quantile(&sorted, 0.9), Duration::from_millis(9));
        assert_eq!(quantile(&[], 0.9), Duration::ZERO);
    }
}
