"""The four indicators of "Statut des serveurs" (manual §12.3.2), from facts (pure).

Each is green or red with a cause in French; a change of colour is what gets logged and
notified. ``since`` is kept by the caller from one evaluation to the next.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

REMOTE, BACKUPS, LOCAL, SYNC = "serveur_distant", "sauvegardes", "serveur_local", "synchronisation"
LABELS = {
    REMOTE: "Serveur NeoCuma distant",
    BACKUPS: "Sauvegardes automatiques",
    LOCAL: "Serveur NeoCuma local",
    SYNC: "Synchronisation",
}
ORDER = (REMOTE, BACKUPS, LOCAL, SYNC)


@dataclass(frozen=True)
class Indicator:
    name: str
    green: bool
    cause: str

    @property
    def label(self) -> str:
        return LABELS[self.name]


@dataclass(frozen=True)
class Facts:
    """What the monitor observed; None when unknown."""

    now: dt.datetime
    remote_ok: bool
    remote_error: str | None
    clock_skew: float | None
    skew_limit: float
    backups_enabled: bool
    last_scheduled_ok: bool | None  # None: no scheduled run yet
    last_scheduled_error: str | None
    last_backup_at: dt.datetime | None
    backup_max_age: dt.timedelta
    watching_since: dt.datetime
    local_health: dict[str, Any] | None
    local_error: str | None
    local_app_ok: bool | None
    last_sync_ok: bool | None
    last_sync_error: str | None
    last_sync_backup: str | None
    newest_backup: str | None
    mode: str | None


def evaluate(facts: Facts) -> list[Indicator]:
    return [_remote(facts), _backups(facts), _local(facts), _sync(facts)]


def _remote(facts: Facts) -> Indicator:
    if not facts.remote_ok:
        return Indicator(REMOTE, False, f"injoignable ou refusé : {facts.remote_error}")
    if facts.clock_skew is not None and abs(facts.clock_skew) > facts.skew_limit:
        return Indicator(
            REMOTE,
            False,
            f"horloge décalée de {facts.clock_skew:+.0f} s par rapport au serveur distant (limite {facts.skew_limit:.0f} s) : synchronisez l'heure UTC",
        )
    skew = "" if facts.clock_skew is None else f", écart d'horloge {facts.clock_skew:+.1f} s"
    return Indicator(REMOTE, True, f"joignable{skew}")


def _backups(facts: Facts) -> Indicator:
    if not facts.backups_enabled:
        return Indicator(BACKUPS, False, "sauvegardes automatiques désactivées (Paramétrages)")
    if facts.last_scheduled_ok is False:
        return Indicator(BACKUPS, False, f"la dernière sauvegarde programmée a échoué : {facts.last_scheduled_error}")
    reference = facts.last_backup_at or facts.watching_since
    if facts.now - reference > facts.backup_max_age:
        hours = (facts.now - reference).total_seconds() / 3600
        what = "aucune sauvegarde réussie" if facts.last_backup_at is None else "dernière sauvegarde réussie"
        return Indicator(BACKUPS, False, f"en retard : {what} depuis {hours:.0f} h")
    if facts.last_backup_at is None:
        return Indicator(BACKUPS, True, "programmées, aucune encore faite")
    return Indicator(BACKUPS, True, f"dernière sauvegarde réussie le {facts.last_backup_at:%d/%m/%Y à %H:%M} UTC")


def _local(facts: Facts) -> Indicator:
    if facts.local_health is None:
        return Indicator(LOCAL, False, f"ne répond pas : {facts.local_error}")
    mode = "mode secours" if facts.local_health.get("mode") == "fallback" else "mode veille"
    generation = facts.local_health.get("data_generation")
    if generation is None:
        return Indicator(LOCAL, False, f"jamais synchronisé ({mode})")
    if facts.local_app_ok is False:
        return Indicator(LOCAL, False, f"le contrôle applicatif échoue : {facts.local_error} ({mode})")
    return Indicator(LOCAL, True, f"en service, génération {generation}, {mode}")


def _sync(facts: Facts) -> Indicator:
    if facts.mode == "fallback":
        return Indicator(SYNC, False, "suspendue : le serveur local est en mode secours")
    if facts.last_sync_ok is None:
        return Indicator(SYNC, False, "jamais faite")
    if not facts.last_sync_ok:
        return Indicator(SYNC, False, f"la dernière synchronisation a échoué : {facts.last_sync_error}")
    if facts.newest_backup and facts.last_sync_backup != facts.newest_backup:
        return Indicator(
            SYNC,
            False,
            f"la dernière sauvegarde ({facts.newest_backup}) n'est pas en place (en place : {facts.last_sync_backup})",
        )
    return Indicator(SYNC, True, f"à jour avec {facts.last_sync_backup}")
