#!/bin/bash
# Starts memcached, the three storage servers and the proxy of a one-node Swift; stops them all
# when one of them dies (the orchestrator then restarts the container) or on SIGTERM.
#   SWIFT_USER (account:user, default cloudhp:cloudhp), SWIFT_KEY_FILE (a secret file): the
#   TempAuth user, admin of its account.
set -euo pipefail
user=${SWIFT_USER:-cloudhp:cloudhp}
[[ $user =~ ^[A-Za-z0-9]+:[A-Za-z0-9]+$ ]] || { echo "swift: SWIFT_USER must be account:user" >&2; exit 1; }
key_file=${SWIFT_KEY_FILE:?set SWIFT_KEY_FILE (a secret file)}
[[ -r $key_file ]] || { echo "swift: cannot read $key_file" >&2; exit 1; }
key=$(<"$key_file")
[[ $key =~ ^[A-Za-z0-9._~-]+$ ]] || { echo "swift: the key may hold only letters, digits and . _ ~ -" >&2; exit 1; }
sed -i "s/^user_[A-Za-z0-9_]* = .*/user_${user%%:*}_${user##*:} = $key .admin/" /etc/swift/proxy-server.conf
chown -R swift:swift /srv/node
mkdir -p /srv/node/d1 && chown swift:swift /srv/node/d1

pids=()
memcached -u swift -l 127.0.0.1 -p 11211 -m 64 & pids+=($!)
# The proxy keeps TempAuth's tokens in memcached: it must answer before the proxy starts.
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null && break
    sleep 0.1
done
for kind in account container object; do
    python3 /usr/local/bin/swift-server.py /etc/swift "$kind-server" "/etc/swift/$kind-server.conf" & pids+=($!)
done
python3 /usr/local/bin/swift-server.py /etc/swift proxy-server /etc/swift/proxy-server.conf & pids+=($!)
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 0' TERM INT
wait -n
echo "swift: a server stopped; stopping the others" >&2
kill -TERM "${pids[@]}" 2>/dev/null || true
wait
exit 1
