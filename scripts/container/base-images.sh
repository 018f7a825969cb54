# The base images the Dockerfile names, for scripts/container-test.sh (sourced): pulled, or
# where no registry answers made here from Debian's packages and this machine's Rust
# toolchain, and imported under the same names (a fallback for closed networks:
# docs/deploy.md). Defines have_image and qualified, used by the rest of the script.
# shellcheck shell=bash disable=SC2154 # the variables it shares with the script that sources it

# An image present locally, or pulled; false if neither.
have_image() {
    e image inspect "$1" >/dev/null 2>&1 && return 0
    timeout 300 "$engine" pull -q "$1" >/dev/null 2>&1
}
# Where a short name lands in the engine's storage, so FROM finds an imported image.
qualified() {
    case $1 in
    */*) echo "docker.io/$1" ;;
    *) echo "docker.io/library/$1" ;;
    esac
}

dockerfile_arg() { sed -n "s/^ARG $1=//p" Dockerfile | head -n 1; }
rust_version=$(dockerfile_arg RUST_VERSION)
debian_release=$(dockerfile_arg DEBIAN_RELEASE)
debian_image=debian:$debian_release-slim
rust_image=rust:$rust_version-$debian_release
mirrors=(
    "deb http://deb.debian.org/debian $debian_release main"
    "deb http://deb.debian.org/debian $debian_release-updates main"
    "deb http://deb.debian.org/debian-security $debian_release-security main"
)

# The official images' apt and dpkg settings, and no package lists (mmdebstrap gives the new
# root as the hook's first argument).
image_hook=(--customize-hook="$(printf '%q' "$repo/scripts/container/debian-image-hook.sh") \"\$1\"")

# debian:<release>-slim as the official image is made: minbase, merged /usr, no manuals,
# documentation (but copyrights) or translations, no package lists. Written to stdout.
slim_rootfs() {
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/groff/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --dpkgopt='path-exclude=/usr/share/linda/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --aptopt='Acquire::Languages "none"' \
        "${image_hook[@]}" "$debian_release" - "${mirrors[@]}"
}

# The toolchain of this machine whose rustc is $rust_version.x: its directory and name.
find_toolchain() {
    local home=${RUSTUP_HOME:-$HOME/.rustup} dir version
    for dir in "$home/toolchains/$rust_version"* "$home"/toolchains/*; do
        [[ -x $dir/bin/rustc ]] || continue
        version=$("$dir/bin/rustc" --version 2>/dev/null | cut -d' ' -f2)
        if [[ $version == "$rust_version" || $version == "$rust_version".* ]]; then
            toolchain_dir=$(readlink -f "$dir")
            toolchain_name=$version-$("$dir/bin/rustc" -vV | sed -n 's/^host: //p')
            return 0
        fi
    done
    return 1
}

# rust:<version>-<release> as the official image is laid out (it is buildpack-deps plus
# rustup): the compilers and tools a Rust build uses, from the distribution, a subset of
# buildpack-deps', and this machine's toolchain. Written to stdout.
rust_rootfs() {
    local hook
    hook=$(printf '%q ' "$repo/scripts/container/rust-toolchain-hook.sh")
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
        --include=ca-certificates,curl,wget,netbase,gnupg,git,openssh-client,procps,gcc,g++,libc6-dev,make,pkg-config,libssl-dev,dpkg-dev,file,patch,xz-utils,bzip2,unzip,zlib1g-dev \
        --customize-hook="$hook \"\$1\" $(printf '%q ' "$toolchain_dir" "$toolchain_name" "$(readlink -f "$(command -v rustup)")")" \
        "${image_hook[@]}" "$debian_release" - "${mirrors[@]}"
}

# What a fallback image is made of, as a short hash, kept in its label: a fallback made by an
# earlier recipe (or from another toolchain) is made again rather than reused.
recipe() {
    case $1 in
    *debian*) declare -f slim_rootfs ;;
    *) declare -f rust_rootfs && echo "$toolchain_name" && cat scripts/container/rust-toolchain-hook.sh ;;
    esac | cat - scripts/container/debian-image-hook.sh <(printf '%s\n' "${mirrors[@]}") |
        sha256sum | cut -c1-16
}
fallback_label() {
    e image inspect --format '{{ index .Config.Labels "org.competitor-sync.fallback" }}' "$1" 2>/dev/null |
        grep -E '^[0-9a-f]{16}$' || true
}

import_rootfs() { # IMPORT_NAME LOG_FILE CHANGE...: stdin, a root file system's tar
    local name=$1 log=$2
    shift 2
    local changes=(--change "LABEL org.competitor-sync.fallback=$(recipe "$name")")
    local change
    for change in "$@"; do changes+=(--change "$change"); done
    e import "${changes[@]}" - "$name" >>"$log" 2>&1
}

section "base images ($debian_image, $rust_image)"
base_started=$SECONDS
declare -A build_pid=()
toolchain_dir='' toolchain_name=''
find_toolchain || true
for image in "$debian_image" "$rust_image"; do
    if have_image "$(qualified "$image")"; then
        made_by=$(fallback_label "$(qualified "$image")")
        if [[ -z $made_by ]]; then
            echo "$image: present"
            continue
        elif [[ $made_by == "$(recipe "$image")" ]]; then
            echo "$image: present (this machine's fallback, recipe $made_by)"
            continue
        fi
        echo "$image: a fallback made by another recipe ($made_by): making it again"
    else
        # No registry answers: build it here, both at once (mostly downloads and unpacking).
        echo "$image: cannot be pulled; building the closed-network fallback from Debian's packages"
    fi
    log=$logs/base-${image%%:*}.log
    if [[ $image == "$debian_image" ]]; then
        (slim_rootfs 2>"$log" | import_rootfs "$(qualified "$image")" "$log.import" 'CMD ["bash"]') &
    else
        [[ -n $toolchain_dir ]] || fatal "no Rust $rust_version toolchain on this machine to build $rust_image from"
        echo "  with $toolchain_dir as $toolchain_name"
        (rust_rootfs 2>"$log" | import_rootfs "$(qualified "$image")" "$log.import" \
            'ENV RUSTUP_HOME=/usr/local/rustup' 'ENV CARGO_HOME=/usr/local/cargo' \
            'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            "ENV RUST_VERSION=${toolchain_name%%-*}" 'CMD ["bash"]') &
    fi
    build_pid[$image]=$!
done
for image in "${!build_pid[@]}"; do
    if ! wait "${build_pid[$image]}" || ! e image inspect "$(qualified "$image")" >/dev/null 2>&1; then
        tail -n 20 "$logs/base-${image%%:*}.log"*
        fatal "$image: the fallback could not be built"
    fi
    echo "$image: built and imported"
done
base_secs=$((SECONDS - base_started))
echo "base images ready in $(elapsed $base_secs)"
