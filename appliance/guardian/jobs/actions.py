"""What a user starts, from the CLI, the scheduler or the console: each action takes the
guardian's one lock (docs/design.md §6), runs its job and records its outcome for status,
check and /metrics (with the bytes it moved)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from appliance.errors import ApplianceError
from appliance.guardian.jobs.backup import BackupJob, BackupResult
from appliance.guardian.jobs.modes import ModeResult, Modes
from appliance.guardian.jobs.offsite import OffsiteJob, OffsiteResult
from appliance.guardian.jobs.sync import SyncJob, SyncResult
from appliance.guardian.jobs.system_backup import SystemBackupResult
from appliance.guardian.jobs.transfers import PullResult, RestoreResult, Transfers
from appliance.guardian.ports import Clock
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
R = TypeVar("R")
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

    def _recorded(self, job: str, run: Callable[[], R]) -> R:
        started = self.clock.monotonic()
        try:
            result = run()
        except ApplianceError as error:
            self.state.record(job, ok=False, error=str(error), seconds=round(self.clock.monotonic() - started, 1))
            raise
        except Exception as error:
            # A bug, or an error of a library we did not translate: still a failure that
            # status, check and the indicators must show, never the previous success.
            message = f"erreur interne : {type(error).__name__}: {error}"
            self.state.record(job, ok=False, error=message, seconds=round(self.clock.monotonic() - started, 1))
            raise
        # A result's scalar fields (a list of results has none of its own).
        facts = {key: value for key, value in getattr(result, "__dict__", {}).items() if isinstance(value, _SCALARS)}
        facts.update(ok=True, seconds=round(self.clock.monotonic() - started, 1))
        self.state.record(job, **facts)
        moved = facts.get("transferred", facts.get("bytes"))
        if isinstance(moved, int) and not isinstance(moved, bool):
            self.state.count_bytes(job, moved)
        return result

    def data_backup(self, full: bool = False) -> BackupResult:
        with self.state.lock("sauvegarde des données"):
            try:
                return self._recorded("backup", lambda: self.backup.data(full))
            finally:
                self._offsite_after()

    def system_backup(self) -> SystemBackupResult:
        with self.state.lock("sauvegarde système"):
            try:
                return self._recorded("system_backup", self.backup.system)
            finally:
                self._offsite_after()

    def offsite_push(self) -> OffsiteResult:
        with self.state.lock("copie hors site"):
            return self._recorded("offsite", self.offsite.push)

    def offsite_restore(self, name: str) -> str:
        with self.state.lock(f"restauration de {name} depuis le dépôt hors site"):
            return self.offsite.restore(name)

    def _offsite_after(self) -> None:
        """The offsite copy after the backups, when a repository is configured: recorded
        like any job, and never the backups' or the sync's failure (docs/offsite.md)."""
        if not self.offsite.configured:
            return
        try:
            self._recorded("offsite", self.offsite.push)
        except Exception as error:  # noqa: BLE001 - recorded above (a bug too): never the backup's failure
            log.warning("copie hors site en échec, nouvel essai à la prochaine sauvegarde : %s", error)

    def sync(self, requested: str | None = None, full: bool = False) -> SyncResult:
        with self.state.lock("synchronisation"):
            return self._recorded("sync", lambda: self.sync_job.run(requested, full))

    def run_all(self) -> tuple[BackupResult, SystemBackupResult, SyncResult]:
        """ "Lancer une Sauvegarde/Synchronisation maintenant": data backup, system backup, sync."""
        with self.state.lock("sauvegarde et synchronisation"):
            try:
                data = self._recorded("backup", self.backup.data)
                system = self._recorded("system_backup", self.backup.system)
                synced = self._recorded("sync", lambda: self.sync_job.run(None))
            finally:  # what a failed step left unpushed, the copy still takes
                self._offsite_after()
        return data, system, synced

    def pull(self, codes: list[str], overwrite_local: bool) -> PullResult:
        with self.state.lock(f"descente de {', '.join(codes)}"):
            return self._recorded("pull", lambda: self.transfers.pull(codes, overwrite_local))

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
                    "restore", lambda: self.transfers.restore(codes, password, overwrite_remote, as_user)
                )
            return self._recorded(
                "restore",
                lambda: self.transfers.restore_from_backup(codes, from_backup, password, self.clock.now(), as_user),
            )

    def recover(self) -> str | None:
        """Confirm or undo a switch that a guardian killed mid-sync left unconfirmed."""
        with self.state.lock("reprise d'une synchronisation interrompue"):
            return self.sync_job.recover()

    def mode(self, mode: str, force: bool) -> ModeResult:
        with self.state.lock(f"passage en mode {mode}"):
            return self.modes.set(mode, force)
