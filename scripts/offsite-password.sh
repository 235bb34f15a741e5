#!/usr/bin/env bash
# Create the offsite repository's password (docs/offsite.md, "The password"): a new random
# passphrase in the centre's secrets directory, readable by the appliance's user only, and
# printed once so a person copies it offline. It never replaces an existing password: the
# copies already made can only be read with the one they were made with.
#
#   scripts/offsite-password.sh [DIRECTORY]    (default: NEOCUMA_SECRETS_DIR of .env, else
#                                               ./config/secrets); `make offsite-password`
set -euo pipefail
cd "$(dirname "$0")/.."

directory="${1:-}"
if [ -z "$directory" ] && [ -r .env ]; then
    directory="$(sed -n 's/^NEOCUMA_SECRETS_DIR=//p' .env | tail -n 1)"
fi
directory="${directory:-./config/secrets}"
file="$directory/offsite-password"
GUARDIAN_UID=10001

if [ -e "$file" ]; then
    echo "offsite-password : $file existe déjà ; il n'est jamais remplacé (les copies faites ne se lisent qu'avec lui)." >&2
    echo "Pour changer de mot de passe : restic key add / key remove (docs/offsite.md)." >&2
    exit 2
fi
mkdir -p "$directory"
umask 077
# 32 random bytes, base64 without padding: 43 characters, 256 bits.
password="$(head -c 32 /dev/urandom | base64 | tr -d '=\n')"
temporary="$(mktemp "$directory/.offsite-password.XXXXXX")"
printf '%s\n' "$password" > "$temporary"
chmod 0400 "$temporary"
if [ "$(id -u)" = 0 ]; then
    chown "$GUARDIAN_UID:$GUARDIAN_UID" "$temporary"
    owner="l'utilisateur de l'appliance (uid $GUARDIAN_UID)"
else
    chmod 0444 "$temporary"  # not root: the guardian's user must still read it
    owner="tous (lancez en root, ou : sudo chown $GUARDIAN_UID $file && sudo chmod 0400 $file)"
fi
mv "$temporary" "$file"

cat <<MESSAGE
Mot de passe du dépôt hors site créé : $file (lisible par $owner)

    $password

Gardez-en une copie HORS LIGNE, hors de ce serveur (coffre, gestionnaire de mots de passe
du centre, papier sous clé) : sans lui aucune copie hors site ne peut être relue, ni par
vous ni par personne. docs/recovery.md dit comment il sert sur un nouveau serveur.

Dans .env :
    NEOCUMA_OFFSITE_PASSWORD_FILE=/run/neocuma-secrets/centre/offsite-password
MESSAGE
