#!/usr/bin/env bash
# Builds the service and the benchmark in release mode, then runs the benchmark.
# Arguments go to the benchmark: scripts/bench.sh --webhooks 1000 --concurrency 32 [--merge]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins --locked
exec target/release/bench "$@"
