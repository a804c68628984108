#!/usr/bin/env bash
# Builds the images of deploy/: cloudhp (every role) and the infrastructure of the demo stack
# (HAProxy, MariaDB, NATS, Swift, an SMTP sink), all from debian:bookworm-slim (made locally by
# base-image.sh when no registry is reachable).
#
#   deploy/images/build.sh [--binary PATH] [--source]
#
#   --binary PATH   pack this host-built binary (default target/release/cloudhp, built with
#                   `cargo build --release` when missing) - the fast path
#   --source        compile inside the build (the Dockerfile's rust stage; needs the rust image)
# Environment: REGISTRY (image name prefix), TAG (latest), ONLY (space-separated subset of
# cloudhp haproxy mariadb nats swift smtp-sink).
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../.." && pwd -P)
cd "$repo"

log() { printf '[build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

binary=target/release/cloudhp
mode=host
while (($#)); do
    case $1 in
        --binary) binary=${2:?--binary needs a path}; shift ;;
        --source) mode=source ;;
        *) die "unknown argument $1" ;;
    esac
    shift
done
command -v docker >/dev/null || die "docker is not installed (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"

prefix=${REGISTRY:+$REGISTRY/}
tag=${TAG:-latest}
only=" ${ONLY:-cloudhp haproxy mariadb nats swift smtp-sink} "
# BuildKit skips the stages an image does not need (the rust stage of the fast path). The
# Debian docker.io package's client may not default to it.
export DOCKER_BUILDKIT=1
docker_bin=docker
[[ -x /usr/bin/docker ]] && docker_bin=/usr/bin/docker

"$here/base-image.sh" debian:bookworm-slim

if [[ $only == *" cloudhp "* ]]; then
    if [[ $mode == host ]]; then
        if [[ ! -x $binary && $binary == target/release/cloudhp ]]; then
            log "building the release binary (cargo build --release -p cloudhp)"
            cargo build --release --locked -p cloudhp
        fi
        [[ -x $binary ]] || die "no binary at $binary"
        mkdir -p target/image
        # Debug symbols stay on the host: the image carries the code only.
        objcopy --strip-debug "$binary" target/image/cloudhp.tmp 2>/dev/null ||
            cp "$binary" target/image/cloudhp.tmp
        mv target/image/cloudhp.tmp target/image/cloudhp
    fi
    log "building ${prefix}cloudhp:$tag ($mode binary)"
    "$docker_bin" build -q --build-arg CLOUDHP_BINARY=$mode -t "${prefix}cloudhp:$tag" . >/dev/null
fi
for name in haproxy mariadb nats swift smtp-sink; do
    [[ $only == *" $name "* ]] || continue
    log "building ${prefix}cloudhp-$name:$tag"
    "$docker_bin" build -q -f "deploy/images/$name/Dockerfile" -t "${prefix}cloudhp-$name:$tag" . >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^${prefix}cloudhp" >&2 || true
