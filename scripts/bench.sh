#!/usr/bin/env bash
# Builds the service and the benchmark in release mode, then runs the benchmark. Arguments go
# to the benchmark (`target/release/bench --help` explains each):
#   scripts/bench.sh --webhooks 1000 --concurrency 32 [--merge] [--transcripts]   a burst
#   scripts/bench.sh --quiet 20 [--quiet-interval 2s]   20 lone calls, 2 s apart: the
#                                                       webhook-to-write latency of each
#   scripts/bench.sh --webhooks 1000 --baseline         also through a naive one-request-per-call
#   scripts/bench.sh --quiet 20 --baseline              pipeline, side by side with the service
#   [--store sqlite|postgres] [--replicas N] [--service PATH] [--timeout-secs S]
set -euo pipefail
cd "$(dirname "$0")/.."
# The service as the production image builds it: its package alone, so that no other
# member's dependency features reach the binary being measured.
cargo build --release --locked -p competitor-sync --bin competitor-sync
cargo build --release --locked -p competitor-sync-bench --bin bench
exec target/release/bench "$@"
