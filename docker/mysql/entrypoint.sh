#!/bin/bash
# Entrypoint of the NeoCuma MySQL image (MariaDB from Debian).
#
# Follows the official MySQL image: MYSQL_ROOT_PASSWORD[_FILE], MYSQL_ALLOW_EMPTY_PASSWORD,
# MYSQL_RANDOM_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD[_FILE], and the
# scripts of /docker-entrypoint-initdb.d (*.sh, *.sql, *.sql.gz) run once, on first start.
#
# NeoCuma additions:
#   NEOCUMA_GENERATE_SECRETS="path:uid[:gid] ..."  secrets created on first start when missing
#       (random, mode 0400, owned by the service that reads them), so no password is ever
#       typed in a file on the host or baked in an image;
#   a marker file written only when the initialisation finished, so a half-initialised data
#   directory is refused with a clear message instead of being served.
#
# Runs as root, then mariadbd drops to the mysql user itself (--user=mysql).
set -Eeuo pipefail
shopt -s nullglob

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
MARKER="$DATADIR/.neocuma-initialized"
OUTBOX_MARKER="$DATADIR/.neocuma-outbox"

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# file_env VAR: VAR or VAR_FILE (not both), as the official image does.
file_env() {
    local var="$1" file_var="${1}_FILE" default="${2:-}"
    local val="$default"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        die "both $var and $file_var are set; set only one of them"
    fi
    if [ -n "${!var:-}" ]; then
        val="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        [ -r "${!file_var}" ] || die "$file_var names ${!file_var}, which does not exist or cannot be read"
        val="$(< "${!file_var}")"
    fi
    export "$var"="$val"
    unset "$file_var"
}

generate_secrets() {
    local spec path owner uid gid dir tmp
    for spec in ${NEOCUMA_GENERATE_SECRETS:-}; do
        path="${spec%%:*}"
        owner="${spec#*:}"
        uid="${owner%%:*}"
        gid="${owner#*:}"
        [ "$gid" = "$owner" ] && gid="$uid"
        case "$path" in /*) ;; *) die "NEOCUMA_GENERATE_SECRETS: '$path' is not an absolute path" ;; esac
        [[ "$uid" =~ ^[0-9]+$ && "$gid" =~ ^[0-9]+$ ]] || die "NEOCUMA_GENERATE_SECRETS: '$spec' must be path:uid[:gid]"
        dir="$(dirname "$path")"
        mkdir -p "$dir"
        chmod 0755 "$dir"
        if [ ! -s "$path" ]; then
            tmp="$(mktemp "$dir/.secret.XXXXXX")"
            # 32 random bytes, base64 without padding or characters that need quoting.
            head -c 32 /dev/urandom | base64 | tr -d '=+/\n' > "$tmp"
            chown "$uid:$gid" "$tmp"
            chmod 0400 "$tmp"
            sync "$tmp"
            mv -f "$tmp" "$path"
            log "created secret $path (owner $uid:$gid, mode 0400)"
        fi
    done
}

sql_escape() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g"; }

run_initdb_scripts() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)     log "running $f"; . "$f" ;;
            *.sql)    log "running $f"; mariadb --protocol=socket --socket="$SOCKET" -uroot < "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | mariadb --protocol=socket --socket="$SOCKET" -uroot ;;
            *)        log "ignoring $f" ;;
        esac
    done
}

# A server on the socket only (TCP stays closed), for first-start and upgrade steps as root.
start_socket_server() {
    mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" \
        --skip-log-bin &
    SOCKET_SERVER_PID=$!
    local i
    for i in $(seq 1 120); do
        if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then break; fi
        kill -0 "$SOCKET_SERVER_PID" 2>/dev/null || die "the initialisation server stopped; see the lines above"
        sleep 0.5
    done
    mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1 \
        || die "the initialisation server did not answer within 60 s"
}

stop_socket_server() {
    mariadb-admin --protocol=socket --socket="$SOCKET" -uroot shutdown
    wait "$SOCKET_SERVER_PID" || true
}

# A data directory initialised before the outbox (docs/design.md §10): its tables (the
# control script is idempotent) and their grants, once, before TCP opens. Neither the
# server's nor the guardian's account may create tables in neocuma_control.
upgrade_outbox() {
    log "adding the outbox tables to the control schema of an existing data directory"
    start_socket_server
    mariadb --protocol=socket --socket="$SOCKET" -uroot < /docker-entrypoint-initdb.d/10-control.sql
    . /docker-entrypoint-initdb.d/25-outbox-grants.sh
    stop_socket_server
    touch "$OUTBOX_MARKER"
    chown mysql:mysql "$OUTBOX_MARKER"
    sync
}

initialise() {
    log "initialising a new data directory"
    file_env MYSQL_ROOT_PASSWORD
    file_env MYSQL_PASSWORD
    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        die "no root password: set MYSQL_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD_FILE (or MYSQL_RANDOM_ROOT_PASSWORD)"
    fi
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        MYSQL_ROOT_PASSWORD="$(head -c 32 /dev/urandom | base64 | tr -d '=+/\n')"
        log "generated a random root password (not shown)"
    fi

    mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=socket \
        --skip-test-db --skip-name-resolve >/dev/null
    start_socket_server

    local root_host="${MYSQL_ROOT_HOST:-%}" pw
    pw="$(sql_escape "$MYSQL_ROOT_PASSWORD")"
    # Passwords travel on stdin, never in argv.
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$pw');"
        if [ "$root_host" != localhost ]; then
            echo "CREATE USER 'root'@'$root_host' IDENTIFIED BY '$pw';"
            echo "GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;"
        fi
        if [ -n "${MYSQL_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
        fi
        if [ -n "${MYSQL_USER:-}" ]; then
            [ -n "$MYSQL_PASSWORD" ] || die "MYSQL_USER is set without MYSQL_PASSWORD or MYSQL_PASSWORD_FILE"
            echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$(sql_escape "$MYSQL_PASSWORD")';"
            if [ -n "${MYSQL_DATABASE:-}" ]; then
                echo "GRANT ALL ON \`$(printf '%s' "$MYSQL_DATABASE" | sed 's/_/\\_/g')\`.* TO '$MYSQL_USER'@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --protocol=socket --socket="$SOCKET" -uroot

    run_initdb_scripts

    stop_socket_server
    unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
    touch "$MARKER" "$OUTBOX_MARKER"
    chown mysql:mysql "$MARKER" "$OUTBOX_MARKER"
    sync
    log "initialisation complete"
}

main() {
    if [ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ]; then
        shift
        mkdir -p /run/mysqld
        chown mysql:mysql /run/mysqld
        generate_secrets
        if [ "$(stat -c %U "$DATADIR")" != mysql ]; then chown -R mysql:mysql "$DATADIR"; fi
        if [ ! -d "$DATADIR/mysql" ]; then
            if [ -n "$(ls -A "$DATADIR" 2>/dev/null | grep -v '^lost+found$' || true)" ]; then
                die "$DATADIR is not empty but holds no database; refusing to initialise over it"
            fi
            initialise
        elif [ ! -f "$MARKER" ]; then
            die "$DATADIR holds a database whose first-start initialisation did not finish; remove the volume and start again"
        fi
        if [ ! -f "$OUTBOX_MARKER" ]; then
            upgrade_outbox
        fi
        log "starting mariadbd"
        exec mariadbd --user=mysql --datadir="$DATADIR" "$@"
    fi
    exec "$@"
}

main "$@"
