#!/usr/bin/env bash
# The host's prerequisites, installed when missing: `make up` and `make test` call this, and
# so does .ci/run, so a fresh machine with Docker and Compose needs nothing done by hand.
#
#   scripts/prerequisites.sh up     what `make up` needs: debootstrap, to build the base
#                                   image when it is not there (no registry)
#   scripts/prerequisites.sh test   also what the tests need on the host: the mariadb and
#                                   OpenSSH clients, unzip, restic, Python's venv module
#
# Debian and Ubuntu packages, through apt-get: as root, or through sudo when it needs no
# password. Otherwise nothing is installed and the one command that would is printed.
set -euo pipefail

what="${1:-test}"
case "$what" in up|test) ;; *) echo "usage: $0 up|test" >&2; exit 2 ;; esac
BASE_IMAGE="${BASE_IMAGE:-neocuma/base:bookworm}"

log() { printf 'prerequisites: %s\n' "$*" >&2; }

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    log "no Docker engine answers: install Docker Engine and start it (https://docs.docker.com/engine/install/)"
    exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
need() { installed "$1" || command -v "${2:-$1}" >/dev/null 2>&1 || missing+=("$1"); }

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    command -v mmdebstrap >/dev/null 2>&1 || need debootstrap
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    missing+=(docker-compose)
fi
if [ "$what" = test ]; then
    need mariadb-client mariadb
    need openssh-client ssh
    need unzip
    need restic
    python="${PYTHON:-python3}"
    if ! "$python" -c "import venv, ensurepip" >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${missing[*]}; this host has no apt-get: install them with its package manager"
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
else
    log "missing: ${missing[*]}. Install them, then run make again:"
    printf '    sudo sh -c "%s"\n' "$command" >&2
    exit 1
fi
log "installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
