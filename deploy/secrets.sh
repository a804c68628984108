#!/bin/bash
# Fills a folder with the secrets of a CloudHP stack, one file each, generating what is missing
# and keeping what is there (an operator's own certificate or mail relay, earlier passwords):
#
#   deploy/secrets.sh DIR
#
# Environment (used only for files that do not exist yet):
#   PUBLIC_HOST   the host name of the self-signed certificate (default localhost)
#   MAIL_URL      mail.url of the notifier (default: the stack's SMTP sink)
#   SHOP_DB_URL   identity.database, the shop's PrestaShop DB, read-only account
#                 (default: the stack's demo shop DB)
#   FILE_UID / FILE_GID   owner of the files (default 0 / 10001: root and the cloudhp group)
#
# Files: lottery_db_password lottery_db_url shop_db_admin_password shop_db_admin_url
# shop_db_readonly_password shop_db_url link_key roles_token swift_key mail_url tls.pem, and
# tls-ca.pem (not a secret: the certificate to trust, when tls.pem was generated here).
# Needs openssl. Nothing here is ever printed.
set -euo pipefail
dir=${1:?usage: secrets.sh DIR}
command -v openssl >/dev/null || { echo "secrets: openssl is needed" >&2; exit 1; }
mkdir -p "$dir"
umask 077

random() { openssl rand -hex "${1:-24}"; }
# write NAME VALUE: writes the file unless it exists.
write() {
    [[ -s $dir/$1 ]] && return 0
    printf '%s' "$2" > "$dir/$1.tmp" && mv "$dir/$1.tmp" "$dir/$1"
    echo "secrets: generated $1" >&2
}
value() { cat "$dir/$1"; }

write lottery_db_password "$(random)"
write lottery_db_url "mysql://cloudhp:$(value lottery_db_password)@lottery-db:3306/cloudhp"
write shop_db_admin_password "$(random)"
write shop_db_admin_url "mysql://shop_admin:$(value shop_db_admin_password)@shop-db:3306/prestashop"
write shop_db_readonly_password "$(random)"
write shop_db_url "${SHOP_DB_URL:-mysql://cloudhp_ro:$(value shop_db_readonly_password)@shop-db:3306/prestashop}"
write link_key "$(random 32)"
write roles_token "$(random 32)"
write swift_key "$(random)"
write mail_url "${MAIL_URL:-smtp://smtp-sink:2525?tls=none}"

if [[ ! -s $dir/tls.pem ]]; then
    # A private CA of this stack and a server certificate it signs: clients that should trust
    # the stack trust tls-ca.pem (curl --cacert, cloudhp-bench --ca-file); browsers warn.
    host=${PUBLIC_HOST:-localhost}
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=CloudHP stack CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -keyout "$tmp/ca-key.pem" -out "$tmp/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" -keyout "$tmp/key.pem" \
        -out "$tmp/req.pem" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
        "$host" > "$tmp/ext.cnf"
    openssl x509 -req -in "$tmp/req.pem" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" \
        -CAcreateserial -days 825 -extfile "$tmp/ext.cnf" -out "$tmp/cert.pem" 2>/dev/null
    cat "$tmp/cert.pem" "$tmp/key.pem" > "$dir/tls.pem"
    cp "$tmp/ca.pem" "$dir/tls-ca.pem"
    rm -rf "$tmp"
    echo "secrets: generated tls.pem for $host, signed by a CA of its own (tls-ca.pem); put your own certificate and key there" >&2
fi

# Readable by root (MariaDB, Swift and HAProxy start as root) and by the cloudhp group.
chown "${FILE_UID:-0}:${FILE_GID:-10001}" "$dir"/* 2>/dev/null || true
chmod 0440 "$dir"/*
