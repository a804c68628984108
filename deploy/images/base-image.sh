#!/usr/bin/env bash
# Makes the base image every Dockerfile of deploy/ starts FROM (debian:bookworm-slim) when the
# Docker engine does not have it and cannot pull it (no registry reachable). With a registry
# this script is not needed: `docker build` pulls the official image.
#
#   deploy/images/base-image.sh [IMAGE]     IMAGE defaults to debian:bookworm-slim
#
# It bootstraps a minimal Debian 12 (bookworm) with debootstrap from the configured Debian
# mirror (DEBIAN_MIRROR, default deb.debian.org) and imports it with `docker import`. Docs, man
# pages, locales and apt lists are left out, as in the official slim image. Needs root,
# debootstrap and a Docker engine.
set -euo pipefail

IMAGE=${1:-debian:bookworm-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '[base-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE is there already"
    exit 0
fi
if docker pull "$IMAGE" >/dev/null 2>&1; then
    log "pulled $IMAGE"
    exit 0
fi
((EUID == 0)) || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"

root=$(mktemp -d /tmp/cloudhp-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
log "bootstrapping Debian bookworm into $root (about a minute)"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
SOURCES
# What the official slim image leaves out, and what apt would fetch again anyway.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
# Keep docs and man pages out of the packages installed later in derived images.
cat > "$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
