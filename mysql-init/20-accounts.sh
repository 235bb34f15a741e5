# Sourced by the entrypoint on first start: least-privilege accounts (docs/design.md §8).
#
#   NEOCUMA_ROLE                      local (default) or central
#   NEOCUMA_SERVER_DB_USER            account of the NeoCuma server (default neocuma_server)
#   NEOCUMA_SERVER_DB_PASSWORD[_FILE] its password
#   NEOCUMA_GUARDIAN_DB_USER          account of the guardian (default neocuma_guardian)
#   NEOCUMA_GUARDIAN_DB_PASSWORD[_FILE] its password; no account when unset
#
# Data generations are schemas named neocuma_g<N>; the grants use the pattern neocuma\_g%.
# No account but root has FILE, SUPER, PROCESS or GRANT OPTION.

neocuma_role="${NEOCUMA_ROLE:-local}"
case "$neocuma_role" in local|central) ;; *) die "NEOCUMA_ROLE must be local or central, not '$neocuma_role'" ;; esac

neocuma_sql() { mariadb --protocol=socket --socket="$SOCKET" -uroot; }

file_env NEOCUMA_SERVER_DB_PASSWORD
file_env NEOCUMA_GUARDIAN_DB_PASSWORD
server_pw="$NEOCUMA_SERVER_DB_PASSWORD"
guardian_pw="$NEOCUMA_GUARDIAN_DB_PASSWORD"
unset NEOCUMA_SERVER_DB_PASSWORD NEOCUMA_GUARDIAN_DB_PASSWORD
if [ -n "$server_pw" ]; then
    server_user="${NEOCUMA_SERVER_DB_USER:-neocuma_server}"
    {
        echo "CREATE USER '$server_user'@'%' IDENTIFIED BY '$(sql_escape "$server_pw")';"
        if [ "$neocuma_role" = central ]; then
            # The central server creates and drops generations (seeding, pre-restore copies).
            echo "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES ON \`neocuma\\_g%\`.* TO '$server_user'@'%';"
            echo "GRANT SELECT, UPDATE ON neocuma_control.* TO '$server_user'@'%';"
        else
            # The local server only serves the live generation; writes happen in fallback mode.
            echo "GRANT SELECT, INSERT, UPDATE, DELETE ON \`neocuma\\_g%\`.* TO '$server_user'@'%';"
            echo "GRANT SELECT ON neocuma_control.* TO '$server_user'@'%';"
        fi
    } | neocuma_sql
    log "created account $server_user ($neocuma_role role)"
fi
unset server_pw

if [ -n "$guardian_pw" ]; then
    guardian_user="${NEOCUMA_GUARDIAN_DB_USER:-neocuma_guardian}"
    {
        echo "CREATE USER '$guardian_user'@'%' IDENTIFIED BY '$(sql_escape "$guardian_pw")';"
        echo "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON \`neocuma\\_g%\`.* TO '$guardian_user'@'%';"
        echo "GRANT SELECT ON neocuma_control.* TO '$guardian_user'@'%';"
        echo "GRANT UPDATE ON neocuma_control.live TO '$guardian_user'@'%';"
    } | neocuma_sql
    log "created account $guardian_user"
fi
unset guardian_pw
