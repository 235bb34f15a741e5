"""The indicators of "Statut des serveurs" (manual §12.3.2), from facts (pure): the
manual's four, and the offsite copy's (issue 14; docs/offsite.md).

Each is green, neutral or red with a cause in French. Red means a part failed ("si l'un de
ces éléments vient à défaillir"): something an operator must act on. Neutral is a state
the centre chose or is waiting for, not a failure: automatic backups turned off, a backup
waiting for its synchronisation, the fallback mode, a local server before its first
synchronisation. Entering or leaving red is what gets notified; ``since`` is kept by the
caller from one evaluation to the next (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from appliance.domain.backups import FUTURE_TOLERANCE

REMOTE, BACKUPS, LOCAL, SYNC = "serveur_distant", "sauvegardes", "serveur_local", "synchronisation"
OFFSITE = "copie_hors_site"
LABELS = {
    REMOTE: "Serveur NeoCuma distant",
    BACKUPS: "Sauvegardes automatiques",
    LOCAL: "Serveur NeoCuma local",
    SYNC: "Synchronisation",
    OFFSITE: "Copie hors site",
}
ORDER = (REMOTE, BACKUPS, LOCAL, SYNC, OFFSITE)
State = Literal["vert", "neutre", "rouge"]
OK: State = "vert"
NEUTRAL: State = "neutre"
FAILED: State = "rouge"


@dataclass(frozen=True)
class Indicator:
    name: str
    state: State
    cause: str

    @property
    def label(self) -> str:
        return LABELS[self.name]

    @property
    def green(self) -> bool:
        return self.state == OK

    @property
    def failed(self) -> bool:
        return self.state == FAILED


def saved_state(entry: Mapping[str, Any]) -> State:
    """An indicator's state as the status snapshot keeps it; snapshots written before the
    neutral state existed have only ``green``."""
    state = entry.get("state")
    if state in (OK, NEUTRAL, FAILED):
        return cast(State, state)
    return OK if entry.get("green") else FAILED


@dataclass(frozen=True)
class OffsiteFacts:
    """The offsite copies as the guardian's history tells them (a repository is configured)."""

    repository: str  # as messages show it, without credentials
    last_ok: bool | None  # the last push; None: never tried
    last_error: str | None
    last_success_at: dt.datetime | None
    copies: int | None  # the copies the repository held after the last successful push
    size: int | None  # its bytes then
    check_ok: bool | None  # the last restic check; None: never run
    check_error: str | None


@dataclass(frozen=True)
class Facts:
    """What the monitor observed; None when unknown."""

    now: dt.datetime
    remote_ok: bool
    remote_error: str | None
    clock_skew: float | None
    skew_limit: float
    backups_enabled: bool
    sync_after: bool
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
    offsite: OffsiteFacts | None = None  # None: no repository configured


def evaluate(facts: Facts) -> list[Indicator]:
    return [_remote(facts), _backups(facts), _local(facts), _sync(facts), _offsite(facts)]


def _remote(facts: Facts) -> Indicator:
    if not facts.remote_ok:
        return Indicator(REMOTE, FAILED, f"injoignable ou refusé : {facts.remote_error}")
    if facts.clock_skew is not None and abs(facts.clock_skew) > facts.skew_limit:
        return Indicator(
            REMOTE,
            FAILED,
            f"horloge décalée de {facts.clock_skew:+.0f} s par rapport au serveur distant (limite {facts.skew_limit:.0f} s) : synchronisez l'heure UTC",
        )
    skew = "" if facts.clock_skew is None else f", écart d'horloge {facts.clock_skew:+.1f} s"
    return Indicator(REMOTE, OK, f"joignable{skew}")


def _backups(facts: Facts) -> Indicator:
    if not facts.backups_enabled:
        return Indicator(BACKUPS, NEUTRAL, "désactivées (Paramétrages)")
    if facts.last_scheduled_ok is False:
        return Indicator(BACKUPS, FAILED, f"la dernière sauvegarde programmée a échoué : {facts.last_scheduled_error}")
    if facts.last_backup_at is not None and facts.last_backup_at > facts.now + FUTURE_TOLERANCE:
        # Its age would read as negative: never late, whatever happens after it.
        return Indicator(
            BACKUPS,
            FAILED,
            f"la sauvegarde la plus récente, {facts.newest_backup}, est datée dans le futur "
            "(l'horloge a-t-elle reculé ?) : son âge ne dit rien et une synchronisation la refuserait",
        )
    reference = facts.last_backup_at or facts.watching_since
    if facts.now - reference > facts.backup_max_age:
        hours = (facts.now - reference).total_seconds() / 3600
        what = "aucune sauvegarde réussie" if facts.last_backup_at is None else "dernière sauvegarde réussie"
        return Indicator(BACKUPS, FAILED, f"en retard : {what} depuis {hours:.0f} h")
    if facts.last_backup_at is None:
        return Indicator(BACKUPS, OK, "programmées, aucune encore faite")
    return Indicator(BACKUPS, OK, f"dernière sauvegarde réussie le {facts.last_backup_at:%d/%m/%Y à %H:%M} UTC")


def _local(facts: Facts) -> Indicator:
    if facts.local_health is None:
        return Indicator(LOCAL, FAILED, f"ne répond pas : {facts.local_error}")
    mode = "mode secours" if facts.local_health.get("mode") == "fallback" else "mode veille"
    generation = facts.local_health.get("data_generation")
    if generation is None:
        return Indicator(LOCAL, NEUTRAL, f"en attente de la première synchronisation ({mode})")
    if facts.local_app_ok is False:
        return Indicator(LOCAL, FAILED, f"le contrôle applicatif échoue : {facts.local_error} ({mode})")
    return Indicator(LOCAL, OK, f"en service, génération {generation}, {mode}")


def _sync(facts: Facts) -> Indicator:
    if facts.mode == "fallback":
        return Indicator(SYNC, NEUTRAL, "suspendue : le serveur local est en mode secours")
    if facts.last_sync_ok is False:
        return Indicator(SYNC, FAILED, f"la dernière synchronisation a échoué : {facts.last_sync_error}")
    why = "" if facts.sync_after else " (synchronisation après les sauvegardes désactivée)"
    if facts.last_sync_ok is None:
        return Indicator(SYNC, NEUTRAL, f"en attente de la première synchronisation{why}")
    if facts.newest_backup and facts.last_sync_backup != facts.newest_backup:
        return Indicator(
            SYNC,
            NEUTRAL,
            f"en attente de synchronisation : {facts.newest_backup} n'est pas encore en place "
            f"(en place : {facts.last_sync_backup}){why}",
        )
    return Indicator(SYNC, OK, f"à jour avec {facts.last_sync_backup}")


def _offsite(facts: Facts) -> Indicator:
    """Red when the last push or check failed, or when no copy succeeded for longer than a
    backup may be late; neutral when none is configured, or before the first copy."""
    offsite = facts.offsite
    if offsite is None:
        return Indicator(OFFSITE, NEUTRAL, "non configurée (NEOCUMA_OFFSITE_REPOSITORY, docs/offsite.md)")
    last = (
        "aucune copie réussie encore"
        if offsite.last_success_at is None
        else f"dernière copie réussie le {offsite.last_success_at:%d/%m/%Y à %H:%M} UTC"
    )
    if offsite.last_ok is False:
        return Indicator(
            OFFSITE, FAILED, f"la dernière copie vers {offsite.repository} a échoué : {offsite.last_error} ({last})"
        )
    if offsite.check_ok is False:
        return Indicator(
            OFFSITE,
            FAILED,
            f"le contrôle du dépôt {offsite.repository} (restic check) a échoué : {offsite.check_error}",
        )
    reference = offsite.last_success_at or facts.watching_since
    age = facts.now - reference
    if facts.backups_enabled and age > facts.backup_max_age:
        hours = age.total_seconds() / 3600
        return Indicator(OFFSITE, FAILED, f"en retard : {last}, il y a {hours:.0f} h ({offsite.repository})")
    if offsite.last_success_at is None:
        return Indicator(OFFSITE, NEUTRAL, f"en attente de la première copie vers {offsite.repository}")
    held = "" if offsite.copies is None else f", {offsite.copies} copies"
    size = "" if offsite.size is None else f", {offsite.size / 1e6:.1f} Mo"
    hours = max(0.0, age.total_seconds() / 3600)
    return Indicator(OFFSITE, OK, f"{last} (il y a {hours:.0f} h) vers {offsite.repository}{held}{size}")
