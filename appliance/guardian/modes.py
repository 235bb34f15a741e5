"""Switching the local server between standby (read-only copy of the remote) and fallback
(the LAN works on it while the internet link is down), while it runs (DESIGN §3, §5)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import mysql.connector

from appliance.adapters import generations
from appliance.adapters.mysql import query_all
from appliance.domain.ddl import generation_schema_name
from appliance.errors import Refused, Unavailable
from appliance.guardian.context import Guardian
from appliance.guardian.dossiers import local_dossiers, local_work, read_local_dossiers, save_local_copy

log = logging.getLogger(__name__)
MODES = ("standby", "fallback")


@dataclass(frozen=True)
class ModeResult:
    mode: str
    previous: str
    saved: list[str]


def set_mode(guardian: Guardian, mode: str, force: bool = False) -> ModeResult:
    """Switch the local server's mode. Going back to standby refuses while a dossier holds
    local work (it would be overwritten by the next sync) unless ``force``, which first saves
    those dossiers under ``backups/local/``."""
    if mode not in MODES:
        raise Refused(f"mode inconnu {mode!r} : standby ou fallback")
    with guardian.connection() as connection:
        data, _, previous = generations.live_generations(connection)
    if mode == "fallback" and data is None:
        raise Refused("le serveur local n'a encore aucune donnée : synchronisez-le avant de passer en mode secours")
    saved: list[str] = []
    checked: dict[str, int] | None = None
    if mode == "standby":
        local = local_dossiers(guardian)
        work = local_work(guardian, local)
        if work and not force:
            raise Refused(
                f"dossier(s) modifié(s) localement : {', '.join(work)}. Remontez-les vers le serveur distant "
                "(neocuma-guardian restore), ou forcez avec --force (une copie locale de chacun est gardée)"
            )
        saved = [str(save_local_copy(guardian, local[code], "avant-veille")) for code in work]
        checked = {code: dossier.revision for code, dossier in local.items()}
    with guardian.connection() as connection:
        _switch_mode(guardian, connection, mode, checked)
    log.info("local server mode: %s -> %s", previous, mode)
    guardian.record("mode", mode=mode, previous=previous)
    return ModeResult(mode, previous, saved)


def _switch_mode(guardian: Guardian, connection: Any, mode: str, checked: dict[str, int] | None) -> None:
    """Write the new mode in one transaction that holds the control row exclusively: a LAN
    write in flight (it holds the row shared) finishes first, and none starts until the mode
    is written. Going to standby, local work is looked for again under that lock, so a bon
    entered since the checks above (revisions in ``checked``) is never silently left to the next
    sync."""
    try:
        connection.cmd_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        connection.start_transaction()
        rows = query_all(connection, "SELECT data_generation FROM neocuma_control.live WHERE id = 1 FOR UPDATE")
        if checked is not None and rows and rows[0][0] is not None:
            now = read_local_dossiers(connection, generation_schema_name(int(rows[0][0])))
            late = [code for code in local_work(guardian, now) if now[code].revision != checked.get(code)]
            if late:
                raise Refused(
                    f"dossier(s) modifié(s) localement pendant le changement de mode : {', '.join(late)}; "
                    "le mode n'a pas changé, remontez-les ou relancez"
                )
        cursor = connection.cursor()
        cursor.execute(
            "UPDATE neocuma_control.live SET mode = %s, changed_at = CURRENT_TIMESTAMP(3) WHERE id = 1", (mode,)
        )
        cursor.close()
        connection.commit()
    except mysql.connector.Error as error:
        raise Unavailable(f"cannot change the local server's mode: {error.msg}") from error
    finally:
        with contextlib.suppress(mysql.connector.Error):
            connection.rollback()
