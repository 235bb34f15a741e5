"""What a user starts, from the CLI, the scheduler or the console: each action takes the
guardian's one lock (docs/design.md §6), runs its job and records its outcome for status,
check and /metrics (with the bytes it moved). The offsite copies take their own lock
instead, after the backups have released the guardian's: a push, long on a slow link,
never holds up a sync or a switch to fallback mode (docs/offsite.md, "Time limits")."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from appliance.domain.offsite import check_part, next_check_part, next_part
from appliance.domain.retry import RetryPolicy
from appliance.domain.return_plan import ReturnPlan
from appliance.errors import ApplianceError, Refused
from appliance.guardian.jobs.backup import BackupJob, BackupResult
from appliance.guardian.jobs.central_return import ReturnJob, ReturnResult
from appliance.guardian.jobs.modes import ModeResult, Modes
from appliance.guardian.jobs.offsite import LocalPushResult, OffsiteCheck, OffsiteJob, OffsiteResult
from appliance.guardian.jobs.replay import ReplayJob, ReplayResult
from appliance.guardian.jobs.retrying import retried
from appliance.guardian.jobs.sync import SyncJob, SyncResult
from appliance.guardian.jobs.system_backup import SystemBackupResult
from appliance.guardian.jobs.transfers import PullResult, RestoreResult, Transfers
from appliance.guardian.ports import Clock
from appliance.guardian.state import OFFSITE, GuardianState, parse_stamp, stamp

log = logging.getLogger(__name__)
R = TypeVar("R")
RETRY = RetryPolicy()
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Actions:
    state: GuardianState
    clock: Clock
    backup: BackupJob
    sync_job: SyncJob
    transfers: Transfers
    modes: Modes
    offsite: OffsiteJob
    replay_job: ReplayJob
    return_job: ReturnJob
    retry: RetryPolicy = RETRY

    def _retried(self, what: str, run: Callable[[], R], until: dt.datetime | None = None) -> R:
        """``run`` again after each refusal a new request would cure (``jobs/retrying.py``):
        until the slot's end ``until`` for a scheduled run, ``retry.attempts`` in all."""
        return retried(what, run, self.clock, self.retry, until)

    def _recorded(self, job: str, run: Callable[[], R], **context: Any) -> R:
        """``context``: facts recorded whatever the outcome (what a failed run tried)."""
        started = self.clock.monotonic()
        try:
            result = run()
        except ApplianceError as error:
            seconds = round(self.clock.monotonic() - started, 1)
            self.state.record(job, **context, ok=False, error=str(error), seconds=seconds)
            raise
        except Exception as error:
            # A bug, or an error of a library we did not translate: still a failure that
            # status, check and the indicators must show, never the previous success.
            message = f"erreur interne : {type(error).__name__}: {error}"
            seconds = round(self.clock.monotonic() - started, 1)
            self.state.record(job, **context, ok=False, error=message, seconds=seconds)
            raise
        # A result's scalar fields (a list of results has none of its own).
        facts = dict(context)
        facts.update(
            (key, value) for key, value in getattr(result, "__dict__", {}).items() if isinstance(value, _SCALARS)
        )
        facts.update(ok=True, seconds=round(self.clock.monotonic() - started, 1))
        self.state.record(job, **facts)
        moved = facts.get("transferred", facts.get("bytes"))
        if isinstance(moved, int) and not isinstance(moved, bool):
            self.state.count_bytes(job, moved)
        return result

    def _locked_then_offsite(self, what: str, run: Callable[[], R], offsite: bool) -> R:
        """``run`` under the guardian's lock, then (``offsite``), once that lock is released
        and whatever ``run`` did, the offsite copy under its own lock."""
        locked = False
        try:
            with self.state.lock(what):
                locked = True
                return run()
        finally:
            if offsite and locked:  # what a failed step left unpushed, the copy still takes
                self._offsite_after()

    def data_backup(self, full: bool = False, offsite: bool = True, until: dt.datetime | None = None) -> BackupResult:
        """``offsite=False``: the caller pushes the offsite copy itself, after more steps;
        ``until``: the end of a scheduled run's slot, after which no retry starts."""
        return self._locked_then_offsite(
            "sauvegarde des données",
            lambda: self._recorded("backup", lambda: self._data(full, until)),
            offsite,
        )

    def _data(self, full: bool = False, until: dt.datetime | None = None) -> BackupResult:
        return self._retried("sauvegarde des données", lambda: self.backup.data(full), until)

    def system_backup(self, offsite: bool = True, until: dt.datetime | None = None) -> SystemBackupResult:
        return self._locked_then_offsite(
            "sauvegarde système", lambda: self._recorded("system_backup", lambda: self._system(until)), offsite
        )

    def _system(self, until: dt.datetime | None = None) -> SystemBackupResult:
        return self._retried("sauvegarde système", self.backup.system, until)

    def offsite_after_backups(self) -> None:
        """The offsite copy a scheduled run makes once, after its backups and its sync (a
        push, which may be long on a slow link, never delays the local sync)."""
        self._offsite_after()

    def offsite_push(self) -> OffsiteResult:
        with self.state.offsite_lock("copie hors site"):
            return self._push_offsite()

    def offsite_fallback_saves(self) -> LocalPushResult:
        """The saves of fallback work the repository lacks, pushed under the offsite lock
        (never the guardian's: a slow push holds up no switch); recorded as
        ``fallback_save_offsite``. Raises Refused while another push or check runs."""
        with self.state.offsite_lock("copie hors site des sauvegardes du mode secours"):
            return self._recorded("fallback_save_offsite", self.offsite.push_local)

    def offsite_check(self) -> OffsiteCheck:
        """``restic check`` now, on the part the next scheduled check would read."""
        with self.state.offsite_lock("contrôle du dépôt hors site"):
            last = self.state.history().get("offsite_check") or {}
            part = next_part(last.get("ok"), check_part(last.get("part")), self.offsite.check_parts)
            return self._recorded("offsite_check", lambda: self.offsite.check(part), part=self._share(part))

    def _push_offsite(self) -> OffsiteResult:
        result = self._recorded("offsite", self.offsite.push)
        self.state.save_document(
            OFFSITE,
            {
                "at": stamp(self.clock.now()),
                "repository": result.repository,
                "size": result.size,
                "copies": result.copies,
                "pushed": result.pushed,
            },
        )
        return result

    def _share(self, part: int) -> str:
        return f"{part}/{self.offsite.check_parts}"

    def _due_check_part(self) -> int | None:
        """The part of the data the scheduled check reads now; None when none is due."""
        last = self.state.history().get("offsite_check") or {}
        return next_check_part(
            parse_stamp(last.get("at")),
            last.get("ok"),
            check_part(last.get("part")),
            self.clock.now(),
            self.offsite.check_every_hours,
            self.offsite.check_parts,
        )

    def offsite_restore(self, name: str) -> str:
        """A copy back into ``data/``: under both locks (it writes where backups are made)."""
        what = f"restauration de {name} depuis le dépôt hors site"
        with self.state.lock(what), self.state.offsite_lock(what):
            return self.offsite.restore(name)

    def _offsite_after(self) -> None:
        """The offsite copy after the backups, when a repository is configured, under the
        offsite lock: recorded like any job, and never the backups' or the sync's failure
        (docs/offsite.md). While another push or check holds that lock, nothing is started:
        the next push takes what this one would have."""
        if not self.offsite.configured:
            return
        try:
            with self.state.offsite_lock("copie hors site"):
                self._push_and_check()
        except Refused as error:  # only the lock's: _push_and_check lets nothing out
            log.warning("copie hors site non lancée, la prochaine rattrapera : %s", error)

    def _push_and_check(self) -> None:
        try:
            self._push_offsite()
        except Exception as error:  # noqa: BLE001 - recorded above (a bug too): never the backup's failure
            log.warning("copie hors site en échec, nouvel essai à la prochaine sauvegarde : %s", error)
            return
        part = self._due_check_part()
        if part is None:
            return
        try:
            self._recorded("offsite_check", lambda: self.offsite.check(part), part=self._share(part))
        except Exception as error:  # noqa: BLE001 - recorded above, as the push
            log.warning("contrôle du dépôt hors site en échec, nouvel essai à la prochaine sauvegarde : %s", error)

    def sync(self, requested: str | None = None, full: bool = False) -> SyncResult:
        with self.state.lock("synchronisation"):
            return self._recorded("sync", lambda: self.sync_job.run(requested, full))

    def run_all(self) -> tuple[BackupResult, SystemBackupResult, SyncResult]:
        """ "Lancer une Sauvegarde/Synchronisation maintenant": data backup, system backup, sync,
        then the offsite copy."""

        def steps() -> tuple[BackupResult, SystemBackupResult, SyncResult]:
            data = self._recorded("backup", self._data)
            system = self._recorded("system_backup", self._system)
            return data, system, self._recorded("sync", lambda: self.sync_job.run(None))

        return self._locked_then_offsite("sauvegarde et synchronisation", steps, True)

    def pull(self, codes: list[str], overwrite_local: bool) -> PullResult:
        with self.state.lock(f"descente de {', '.join(codes)}"):
            return self._recorded(
                "pull",
                lambda: self._retried("descente", lambda: self.transfers.pull(codes, overwrite_local)),
            )

    def restore(
        self,
        codes: list[str],
        password: str,
        overwrite_remote: bool,
        from_backup: str | None = None,
        as_user: str | None = None,
    ) -> list[RestoreResult]:
        """The local copies (or, ``from_backup``, a dated backup's) back to the remote, as
        ``as_user`` (the console's user, with their own password) or the stored login."""
        with self.state.lock(f"remontée de {', '.join(codes)}"):
            if from_backup is None:
                return self._recorded(
                    "restore",
                    lambda: self._retried(
                        "remontée", lambda: self.transfers.restore(codes, password, overwrite_remote, as_user)
                    ),
                )
            return self._recorded(
                "restore",
                lambda: self._retried(
                    "remontée",
                    lambda: self.transfers.restore_from_backup(codes, from_backup, password, self.clock.now(), as_user),
                ),
            )

    def recover(self) -> str | None:
        """Confirm or undo a switch that a guardian killed mid-sync left unconfirmed."""
        with self.state.lock("reprise d'une synchronisation interrompue"):
            return self.sync_job.recover()

    def mode(self, mode: str, force: bool) -> ModeResult:
        with self.state.lock(f"passage en mode {mode}"):
            return self.modes.set(mode, force)

    def replay(self) -> ReplayResult:
        """The local server's outbox replayed on the central server, under the lock."""
        with self.state.lock("rejeu des opérations du serveur local"):
            return self._recorded("replay", self.replay_job.run)

    def return_plan(self, selected: Collection[str] | None = None, whole: Collection[str] = ()) -> ReturnPlan:
        """The guided return's plan as it stands (no lock: it changes nothing)."""
        return self.return_job.plan(selected, whole)

    def go_back(
        self,
        password: str,
        selected: Collection[str] | None = None,
        whole: Collection[str] = (),
        as_user: str | None = None,
    ) -> ReturnResult:
        """ "Retour au serveur central", in one action under the lock: the local work sent
        (whole or replayed), standby, then a data backup and a sync so the local server
        serves the central data with that work in it. A failed backup or sync after the
        switch is reported in the result: the work is on the central server already, and
        the next scheduled run brings the local server up to date."""

        def steps() -> ReturnResult:
            sent = self.return_job.send(password, selected, whole, as_user)
            backup = sync = None
            error = None
            try:
                backup = self._recorded("backup", self._data)
                sync = self._recorded("sync", lambda: self.sync_job.run(None))
            except ApplianceError as failure:
                error = str(failure)
                log.warning("retour : le travail local est sur le serveur central, mais %s", error)
            return ReturnResult(
                sent,
                backup,
                sync,
                error,
                dossiers=len(sent.plan.chosen),
                applied=sent.replay.applied,
                refused=sent.replay.refused,
                whole=len(sent.restored),
            )

        with self.state.lock("retour au serveur central"):
            return self._recorded("return", steps)
