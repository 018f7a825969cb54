#!/bin/sh
# mmdebstrap customize hook for the fallback Rust builder image (scripts/container-test.sh):
# copies one toolchain of this machine's rustup into the new root where the official rust
# image keeps it (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo) and writes
# rustup's settings and proxies as rustup-init does there.
#
#   rust-toolchain-hook.sh ROOT TOOLCHAIN_DIR TOOLCHAIN_NAME RUSTUP_BINARY
set -eu
root=$1
source=$2
name=$3
rustup=$4

rustup_home=$root/usr/local/rustup
cargo_home=$root/usr/local/cargo
mkdir -p "$rustup_home/toolchains/$name" "$cargo_home/bin"
# The documentation (rust-docs, ~800 MB) stays out: the official image installs the minimal
# profile, which has none.
tar -C "$source" --exclude=./share/doc -cf - . | tar -C "$rustup_home/toolchains/$name" -xf -
components=$rustup_home/toolchains/$name/lib/rustlib/components
if [ -f "$components" ]; then
    grep -v '^rust-docs' "$components" >"$components.new" || true
    mv "$components.new" "$components"
    rm -f "$rustup_home/toolchains/$name/lib/rustlib/manifest-rust-docs-"*
fi
cat >"$rustup_home/settings.toml" <<SETTINGS
version = "12"
default_toolchain = "$name"
profile = "minimal"

[overrides]
SETTINGS
cp "$rustup" "$cargo_home/bin/rustup"
for proxy in cargo cargo-clippy cargo-fmt cargo-miri clippy-driver rls rust-analyzer \
    rust-gdb rust-gdbgui rust-lldb rustc rustdoc rustfmt; do
    ln -sf rustup "$cargo_home/bin/$proxy"
done
# As in the official image: any user may install crates and toolchains there.
chmod -R a+w "$rustup_home" "$cargo_home"
