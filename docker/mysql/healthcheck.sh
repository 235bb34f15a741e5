#!/bin/sh
# Healthy once the first-start initialisation is complete and the final server answers.
# The marker is written only after the initialisation server has stopped, so a ping can
# never be answered by it. root authenticates through the socket (unix_socket plugin), so
# the check logs no "access denied" line.
[ -f /var/lib/mysql/.neocuma-initialized ] || exit 1
# Nor by the server of the outbox's upgrade step (docker-entrypoint.sh, upgrade_outbox).
[ -f /var/lib/mysql/.neocuma-outbox ] || exit 1
exec mariadb-admin --protocol=socket --socket=/run/mysqld/mysqld.sock --user=root \
    --connect-timeout=3 status >/dev/null 2>&1
