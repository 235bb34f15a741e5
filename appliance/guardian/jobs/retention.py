"""Retention of the backups volume (docs/design.md, "Retention"): data backups by age with a
floor of the newest, local copies by age but the newest of each dossier, and the warning
before a backup that may not fit. The rules are pure (``appliance.domain.backups``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.domain.backups import Retention, StoredFile, local_copies_to_prune, parse_backup_name, to_prune
from appliance.guardian.ports import BackupsStore, Clock

log = logging.getLogger(__name__)
ROOM_MARGIN = 1.1  # a backup may grow a little from one day to the next


@dataclass(frozen=True)
class RetentionJob:
    backups: BackupsStore
    clock: Clock
    retention: Retention
    local_days: int

    def prune_data(self, just_made: str | None = None) -> list[str]:
        """Delete the data backups the retention no longer keeps; never ``just_made``."""
        names = [f.name for f in self.backups.data_backups() if parse_backup_name(f.name)]
        removed = to_prune(names, self.clock.now(), self.retention, protect=just_made)
        for name in removed:
            self.backups.remove_data(name)
            log.info("rétention : sauvegarde %s supprimée (plus de %d jours)", name, self.retention.days)
        return removed

    def prune_local_copies(self) -> list[str]:
        names = [f.name for f in self.backups.local_copies()]
        removed = local_copies_to_prune(names, self.clock.now(), self.local_days)
        for name in removed:
            self.backups.remove_local_copy(name)
            log.info("rétention : copie locale %s supprimée (plus de %d jours)", name, self.local_days)
        return removed

    def _newest(self) -> StoredFile | None:
        return next((f for f in self.backups.data_backups() if parse_backup_name(f.name)), None)

    def expected_size(self) -> int | None:
        """What the next data backup should weigh: the newest one's size (None: no backup yet)."""
        newest = self._newest()
        return None if newest is None else newest.size

    def room_warning(self) -> str | None:
        """A warning when the next data backup may not fit on the volume: less room left than
        the newest backup's size, with a margin. None when it fits or nothing tells."""
        newest = self._newest()
        free = self.backups.free_bytes()
        if newest is None or free is None or free >= newest.size * ROOM_MARGIN:
            return None
        return (
            f"la sauvegarde pourrait ne pas tenir sur le volume des sauvegardes : {free / 1e6:.1f} Mo libres, "
            f"la précédente ({newest.name}) faisait {newest.size / 1e6:.1f} Mo"
        )
