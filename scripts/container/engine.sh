# The container engine for scripts/container-test.sh (sourced): docker when its daemon
# answers, else podman on a storage and configuration of the script's own. Sets engine,
# compose_cmd and build_flags, and defines e (the engine) and compose (this project's file).
# shellcheck shell=bash disable=SC2034,SC2154 # the variables it shares with the script that sources it

section "engine"
if docker info >/dev/null 2>&1; then
    engine=docker
    if ! docker compose version >/dev/null 2>&1; then
        fatal "docker answers but its compose plugin is missing (Compose 2.24 or newer)"
    fi
    compose_cmd=(docker compose)
    build_flags=(--progress=plain)
    echo "docker: $(docker version --format '{{.Server.Version}}')"
else
    engine=podman
    # Debian's podman: its podman-compose (1.0.3 in bookworm) predates compose profiles, so a
    # newer one comes from PyPI below; mmdebstrap and the keyring build the fallback images,
    # dpkg-dev's dpkg-architecture serves mmdebstrap's eatmydata hook.
    missing=()
    for tool in podman:podman buildah:buildah runc:runc newuidmap:uidmap mmdebstrap:mmdebstrap \
        dpkg-architecture:dpkg-dev; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
    done
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
    if ((${#missing[@]})); then
        echo "installing ${missing[*]} with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi

    # The engine's settings, in files of this script's own, never the machine's. The storage
    # lives under $state, kept between runs: it holds the build cache.
    conf=$state/conf
    mkdir -p "$conf" "$state/networks"
    cat >"$conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "/run/competitor-sync-container-test/storage"
EOF
    # Ulimits within the machine's hard limits: podman's default nofile (1048576) is above
    # some VMs' hard limit, and the container then fails to start.
    nofile=$(ulimit -Hn)
    [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
    nproc=$(ulimit -Hu)
    [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    # runc rather than crun where both exist: crun refuses the hybrid cgroup v1/v2 layout of
    # some VMs. cgroupfs and file events where systemd does not run the machine.
    runtime=runc
    command -v runc >/dev/null 2>&1 || runtime=crun
    cgroup_manager=systemd
    events_logger=journald
    if [[ ! -d /run/systemd/system ]]; then
        cgroup_manager=cgroupfs
        events_logger="file"
    fi
    cat >"$conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[network]
network_config_dir = "$state/networks"

[engine]
runtime = "$runtime"
cgroup_manager = "$cgroup_manager"
events_logger = "$events_logger"
static_dir = "$state/storage/libpod"
volume_path = "$state/storage/volumes"
tmp_dir = "/run/competitor-sync-container-test/libpod"
EOF
    export CONTAINERS_STORAGE_CONF=$conf/storage.conf CONTAINERS_CONF=$conf/containers.conf
    # Docker's image format keeps HEALTHCHECK (the OCI format has no such field): podman
    # build takes --format, podman-compose's builds read BUILDAH_FORMAT.
    export BUILDAH_FORMAT=docker
    build_flags=(--format docker)

    tools=$state/tools
    if [[ ! -x $tools/bin/podman-compose ]]; then
        echo "installing podman-compose 1.6.0 from PyPI into $tools"
        python3 -m venv "$tools" >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null &&
                python3 -m venv "$tools"; }
        "$tools/bin/pip" install --quiet podman-compose==1.6.0
    fi
    compose_cmd=("$tools/bin/podman-compose")
    echo "$(podman --version), $(buildah --version | cut -d' ' -f1-3), podman-compose $("$tools/bin/podman-compose" --version 2>/dev/null | sed -n 's/^podman-compose version //p' | head -n 1)"
    echo "storage: $state/storage (kept between runs), runtime $runtime, nofile $nofile, nproc $nproc"
fi
e() { "$engine" "$@"; }
compose() { "${compose_cmd[@]}" -p "$project" -f "$repo/docker-compose.yml" "$@"; }
# restart_count CONTAINER: how often its restart policy restarted it ("unknown" if gone).
restart_count() { e inspect --format '{{.RestartCount}}' "$1" 2>/dev/null || echo unknown; }
