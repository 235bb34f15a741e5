# Sourced by the entrypoint on first start, after 20-accounts.sh, and again once on the first
# start of a data directory initialised before the outbox existed (docs/design.md §10): the
# grants on the outbox tables of neocuma_control, to the accounts that exist.
#
#   NEOCUMA_ROLE, NEOCUMA_SERVER_DB_USER, NEOCUMA_GUARDIAN_DB_USER   as for 20-accounts.sh

outbox_role="${NEOCUMA_ROLE:-local}"
outbox_server="${NEOCUMA_SERVER_DB_USER:-neocuma_server}"
outbox_guardian="${NEOCUMA_GUARDIAN_DB_USER:-neocuma_guardian}"

outbox_sql() { mariadb --protocol=socket --socket="$SOCKET" -uroot "$@"; }
outbox_account() {
    [ "$(echo "SELECT COUNT(*) FROM mysql.global_priv WHERE User = '$(sql_escape "$1")' AND Host = '%';" | outbox_sql -N)" = 1 ]
}

{
    if outbox_account "$outbox_server"; then
        if [ "$outbox_role" = central ]; then
            # v1 replay records each operation it applied, so a replay twice adds nothing twice.
            echo "GRANT INSERT ON neocuma_control.replayed TO '$outbox_server'@'%';"
        else
            # A bon entered in fallback mode is recorded in the outbox in the same transaction.
            echo "GRANT INSERT ON neocuma_control.outbox TO '$outbox_server'@'%';"
        fi
    fi
    if outbox_account "$outbox_guardian"; then
        # The replay's outcome of each operation, and nothing else of the outbox.
        echo "GRANT UPDATE (state, central_id, central_numero, reason, replayed_at) ON neocuma_control.outbox TO '$outbox_guardian'@'%';"
    fi
} | outbox_sql
log "granted the outbox tables ($outbox_role role)"
