"""Whether a data backup asks the central server for the dossiers that changed only
(``v1 export-changes``, then assembled with the previous backup) or for all of them
(docs/backup-format.md, "Incremental backups"). Pure: the job gathers the facts, this
module decides and says why, in French, for the log, ``status`` and the console.

A backup is full when it is asked for (``backup --full``), when there is no previous backup
to build on (none, unreadable, made for another account or centre, or holding more dossiers
than the request may list), when incremental backups are turned off (``full_every`` of 0
days), or when the last full backup is ``full_every`` old or more (or none was recorded):
the periodic full backup catches a change that did not move a dossier's revision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.domain.protocol import MAX_DOSSIERS_PER_REQUEST as MAX_HELD_DOSSIERS
from appliance.domain.run_facts import KINDS, count_text, with_time_and_reason

INCREMENTAL, FULL = "incremental", "full"


@dataclass(frozen=True)
class PreviousBackup:
    """The newest backup of ``data/`` as its manifest says (``None`` fields: unreadable)."""

    name: str
    login: str | None
    centre: str | None
    dossiers: int | None
    problem: str | None = None  # why it cannot be read, in French


@dataclass(frozen=True)
class BackupMode:
    kind: str  # INCREMENTAL or FULL
    reason: str  # in French: why this kind

    @property
    def incremental(self) -> bool:
        return self.kind == INCREMENTAL


def choose_backup_mode(
    *,
    requested_full: bool,
    previous: PreviousBackup | None,
    login: str,
    centre: str,
    last_full: dt.datetime | None,
    now: dt.datetime,
    full_every: dt.timedelta,
) -> BackupMode:
    """The kind of the next data backup and why."""
    if requested_full:
        return BackupMode(FULL, "sauvegarde complète demandée")
    if full_every <= dt.timedelta(0):
        return BackupMode(FULL, "sauvegardes incrémentales désactivées (NEOCUMA_BACKUPS_FULL_EVERY_DAYS = 0)")
    if previous is None:
        return BackupMode(FULL, "aucune sauvegarde précédente dans data/")
    if previous.problem is not None:
        return BackupMode(FULL, f"la sauvegarde précédente {previous.name} est illisible : {previous.problem}")
    if previous.login != login or (centre and previous.centre != centre):
        return BackupMode(
            FULL,
            f"la sauvegarde précédente {previous.name} a été faite pour {previous.login!r} du centre"
            f" {previous.centre!r}, pas pour {login!r} du centre {centre!r}",
        )
    if previous.dossiers is not None and previous.dossiers > MAX_HELD_DOSSIERS:
        return BackupMode(
            FULL,
            f"la sauvegarde précédente tient {previous.dossiers} dossiers, plus que les {MAX_HELD_DOSSIERS} d'une demande",
        )
    if last_full is None:
        return BackupMode(FULL, "aucune sauvegarde complète enregistrée")
    age = now - last_full
    if age >= full_every:
        return BackupMode(
            FULL, f"sauvegarde complète périodique (la dernière date de {_days(age)}, au-delà de {_days(full_every)})"
        )
    if age < -dt.timedelta(hours=1):
        return BackupMode(FULL, "la dernière sauvegarde complète est datée dans le futur : horloge à vérifier")
    return BackupMode(INCREMENTAL, f"changements depuis {previous.name}")


def _days(span: dt.timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:.0f} jour{'s' if round(days) > 1 else ''}" if days >= 1 else f"{span.total_seconds() / 3600:.0f} h"


def describe_backup_run(facts: Mapping[str, Any]) -> str:
    """What a data backup moved, in French, from its recorded facts (``status``, the
    console, the CLI): its kind, the dossiers transferred, the bytes received, its time and
    why it was of that kind, and the retries it made after a refusal the central server
    marked retryable. Facts recorded before incremental backups say less."""
    words = KINDS.get(str(facts.get("mode")))
    if words is None:
        return ""
    changed, dossiers = count_text(facts.get("changed")), count_text(facts.get("dossiers"))
    parts = [f"{words} : {changed} dossier(s) transféré(s) sur {dossiers}"]
    removed = facts.get("removed")
    if isinstance(removed, int) and removed > 0:
        parts.append(f"{removed} retiré(s)")
    transferred = facts.get("transferred")
    if isinstance(transferred, int):
        parts.append(f"{transferred / 1e6:.1f} Mo reçus".replace(".", ","))
    retries = facts.get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        parts.append(f"après {retries} nouvel(s) essai(s)")
    return with_time_and_reason(parts, facts)
