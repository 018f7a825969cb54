# The checks' bookkeeping and small helpers of scripts/container-test.sh (sourced).
# shellcheck shell=bash disable=SC2034,SC2154 # the variables it shares with the script that sources it

passed=0
failed=0
pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
section() { printf '\n--- %s (at %s)\n' "$*" "$(elapsed $((SECONDS - started)))"; }
indent() { sed 's/^/    /'; }
# check DESCRIPTION COMMAND...: PASS or FAIL on the command's status, its output shown on FAIL.
check() {
    local what=$1 output
    shift
    if output=$("$@" 2>&1); then
        pass "$what"
    else
        fail "$what"
        indent <<<"$output" | tail -n 30
    fi
}
# The whole run stops at a failure that leaves nothing to check (an engine, an image).
fatal() {
    fail "$*"
    echo "container-test: stopped early: $passed passed, $failed failed"
    exit 1
}
# Polls COMMAND every second until it succeeds; false after $timeout_secs.
wait_until() {
    local deadline=$((SECONDS + timeout_secs))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Ends a process this script started and everything it started in turn, by pid.
kill_tree() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        kill_tree "$child"
    done
    kill "$1" 2>/dev/null
}
