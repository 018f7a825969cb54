#!/usr/bin/env bash
# The project's test command: installs what the tests need and runs every suite.
#
#   scripts/test.sh                 # everything: both store backends
#   scripts/test.sh --test api sync_flow   # anything else is passed to the first cargo test
#
# Needs: PostgreSQL's server binaries (Debian's postgresql package) and Chromium with its
# WebDriver (Debian's chromium and chromium-driver), installed here when missing and run as
# root. The tests start their own throw-away PostgreSQL server (tests/common/postgres.rs)
# and their own headless Chromium (tests/api/browser.rs); nothing is started or left
# behind outside the test run.
set -euo pipefail
cd "$(dirname "$0")/.."

install_packages() {
    if [ "$(id -u)" != 0 ]; then
        echo "scripts/test.sh: install $* (as root: apt-get install $*)" >&2
        exit 1
    fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "--- installing ${missing[*]} (the tests' database server and browser)"
    install_packages "${missing[@]}"
fi

if [ "$#" -gt 0 ]; then
    exec cargo test "$@"
fi

echo "--- cargo test --workspace (SQLite store; the store contract suite on both backends)"
cargo test --locked --workspace

echo "--- the integration suite again, on PostgreSQL"
COMPETITOR_SYNC_TEST_STORE=postgres cargo test --locked --test api
