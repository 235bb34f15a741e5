"""Switching the local server between standby (read-only copy of the remote) and fallback
(the LAN works on it while the internet link is down), while it runs (DESIGN §3, §5)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mysql.connector

from appliance.adapters import generations
from appliance.errors import Refused, Unavailable
from appliance.guardian.context import Guardian
from appliance.guardian.dossiers import local_dossiers, local_work, save_local_copy

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
    if mode == "standby":
        local = local_dossiers(guardian)
        work = local_work(guardian, local)
        if work and not force:
            raise Refused(
                f"dossier(s) modifié(s) localement : {', '.join(work)}. Remontez-les vers le serveur distant "
                "(neocuma-guardian restore), ou forcez avec --force (une copie locale de chacun est gardée)"
            )
        saved = [str(save_local_copy(guardian, local[code], "avant-veille")) for code in work]
    with guardian.connection() as connection:
        try:
            cursor = connection.cursor()
            cursor.execute(
                "UPDATE neocuma_control.live SET mode = %s, changed_at = CURRENT_TIMESTAMP(3) WHERE id = 1", (mode,)
            )
            cursor.close()
            connection.commit()
        except mysql.connector.Error as error:
            raise Unavailable(f"cannot change the local server's mode: {error.msg}") from error
    log.info("local server mode: %s -> %s", previous, mode)
    guardian.record("mode", mode=mode, previous=previous)
    return ModeResult(mode, previous, saved)
