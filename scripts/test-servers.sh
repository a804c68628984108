#!/usr/bin/env bash
# Real servers for CloudHP's integration tests, on loopback only.
#
#   scripts/test-servers.sh start    install what is missing (Debian packages), start
#                                    what is not running, wait until each server
#                                    answers, print `export VAR=value` lines
#                                    (eval "$(scripts/test-servers.sh start)") and
#                                    write them to target/test-servers.env
#   scripts/test-servers.sh stop     stop what start started
#   scripts/test-servers.sh env      print the export lines only
#   scripts/test-servers.sh status   say what runs
#
# Servers (default ports; the tests read them from the export lines, so they can move:
# CLOUDHP_TEST_PORT_OFFSET=100 moves every one by 100 and keeps the state in its own
# directory, for a second checkout testing side by side; CLOUDHP_TEST_MARIADB_PORT,
# CLOUDHP_TEST_SWIFT_PORT, ... set one port alone):
#   MariaDB          127.0.0.1:13306  admin cloudhp_admin / cloudhp-test
#   memcached        127.0.0.1:11311  cache of the Swift proxy (TempAuth, tokens)
#   Keystone v3      127.0.0.1:15000  user cloudhp / cloudhp-test, project cloudhp
#   Swift proxy      127.0.0.1:18085  TempAuth test:tester / testing, S3 API
#   Swift proxy      127.0.0.1:18089  Keystone v3 tokens (the catalog's endpoint)
#   Swift storage    127.0.0.1:18086-18088 (object, container, account)
# NATS, SMTP and ChromeDriver (with Chromium) are only installed: each test runs
# its own instance (it needs to kill and restart it); the export lines say where
# the programs are.
#
# Every credential in this script and in scripts/test-servers/ is a fixed,
# test-only value for servers that only listen on 127.0.0.1. None is a secret.
#
# All state (data, logs, pid files, configuration, TLS certificate) lives in
# one directory: $CLOUDHP_TEST_SERVERS_DIR, by default /tmp/cloudhp-test-servers.
# Progress goes to stderr; stdout carries only the export lines.
# Needs Debian (apt) and root, or sudo for the package installation.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
cd "$REPO_ROOT"

TEMPLATES=$SCRIPT_DIR/test-servers
ENV_FILE=$REPO_ROOT/target/test-servers.env
SMTP_SERVER=$REPO_ROOT/scripts/smtp-test-server.py

# A second set of servers (a port offset) keeps its state apart from the first.
if [ "${CLOUDHP_TEST_PORT_OFFSET:-0}" = 0 ]; then
    STATE_DIR=${CLOUDHP_TEST_SERVERS_DIR:-/tmp/cloudhp-test-servers}
else
    STATE_DIR=${CLOUDHP_TEST_SERVERS_DIR:-/tmp/cloudhp-test-servers-$CLOUDHP_TEST_PORT_OFFSET}
fi
RUN_DIR=$STATE_DIR/run    # pid files
LOG_DIR=$STATE_DIR/logs
MYSQL_DIR=$STATE_DIR/mysql
SWIFT_DIR=$STATE_DIR/swift
KEYSTONE_DIR=$STATE_DIR/keystone
TLS_DIR=$STATE_DIR/tls

# Every port moves by CLOUDHP_TEST_PORT_OFFSET (default 0), so that two checkouts can run
# their own servers side by side; each port can also be set alone.
OFFSET=${CLOUDHP_TEST_PORT_OFFSET:-0}
case $OFFSET in ''|*[!0-9]*) echo "CLOUDHP_TEST_PORT_OFFSET must be a number, not '$OFFSET'" >&2; exit 2 ;; esac
MYSQL_PORT=${CLOUDHP_TEST_MARIADB_PORT:-$((13306 + OFFSET))}
MEMCACHED_PORT=${CLOUDHP_TEST_MEMCACHED_PORT:-$((11311 + OFFSET))}   # not 11211: a system memcached may hold it
KEYSTONE_PORT=${CLOUDHP_TEST_KEYSTONE_PORT:-$((15000 + OFFSET))}
SWIFT_PROXY_PORT=${CLOUDHP_TEST_SWIFT_PORT:-$((18085 + OFFSET))}
SWIFT_OBJECT_PORT=${CLOUDHP_TEST_SWIFT_OBJECT_PORT:-$((18086 + OFFSET))}
SWIFT_CONTAINER_PORT=${CLOUDHP_TEST_SWIFT_CONTAINER_PORT:-$((18087 + OFFSET))}
SWIFT_ACCOUNT_PORT=${CLOUDHP_TEST_SWIFT_ACCOUNT_PORT:-$((18088 + OFFSET))}
SWIFT_KS_PROXY_PORT=${CLOUDHP_TEST_SWIFT_KEYSTONE_PORT:-$((18089 + OFFSET))}

# Test-only credentials (loopback-only servers; see above).
MYSQL_ADMIN_USER=cloudhp_admin
TEST_PASSWORD=cloudhp-test

# Swift, Keystone and the SMTP server are Python programs that need the Debian
# interpreter (their modules are Debian packages), not whatever python3 is first
# in PATH.
PYTHON=/usr/bin/python3

# Debian packages, by what needs them.
PACKAGES=(
    mariadb-server mariadb-client                          # MariaDB
    memcached                                              # Swift's cache
    swift swift-proxy swift-account swift-container swift-object python3-swift
    python3-keystone python3-keystonemiddleware            # Keystone, and its Swift middleware
    nats-server                                            # NATS (started by the tests)
    chromium chromium-driver fonts-dejavu-core             # the browser test (started by it)
    python3-aiosmtpd                                       # scripts/smtp-test-server.py
    openssl                                                # the test TLS certificate
    curl                                                   # readiness checks
)

# Readiness: how many times to try, half a second apart.
TRIES=120

CURRENT_USER=$(id -un)

log() { printf '[test-servers] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------

# Installs the packages that are not installed yet. apt-get update runs only
# when something has to be installed, so a second start does not touch apt.
ensure_packages() {
    local installed missing=() pkg
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for pkg in "${PACKAGES[@]}"; do
        grep -qx "$pkg install ok installed" <<<"$installed" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0

    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "installing ${missing[*]} needs root or sudo"
        sudo=(sudo)
    fi
    log "installing ${missing[*]} (apt-get, may take minutes)"
    # 9>&-: package scripts may start the system's own daemons (MariaDB on 3306,
    # memcached on 11211, no clash with ours); they must not inherit our lock.
    "${sudo[@]}" apt-get update -q >&2 9>&-
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 9>&-
}

# --------------------------------------------------------------------------
# Processes: one pid file per server in $RUN_DIR
# --------------------------------------------------------------------------

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$LOG_DIR" "$1"; }

# The command line each server runs with contains this string; a pid file
# whose process no longer matches is stale (the pid was reused, or the machine
# rebooted), even if a process with that pid exists.
signature() {
    case $1 in
        mariadb) printf '%s\n' "--datadir=$MYSQL_DIR/data" ;;
        memcached) printf '%s\n' "-l 127.0.0.1 -p $MEMCACHED_PORT " ;;
        keystone) printf '%s\n' "$KEYSTONE_DIR/keystone.conf" ;;
        swift-kproxy) printf '%s\n' "$SWIFT_DIR/proxy-keystone.conf" ;;
        swift-*) printf '%s\n' "$SWIFT_DIR/${1#swift-}-server.conf" ;;
    esac
}

# Prints the pid of server $1 if it runs, else fails. A stale pid file is left
# alone here: spawn overwrites it, stop removes it.
running_pid() {
    local name=$1 file pid
    file=$(pid_file "$name")
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(signature "$name")"; then
        printf '%s\n' "$pid"
        return 0
    fi
    return 1
}

is_running() { running_pid "$1" >/dev/null; }

# True while process $1 exists and is not a zombie (our servers are orphans,
# and whatever reaps orphans may take its time).
process_alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# spawn NAME PORT COMMAND...: starts COMMAND in the background, in its own
# session (so it outlives this script and its terminal, and signals sent to the
# caller's process group do not reach it), stdin from /dev/null, output appended
# to the server's log, and records its pid. It inherits no other file
# descriptor: not our lock (the next start would wait for it forever), nor a
# pipe of whoever called us (`$(scripts/test-servers.sh start)` would never see
# the end of its output while a server held it open).
spawn() {
    local name=$1 port=$2
    shift 2
    if port_open "$port"; then
        die "$name: 127.0.0.1:$port is already taken by a process this script did not start (a leftover from another state directory?); stop it first"
    fi
    printf '\n=== %s: starting %s\n' "$(date -u '+%F %T')" "$name" >>"$(log_file "$name")"
    (
        exec </dev/null >>"$(log_file "$name")" 2>&1
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-"; fi
        done
        # Not a process group leader, so setsid does not fork: $! is the server.
        exec setsid "$@"
    ) &
    echo $! >"$(pid_file "$name")"
}

# wait_ready NAME CHECK...: runs CHECK until it succeeds, at most $TRIES times,
# half a second apart. On failure (or if the server died) prints what the check
# said and the end of the server's log, and exits non-zero.
wait_ready() {
    local name=$1 i output='' pid
    shift
    pid=$(<"$(pid_file "$name")")
    for ((i = 0; i < TRIES; i++)); do
        if output=$("$@" 2>&1); then
            return 0
        fi
        # (Not is_running: right after spawn, the command line may still be
        # this script's, until the server's exec.)
        if ! process_alive "$pid"; then
            fail_with_log "$name" "exited during start-up" "$output"
        fi
        sleep 0.5
    done
    fail_with_log "$name" "not ready after $((TRIES / 2)) seconds (check: $*)" "$output"
}

# fail_with_log NAME WHY [CHECK_OUTPUT]
fail_with_log() {
    local name=$1 why=$2 output=${3:-} log
    log=$(log_file "$name")
    log "$name $why"
    [[ -z $output ]] || log "last check said: $output"
    log "last lines of $log:"
    tail -n 40 -- "$log" >&2 2>/dev/null || true
    exit 1
}

# Stops server $1: SIGTERM, then SIGKILL if it is still there after 30 s.
stop_server() {
    local name=$1 pid i
    pid=$(running_pid "$name") || return 0
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        process_alive "$pid" || break
        sleep 0.1
    done
    if process_alive "$pid"; then
        log "$name did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f -- "$(pid_file "$name")"
}

# render TEMPLATE DEST: copies a template, filling in @NAME@ placeholders.
# DEST is only rewritten if its content changes, so a second start changes
# nothing; when it does change, RENDER_CHANGED is set to 1 so the caller can
# restart the server that reads it.
RENDER_CHANGED=0
render() {
    local src=$1 dest=$2 tmp
    tmp=$(mktemp "$dest.XXXXXX")
    sed -e "s|@USER@|$CURRENT_USER|g" \
        -e "s|@SWIFT_DIR@|$SWIFT_DIR|g" \
        -e "s|@SWIFT_DEVICES@|$SWIFT_DIR/devices|g" \
        -e "s|@KEYSTONE_DIR@|$KEYSTONE_DIR|g" \
        -e "s|@KEYSTONE_PORT@|$KEYSTONE_PORT|g" \
        -e "s|@MEMCACHED_PORT@|$MEMCACHED_PORT|g" \
        -e "s|@SWIFT_PROXY_PORT@|$SWIFT_PROXY_PORT|g" \
        -e "s|@SWIFT_KS_PROXY_PORT@|$SWIFT_KS_PROXY_PORT|g" \
        -e "s|@SWIFT_OBJECT_PORT@|$SWIFT_OBJECT_PORT|g" \
        -e "s|@SWIFT_CONTAINER_PORT@|$SWIFT_CONTAINER_PORT|g" \
        -e "s|@SWIFT_ACCOUNT_PORT@|$SWIFT_ACCOUNT_PORT|g" \
        "$src" >"$tmp"
    if cmp -s "$tmp" "$dest"; then
        rm -f -- "$tmp"
    else
        mv -f -- "$tmp" "$dest"
        RENDER_CHANGED=1
    fi
}

# --------------------------------------------------------------------------
# TLS certificate for the tests' TLS servers (SMTP STARTTLS/SMTPS)
# --------------------------------------------------------------------------

# A self-signed certificate for localhost and 127.0.0.1 that tests trust
# directly; see test-servers/tls.cnf for why it is not marked as a CA. Made
# once, and again if it expires within a day.
ensure_tls_cert() {
    local cert=$TLS_DIR/cert.pem key=$TLS_DIR/key.pem
    if [[ -s $cert && -s $key ]] && openssl x509 -checkend 86400 -noout -in "$cert" >/dev/null 2>&1; then
        return 0
    fi
    log "generating the test TLS certificate"
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -config "$TEMPLATES/tls.cnf" \
        -keyout "$key.tmp" -out "$cert.tmp" 2>/dev/null
    mv -f -- "$key.tmp" "$key"
    mv -f -- "$cert.tmp" "$cert"
}

# --------------------------------------------------------------------------
# memcached
# --------------------------------------------------------------------------

memcached_ready() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$MEMCACHED_PORT" || return 1
    printf 'version\r\n' >&3
    IFS= read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ $reply == VERSION* ]]
}

start_memcached() {
    if ! is_running memcached; then
        log "starting memcached on 127.0.0.1:$MEMCACHED_PORT"
        # -U 0: no UDP. memcached refuses to run as root without -u.
        local user_opt=()
        ((EUID == 0)) && user_opt=(-u nobody)
        spawn memcached "$MEMCACHED_PORT" memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 \
            "${user_opt[@]}"
    fi
    wait_ready memcached memcached_ready
}

# --------------------------------------------------------------------------
# MariaDB
# --------------------------------------------------------------------------

MYSQL_SOCKET=$MYSQL_DIR/mysqld.sock

# Runs SQL as the database superuser, over the private socket. mariadb-install-db
# lets the OS user who ran it (root, or the invoking user) in through the socket
# without a password (unix_socket authentication).
mysql_admin_sql() {
    mariadb --no-defaults --socket="$MYSQL_SOCKET" --user="$CURRENT_USER" --batch -e "$1"
}

mysql_ready() {
    mariadb --no-defaults --protocol=tcp --host=127.0.0.1 --port="$MYSQL_PORT" \
        --user="$MYSQL_ADMIN_USER" --password="$TEST_PASSWORD" --connect-timeout=2 \
        --batch -e 'SELECT 1'
}

mysql_socket_ready() {
    mariadb-admin --no-defaults --socket="$MYSQL_SOCKET" --user="$CURRENT_USER" \
        --connect-timeout=2 ping
}

start_mariadb() {
    if ! is_running mariadb; then
        # A private data directory, created once. The marker is written last, so
        # an initialisation that was interrupted is redone from scratch.
        if [[ ! -f $MYSQL_DIR/.initialized ]]; then
            log "initialising the MariaDB data directory"
            rm -rf -- "$MYSQL_DIR"
            mkdir -p "$MYSQL_DIR/data" "$MYSQL_DIR/tmp"
            mariadb-install-db --no-defaults --datadir="$MYSQL_DIR/data" --user="$CURRENT_USER" \
                --auth-root-authentication-method=socket --skip-test-db \
                >>"$(log_file mariadb-install)" 2>&1 ||
                fail_with_log mariadb-install "failed"
        fi
        mkdir -p "$MYSQL_DIR/tmp"
        log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
        # --no-defaults: the system's /etc/mysql configuration is not ours to use
        # (its datadir, socket and port belong to the system server); the
        # options it would have brought that matter (utf8mb4) are given here.
        local user_opt=()
        ((EUID == 0)) && user_opt=(--user=root)
        spawn mariadb "$MYSQL_PORT" mariadbd --no-defaults \
            --datadir="$MYSQL_DIR/data" --tmpdir="$MYSQL_DIR/tmp" \
            --socket="$MYSQL_SOCKET" --pid-file="$MYSQL_DIR/mariadbd.pid" \
            --port="$MYSQL_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            --max-connections=500 \
            --log-error="$(log_file mariadb)" "${user_opt[@]}"
    fi
    wait_ready mariadb mysql_socket_ready
    # The tests' admin account (CREATE/DROP DATABASE, CREATE USER ... for their
    # own read-only users). Statements that change nothing if already done.
    mysql_admin_sql "
        CREATE USER IF NOT EXISTS '$MYSQL_ADMIN_USER'@'127.0.0.1' IDENTIFIED BY '$TEST_PASSWORD';
        CREATE USER IF NOT EXISTS '$MYSQL_ADMIN_USER'@'localhost' IDENTIFIED BY '$TEST_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_ADMIN_USER'@'127.0.0.1' WITH GRANT OPTION;
        GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_ADMIN_USER'@'localhost' WITH GRANT OPTION;" ||
        fail_with_log mariadb "did not accept the admin account"
    touch "$MYSQL_DIR/.initialized"
    wait_ready mariadb mysql_ready
}

# --------------------------------------------------------------------------
# Keystone
# --------------------------------------------------------------------------

KEYSTONE_URL=http://127.0.0.1:$KEYSTONE_PORT/v3
SWIFT_KEYSTONE_ENDPOINT="http://127.0.0.1:$SWIFT_KS_PROXY_PORT/v1/AUTH_%(tenant_id)s"

keystone_manage() {
    keystone-manage --config-file "$KEYSTONE_DIR/keystone.conf" "$@" \
        >>"$(log_file keystone-manage)" 2>&1 ||
        fail_with_log keystone-manage "failed: keystone-manage $1"
}

keystone_ready() {
    curl -fsS --max-time 5 -o /dev/null "$KEYSTONE_URL"
}

# Database, keys and the bootstrap admin. Done once; the marker is written
# last, so an initialisation that was interrupted is redone from scratch.
init_keystone() {
    log "initialising Keystone (database, keys, admin)"
    rm -rf -- "$KEYSTONE_DIR"
    mkdir -p "$KEYSTONE_DIR"
    render "$TEMPLATES/keystone/keystone.conf" "$KEYSTONE_DIR/keystone.conf"
    keystone_manage db_sync
    # Write-ahead logging: Keystone keeps a read transaction open after some
    # requests, which in SQLite's default mode blocks every later write
    # ("database is locked"); in WAL mode readers never block writers.
    "$PYTHON" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' \
        "$KEYSTONE_DIR/keystone.db"
    keystone_manage fernet_setup --keystone-user "$CURRENT_USER" --keystone-group "$(id -gn)"
    keystone_manage credential_setup --keystone-user "$CURRENT_USER" --keystone-group "$(id -gn)"
    # Admin user/project/role, region RegionOne and Keystone's own endpoint.
    keystone_manage bootstrap \
        --bootstrap-username admin --bootstrap-password "$TEST_PASSWORD" \
        --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
        --bootstrap-public-url "$KEYSTONE_URL"
    touch "$KEYSTONE_DIR/.initialized"
}

start_keystone() {
    if ! is_running keystone && [[ ! -f $KEYSTONE_DIR/.initialized ]]; then
        init_keystone
    fi
    RENDER_CHANGED=0
    render "$TEMPLATES/keystone/keystone.conf" "$KEYSTONE_DIR/keystone.conf"
    if ((RENDER_CHANGED)) && is_running keystone; then
        log "keystone.conf changed: restarting Keystone"
        stop_server keystone
    fi
    if ! is_running keystone; then
        log "starting Keystone on 127.0.0.1:$KEYSTONE_PORT"
        spawn keystone "$KEYSTONE_PORT" "$PYTHON" "$TEMPLATES/keystone-server.py" \
            "$KEYSTONE_DIR/keystone.conf" "$KEYSTONE_PORT"
    fi
    wait_ready keystone keystone_ready
    # Users, projects, roles and the Swift endpoint (through the API, once).
    if [[ ! -f $KEYSTONE_DIR/.setup-done ]]; then
        log "creating the Keystone test users and the Swift endpoint"
        "$PYTHON" "$TEMPLATES/keystone-setup.py" setup "$KEYSTONE_URL" "$SWIFT_KEYSTONE_ENDPOINT" \
            >>"$(log_file keystone-setup)" 2>&1 ||
            fail_with_log keystone-setup "failed"
        touch "$KEYSTONE_DIR/.setup-done"
    fi
}

# A token of the test user opens its Swift account through the catalog's
# object-store endpoint (Keystone, the proxy's authtoken and keystoneauth).
keystone_swift_ok() {
    "$PYTHON" "$TEMPLATES/keystone-setup.py" check "$KEYSTONE_URL"
}

# --------------------------------------------------------------------------
# Swift
# --------------------------------------------------------------------------

SWIFT_AUTH_URL=http://127.0.0.1:$SWIFT_PROXY_PORT/auth/v1.0

# Rings with one device each (1 replica), pointing at the storage servers.
# Rebuilt only if missing or if the storage ports changed.
ensure_swift_rings() {
    local stamp="$SWIFT_OBJECT_PORT $SWIFT_CONTAINER_PORT $SWIFT_ACCOUNT_PORT"
    if [[ -f $SWIFT_DIR/object.ring.gz && -f $SWIFT_DIR/container.ring.gz &&
        -f $SWIFT_DIR/account.ring.gz && "$(cat "$SWIFT_DIR/rings.stamp" 2>/dev/null)" == "$stamp" ]]; then
        return 0
    fi
    log "building the Swift rings"
    local kind port
    for kind in object container account; do
        case $kind in
            object) port=$SWIFT_OBJECT_PORT ;;
            container) port=$SWIFT_CONTAINER_PORT ;;
            account) port=$SWIFT_ACCOUNT_PORT ;;
        esac
        rm -f -- "$SWIFT_DIR/$kind.builder" "$SWIFT_DIR/$kind.ring.gz"
        # 2^6 partitions, 1 replica, no minimum time between partition moves.
        {
            swift-ring-builder "$SWIFT_DIR/$kind.builder" create 6 1 0 &&
                swift-ring-builder "$SWIFT_DIR/$kind.builder" add "r1z1-127.0.0.1:$port/d1" 1 &&
                swift-ring-builder "$SWIFT_DIR/$kind.builder" rebalance
        } >>"$(log_file swift-rings)" 2>&1 || fail_with_log swift-rings "failed"
    done
    printf '%s\n' "$stamp" >"$SWIFT_DIR/rings.stamp"
}

swift_healthy() {
    curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$1/healthcheck"
}

# header_value NAME: the value of HTTP header NAME in the headers on stdin.
header_value() {
    awk -v name="${1,,}" '
        tolower(substr($0, 1, index($0, ":") - 1)) == name {
            value = substr($0, index($0, ":") + 1)
            sub(/^[ \t]+/, "", value); sub(/\r$/, "", value)
            print value; exit
        }'
}

# TempAuth hands out a token and a storage URL, and the account answers to that
# token (through the whole pipeline, Keystone's authtoken middleware included).
swift_auth_ok() {
    local headers url token
    headers=$(curl -fsS --max-time 10 -D - -o /dev/null \
        -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$SWIFT_AUTH_URL") || return 1
    url=$(header_value X-Storage-Url <<<"$headers")
    token=$(header_value X-Auth-Token <<<"$headers")
    [[ -n $url && -n $token ]] || return 1
    curl -fsS --max-time 10 -o /dev/null -I -H "X-Auth-Token: $token" "$url"
}

# The port of a Swift server kind.
swift_port() {
    case $1 in
        account) printf '%s\n' "$SWIFT_ACCOUNT_PORT" ;;
        container) printf '%s\n' "$SWIFT_CONTAINER_PORT" ;;
        object) printf '%s\n' "$SWIFT_OBJECT_PORT" ;;
        proxy) printf '%s\n' "$SWIFT_PROXY_PORT" ;;
    esac
}

start_swift() {
    mkdir -p "$SWIFT_DIR/devices/d1"
    # Configuration; a server whose configuration changed is restarted (all of
    # them if swift.conf changed).
    local kind
    RENDER_CHANGED=0
    render "$TEMPLATES/swift/swift.conf" "$SWIFT_DIR/swift.conf"
    local all_changed=$RENDER_CHANGED
    for kind in account container object proxy; do
        RENDER_CHANGED=0
        render "$TEMPLATES/swift/$kind-server.conf" "$SWIFT_DIR/$kind-server.conf"
        if ((RENDER_CHANGED || all_changed)) && is_running "swift-$kind"; then
            log "Swift $kind server configuration changed: restarting it"
            stop_server "swift-$kind"
        fi
    done
    # The Keystone-side proxy: same servers, its own configuration and port.
    RENDER_CHANGED=0
    render "$TEMPLATES/swift/proxy-keystone.conf" "$SWIFT_DIR/proxy-keystone.conf"
    if ((RENDER_CHANGED || all_changed)) && is_running swift-kproxy; then
        log "Swift Keystone proxy configuration changed: restarting it"
        stop_server swift-kproxy
    fi
    ensure_swift_rings

    for kind in account container object proxy; do
        if ! is_running "swift-$kind"; then
            log "starting Swift $kind server on 127.0.0.1:$(swift_port "$kind")"
            spawn "swift-$kind" "$(swift_port "$kind")" "$PYTHON" "$TEMPLATES/swift-server.py" \
                "$SWIFT_DIR" "$kind-server" "$SWIFT_DIR/$kind-server.conf"
        fi
    done
    for kind in account container object proxy; do
        wait_ready "swift-$kind" swift_healthy "$(swift_port "$kind")"
    done
    if ! is_running swift-kproxy; then
        log "starting the Swift Keystone proxy on 127.0.0.1:$SWIFT_KS_PROXY_PORT"
        spawn swift-kproxy "$SWIFT_KS_PROXY_PORT" "$PYTHON" "$TEMPLATES/swift-server.py" \
            "$SWIFT_DIR" proxy-server "$SWIFT_DIR/proxy-keystone.conf"
    fi
    wait_ready swift-kproxy swift_healthy "$SWIFT_KS_PROXY_PORT"
    wait_ready swift-proxy swift_auth_ok
    wait_ready swift-kproxy keystone_swift_ok
}

# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

SERVERS=(memcached mariadb keystone swift-account swift-container swift-object swift-proxy swift-kproxy)

# Debian installs nats-server in /usr/sbin, which is not in every user's PATH.
nats_server_path() {
    local path
    for path in /usr/sbin/nats-server /usr/bin/nats-server; do
        [[ -x $path ]] && { printf '%s\n' "$path"; return 0; }
    done
    command -v nats-server || printf '%s\n' /usr/sbin/nats-server
}

env_lines() {
    local nats
    nats=$(nats_server_path)
    local -a vars=(
        CLOUDHP_TEST_MYSQL_URL "mysql://$MYSQL_ADMIN_USER:$TEST_PASSWORD@127.0.0.1:$MYSQL_PORT"
        CLOUDHP_TEST_SWIFT_AUTH_URL "$SWIFT_AUTH_URL"
        CLOUDHP_TEST_SWIFT_USER "test:tester"
        CLOUDHP_TEST_SWIFT_KEY "testing"
        CLOUDHP_TEST_S3_ENDPOINT "http://127.0.0.1:$SWIFT_PROXY_PORT"
        CLOUDHP_TEST_S3_ACCESS_KEY "test:tester"
        CLOUDHP_TEST_S3_SECRET_KEY "testing"
        CLOUDHP_TEST_S3_REGION "us-east-1"
        CLOUDHP_TEST_KEYSTONE_URL "$KEYSTONE_URL"
        CLOUDHP_TEST_KEYSTONE_USER "cloudhp"
        CLOUDHP_TEST_KEYSTONE_PASSWORD "$TEST_PASSWORD"
        CLOUDHP_TEST_KEYSTONE_PROJECT "cloudhp"
        CLOUDHP_TEST_KEYSTONE_DOMAIN "Default"
        CLOUDHP_TEST_NATS_SERVER "$nats"
        CLOUDHP_TEST_CHROMEDRIVER "$(command -v chromedriver || printf '%s' /usr/bin/chromedriver)"
        CLOUDHP_TEST_CHROMIUM "$(command -v chromium || printf '%s' /usr/bin/chromium)"
        CLOUDHP_TEST_SMTP_SERVER "$SMTP_SERVER"
        CLOUDHP_TEST_TLS_CERT "$TLS_DIR/cert.pem"
        CLOUDHP_TEST_TLS_KEY "$TLS_DIR/key.pem"
    )
    local i
    for ((i = 0; i < ${#vars[@]}; i += 2)); do
        # %q leaves these plain values unquoted, and quotes a path with spaces.
        printf 'export %s=%q\n' "${vars[i]}" "${vars[i + 1]}"
    done
}

# Serialises start/stop: two test runs calling start at once must not both
# initialise the same data directories.
take_lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    if ! flock -n 9; then
        log "waiting for another test-servers.sh to finish"
        flock 9
    fi
}

cmd_start() {
    local started=$SECONDS
    take_lock
    ensure_packages
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    ensure_tls_cert
    start_memcached
    start_mariadb
    start_keystone
    start_swift
    mkdir -p "$(dirname -- "$ENV_FILE")"
    env_lines >"$ENV_FILE.tmp"
    mv -f -- "$ENV_FILE.tmp" "$ENV_FILE"
    log "all servers ready ($((SECONDS - started)) s); environment in ${ENV_FILE#"$REPO_ROOT"/}"
    env_lines
}

cmd_stop() {
    [[ -d $STATE_DIR ]] || { log "nothing to stop"; return 0; }
    take_lock
    local i
    # Reverse start order: the proxy first, the databases last.
    for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do
        stop_server "${SERVERS[i]}"
    done
    rm -f -- "$ENV_FILE"
    log "stopped"
}

cmd_status() {
    local name pid all=0
    for name in "${SERVERS[@]}"; do
        if pid=$(running_pid "$name" 2>/dev/null); then
            printf '%-16s running  pid %s\n' "$name" "$pid"
        else
            printf '%-16s stopped\n' "$name"
            all=3
        fi
    done
    printf 'state directory: %s\n' "$STATE_DIR"
    return "$all"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) env_lines ;;
    status) cmd_status ;;
    *) usage ;;
esac
