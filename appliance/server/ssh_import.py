"""The ``v1 import CODE`` request: the password typed again, then the backup, on stdin.

The first line of stdin is the user's password, typed again and checked here by the server;
the rest is the backup zip, received into the server's work directory with a size limit and
a stall timeout, then handed to the Importer. Refusals that need no upload (password, rights,
exporté) are answered before a byte of the backup is read.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import paramiko

from appliance.domain.passwords import verify_password
from appliance.domain.protocol import ProtocolError
from appliance.errors import BadRequest, Refused
from appliance.server.importer import Importer
from appliance.server.store import Store, User
from appliance.web.throttle import FailedLogins, login_key, ssh_delay

log = logging.getLogger(__name__)
MAX_PASSWORD_LINE = 1024


def read_password_line(channel: paramiko.Channel) -> tuple[str, bytes]:
    """The first line of stdin and whatever followed it in the same reads."""
    buffer = b""
    while b"\n" not in buffer:
        chunk = _recv(channel)
        if not chunk:
            raise ProtocolError("bad_request", "le mot de passe ressaisi est attendu sur la première ligne de l'entrée")
        buffer += chunk
        if len(buffer) > MAX_PASSWORD_LINE and b"\n" not in buffer[:MAX_PASSWORD_LINE]:
            raise ProtocolError("bad_request", "première ligne trop longue : le mot de passe ressaisi est attendu")
    line, _, rest = buffer.partition(b"\n")
    try:
        return line.decode("utf-8").rstrip("\r"), rest
    except UnicodeDecodeError as error:
        raise ProtocolError("bad_request", "le mot de passe ressaisi n'est pas du texte UTF-8") from error


def _recv(channel: paramiko.Channel) -> bytes:
    try:
        data: bytes = channel.recv(256 * 1024)
    except TimeoutError as error:
        raise ProtocolError("transfer_failed", "plus rien reçu du client : transfert interrompu") from error
    return data


def receive_backup(channel: paramiko.Channel, first: bytes, work_dir: Path, limit: int) -> tuple[Path, int]:
    """Write stdin (after the password line) to a file in ``work_dir``; raises ProtocolError
    when it exceeds ``limit`` bytes or stalls. The caller removes the file."""
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="incoming-", suffix=".zip", dir=work_dir)
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            chunk = first  # may be empty: the password line can arrive alone
            while True:
                size += len(chunk)
                if size > limit:
                    raise ProtocolError(
                        "request_too_large", f"sauvegarde de plus de {limit} octets : refusée, rien n'a été modifié"
                    )
                handle.write(chunk)
                chunk = _recv(channel)
                if not chunk:  # the client closed its side: the backup is complete
                    break
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size


def handle_import(
    channel: paramiko.Channel,
    user: User,
    code: str,
    store: Store,
    importer: Importer,
    failures: FailedLogins,
    limit: int,
    metrics: Any,
) -> dict[str, object]:
    """Run one import request; returns the JSON reply or raises ProtocolError."""
    password, rest = read_password_line(channel)
    with store.request() as view:
        fresh = view.find_user(user.login)
        if fresh is None or not verify_password(password, fresh.password_hash):
            failures.record(login_key(user.login))
            log.warning("import of %s refused for %s: wrong password typed again", code, user.login)
            time.sleep(ssh_delay(failures.count(login_key(user.login))))
            raise ProtocolError(
                "wrong_password", "mot de passe ressaisi incorrect : restauration refusée, rien n'a été modifié"
            )
        mine = {d.code: d for d in view.dossiers_for(user.id)}
        if code not in mine:
            exists = view.dossier_codes_exist([code])
            log.warning(
                "import of %s refused for %s: %s", code, user.login, "outside rights" if exists else "unknown dossier"
            )
            if exists:
                raise ProtocolError("outside_rights", f"dossier hors de vos droits : {code}; rien n'a été modifié")
            raise ProtocolError("unknown_dossier", f"dossier inconnu sur ce serveur : {code}")
        if mine[code].access != "ecriture":
            raise ProtocolError("outside_rights", f"vous n'avez qu'un accès en lecture au dossier {code}")
        if mine[code].exporte:
            log.warning("import of %s refused for %s: the dossier is exporté", code, user.login)
            raise ProtocolError(
                "dossier_exporte", f"le dossier {code} est exporté : restauration refusée, rien n'a été modifié"
            )
    path, size = receive_backup(channel, rest, importer.work_dir, limit)
    metrics.import_bytes.inc(size)
    try:
        result = importer.import_dossier(code, path, user.login)
    except BadRequest as error:
        log.warning("import of %s refused for %s: invalid backup: %s", code, user.login, error)
        raise ProtocolError("invalid_backup", f"sauvegarde refusée, rien n'a été modifié : {error}") from error
    except Refused as error:
        log.warning("import of %s refused for %s: %s", code, user.login, error)
        raise ProtocolError("dossier_exporte", str(error)) from error
    finally:
        path.unlink(missing_ok=True)
    return result.as_json()
