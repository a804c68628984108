#!/usr/bin/env bash
# Recovery after a crash: how long after a restart every customer whose draw was cut short by
# `kill -9` has their result.
#
#   scripts/bench-recovery.sh [--binary PATH] [--customers N] [--tempo SECONDS]
#                             [--kill-after SECONDS] [--port PORT] [--keep]
#
# 1. starts `cloudhp up` (embedded defaults) on a fresh data dir with W's tempo,
# 2. presses Play for customers 1..N at once (the public JSON API),
# 3. --kill-after seconds after the last answer (mid-W) kills the process with SIGKILL,
# 4. starts it again at once on the same data dir (the same play instance),
# 5. polls every customer's JSON until every one reads "won", and reports the time from the
#    restart, with the recovery counters of the restarted process.
#
# Needs only the binary (default target/release/cloudhp: `cargo build --release -p cloudhp`)
# and curl. The data dir is a temporary folder, removed at the end unless --keep.
set -euo pipefail

BIN=target/release/cloudhp
CUSTOMERS=200
TEMPO=5
KILL_AFTER=1
PORT=18191
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BIN=$2; shift 2 ;;
        --customers) CUSTOMERS=$2; shift 2 ;;
        --tempo) TEMPO=$2; shift 2 ;;
        --kill-after) KILL_AFTER=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -x "$BIN" ] || { echo "no binary at $BIN: cargo build --release -p cloudhp" >&2; exit 1; }

WORK=$(mktemp -d)
DATA=$WORK/data
BASE=http://127.0.0.1:$PORT
OPS=http://127.0.0.1:$((PORT + 1)) # the operations listener: /metrics
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; gone "$PID"; fi
    if [ "$KEEP" = 1 ]; then echo "data dir and logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

start() {
    # The configuration comes from the flags, no file; the rate limits are off (one client
    # presses for 200 customers) and /metrics is on a known port.
    env -u CLOUDHP_CONFIG CLOUDHP_LIMITS__ENABLED=false \
        CLOUDHP_SERVER__OPS_LISTEN="127.0.0.1:$((PORT + 1))" "$BIN" up --data-dir "$DATA" --listen "127.0.0.1:$PORT" \
        --tempo "$TEMPO" --demo-customers "$((CUSTOMERS + 10))" \
        >"$WORK/up-$1.out" 2>"$WORK/up-$1.log" &
    PID=$!
    disown "$PID" # no "Killed" job report from the shell
}

# Waits (at most 200 polls, 50 ms apart) until process $1 is gone.
gone() {
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    echo "process $1 does not exit" >&2
    exit 1
}

# Waits until the server answers /healthz (at most 600 polls, 50 ms apart).
wait_up() {
    for _ in $(seq 600); do
        curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && return 0
        kill -0 "$PID" 2>/dev/null || { echo "cloudhp exited:" >&2; cat "$WORK/up-$1.log" >&2; exit 1; }
        sleep 0.05
    done
    echo "cloudhp did not answer" >&2
    exit 1
}

metric() {
    curl -fsS "$OPS/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

start 1
wait_up 1

# The personal links carry each customer's token: `cloudhp link` prints them.
"$BIN" link --data-dir "$DATA" $(seq 1 "$CUSTOMERS") \
    | sed -E 's/.*[?&]id=([0-9]+)&t=([^&]+).*/\1 \2/' >"$WORK/tokens"
[ "$(wc -l <"$WORK/tokens")" -eq "$CUSTOMERS" ] || { echo "cannot read the links" >&2; exit 1; }
: >"$WORK/play.curl"
: >"$WORK/status.curl"
while read -r id token; do
    printf 'url = "%s/api/v1/players/%s/play?t=%s"\noutput = "/dev/null"\n' \
        "$BASE" "$id" "$token" >>"$WORK/play.curl"
    printf 'url = "%s/api/v1/players/%s?t=%s"\n' "$BASE" "$id" "$token" >>"$WORK/status.curl"
done <"$WORK/tokens"

echo "pressing Play for $CUSTOMERS customers (tempo ${TEMPO}s)"
pressed=$(now)
curl -s --parallel --parallel-max "$CUSTOMERS" -X POST -w '%{http_code}\n' \
    -K "$WORK/play.curl" >"$WORK/play.codes" 2>"$WORK/play.err" || true
sort "$WORK/play.codes" | uniq -c | awk '{ print "  " $1 " answered HTTP " $2 }'
started=$(grep -c '^202$' "$WORK/play.codes" || true)
[ "$started" -eq "$CUSTOMERS" ] || { echo "only $started of $CUSTOMERS draws started" >&2; exit 1; }
sleep "$KILL_AFTER"
in_progress=$(metric cloudhp_draws_in_progress)
kill -9 "$PID"
gone "$PID"
PID=
echo "killed with SIGKILL $(since "$pressed")s after the first press; draws in progress: $in_progress"

restarted=$(now)
start 2
wait_up 2
echo "restarted; answering after $(since "$restarted")s"

# Polls every customer's JSON (all at once) until every one has won: at most 1200 rounds.
won=0
for _ in $(seq 1200); do
    won=$(curl -s --parallel --parallel-max 50 -K "$WORK/status.curl" 2>/dev/null \
        | grep -o '"status":"won"' | wc -l || true)
    [ "$won" -ge "$CUSTOMERS" ] && break
    sleep 0.1
done
elapsed=$(since "$restarted")
[ "$won" -ge "$CUSTOMERS" ] || { echo "only $won of $CUSTOMERS won after $elapsed s" >&2; exit 1; }

restart=$(metric 'cloudhp_draws_recovered_total{reason="restart"}')
expired=$(metric 'cloudhp_draws_recovered_total{reason="expired"}')
echo "every one of the $CUSTOMERS customers has their result ${elapsed}s after the restart" \
    "(target: tempo + 5 s = $(awk -v t="$TEMPO" 'BEGIN { print t + 5 }') s)"
echo "recovered by the restart: $restart; after an expired lease: $expired"
