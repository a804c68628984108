#!/usr/bin/env bash
# Deploys CloudHP on the Docker Swarm this machine manages, from this git checkout, in one
# command; running it again updates the stack in place (rolling, without downtime).
#
#   deploy/swarm/deploy.sh [--build | --no-build] [--stack NAME]
#
# 1. Images: with --build (the default when an image is missing), deploy/images/build.sh
#    builds them here. On a cluster with a registry set REGISTRY=registry.example:5000/cloudhp
#    and they are pushed there and pulled by every node; without one, load them on each node
#    (docs/deploy.md: docker save | docker load).
# 2. Secrets: deploy/secrets.sh fills $SECRETS_DIR (default ~/.cloudhp/secrets/STACK, 0700)
#    with what is missing, and each file becomes the Docker secret STACK_NAME_VERSION.
#    To rotate: change the file, bump SECRETS_VERSION, run this again.
# 3. Node labels: each stateful service runs on the node labelled for it (its volume is
#    there); a label missing from every node is put on this node.
# 4. docker stack deploy, then it waits until every service runs all its tasks.
#
# Environment: STACK (cloudhp), PUBLIC_URL (https://localhost), PUBLIC_HOST (the certificate's
# name, from PUBLIC_URL), MAIL_URL and SHOP_DB_URL (first deploy only, see deploy/secrets.sh),
# REGISTRY, TAG (latest), W_TEMPO (5), DEMO_CUSTOMERS (1000), SECRETS_VERSION (1),
# WAIT_SECONDS (300).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../.." && pwd -P)

log() { printf '[deploy] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

build=auto
export STACK=${STACK:-cloudhp}
while (($#)); do
    case $1 in
        --build) build=yes ;;
        --no-build) build=no ;;
        --stack) STACK=${2:?--stack needs a name}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done
[[ $STACK =~ ^[a-z][a-z0-9-]*$ ]] || die "STACK must be lowercase letters, digits and -"

command -v docker >/dev/null || die "docker is not installed (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"
state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
[[ $state == "active true" ]] ||
    die "this node is not a Swarm manager (docker swarm init, or run this on a manager)"
command -v openssl >/dev/null || die "openssl is needed to generate secrets"

export TAG=${TAG:-latest}
prefix=${REGISTRY:+$REGISTRY/}
export CLOUDHP_IMAGE=${prefix}cloudhp:$TAG HAPROXY_IMAGE=${prefix}cloudhp-haproxy:$TAG
export MARIADB_IMAGE=${prefix}cloudhp-mariadb:$TAG NATS_IMAGE=${prefix}cloudhp-nats:$TAG
export SWIFT_IMAGE=${prefix}cloudhp-swift:$TAG SMTP_SINK_IMAGE=${prefix}cloudhp-smtp-sink:$TAG
images=("$CLOUDHP_IMAGE" "$HAPROXY_IMAGE" "$MARIADB_IMAGE" "$NATS_IMAGE" "$SWIFT_IMAGE" "$SMTP_SINK_IMAGE")

# 1. Images.
if [[ $build == auto ]]; then
    build=no
    for image in "${images[@]}"; do
        docker image inspect "$image" >/dev/null 2>&1 || build=yes
    done
fi
if [[ $build == yes ]]; then
    "$repo/deploy/images/build.sh"
fi
for image in "${images[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || [[ -n ${REGISTRY:-} ]] ||
        die "image $image is missing (run with --build)"
done
if [[ -n ${REGISTRY:-} && $build == yes ]]; then
    for image in "${images[@]}"; do docker push "$image"; done
fi
# Without a registry, each image is deployed under a tag naming its content (img-<id>), so that
# running this again after a rebuild rolls over exactly the services whose image changed
# (a service whose spec still says :latest would not be updated).
if [[ -z ${REGISTRY:-} ]]; then
    pinned=()
    for image in "${images[@]}"; do
        id=$(docker image inspect -f '{{.Id}}' "$image")
        id=${id#sha256:}
        docker tag "$image" "${image%:*}:img-${id:0:12}"
        pinned+=("${image%:*}:img-${id:0:12}")
    done
    CLOUDHP_IMAGE=${pinned[0]} HAPROXY_IMAGE=${pinned[1]} MARIADB_IMAGE=${pinned[2]}
    NATS_IMAGE=${pinned[3]} SWIFT_IMAGE=${pinned[4]} SMTP_SINK_IMAGE=${pinned[5]}
fi

# 2. Secrets.
export PUBLIC_URL=${PUBLIC_URL:-https://localhost}
host=${PUBLIC_URL#*://}
export PUBLIC_HOST=${PUBLIC_HOST:-${host%%[:/]*}}
export SECRETS_VERSION=${SECRETS_VERSION:-1}
secrets_dir=${SECRETS_DIR:-$HOME/.cloudhp/secrets/$STACK}
mkdir -p "$secrets_dir" && chmod 0700 "$secrets_dir"
FILE_GID=$(id -g) "$repo/deploy/secrets.sh" "$secrets_dir"
for file in "$secrets_dir"/*; do
    base=$(basename "$file")
    [[ $base == tls-ca.pem ]] && continue # the certificate clients trust: not a secret
    name=${STACK}_${base//./_}_$SECRETS_VERSION
    if ! docker secret inspect "$name" >/dev/null 2>&1; then
        docker secret create "$name" "$file" >/dev/null
        log "created secret $name"
    fi
done

# 3. Node labels of the stateful services.
self=$(docker info --format '{{.Swarm.NodeID}}')
for service in lottery-db shop-db nats swift smtp-sink; do
    label=cloudhp.$service
    if [[ -z $(docker node ls -q --filter "node.label=$label=true") ]]; then
        docker node update --label-add "$label=true" "$self" >/dev/null
        log "labelled this node $label=true (where its volume lives)"
    fi
done

# 4. Deploy. The configuration is versioned by its content: a change rolls the roles over.
CONFIG_VERSION=$(sha256sum "$here/cloudhp.toml" | cut -c1-12)
export CONFIG_VERSION
resolve=(--resolve-image never)
[[ -n ${REGISTRY:-} ]] && resolve=(--resolve-image always --with-registry-auth)
log "deploying stack $STACK"
(cd "$here" && docker stack deploy "${resolve[@]}" --prune -c stack.yml "$STACK") >&2

# Waits until every service runs as many tasks as it wants (the seed job: until it is done).
deadline=$((SECONDS + ${WAIT_SECONDS:-300}))
while :; do
    pending=()
    while read -r name replicas; do
        [[ $name == "${STACK}_shop-seed" ]] && continue
        running=${replicas%%/*} wanted=${replicas##*/}
        wanted=${wanted%% *}
        ((running >= wanted)) || pending+=("$name $replicas")
    done < <(docker stack services "$STACK" --format '{{.Name}} {{.Replicas}}')
    ((${#pending[@]} == 0)) && break
    if ((SECONDS > deadline)); then
        log "still waiting for: ${pending[*]}"
        for p in "${pending[@]}"; do
            docker service ps --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' "${p%% *}" | head -5 >&2
        done
        die "the stack did not converge within ${WAIT_SECONDS:-300}s"
    fi
    sleep 2
done
log "stack $STACK is up: $PUBLIC_URL/ (personal links: docs/deploy.md)"
