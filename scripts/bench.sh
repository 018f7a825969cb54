#!/usr/bin/env bash
# Builds the service and the benchmark in release mode, then runs the benchmark.
# Arguments go to the benchmark: scripts/bench.sh --webhooks 1000 --concurrency 32 [--merge]
set -euo pipefail
cd "$(dirname "$0")/.."
# The service as the production image builds it: its package alone, so that no other
# member's dependency features reach the binary being measured.
cargo build --release --locked -p competitor-sync --bin competitor-sync
cargo build --release --locked -p competitor-sync-bench --bin bench
exec target/release/bench "$@"
