#!/usr/bin/env bash
# Build the project's base image (neocuma/base:bookworm) without a container registry.
#
# Order of attempts:
#   1. the image is already there: nothing to do;
#   2. debian:bookworm-slim is present locally or can be pulled: retag a thin layer of it;
#   3. otherwise debootstrap (or mmdebstrap) a minimal bookworm and `docker import` it.
# Needs root (or sudo) for step 3, as debootstrap creates device nodes and chowns files.
set -euo pipefail

IMAGE="${BASE_IMAGE:-neocuma/base:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

log() { printf 'build-base-image: %s\n' "$*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already present"
    exit 0
fi

if [ "${BASE_FROM_REGISTRY:-auto}" != "never" ]; then
    if docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
        || timeout 60 docker pull debian:bookworm-slim >/dev/null 2>&1; then
        log "tagging debian:bookworm-slim as $IMAGE"
        docker tag debian:bookworm-slim "$IMAGE"
        exit 0
    fi
    log "no registry reachable: building $IMAGE from Debian packages"
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

workdir="$(mktemp -d /tmp/neocuma-base.XXXXXX)"
cleanup() { $SUDO rm -rf "$workdir"; }
trap cleanup EXIT
rootfs="$workdir/rootfs"

if command -v mmdebstrap >/dev/null 2>&1; then
    $SUDO mmdebstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR"
elif command -v debootstrap >/dev/null 2>&1; then
    $SUDO debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR"
else
    log "neither mmdebstrap nor debootstrap is installed (apt-get install debootstrap)"
    exit 1
fi

# Same sources as the official image, so `apt-get update` inside builds gets security fixes.
$SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
# Keep the image small and apt quiet, as debian:bookworm-slim does.
$SUDO tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CLEAN
$SUDO tee "$rootfs/etc/apt/apt.conf.d/docker-no-recommends" >/dev/null <<'NOREC'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
NOREC
$SUDO rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* "$rootfs"/var/log/*.log

$SUDO tar -C "$rootfs" --numeric-owner -c . \
    | docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "NeoCuma base: Debian $SUITE minbase" \
        - "$IMAGE" >/dev/null
log "built $IMAGE"
