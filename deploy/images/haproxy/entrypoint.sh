#!/bin/bash
# Starts HAProxy in the foreground (master-worker: reloads and stops cleanly on SIGTERM).
#   TLS_PEM        certificate chain and private key in one PEM file (default /run/secrets/tls.pem)
#   WEB_SERVICE    the DNS name of the web tasks (default tasks.web in Swarm, web in compose)
#   WEB_SLOTS      how many web tasks may be balanced over at most (default 16)
#   STATS_NETWORK  the internal network's subnet (a.b.c.d/n); the stats page binds to this
#                  container's address there, port 8404. Unset: on loopback only.
# `entrypoint.sh secrets DIR` instead fills DIR with the stack's secrets (deploy/secrets.sh).
set -euo pipefail
if [[ ${1:-} == secrets ]]; then
    shift
    exec /usr/local/bin/cloudhp-secrets "$@"
fi
export TLS_PEM=${TLS_PEM:-/run/secrets/tls.pem}
export WEB_SERVICE=${WEB_SERVICE:-web}
export WEB_SLOTS=${WEB_SLOTS:-16}
[[ -r $TLS_PEM ]] || { echo "haproxy: cannot read the TLS certificate $TLS_PEM" >&2; exit 1; }

# The stats page listens only on the internal network: on this container's address in it (the
# source address of the directly connected route to that subnet).
export STATS_BIND=127.0.0.1:8404
if [[ -n ${STATS_NETWORK:-} ]]; then
    src=$(ip -4 route show to exact "$STATS_NETWORK" scope link 2>/dev/null | grep -o 'src [0-9.]*' | cut -d' ' -f2 | head -1 || true)
    if [[ -n $src ]]; then
        STATS_BIND=$src:8404
    else
        echo "haproxy: no address on $STATS_NETWORK; stats on loopback only" >&2
    fi
fi
echo "haproxy: stats page on http://$STATS_BIND/stats"
haproxy -c -q -f /etc/haproxy/haproxy.cfg
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
