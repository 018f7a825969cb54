#!/bin/sh
# mmdebstrap customize hook for the fallback base images (scripts/container-test.sh): the apt
# and dpkg settings Debian's official container images carry (debuerreotype's docker-*
# files). Without docker-clean, every `apt-get install` in a Dockerfile would leave its
# downloaded packages and caches in its layer (about 80 MB for ca-certificates and curl).
#
#   debian-image-hook.sh ROOT
set -eu
root=$1
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"'
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<EOF2
DPkg::Post-Invoke { $clean; };
APT::Update::Post-Invoke { $clean; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF2
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' \
    >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
# mmdebstrap's own settings name its temporary build directory: not for the image.
rm -f "$root/etc/apt/apt.conf.d/99mmdebstrap"
# As in the official images: an empty machine id, filled by whoever boots the image.
: >"$root/etc/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
