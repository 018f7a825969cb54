#!/usr/bin/env bash
# Builds the container images and checks them from outside, as a user would run them:
#
#   1. the engine: docker when its daemon answers, else podman (installed with apt-get when
#      missing), on a storage and configuration of this script's own;
#   2. the base images the Dockerfile names, pulled, or where no registry answers built here
#      from Debian's packages and this machine's Rust toolchain (a fallback for closed
#      networks: docs/deploy.md);
#   3. the production image (competitor-sync:local) and the sandbox image
#      (competitor-sync-sandbox:local), timed, with their sizes;
#   4. the production image: --help, check, serve with /healthz and /readyz, uid 10001, no
#      write outside /data, its HEALTHCHECK, SIGTERM;
#   5. docker-compose.yml: the sandbox demo (up, fire, the README's values, fire again, down
#      -v), the "real" profile without a .env (stops, stays down), and the "ha" profile (two
#      replicas on PostgreSQL behind nginx sync the demo too).
#
# Every check prints PASS or FAIL; the script exits non-zero if any failed, and removes its
# containers, networks and volumes whatever happens. The images and the build cache are kept
# for the next run (CONTAINER_TEST_STATE, /var/tmp/competitor-sync-container-test by
# default, with podman), so a source-only change rebuilds only the crates that changed.
#
#   scripts/container-test.sh
#   CONTAINER_TEST_EXTRA_CA=/path/proxy-ca.pem scripts/container-test.sh
#
# Ports 8080, 8081 and 8090 must be free: docker-compose.yml publishes them.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

state=${CONTAINER_TEST_STATE:-/var/tmp/competitor-sync-container-test}
timeout_secs=${CONTAINER_TEST_TIMEOUT_SECS:-120}
project=competitor-sync-test
started=$SECONDS

# shellcheck source=scripts/container/lib.sh
source scripts/container/lib.sh

if [[ $EUID -ne 0 ]]; then
    fatal "run as root: the images are built with a rootful engine (as CI does)"
fi
# The last run's build logs stay in $state/logs, beside the cache.
logs=$state/logs
mkdir -p "$state"
rm -rf "$logs"
mkdir -p "$logs"
work=$(mktemp -d)
# curl reads the services' answers; ss tells whether compose's ports are free.
for tool in curl:curl ss:iproute2; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
    fi
done

# shellcheck source=scripts/container/engine.sh
source scripts/container/engine.sh

cleanup() {
    local status=$? pid
    set +e
    # Builds still running in the background when the run stopped early.
    for pid in $(jobs -p); do
        kill_tree "$pid"
    done
    wait 2>/dev/null
    for container in competitor-sync-test-serve competitor-sync-test-readonly; do
        e rm -f "$container" >/dev/null 2>&1
    done
    if [[ -n ${compose_cmd[*]:-} ]]; then
        compose --profile ha down -v >/dev/null 2>&1
        compose down -v >/dev/null 2>&1
        if [[ -f $work/real/docker-compose.yml ]]; then
            "${compose_cmd[@]}" -p "$project-real" -f "$work/real/docker-compose.yml" \
                --profile real down -v >/dev/null 2>&1
        fi
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
# A command that stops the run outside a check says which, rather than ending silently.
trap '[[ $- == *e* ]] && echo "container-test: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

# shellcheck source=scripts/container/base-images.sh
source scripts/container/base-images.sh

# Extra CA certificates for the build stages, for networks whose HTTPS goes through an
# intercepting proxy: CONTAINER_TEST_EXTRA_CA, or the certificates this machine's
# administrator added to its own trust store (Debian's /usr/local/share/ca-certificates).
extra_ca=$work/extra-ca.pem
if [[ -n ${CONTAINER_TEST_EXTRA_CA:-} ]]; then
    cp "$CONTAINER_TEST_EXTRA_CA" "$extra_ca"
else
    find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cat {} + >"$extra_ca" 2>/dev/null || true
fi
if [[ -s $extra_ca ]]; then
    build_flags+=(--secret "id=extra_ca,src=$extra_ca")
    echo "build stages trust $(grep -c 'BEGIN CERTIFICATE' "$extra_ca") extra CA certificate(s)"
fi

# start_build NAME ARGS... CONTEXT: a build in the background, its output in
# $logs/build-NAME.log with each line stamped with the seconds since it began.
start_build() {
    local name=$1
    shift
    echo "building $name (load average $(load))"
    (
        begun=$SECONDS
        set +e
        e build "${build_flags[@]}" "$@" 2>&1 | while IFS= read -r line; do
            printf '[%4ds] %s\n' $((SECONDS - begun)) "$line"
        done >"$logs/build-$name.log"
        echo "${PIPESTATUS[0]} $((SECONDS - begun))" >"$logs/build-$name.status"
    ) &
    build_pids[$name]=$!
}
# finish_build NAME: waits for it; its steps (cached or not), its time, PASS or FAIL (fatal).
finish_build() {
    local name=$1 log=$logs/build-$1.log status secs
    wait "${build_pids[$name]}" || true
    read -r status secs <"$logs/build-$name.status" || { status=1 secs=0; }
    build_secs[$name]=$secs
    echo "$name:"
    # The steps, and whether each came from the cache, without the compiler's output.
    grep -E '^\[ *[0-9]+s\] ((\[[0-9]+/[0-9]+\] )?STEP|#[0-9]+ \[|--> Using cache|#[0-9]+ CACHED)' "$log" |
        sed -E 's/^(.{150}).*/\1…/' | sed 's/^/  /' || true
    if ((status != 0)); then
        tail -n 30 "$log" | sed 's/^/  /'
        fatal "$name: the build failed (exit $status)"
    fi
    pass "$name built in $(elapsed "$secs") (load average now $(load))"
}
declare -A build_pids=() build_secs=()

# The ha profile's images: the official ones, or where no registry answers stand-ins built
# from Debian's packages (scripts/container/), other versions, as said here and in
# docs/deploy.md. Built in the background meanwhile: they only need the slim base.
postgres_image=$(sed -n 's/.*COMPETITOR_SYNC_POSTGRES_IMAGE:-\([^}]*\)}.*/\1/p' docker-compose.yml)
nginx_image=$(sed -n 's/.*COMPETITOR_SYNC_NGINX_IMAGE:-\([^}]*\)}.*/\1/p' docker-compose.yml)
stand_ins=()
if ! have_image "$postgres_image"; then
    export COMPETITOR_SYNC_POSTGRES_IMAGE=competitor-sync-stand-in-postgres:local
    echo "$postgres_image cannot be pulled: the ha profile will use $COMPETITOR_SYNC_POSTGRES_IMAGE, Debian's PostgreSQL ($debian_release's version, not the official image's)"
    start_build "$COMPETITOR_SYNC_POSTGRES_IMAGE" -f scripts/container/postgres/Containerfile \
        --build-arg "DEBIAN_RELEASE=$debian_release" -t "$COMPETITOR_SYNC_POSTGRES_IMAGE" scripts/container/postgres
    stand_ins+=("$COMPETITOR_SYNC_POSTGRES_IMAGE")
fi
if ! have_image "$nginx_image"; then
    export COMPETITOR_SYNC_NGINX_IMAGE=competitor-sync-stand-in-nginx:local
    echo "$nginx_image cannot be pulled: the ha profile will use $COMPETITOR_SYNC_NGINX_IMAGE, Debian's nginx ($debian_release's version, not the official image's)"
    start_build "$COMPETITOR_SYNC_NGINX_IMAGE" -f scripts/container/nginx/Containerfile \
        --build-arg "DEBIAN_RELEASE=$debian_release" -t "$COMPETITOR_SYNC_NGINX_IMAGE" scripts/container/nginx
    stand_ins+=("$COMPETITOR_SYNC_NGINX_IMAGE")
fi

section "the shared stages (chef, planner, dependencies, sources)"
# First alone: both images start from them, and built once their layers are one cache entry
# for both. Tagged, so the cache they hold stays when superseded layers are pruned at the end.
start_build sources --target sources -t competitor-sync-build:sources .
finish_build sources

section "production and sandbox images, built side by side"
# Each ends in a compile of one crate graph that keeps one core busy part of the time: side
# by side, the two overlap.
images_started=$SECONDS
start_build competitor-sync:local --target runtime -t competitor-sync:local .
start_build competitor-sync-sandbox:local --target sandbox -t competitor-sync-sandbox:local .
finish_build competitor-sync:local
finish_build competitor-sync-sandbox:local
images_secs=$((SECONDS - images_started))
echo "both images in $(elapsed "$images_secs") after the shared stages"
# The stages that compiled the binaries, tagged (from the cache, in seconds) so that the prune
# at the end keeps them: a run with no source change then compiles nothing.
for stage in builder sandbox-builder; do
    e build "${build_flags[@]}" --target "$stage" -t "competitor-sync-build:$stage" . \
        >>"$logs/build-stage-tags.log" 2>&1 || fatal "tagging the $stage stage"
done
# The sandbox's build must not pass through the stage that compiles the service, nor compile
# the service's crate itself.
no_service_build() {
    ! grep -E 'cargo build --release --locked -p competitor-sync --bin competitor-sync[[:space:]]*$|Compiling competitor-sync v' \
        "$logs/build-competitor-sync-sandbox:local.log"
}
check "--target sandbox does not build the service (no builder stage, no compile of its crate)" no_service_build
# The user is made without useradd's warning that 10001 is above SYS_UID_MAX (a step taken
# from the cache prints nothing, so this tells only on a run that made the stage).
no_useradd_warning() {
    ! grep -E 'useradd.*warning|SYS_UID_MAX' "$logs/build-competitor-sync:local.log" "$logs/build-competitor-sync-sandbox:local.log"
}
check "useradd gives no warning in the runtime and sandbox stages" no_useradd_warning
for image in "${stand_ins[@]}"; do
    finish_build "$image"
done

section "image sizes"
for image in competitor-sync:local competitor-sync-sandbox:local "$(qualified "$debian_image")" "$(qualified "$rust_image")"; do
    printf '  %-44s %s\n' "$image" "$(mb "$(e image inspect --format '{{.Size}}' "$image")")"
done
echo "  competitor-sync:local, layer by layer:"
e history --format '{{.Size}}\t{{.CreatedBy}}' competitor-sync:local |
    awk -F'\t' '$1 != "0B" && $1 != "0 B" { printf "    %10s  %s\n", $1, substr($2, 1, 100) }'

# The service's settings for the checks: a token, and upstreams that refuse at once (a port
# of the container's own loopback where nothing listens), so nothing leaves this machine.
placeholder_env=(
    -e COMPETITOR_SYNC__WEBHOOK__TOKEN=placeholder-token-0123456789abcdef
    -e COMPETITOR_SYNC__GONG__ACCESS_KEY=placeholder-access-key
    -e COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET=placeholder-access-key-secret
    -e COMPETITOR_SYNC__GONG__BASE_URL=http://127.0.0.1:9
    -e COMPETITOR_SYNC__SALESFORCE__LOGIN_URL=http://127.0.0.1:9
    -e COMPETITOR_SYNC__SALESFORCE__CLIENT_ID=placeholder-client-id
    -e COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET=placeholder-client-secret
)

section "the production image, from outside"
help_works() {
    local out
    out=$(e run --rm --no-healthcheck competitor-sync:local --help) && echo "$out" &&
        grep -q '^  serve' <<<"$out" && grep -q '^  check' <<<"$out"
}
check "--help lists the commands" help_works

set +e
check_output=$(e run --rm --no-healthcheck "${placeholder_env[@]}" competitor-sync:local check 2>&1)
check_status=$?
set -e
indent <<<"$check_output"
check_lines() {
    ((check_status != 0)) &&
        grep -q '^✓ configuration: loaded and valid' <<<"$check_output" &&
        grep -q '^✓ webhook authentication: token' <<<"$check_output" &&
        grep -q '^✓ store: sqlite:///data/competitor-sync.db is writable' <<<"$check_output" &&
        grep -q '^✗ Gong credentials' <<<"$check_output" &&
        grep -q '^✗ Salesforce token' <<<"$check_output" &&
        [[ $(grep -c '^✗' <<<"$check_output") -eq 2 ]]
}
check "check with placeholder settings fails on the upstream checks only (exit $check_status)" check_lines

serve=competitor-sync-test-serve
# The engine's own messages go to $logs/engine.log: podman without systemd says there that it
# cannot schedule the HEALTHCHECK's timer (the check below runs the command itself).
e run -d --name "$serve" "${placeholder_env[@]}" -p 127.0.0.1::8080 competitor-sync:local \
    >/dev/null 2>>"$logs/engine.log"
port=$(e port "$serve" 8080 | head -n 1 | sed 's/.*://')
check "serve answers /healthz (127.0.0.1:$port)" wait_until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz"
check "serve answers /readyz" curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz"
runs_as_10001() {
    local status
    status=$(e exec "$serve" cat /proc/1/status) || return 1
    grep -E '^(Uid|Gid):' <<<"$status"
    grep -Eq '^Uid:\s+10001\s+10001\s+10001\s+10001$' <<<"$status" &&
        grep -Eq '^Gid:\s+10001\s+10001\s+10001\s+10001$' <<<"$status"
}
check "the process runs as uid and gid 10001" runs_as_10001
check "it can write in /data" e exec "$serve" sh -c 'touch /data/probe && rm /data/probe'
cannot_write() { ! e exec "$serve" sh -c "touch '${1%/}/probe'"; }
for target in / /usr/local/bin /config /etc; do
    check "it cannot write in $target" cannot_write "$target"
done
# Everything the user may write on the image's own file system: /data and the usual sticky
# world-writable temporary directories, nothing else.
# (find says nothing of what it cannot read, and fails for it: its list is what counts.)
writable=$(e exec "$serve" find / -xdev -writable ! -path '/proc/*' 2>/dev/null | sort | tr '\n' ' ' || true)
echo "    writable on the image's file system: ${writable:-nothing}"
only_temp_writable() {
    local path
    for path in $writable; do
        case $path in
        /data | /tmp | /var/tmp | /run/lock | /var/lock) ;;
        *)
            echo "writable: $path"
            return 1
            ;;
        esac
    done
}
check "nothing else on the image's file system is writable (besides /tmp, /var/tmp, /run/lock)" \
    only_temp_writable

healthcheck=$(e image inspect --format '{{json .Config.Healthcheck.Test}}' competitor-sync:local)
echo "    HEALTHCHECK: $healthcheck"
check "the image keeps its HEALTHCHECK" grep -q healthz <<<"$healthcheck"
if [[ $engine == podman ]]; then
    check "the HEALTHCHECK command succeeds (podman healthcheck run)" e healthcheck run "$serve"
else
    # Docker runs it itself, the first time an interval (30 s) after the start.
    healthy() { [[ $(docker inspect --format '{{.State.Health.Status}}' "$serve") == healthy ]]; }
    check "the HEALTHCHECK reports healthy (docker inspect)" wait_until healthy
fi

stop_started=$(date +%s.%N)
e kill -s TERM "$serve" >/dev/null 2>>"$logs/engine.log"
exit_code=$(timeout 45 "$engine" wait "$serve" 2>>"$logs/engine.log" | head -n 1 || echo timeout)
stop_secs=$(awk -v a="$stop_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
stopped_cleanly() { [[ $exit_code == 0 ]] && awk -v s="$stop_secs" 'BEGIN { exit !(s < 40) }'; }
check "SIGTERM: exit code 0 within the 40 s grace (exit $exit_code after $stop_secs s)" stopped_cleanly
e rm -f "$serve" >/dev/null 2>>"$logs/engine.log"

# The service needs no other writable place: it serves with a read-only root file system
# (the engine gives /tmp and /run their own tmpfs there).
readonly_ctr=competitor-sync-test-readonly
e run -d --name "$readonly_ctr" --read-only --no-healthcheck "${placeholder_env[@]}" \
    -p 127.0.0.1::8080 competitor-sync:local >/dev/null 2>>"$logs/engine.log"
port=$(e port "$readonly_ctr" 8080 | head -n 1 | sed 's/.*://')
check "serve with a read-only root file system answers /readyz" \
    wait_until curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz"
e rm -f "$readonly_ctr" >/dev/null 2>>"$logs/engine.log"

# shellcheck source=scripts/demo-values.sh
source scripts/demo-values.sh
show_opportunities() {
    curl -fsS http://127.0.0.1:8081/sandbox/opportunities.txt |
        awk -F'\t' '{ printf "    %-42s %s\n", $3, ($2 == "" ? "(empty)" : $2) }' || true
}
# fire_and_check WHAT ANSWER [fire arguments]: every webhook answered 202 ANSWER.
fire_and_check() {
    local what=$1 answer=$2 fired
    shift 2
    fired=$(compose "${profile_args[@]}" exec -T sandbox competitor-sync-sandbox fire "$@" 2>&1) || true
    indent <<<"$fired"
    fired_lines() {
        [[ $(grep -cE "^202 .* $answer \(job" <<<"$fired") -eq 8 ]] &&
            [[ $(grep -cE '^[0-9]{3} ' <<<"$fired") -eq 8 ]]
    }
    check "$what: 8 webhooks answered 202 $answer" fired_lines
}
ports_free() {
    local port
    for port in "$@"; do
        if ss -Hltn "sport = :$port" | grep -q .; then
            echo "port $port is taken: $(ss -Hltnp "sport = :$port" | head -n 1)"
            return 1
        fi
    done
}
# service_container PROJECT SERVICE: the id of that compose service's container, by the labels
# docker compose and podman-compose (1.x) both set.
service_container() {
    e ps -aq --filter "label=com.docker.compose.project=$1" \
        --filter "label=com.docker.compose.service=$2" | head -n 1
}
project_gone() {
    [[ -z $(e ps -aq --filter "label=com.docker.compose.project=$1") ]] &&
        [[ -z $(e ps -aq --filter "label=io.podman.compose.project=$1") ]] &&
        [[ -z $(e volume ls -q --filter "label=com.docker.compose.project=$1") ]] &&
        [[ -z $(e volume ls -q --filter "label=io.podman.compose.project=$1") ]]
}

section "compose: the sandbox demo"
profile_args=()
compose_started=$SECONDS
check "ports 8080 and 8081 are free" ports_free 8080 8081
compose up -d --no-build >"$logs/compose-up.log" 2>&1 || { cat "$logs/compose-up.log"; fail "compose up"; }
check "the service answers /healthz on :8080" wait_until curl -fsS -o /dev/null http://127.0.0.1:8080/healthz
check "the sandbox answers on :8081" wait_until curl -fsS -o /dev/null http://127.0.0.1:8081/healthz
fire_and_check "fire" new
if wait_until demo_values_written http://127.0.0.1:8081; then
    pass "the Opportunities hold the README's values (the sweep's included)"
else
    fail "the Opportunities hold the README's values (the sweep's included)"
fi
show_opportunities
fire_and_check "fire again" duplicate
compose exec -T competitor-sync competitor-sync jobs list 2>&1 | sed 's/^/    /' || true
compose down -v >"$logs/compose-down.log" 2>&1 || { cat "$logs/compose-down.log"; fail "compose down -v"; }
check "down -v removes the containers and the store" project_gone "$project"
echo "sandbox demo in $(elapsed $((SECONDS - compose_started)))"

section "compose: the real profile without a .env"
# A copy of docker-compose.yml alone in a directory of its own: no .env can be there, so this
# never starts the service against a real Gong or Salesforce.
mkdir -p "$work/real"
cp docker-compose.yml "$work/real/"
real=("${compose_cmd[@]}" -p "$project-real" -f "$work/real/docker-compose.yml" --profile real)
"${real[@]}" up -d --no-build competitor-sync-real >"$logs/real-up.log" 2>&1 ||
    { cat "$logs/real-up.log"; fail "compose --profile real up"; }
real_container=$(service_container "$project-real" competitor-sync-real)
real_down() { [[ $(e inspect --format '{{.State.Status}}' "$real_container") == exited ]]; }
stays_down() {
    local restarts
    real_down || return 1
    restarts=$(restart_count "$real_container")
    sleep 10
    real_down && [[ $(restart_count "$real_container") == "$restarts" ]]
}
if [[ -n $real_container ]] && wait_until stays_down; then
    pass "it stops and stays down (restarted $(restart_count "$real_container") times, exit $(e inspect --format '{{.State.ExitCode}}' "$real_container"))"
else
    fail "it stops and stays down"
fi
real_logs=$(e logs "$real_container" 2>&1 | tail -n 1 || true)
echo "    $real_logs"
check "its log names the missing setting" grep -q 'invalid configuration: .*COMPETITOR_SYNC__' <<<"$real_logs"
"${real[@]}" down -v >/dev/null 2>&1 || true

section "compose: the ha profile (two replicas on PostgreSQL behind nginx)"
ha_started=$SECONDS
profile_args=(--profile ha)
check "ports 8081 and 8090 are free" ports_free 8081 8090
# The replicas start once PostgreSQL answers: podman-compose waits for service_healthy only
# with podman 4.6 or newer, so the order is kept here. The SQLite service of the demo is
# left out: the replicas alone must sync the calls.
compose --profile ha up -d --no-build sandbox postgres >"$logs/ha-up.log" 2>&1 ||
    { cat "$logs/ha-up.log"; fail "compose --profile ha up sandbox postgres"; }
check "PostgreSQL answers" wait_until compose --profile ha exec -T postgres pg_isready -U competitor_sync -d competitor_sync
compose --profile ha up -d --no-build competitor-sync-ha-1 competitor-sync-ha-2 ha >>"$logs/ha-up.log" 2>&1 ||
    { cat "$logs/ha-up.log"; fail "compose --profile ha up (the replicas and the load balancer)"; }
check "the load balancer answers /readyz on :8090" wait_until curl -fsS -o /dev/null http://127.0.0.1:8090/readyz
for replica in competitor-sync-ha-1 competitor-sync-ha-2; do
    check "$replica is ready" wait_until compose --profile ha exec -T "$replica" curl -fsS -o /dev/null http://127.0.0.1:8080/readyz
    # Started beside PostgreSQL, a replica waits for it rather than exiting to be restarted.
    restarts=$(restart_count "$(service_container "$project" "$replica")")
    # A restart shows why the run before it ended: its warnings and errors.
    never_restarted() {
        [[ $restarts == 0 ]] && return 0
        compose --profile ha logs "$replica" 2>&1 | grep -v '"level":"INFO"' | tail -n 10
        return 1
    }
    check "$replica started once (restarted $restarts times)" never_restarted
done
fire_and_check "fire through the load balancer" new --service http://ha:8080/webhooks/gong
if wait_until demo_values_written http://127.0.0.1:8081; then
    pass "the replicas wrote the README's values (the sweep's included)"
else
    fail "the replicas wrote the README's values (the sweep's included)"
fi
show_opportunities
fire_and_check "fire again through the load balancer" duplicate --service http://ha:8080/webhooks/gong
jobs_1=$(compose --profile ha exec -T competitor-sync-ha-1 competitor-sync jobs list 2>&1 || true)
jobs_2=$(compose --profile ha exec -T competitor-sync-ha-2 competitor-sync jobs list 2>&1 || true)
indent <<<"$jobs_1"
same_jobs() { [[ -n $jobs_1 && $jobs_1 == "$jobs_2" ]] && grep -q sweep <<<"$jobs_1"; }
check "both replicas list the same jobs, the sweep's included (one queue in PostgreSQL)" same_jobs
# The load balancer alternates between the replicas: each must have taken webhooks.
for replica in competitor-sync-ha-1 competitor-sync-ha-2; do
    accepted=$(compose --profile ha logs "$replica" 2>/dev/null | grep -c 'webhook accepted' || true)
    took_webhooks() { ((accepted > 0)); }
    check "$replica accepted webhooks through the load balancer ($accepted)" took_webhooks
done
# Their logs stay beside the build logs, for a failure to be read after the run.
for service in competitor-sync-ha-1 competitor-sync-ha-2 postgres ha; do
    compose --profile ha logs "$service" >"$logs/ha-$service.log" 2>&1 || true
done
compose --profile ha down -v >"$logs/ha-down.log" 2>&1 || { cat "$logs/ha-down.log"; fail "compose --profile ha down -v"; }
check "down -v removes the replicas, PostgreSQL and its volume" project_gone "$project"
echo "ha profile in $(elapsed $((SECONDS - ha_started)))"

if [[ $engine == podman ]]; then
    # Layers no image or cache entry uses any more (an earlier source's build), so the kept
    # storage does not grow with every change; the tagged images (competitor-sync-build:*
    # and the images themselves) keep the layers the next build can reuse.
    e image prune -f >/dev/null 2>&1 || true
    echo "storage: $(du -sh "$state/storage" 2>/dev/null | cut -f1)"
fi

section "summary"
echo "base images $(elapsed "$base_secs"); shared stages $(elapsed "${build_secs[sources]}");" \
    "production image $(elapsed "${build_secs[competitor-sync:local]}") and sandbox image" \
    "$(elapsed "${build_secs[competitor-sync-sandbox:local]}") side by side, $(elapsed "$images_secs") together;" \
    "whole run $(elapsed $((SECONDS - started)))"
echo "container-test: $passed passed, $failed failed"
((failed == 0))
