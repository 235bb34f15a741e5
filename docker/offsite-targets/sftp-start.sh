#!/bin/sh
# Start of the SFTP target: a fresh host key, the test's public key authorised for
# `sauvegarde`, every directory under /srv (tmpfs mounts included) handed to it, then sshd
# in the foreground with keys only.
set -eu
[ -n "${AUTHORIZED_KEY:-}" ] || { echo "sftp-start: AUTHORIZED_KEY is empty" >&2; exit 2; }
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
install -d -m 0700 -o sauvegarde -g sauvegarde /home/sauvegarde/.ssh
printf '%s\n' "$AUTHORIZED_KEY" > /home/sauvegarde/.ssh/authorized_keys
chown sauvegarde:sauvegarde /home/sauvegarde/.ssh/authorized_keys
chmod 0600 /home/sauvegarde/.ssh/authorized_keys
for dir in /srv/*/; do chown sauvegarde:sauvegarde "$dir"; done
exec /usr/sbin/sshd -D -e \
    -o HostKey=/etc/ssh/ssh_host_ed25519_key \
    -o PasswordAuthentication=no \
    -o KbdInteractiveAuthentication=no \
    -o PermitRootLogin=no \
    -o AllowUsers=sauvegarde
