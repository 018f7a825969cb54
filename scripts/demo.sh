#!/usr/bin/env bash
# The sandbox demo, scripted: builds both binaries, starts the sandbox (stand-ins for Gong and
# Salesforce) and the service (config/sandbox.toml + config/sandbox.env, a temporary store) on
# free ports, fires the seeded calls' webhooks (all but one, whose delivery is "lost" and
# which the service's catch-up sweep recovers), and waits until the sandbox's Opportunities
# hold the expected Main Competitors. Exits non-zero if they do not within the deadline.
# Stops both processes on exit, whatever happens.
#
#   scripts/demo.sh              # debug build
#   scripts/demo.sh --release    # release build
#   DEMO_TIMEOUT_SECS=120 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
build_flags=(--locked)
if [[ "${1:-}" == "--release" ]]; then
    profile=release
    build_flags+=(--release)
elif [[ $# -gt 0 ]]; then
    echo "usage: scripts/demo.sh [--release]" >&2
    exit 2
fi
timeout_secs=${DEMO_TIMEOUT_SECS:-60}
bin=target/$profile

# shellcheck source=scripts/demo-values.sh
source scripts/demo-values.sh

echo "--- building competitor-sync and competitor-sync-sandbox ($profile)"
cargo build "${build_flags[@]}" -p competitor-sync --bin competitor-sync \
    -p competitor-sync-sandbox --bin competitor-sync-sandbox

work=$(mktemp -d)
sandbox_pid=
service_pid=
cleanup() {
    local status=$?
    for pid in $service_pid $sandbox_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status -ne 0 ]]; then
        echo "--- sandbox output" >&2
        tail -n 40 "$work/sandbox.log" >&2 || true
        echo "--- service output" >&2
        tail -n 40 "$work/service.log" >&2 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Polls `$@` every 200 ms until it succeeds, failing after the deadline or if a process died.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + timeout_secs))
    until "$@"; do
        for pid in $sandbox_pid $service_pid; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "demo: a process exited while waiting for $what" >&2
                return 1
            fi
        done
        if ((SECONDS >= deadline)); then
            echo "demo: timed out after ${timeout_secs}s waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

sandbox_url_from_log() {
    sandbox_url=$(sed -n 's/^competitor-sync-sandbox listening on //p' "$work/sandbox.log" | head -n 1)
    [[ -n "$sandbox_url" ]]
}

service_addr_from_log() {
    service_addr=$(grep '"competitor-sync listening"' "$work/service.log" 2>/dev/null |
        sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' | head -n 1)
    [[ -n "$service_addr" ]]
}

echo "--- starting the sandbox"
"$bin/competitor-sync-sandbox" serve --bind 127.0.0.1:0 >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
wait_for "the sandbox to listen" sandbox_url_from_log
echo "sandbox: $sandbox_url"

echo "--- starting the service against it"
(
    set -a
    # shellcheck source=SCRIPTDIR/../config/sandbox.env
    . config/sandbox.env
    set +a
    export COMPETITOR_SYNC__SERVER__BIND=127.0.0.1:0
    export COMPETITOR_SYNC__STORE__URL="sqlite://$work/store/sandbox.db"
    export COMPETITOR_SYNC__GONG__BASE_URL=$sandbox_url
    export COMPETITOR_SYNC__SALESFORCE__LOGIN_URL=$sandbox_url
    export COMPETITOR_SYNC__LOG__FORMAT=json
    exec "$bin/competitor-sync" serve --config config/sandbox.toml
) >"$work/service.log" 2>&1 &
service_pid=$!
wait_for "the service to listen" service_addr_from_log
wait_for "the service to be healthy" curl -fsS -o /dev/null "http://$service_addr/healthz"
echo "service: http://$service_addr"

echo "--- firing the seeded calls' webhooks"
"$bin/competitor-sync-sandbox" fire --service "http://$service_addr/webhooks/gong"

echo "--- waiting for the Opportunities (at most ${timeout_secs}s)"
wait_for "the expected Main Competitors" demo_values_written "$sandbox_url"
curl -fsS "$sandbox_url/sandbox/opportunities.txt" | awk -F'\t' '{ printf "  %-42s %s\n", $3, ($2 == "" ? "(empty)" : $2) }'

echo "--- the service's jobs"
COMPETITOR_SYNC__STORE__URL="sqlite://$work/store/sandbox.db" \
    "$bin/competitor-sync" jobs list --config config/sandbox.toml

echo "demo: passed"
