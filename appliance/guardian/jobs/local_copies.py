"""Local copies of dossiers (``backups/local/``), saved before anything overwrites local
work or sends it to the central server (docs/design.md §5): the backup format, restorable
with stock tools, named ``<UTC time>-<code>-<reason>.zip``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.domain.backups import BEFORE_PULL, BEFORE_STANDBY, RESTORE
from appliance.domain.dossiers import LocalDossier
from appliance.guardian.ports import BackupsStore, Clock, LocalDatabase, StagedFile
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
__all__ = ["BEFORE_PULL", "BEFORE_STANDBY", "RESTORE", "LocalCopies"]


@dataclass(frozen=True)
class LocalCopies:
    database: LocalDatabase
    backups: BackupsStore
    state: GuardianState
    clock: Clock

    def save(self, dossier: LocalDossier, reason: str) -> StagedFile:
        """Export ``dossier`` of the live generation into ``backups/local/``; returns the
        committed file. Raises Refused before the first synchronisation."""
        now = self.clock.now()
        staged = self.backups.new_local_copy(f"{now:%Y-%m-%dT%H-%M-%SZ}-{dossier.code}-{reason}.zip")
        try:
            with staged.writer() as sink:
                self.database.export_dossier(dossier, self.state.credentials().login, sink, now)
            staged.commit()
        except BaseException:
            staged.discard()
            raise
        log.info("copie locale du dossier %s gardée dans %s", dossier.code, staged.location)
        return staged
