#!/bin/bash
# Starts MariaDB with one database and its accounts, every password from a file (a Docker
# secret), never from the environment:
#   MARIADB_DATABASE                 the database (created when missing)
#   MARIADB_USER, MARIADB_PASSWORD_FILE
#                                    an account with every right on that database
#   MARIADB_READONLY_USER, MARIADB_READONLY_PASSWORD_FILE   (optional)
#                                    an account that may only SELECT from it
# The accounts are (re)applied at every start through --init-file, so rotating a password is:
# update the secret, restart the container. root has no password and logs in only through the
# local socket (the health check uses it).
set -euo pipefail

die() { echo "mariadb: $*" >&2; exit 1; }
: "${MARIADB_DATABASE:?set MARIADB_DATABASE}"
: "${MARIADB_USER:?set MARIADB_USER}"
: "${MARIADB_PASSWORD_FILE:?set MARIADB_PASSWORD_FILE (a secret file)}"

# Quotes a value for an SQL string literal.
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g")"; }
read_secret() {
    [[ -r $1 ]] || die "cannot read $1"
    local value
    value=$(<"$1")
    [[ -n $value ]] || die "$1 is empty"
    printf '%s' "$value"
}
ident() { [[ $1 =~ ^[A-Za-z0-9_]+$ ]] || die "'$1' may hold only letters, digits and _"; printf '%s' "$1"; }

db=$(ident "$MARIADB_DATABASE")
user=$(ident "$MARIADB_USER")
password=$(read_secret "$MARIADB_PASSWORD_FILE")

if [[ ! -d /var/lib/mysql/mysql ]]; then
    echo "mariadb: creating the data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        --auth-root-authentication-method=socket > /dev/null
fi

init=/run/mysqld/init.sql
umask 077
{
    echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;"
    echo "CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY $(sql_string "$password");"
    echo "ALTER USER '$user'@'%' IDENTIFIED BY $(sql_string "$password");"
    echo "GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'%';"
    if [[ -n ${MARIADB_READONLY_USER:-} ]]; then
        ro=$(ident "$MARIADB_READONLY_USER")
        ro_password=$(read_secret "${MARIADB_READONLY_PASSWORD_FILE:?set MARIADB_READONLY_PASSWORD_FILE}")
        echo "CREATE USER IF NOT EXISTS '$ro'@'%' IDENTIFIED BY $(sql_string "$ro_password");"
        echo "ALTER USER '$ro'@'%' IDENTIFIED BY $(sql_string "$ro_password");"
        echo "GRANT SELECT ON \`$db\`.* TO '$ro'@'%';"
    fi
} > "$init"
chown mysql:mysql "$init"
# The file holds passwords: gone once the server has read it.
( for _ in $(seq 120); do
      if mariadb-admin --socket=/run/mysqld/mysqld.sock ping --silent 2>/dev/null; then break; fi
      sleep 0.5
  done
  rm -f "$init" ) &

exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --port=3306 \
    --socket=/run/mysqld/mysqld.sock --skip-name-resolve --init-file="$init" \
    --max-connections="${MARIADB_MAX_CONNECTIONS:-500}" \
    --innodb-buffer-pool-size="${MARIADB_BUFFER_POOL:-128M}" "$@"
