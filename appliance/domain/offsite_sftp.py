"""An ``sftp:`` offsite repository with its host key pinned (docs/offsite.md, "Targets").

restic's sftp backend runs ``ssh``; left to itself, ssh would use the guardian's own
``~/.ssh`` and ask about an unknown host key. The guardian instead hands restic the whole
command (restic 0.14's ``-o sftp.command=…``): the mounted private key only, the mounted
known_hosts file only, ``StrictHostKeyChecking=yes`` (an unknown or changed key fails, it is
never added) and ``BatchMode=yes`` (nothing is ever asked). restic then takes only the path
from the repository's address; user, host and port go on the command built here.

restic splits that command on white space (quotes aside) and reads ``-o`` values as CSV, so
the parts are restricted to characters that survive both: no space, quote, backslash or
comma in a path, and a host or user that cannot pass for an ssh option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.errors import BadRequest

KEY_SETTING = "NEOCUMA_OFFSITE_SFTP_KEY_FILE"
KNOWN_HOSTS_SETTING = "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE"
_USER = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_HOST = r"[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]"
# sftp:user@host:/path (restic's short form, port 22) and sftp://user@host:port//path.
_SHORT = re.compile(rf"sftp:(?P<user>{_USER})@(?P<host>{_HOST}):(?P<path>.+)")
_URL = re.compile(rf"sftp://(?P<user>{_USER})@(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?/(?P<path>.+)")
_PLAIN_PATH = re.compile(r"[^\s\"'\\,]+")
_SHAPE = "sftp:utilisateur@hôte:/chemin ou sftp://utilisateur@hôte:port//chemin"


@dataclass(frozen=True)
class SftpAddress:
    user: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class SftpPinning:
    """The files that let the guardian in, and only into the server it knows."""

    key_file: str  # the private key (unencrypted: nothing is ever asked)
    known_hosts_file: str  # the server's host key, as ssh-keyscan prints it
    connect_timeout: int = 30  # seconds; a blackholed address fails, never hangs


def parse_sftp(repository: str) -> SftpAddress:
    """User, host, port and path of an ``sftp:`` repository; raises BadRequest naming what
    is wrong."""
    match = _URL.fullmatch(repository) or _SHORT.fullmatch(repository)
    if match is None:
        raise BadRequest(f"dépôt hors site {repository[:80]!r} : attendu {_SHAPE}")
    port = int(match.groupdict().get("port") or 22)
    if not 1 <= port <= 65535:
        raise BadRequest(f"dépôt hors site {repository[:80]!r} : port {port} hors de 1-65535")
    path = match.group("path")
    if not _PLAIN_PATH.fullmatch(path):
        raise BadRequest(
            f"dépôt hors site {repository[:80]!r} : le chemin ne doit contenir ni espace, ni guillemet,"
            " ni barre oblique inverse, ni virgule"
        )
    return SftpAddress(match.group("user"), match.group("host"), port, path)


def check_pinning(pinning: SftpPinning) -> None:
    """Raises BadRequest naming the setting when a file's path is missing or cannot go on
    restic's command (the files themselves are ssh's to read)."""
    for setting_name, path in ((KEY_SETTING, pinning.key_file), (KNOWN_HOSTS_SETTING, pinning.known_hosts_file)):
        if not path:
            raise BadRequest(f"{setting_name} est vide : un dépôt sftp: en a besoin (docs/offsite.md, « Targets »)")
        if not path.startswith("/") or not _PLAIN_PATH.fullmatch(path):
            raise BadRequest(
                f"{setting_name} : {path[:80]!r} doit être un chemin absolu sans espace, guillemet,"
                " barre oblique inverse ni virgule"
            )


def ssh_command(address: SftpAddress, pinning: SftpPinning, log_file: str = "") -> list[str]:
    """The ssh command restic runs for the repository: this key, this known_hosts file,
    strict checking, never a question; ``log_file``: where ssh writes its own messages
    (restic relays ssh's stderr, but may exit before the last lines are relayed)."""
    check_pinning(pinning)
    if log_file and not (log_file.startswith("/") and _PLAIN_PATH.fullmatch(log_file)):
        raise BadRequest(f"journal de ssh {log_file[:80]!r} : chemin absolu sans espace ni guillemet attendu")
    return [
        "ssh",
        "-i",
        pinning.key_file,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"UserKnownHostsFile={pinning.known_hosts_file}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={pinning.connect_timeout}",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
        "-o",
        "LogLevel=ERROR",
        *(["-E", log_file] if log_file else []),
        "-p",
        str(address.port),
        f"{address.user}@{address.host}",
        "-s",
        "sftp",
    ]


def restic_options(repository: str, pinning: SftpPinning, log_file: str = "") -> list[str]:
    """restic's global options for an ``sftp:`` repository: ``-o sftp.command=…``."""
    return ["-o", "sftp.command=" + " ".join(ssh_command(parse_sftp(repository), pinning, log_file))]


def ssh_failure(stderr: str) -> str | None:
    """What ssh's own words in restic's stderr mean, in French, when they name a problem of
    the key or the host key; None otherwise (then restic's words decide)."""
    lowered = stderr.lower()
    if "remote host identification has changed" in lowered:
        return (
            f"la clé d'hôte du serveur SFTP a changé et n'est plus celle de {KNOWN_HOSTS_SETTING} : rien n'a été"
            " envoyé ; vérifiez l'empreinte auprès de l'administrateur du serveur avant de mettre ce fichier à jour"
        )
    if "host key verification failed" in lowered:
        return (
            f"la clé d'hôte du serveur SFTP est inconnue : elle n'est pas dans {KNOWN_HOSTS_SETTING} ; rien n'a été"
            " envoyé ; vérifiez l'empreinte auprès de l'administrateur du serveur avant de l'y ajouter"
        )
    if "unprotected private key file" in lowered or "bad permissions" in lowered:
        return (
            f"la clé privée de {KEY_SETTING} est lisible par d'autres comptes et ssh la refuse"
            " (propriétaire uid 10001, mode 0600)"
        )
    if "not accessible" in lowered and "identity file" in lowered:
        return f"la clé privée de {KEY_SETTING} est introuvable ou illisible (montée, lisible par l'uid 10001 ?)"
    if "permission denied (publickey" in lowered or "too many authentication failures" in lowered:
        return f"le serveur SFTP refuse la clé de {KEY_SETTING} (la clé publique est-elle dans authorized_keys ?)"
    return None


def sftp_write_refused(stderr: str) -> str | None:
    """OpenSSH's sftp-server answers a full disk (or a quota) with the bare
    ``SSH_FX_FAILURE``, no reason given: a refused write is said as what it most likely is."""
    lowered = stderr.lower()
    if "ssh_fx_failure" in lowered and any(word in lowered for word in ("write", "save(", "mkdir", "create")):
        return (
            "le serveur SFTP refuse d'écrire, sans doute plein ou à son quota (SSH_FX_FAILURE : OpenSSH n'en dit pas"
            " la raison)"
        )
    return None
