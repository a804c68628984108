#!/usr/bin/env bash
# The deployments, proven for real on this machine, through HAProxy only:
#
#   deploy/e2e.sh [--binary PATH]
#
# It installs what is missing (Debian's docker.io, docker-compose, debootstrap, jq, curl,
# openssl), starts dockerd when it does not answer (no systemd needed), and builds the images
# (packing PATH, by default target/release/cloudhp). Then:
# Compose (deploy/compose/): `up`, the whole flow over HTTPS to the mail in the sink, only
# HAProxy publishes ports; `down -v`.
# Swarm: makes this machine a one-node Swarm, deploys the stack with deploy/swarm/deploy.sh,
# and checks:
#   - the whole flow over HTTPS: page, Play, drawing, a result (customers play until one wins:
#     the demo catalog has realistic odds), the picture, the winner mail in the sink;
#   - HTTP redirects to HTTPS, HSTS; only HAProxy publishes ports; the databases, W and the
#     role APIs are out of reach from the edge; the stats page answers only inside;
#   - one task of each role killed in turn: every page request still answers 200, and Swarm
#     restores the task;
#   - a rolling update of web under a bounded load: no failed request;
#   - 200 concurrent plays, the lottery DB killed while they are in flight: every customer ends
#     with exactly one result and one mail.
# Then it removes the stack, leaves the Swarm and stops what it started. It ends with the line
# "N passed, M failed" and fails when a check failed or the deployment could not be made.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/.." && pwd -P)
cd "$repo"

binary=target/release/cloudhp
while (($#)); do
    case $1 in
        --binary) binary=${2:?}; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

export STACK=cloudhp-e2e
export PUBLIC_URL=https://localhost
export W_TEMPO=${W_TEMPO:-3}
export DEMO_CUSTOMERS=1000
work=$(mktemp -d /tmp/cloudhp-e2e.XXXXXX)
export SECRETS_DIR=$work/secrets

log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

passed=0 failed=0
ok() { passed=$((passed + 1)); log "ok: $*"; }
bad() { failed=$((failed + 1)); log "FAILED: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# ---------------------------------------------------------------------------------------------
# Machine: packages, engine, images, Swarm
# ---------------------------------------------------------------------------------------------
need=()
for pair in docker:docker.io debootstrap:debootstrap jq:jq curl:curl openssl:openssl \
    iptables:iptables objcopy:binutils ss:iproute2 docker-compose:docker-compose; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair##*:}")
done
# The docker client may come from elsewhere; the engine must be Debian's.
command -v dockerd >/dev/null || need+=(docker.io)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

started_dockerd=no
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    setsid dockerd > /var/log/cloudhp-e2e-dockerd.log 2>&1 < /dev/null &
    started_dockerd=yes
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start (see /var/log/cloudhp-e2e-dockerd.log)"
fi

# Compose v2 (`docker compose`) where the plugin is there, else v1 (Debian 12's docker-compose).
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    compose=(docker-compose)
fi
compose+=(-p cloudhp-e2e -f "$repo/deploy/compose/docker-compose.yml")

started_swarm=no
cleanup() {
    local rc=$?
    log "cleaning up"
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    for _ in $(seq 60); do
        [[ -z $(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK") ]] && break
        sleep 1
    done
    docker secret ls -q --filter "name=${STACK}_" | xargs -r docker secret rm >/dev/null 2>&1 || true
    docker config ls -q --filter "name=${STACK}_" | xargs -r docker config rm >/dev/null 2>&1 || true
    for _ in $(seq 30); do
        docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK" |
            xargs -r docker volume rm >/dev/null 2>&1 || true
        [[ -z $(docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK") ]] && break
        sleep 1
    done
    if [[ $started_swarm == yes ]]; then
        docker swarm leave --force >/dev/null 2>&1 || true
        docker network rm docker_gwbridge >/dev/null 2>&1 || true
    fi
    if [[ $started_dockerd == yes ]]; then
        pkill -TERM -x dockerd || true
        for _ in $(seq 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

log "building the images"
"$repo/deploy/images/build.sh" --binary "$binary"

base=https://localhost
wait_for() { local tries=$1; shift; for _ in $(seq "$tries"); do "$@" && return 0; sleep 1; done; return 1; }
answers() { [[ $(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$1") == 200 ]]; }

# ---------------------------------------------------------------------------------------------
# Compose, on one host
# ---------------------------------------------------------------------------------------------
log "compose: up"
PUBLIC_URL=$base W_TEMPO=1 "${compose[@]}" up -d >/dev/null 2>&1 || {
    "${compose[@]}" ps >&2
    die "docker compose up failed"
}
if wait_for 180 answers "$base/"; then
    ok "compose: the page answers over HTTPS"
    # The image's demo catalog has realistic odds (most draws win nothing): customers play
    # one after the other until one wins, each draw ending with a result.
    winner=""
    for n in 11 $(seq 31 50); do
        l=$("${compose[@]}" exec -T web cloudhp link "$n" | tr -d '\r')
        code=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' -X POST "$l")
        [[ $code == 303 ]] || { bad "compose: Play of customer $n ($code)"; break; }
        wait_for 60 bash -c "[[ \$(curl -sk '$base/api/v1/players/$n?${l#*\?}' | jq -r .status) =~ ^(won|no_prize)\$ ]]" ||
            { bad "compose: customer $n's draw has no result"; break; }
        if [[ $(curl -sk "$base/api/v1/players/$n?${l#*\?}" | jq -r .status) == won ]]; then
            winner=$n
            break
        fi
        log "compose: customer $n: no prize this time; the next customer plays"
    done
    check "compose: Play, and a draw won (customer ${winner:-none})" [ -n "$winner" ]
    pic=$(curl -sk "$base/api/v1/players/$winner?${l#*\?}" | jq -r .picture_url)
    got=$(curl -sk -o /dev/null -w '%{http_code} %{content_type}' "$base$pic")
    check "compose: the picture ($got)" [ "$got" = "200 image/jpeg" ]
    check "compose: the winner mail in the sink" wait_for 60 bash -c "${compose[*]} exec -T smtp-sink sh -c 'grep -l \"Message-ID: <winner-$winner-\" /var/mail/sink/*.eml' >/dev/null 2>&1"
    ports=$(docker ps --filter label=com.docker.compose.project=cloudhp-e2e --format '{{.Names}} {{.Ports}}' | grep -- '->' | awk '{print $1}' | tr '\n' ' ')
    check "compose: only HAProxy publishes ports ($ports)" bash -c "[[ '$ports' =~ ^cloudhp-e2e[-_]haproxy[-_]1\ $ ]]"
else
    bad "compose: the page does not answer"
    "${compose[@]}" ps >&2 || true
fi
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1

# ---------------------------------------------------------------------------------------------
# Swarm
# ---------------------------------------------------------------------------------------------
if [[ $(docker info --format '{{.Swarm.LocalNodeState}}') != active ]]; then
    log "docker swarm init"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    started_swarm=yes
fi
log "deploying"
# A page limit low enough that the rate-limit check below trips it however slow this machine
# is (the default, 600 a minute, refills faster than a loaded CI box sends).
PAGES_PER_MINUTE=60 "$here/swarm/deploy.sh" --no-build

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
curl_() { curl -sk --max-time 10 "$@"; }
container_of() { # a running container of a service
    docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" --filter status=running | head -1
}
web_exec() { docker exec "$(container_of web)" /usr/local/bin/cloudhp "$@"; }
# The personal link of customer N, signed inside a web task (its link key, its public URL).
link() { web_exec link "$1"; }
query_of() { local l; l=$(link "$1"); printf '%s' "${l#*\?}"; }
player() { curl_ "$base/api/v1/players/$1?t=$2"; }
wanted() { docker service ls --filter "name=${STACK}_$1" --format '{{.Replicas}}' | head -1 | cut -d/ -f2 | cut -d' ' -f1; }
healthy_tasks() {
    local n=0 c
    for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1"); do
        [[ $(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c") =~ ^(healthy|none)$ ]] && n=$((n + 1))
    done
    echo "$n"
}
all_healthy() { [[ $(healthy_tasks "$1") -ge $(wanted "$1") ]]; }
# Winner mails in the sink per customer: "COUNT ID" lines (a mail's Message-ID names its
# customer: <winner-ID-ENTRY@…>).
mails_per_customer() {
    docker exec "$(container_of smtp-sink)" sh -c 'cat /var/mail/sink/*.eml 2>/dev/null' |
        grep -o 'Message-ID: <winner-[0-9]*-' | sed 's/[^0-9]//g' | sort -n | uniq -c
}
one_mail_for() { [[ $(mails_per_customer | awk -v id="$1" '$2 == id {print $1}') == 1 ]]; }

# Wait until HAProxy sees web tasks and the page renders with identity and status.
wait_for 120 bash -c "curl -sk --max-time 5 -o /dev/null -w '%{http_code}' $base/ | grep -q 200" ||
    die "HAProxy does not serve the page"
for role in web identity status picture play worker notifier; do
    wait_for 120 all_healthy "$role" || die "$role has no healthy task"
done
wait_for 120 bash -c "[[ \$(docker service ps ${STACK}_shop-seed --format '{{.CurrentState}}' | head -1) == Complete* ]]" ||
    die "the demo shop was not seeded"

# ---------------------------------------------------------------------------------------------
# Edge
# ---------------------------------------------------------------------------------------------
log "checking the edge"
redirect=$(curl -s --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost/index.html?id=1)
check "http redirects to https ($redirect)" [ "$redirect" = "301 https://localhost/index.html?id=1" ]
headers=$(curl_ -D - -o /dev/null "$base/")
check "HSTS on https" grep -qi '^strict-transport-security: max-age=' <<<"$headers"
published=$(for s in $(docker stack services -q "$STACK"); do
    docker service inspect -f '{{.Spec.Name}} {{len .Endpoint.Ports}}' "$s"; done | awk '$2 > 0 {print $1}')
check "only HAProxy publishes ports ($published)" [ "$published" = "${STACK}_haproxy" ]
listening=$(ss -ltnH | awk '{print $4}' | grep -E ':(3306|4222|8080|8222|2525|8404|6200|9090)$' || true)
check "no database, bus, store, role or stats port on the host (${listening:-none})" [ -z "$listening" ]
for path in /v1/identity/customers/1 /metrics /readyz /play/1 /w/play/1; do
    code=$(curl_ -o /dev/null -w '%{http_code}' "$base$path")
    check "$path is not served at the edge ($code)" [ "$code" = 404 ]
done
# From a web task (edge and internal networks): the data tier and W do not even resolve; the
# role APIs refuse a call without the token; the HAProxy stats page answers on the inside.
for target in lottery-db:3306 shop-db:3306 nats:4222 swift:8080 worker:8080; do
    check "web cannot reach $target" bash -c "! docker exec $(container_of web) /usr/local/bin/cloudhp healthcheck --timeout 2 --url http://$target/ 2>/dev/null"
done
unauth=$(docker exec "$(container_of web)" /usr/local/bin/cloudhp healthcheck --timeout 2 --url http://identity:8080/v1/identity/customers/1 2>&1 || true)
check "role APIs require the token ($unauth)" grep -q 401 <<<"$unauth"
check "HAProxy stats answer on the internal network" \
    docker exec "$(container_of web)" /usr/local/bin/cloudhp healthcheck --timeout 2 --url http://haproxy-stats:8404/stats
code=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' http://localhost:8404/stats || true)
check "HAProxy stats are not public ($code)" [ "$code" = 000 ]
check "the operations endpoints answer on the private network" \
    docker exec "$(container_of web)" /usr/local/bin/cloudhp healthcheck --timeout 2 --url http://identity:9090/readyz
check "no /metrics on a role's public port" \
    bash -c "! docker exec $(container_of web) /usr/local/bin/cloudhp healthcheck --timeout 2 --url http://identity:8080/metrics 2>/dev/null"

# One client hammering a page through HAProxy is limited, and cannot escape the limit by
# writing its own X-Forwarded-For (HAProxy appends the real address; web trusts only that).
q1=$(query_of 1)
codes=$({ seq 250; seq 250; } | xargs -P 20 -I{} curl -sk --max-time 5 -o /dev/null -w '%{http_code}\n' \
    -H 'X-Forwarded-For: 198.51.100.{}' "$base/index.html?$q1" | sort | uniq -c | tr -s ' \n' ' ')
check "one client is rate limited through HAProxy, forged X-Forwarded-For or not ($codes)" \
    bash -c "[[ '$codes' =~ \ 429 ]] && [[ '$codes' =~ \ 200 ]]"
# The load tests below press and poll far faster than a person: limits off, the documented
# switch of the benchmarks.
docker service update --detach=false --quiet --no-resolve-image \
    --env-add CLOUDHP_LIMITS__ENABLED=false "${STACK}_web" >/dev/null 2>&1 || bad "cannot switch the rate limits off"
wait_for 90 all_healthy web || bad "web did not get healthy again"

# ---------------------------------------------------------------------------------------------
# The whole flow
# ---------------------------------------------------------------------------------------------
log "the whole flow"
q=$(query_of 7)
t=${q#*t=}
page=$(curl_ "$base/index.html?$q")
check "the page names the customer and offers Play" grep -q '<button type="submit">Play</button>' <<<"$page"
code=$(curl_ -o /dev/null -w '%{http_code}' -X POST "$base/index.html?$q")
check "Play redirects back to the page ($code)" [ "$code" = 303 ]
# The demo catalog's odds: most draws win nothing, and a "no prize" sends no mail. Customers
# play one after the other until one wins.
winner=""
for n in 7 $(seq 12 30); do
    q=$(query_of "$n")
    t=${q#*t=}
    [[ $n == 7 ]] || curl_ -o /dev/null -X POST "$base/index.html?$q" || true
    wait_for 60 bash -c "[[ \$(curl -sk '$base/api/v1/players/$n?t=$t' | jq -r .status) =~ ^(won|no_prize)\$ ]]" ||
        { bad "customer $n's draw has no result"; break; }
    if [[ $(player "$n" "$t" | jq -r .status) == won ]]; then
        winner=$n
        break
    fi
    log "customer $n: no prize this time; the next customer plays"
done
check "a draw is won (customer ${winner:-none})" [ -n "$winner" ]
picture=$(player "$winner" "$t" | jq -r '.picture_url')
ctype=$(curl_ -o /dev/null -w '%{http_code} %{content_type}' "$base$picture")
check "the picture is served as a JPEG through HAProxy ($ctype)" [ "$ctype" = "200 image/jpeg" ]
check "the winner mail reached the SMTP sink" wait_for 60 one_mail_for "$winner"

# ---------------------------------------------------------------------------------------------
# Killing one task of each role
# ---------------------------------------------------------------------------------------------
log "killing one task of each role"
q=$(query_of 8)
for role in web identity status picture play worker notifier; do
    victim=$(container_of "$role")
    docker kill "$victim" >/dev/null
    codes=$(for _ in $(seq 40); do curl_ -o /dev/null -w '%{http_code}\n' "$base/index.html?$q"; sleep 0.1; done | sort | uniq -c | tr -s ' \n' ' ')
    check "$role task killed: pages still 200 ($codes)" bash -c "[[ '$codes' =~ ^\ *40\ 200\ *$ ]]"
    check "$role task restored by Swarm" wait_for 90 bash -c "[[ \$(docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_$role | wc -l) -ge \$(docker service ls --filter name=${STACK}_$role --format '{{.Replicas}}' | cut -d/ -f2 | cut -d' ' -f1) ]] && ! docker ps -q --no-trunc | grep -q ${victim}"
    wait_for 90 all_healthy "$role" || bad "$role did not get healthy again"
done

# A role with no task at all: the page is still a 200, that panel N/A, Play not offered. Each
# role is checked on a customer no page has asked for yet: web keeps customer records it has
# already read (identity.cache_ttl), so a customer seen a moment ago would still be named.
fresh=2
for role in identity status; do
    q=$(query_of "$fresh")
    docker service scale --detach "${STACK}_$role=0" >/dev/null
    wait_for 60 bash -c "[[ -z \$(docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_$role) ]]" ||
        bad "$role did not scale to 0"
    sleep 3 # Docker's DNS forgets the tasks
    code=$(curl_ -o /dev/null -w '%{http_code}' "$base/index.html?$q")
    curl_ "$base/api/v1/players/$fresh?$q" > "$work/player.json"
    fresh=$((fresh + 1))
    check "$role down: the page is still 200 ($code)" [ "$code" = 200 ]
    check "$role down: its panel is N/A, Play not offered" \
        bash -c "jq -e '.unavailable.$role != null and .can_play == false' $work/player.json >/dev/null"
    docker service scale --detach "${STACK}_$role=2" >/dev/null
    wait_for 90 all_healthy "$role" || bad "$role did not come back"
done

# ---------------------------------------------------------------------------------------------
# Rolling update under load
# ---------------------------------------------------------------------------------------------
log "rolling update of web under load"
q=$(query_of 9)
load() {
    local failures=0 total=0
    while [[ ! -e $work/stop-load ]] && ((total < 5000)); do
        for _ in 1 2 3 4; do
            code=$(curl_ -o /dev/null -w '%{http_code}' "$base/index.html?$q" || true)
            total=$((total + 1))
            [[ $code == 200 ]] || failures=$((failures + 1))
        done
    done
    echo "$total $failures" > "$work/load-result"
}
load & load_pid=$!
docker service update --force --no-resolve-image --detach=false --quiet "${STACK}_web" >/dev/null 2>&1 ||
    bad "docker service update of web failed"
sleep 3
touch "$work/stop-load"
wait "$load_pid"
read -r total failures < "$work/load-result"
check "rolling update: $failures of $total requests failed" [ "$failures" = 0 ]
check "rolling update served requests" [ "$total" -gt 50 ]

# ---------------------------------------------------------------------------------------------
# 200 concurrent plays, the lottery DB killed in flight
# ---------------------------------------------------------------------------------------------
log "200 concurrent plays; the lottery DB killed while they are in flight"
ids=$(seq 101 300)
for n in $ids; do printf '%s %s\n' "$n" "$(query_of "$n")"; done > "$work/links"
xargs -P 50 -L 1 bash -c 'curl -sk --max-time 20 -o /dev/null -w "%{http_code}\n" -X POST "https://localhost/api/v1/players/$0/play?${1}"' \
    < "$work/links" > "$work/play-codes" &
plays=$!
sleep 1.5
docker kill "$(container_of lottery-db)" >/dev/null
wait "$plays" || true
accepted=$(grep -c '^202$' "$work/play-codes" || true)
log "presses answered: $(sort "$work/play-codes" | uniq -c | tr -s ' \n' ' ')"
check "the lottery DB came back" wait_for 120 all_healthy lottery-db
# Every customer whose press was refused while the DB was down presses again (as a person
# would): a second press of a customer who has a draw starts nothing new.
for round in $(seq 10); do
    pending=0
    while read -r n query; do
        state=$(curl -sk --max-time 5 "$base/api/v1/players/$n?$query" | jq -r '.status // "none"' 2>/dev/null || echo none)
        case $state in
            won | no_prize) ;;
            not_played | failed)
                curl -sk --max-time 10 -o /dev/null -X POST "$base/api/v1/players/$n/play?$query" || true
                pending=$((pending + 1)) ;;
            *) pending=$((pending + 1)) ;;
        esac
    done < "$work/links"
    log "round $round: $pending customers not finished"
    ((pending == 0)) && break
    sleep 8
done
check "all 200 customers have a result ($pending unfinished; $accepted presses accepted first time)" [ "$pending" = 0 ]
db=$(container_of lottery-db)
pw=$(cat "$SECRETS_DIR/lottery_db_password")
sql() { docker exec -e MYSQL_PWD="$pw" "$db" mariadb -ucloudhp -N cloudhp -e "$1"; }
results=$(sql "SELECT COUNT(*) FROM plays WHERE customer_id BETWEEN 101 AND 300 AND state IN ('won', 'no_prize')" 2>&1 || true)
check "exactly one result per customer in the lottery DB ($results)" [ "$results" = 200 ]
# A winner mail for each winner, none for "no prize".
won=$(sql "SELECT COUNT(*) FROM plays WHERE customer_id BETWEEN 101 AND 300 AND state = 'won'" 2>&1 || true)
log "of the 200 customers, $won won a prize (the demo catalog's odds)"
outbox=$(sql "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM outbox WHERE customer_id BETWEEN 101 AND 300" 2>&1 || true)
check "exactly one outbox entry per winner ($outbox for $won winners)" [ "$(tr -s '\t ' ' ' <<<"$outbox")" = "$won $won" ]
# How many of the 200 customers got how many mails: "200 1" is one each.
mail_spread() {
    mails_per_customer | awk '$2 >= 101 && $2 <= 300 {print $1}' | sort | uniq -c | tr -s ' \n' ' '
}
one_mail_each() { [[ $(mail_spread) =~ ^\ *$won\ 1\ *$ ]]; }
check "exactly one mail per winner" wait_for 120 one_mail_each
log "customers per number of mails (customers, mails each): $(mail_spread)"

echo "$passed passed, $failed failed"
((failed == 0))
