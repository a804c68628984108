#!/usr/bin/env bash
# Measures how draw throughput follows `docker service scale` of worker and play, on a stack
# deployed with deploy/swarm/deploy.sh (release image), through HAProxy:
#
#   cargo build --release -p cloudhp-bench
#   STACK=cloudhp SECRETS_DIR=... deploy/swarm/bench-scaling.sh
#
# For each setting it presses Play for N new customers at once and reports when the last one
# has won (cloudhp-bench plays): 200 with our W, 12 with the original (which serves one draw
# per task at a time: more would wait past play.worker_timeout). Two W flavours:
#   ours       W serves many calls at once (worker.max_concurrent 4096)
#   original   single-threaded like the original W: worker.max_concurrent = 1 and
#              play.worker_concurrency = 1, so each W task serves one draw at a time
# It changes the services' replicas and settings (pictures to a local volume and the web
# tasks' rate limits off during the run), and puts them back at the end.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../.." && pwd -P)
STACK=${STACK:-cloudhp}
secrets=${SECRETS_DIR:-$HOME/.cloudhp/secrets/$STACK}
bench=$repo/target/release/cloudhp-bench
[[ -x $bench ]] || { echo "build it first: cargo build --release -p cloudhp-bench" >&2; exit 1; }
[[ -r $secrets/link_key ]] || { echo "no link key in $secrets (SECRETS_DIR)" >&2; exit 1; }

work=$(mktemp -d)
cp "$secrets/link_key" "$work/link.key"
cp "$secrets/tls-ca.pem" "$work/ca.pem"

# The first customer to play (each row plays new customers; the demo shop holds 1-1000).
next=${FIRST_CUSTOMER:-301}

converge() {
    for _ in $(seq 180); do
        local pending=0
        while read -r replicas; do
            [[ ${replicas%%/*} == "$(cut -d/ -f2 <<<"$replicas" | cut -d' ' -f1)" ]] || pending=1
        done < <(docker service ls --filter "name=${STACK}_worker" --filter "name=${STACK}_play" --format '{{.Replicas}}')
        ((pending == 0)) && return 0
        sleep 1
    done
    echo "services did not converge" >&2
    return 1
}

flavour() { # ours | original
    local max=4096 conc=64
    [[ $1 == original ]] && max=1 conc=1
    docker service update --detach=false --quiet --no-resolve-image \
        --env-add "CLOUDHP_WORKER__MAX_CONCURRENT=$max" "${STACK}_worker" >/dev/null
    docker service update --detach=false --quiet --no-resolve-image \
        --env-add "CLOUDHP_PLAY__WORKER_CONCURRENCY=$conc" "${STACK}_play" >/dev/null
}

run() { # flavour workers play-replicas presses
    docker service scale --detach=false "${STACK}_worker=$2" "${STACK}_play=$3" >/dev/null 2>&1
    converge
    # The play tasks look W's addresses up again every 5 s, and HAProxy its web tasks.
    sleep 8
    # One draw first, as on a running campaign: new tasks log in to the object store and
    # learn W's addresses before the burst.
    for _ in 1 2 3; do
        "$bench" --base https://localhost --data-dir "$work" --ca-file "$work/ca.pem" \
            plays --customers "$next-$next" >/dev/null 2>&1 || true
        next=$((next + 1))
    done
    local last=$((next + $4 - 1))
    local out
    out=$("$bench" --base https://localhost --data-dir "$work" --ca-file "$work/ca.pem" \
        plays --customers "$next-$last" 2>&1 | tail -3 | tr '\n' ' ')
    next=$((last + 1))
    printf '| %-8s | %7s | %4s | %7s | %s |\n' "$1" "$2" "$3" "$4" "$out"
}

# Pictures go to a volume shared by the play and picture tasks of this node for the run, so
# that the figures measure W and play, not the one-node demo Swift (which times out stores
# under a burst of tens of simultaneous first draws on a 2-core machine).
for service in play picture; do
    docker service update --detach=false --quiet --no-resolve-image \
        --env-add CLOUDHP_IMAGES__URL=file:///data/images \
        --mount-add type=volume,source=${STACK}-bench-pictures,target=/data "${STACK}_$service" >/dev/null
done
# One client presses for hundreds of customers: the web tasks' rate limits are off for the run.
docker service update --detach=false --quiet --no-resolve-image \
    --env-add CLOUDHP_LIMITS__ENABLED=false "${STACK}_web" >/dev/null
restore() {
    for service in play picture; do
        docker service update --detach=false --quiet --no-resolve-image \
            --env-rm CLOUDHP_IMAGES__URL --mount-rm /data "${STACK}_$service" >/dev/null || true
    done
    docker service update --detach=false --quiet --no-resolve-image \
        --env-rm CLOUDHP_LIMITS__ENABLED "${STACK}_web" >/dev/null || true
    rm -rf "$work"
}
trap restore EXIT

tempo=$(docker service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' "${STACK}_worker" | sed -n 's/^CLOUDHP_WORKER__TEMPO=//p')
echo "W tempo ${tempo:-5} s"
echo "| W        | workers | play | presses | result |"
echo "| -------- | ------- | ---- | ------- | ------ |"
flavour ours
run ours 3 2 200
run ours 6 4 200
flavour original
run original 3 2 12
run original 6 2 12
run original 12 2 12
run original 12 4 12
flavour ours
docker service scale --detach=false "${STACK}_worker=3" "${STACK}_play=2" >/dev/null 2>&1
