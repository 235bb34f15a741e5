"""The saves of fallback work (docs/fallback.md, "Fallback work survives the host"): run
from the daemon's timers, never inside another job. While the local server is in fallback
mode, every ``interval`` the dossiers changed locally since their last save are copied into
``backups/local/`` (``<UTC time>-<code>-secours.zip``, the backup format) under the
guardian's lock; a busy lock puts the save off to the next turn. What was saved, and since
when fallback mode was seen, is kept in ``fallback-saves.json``; a failure is logged and
recorded (``fallback_save``), never raised. After each save, when a repository is
configured, ``push_offsite`` (which the daemon runs in the background) pushes the saves the
repository lacks (``fallback_save_offsite``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from appliance.domain.backups import FALLBACK_SAVE
from appliance.domain.fallback_saves import save_due, to_save
from appliance.domain.generations import FALLBACK
from appliance.errors import ApplianceError, Refused
from appliance.guardian.jobs.local_copies import LocalCopies
from appliance.guardian.jobs.offsite import LocalPushResult
from appliance.guardian.ports import Clock, LocalDatabase
from appliance.guardian.state import FALLBACK_SAVES, GuardianState, parse_stamp, stamp

log = logging.getLogger(__name__)
JOB = "fallback_save"  # its entry in the history


@dataclass(frozen=True)
class FallbackSaves:
    database: LocalDatabase
    state: GuardianState
    copies: LocalCopies
    clock: Clock
    interval: dt.timedelta | None  # None: NEOCUMA_FALLBACK_SAVE_MINUTES=0, no saves
    push: Callable[[], LocalPushResult] | None = None  # None: no offsite repository configured

    def push_offsite(self) -> str:
        """The saves the repository lacks, pushed (a summary in French); a failure (the
        repository unreachable, another push running) is logged and recorded, never raised:
        the next save's push takes what this one left."""
        if self.push is None:
            return "aucun dépôt hors site configuré"
        try:
            result = self.push()
        except ApplianceError as error:
            log.warning(
                "copie hors site des sauvegardes du mode secours non faite, nouvel essai après la prochaine : %s", error
            )
            return f"copie hors site non faite : {error}"
        return f"{result.count} sauvegarde(s) du mode secours copiée(s) hors site"

    def tick(self) -> list[str] | None:
        """One look, from the daemon's timers: the codes saved when a save ran, else None.
        Nothing in standby mode (what was remembered is forgotten), nothing before
        ``interval`` has passed in fallback mode."""
        if self.interval is None:
            return None
        try:
            mode = self.database.live().mode
        except ApplianceError as error:  # the local database down: the monitor says so
            log.debug("sauvegarde du mode secours : serveur local illisible : %s", error)
            return None
        document = self.state.document(FALLBACK_SAVES)
        now = self.clock.now()
        if mode != FALLBACK:
            if document:
                self.state.save_document(FALLBACK_SAVES, {})
            return None
        since = parse_stamp(document.get("since"))
        if since is None:  # fallback mode first seen: the first save comes one interval later
            self.state.save_document(FALLBACK_SAVES, {"since": stamp(now), "revisions": {}})
            return None
        if not save_due(since, now, self.interval):
            return None
        locked = False
        try:
            with self.state.lock("sauvegarde locale du mode secours"):
                locked = True
                return self._save(now)
        except Refused as error:
            if locked:
                raise  # not the lock's: _save lets nothing out, so this is a bug
            log.info("sauvegarde locale du mode secours reportée au prochain tour : %s", error)
            return None

    def _save(self, now: dt.datetime) -> list[str]:
        """The due save, under the lock; its outcome recorded, never raised."""
        started = self.clock.monotonic()
        document = self.state.document(FALLBACK_SAVES)
        revisions = {str(code): int(rev) for code, rev in dict(document.get("revisions") or {}).items()}
        saved: list[str] = []
        errors: list[str] = []
        codes: list[str] = []
        try:
            if self.database.live().mode == FALLBACK:  # read again under the lock
                local = self.database.dossiers()
                codes = to_save(local, self.state.baselines(), revisions)
                for code in codes:
                    try:
                        self.copies.save(local[code], FALLBACK_SAVE)
                    except Exception as error:  # noqa: BLE001 - one dossier's failure spares the others
                        errors.append(f"{code} : {error}")
                        continue
                    saved.append(code)
                    revisions[code] = local[code].revision
        except Exception as error:  # noqa: BLE001 - logged and recorded: never stops anything else
            errors.append(str(error))
        self.state.save_document(FALLBACK_SAVES, {"since": stamp(now), "revisions": revisions})
        if errors:
            log.warning("sauvegarde locale du mode secours en échec : %s", "; ".join(errors))
        if saved:
            log.info("sauvegarde locale du mode secours : %d dossier(s) gardé(s) : %s", len(saved), ", ".join(saved))
        elif not errors:
            log.info("sauvegarde locale du mode secours : aucun dossier modifié depuis la dernière")
        self.state.record(
            JOB,
            ok=not errors,
            saved=", ".join(saved),
            count=len(saved),
            error="; ".join(errors) or None,
            seconds=round(self.clock.monotonic() - started, 1),
        )
        return saved
