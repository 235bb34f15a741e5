"""The list of data backups that status, the console and the CLI show."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.domain.backups import newest, parse_backup_name
from appliance.guardian.ports import BackupsStore

VERIFIED, MISNAMED, UNREADABLE = "vérifiée à l'écriture", "nom invalide", "illisible"


@dataclass(frozen=True)
class BackupEntry:
    name: str
    size: int
    dossiers: int | None
    status: str


def list_backups(backups: BackupsStore) -> list[BackupEntry]:
    """``data/`` newest first, with each manifest's dossier count; a file that is not a
    readable backup is listed as such (a sync would refuse it)."""
    entries = []
    for stored in backups.data_backups():
        if parse_backup_name(stored.name) is None:
            entries.append(BackupEntry(stored.name, stored.size, None, MISNAMED))
            continue
        manifest = backups.manifest(stored.name)
        if manifest is None:
            entries.append(BackupEntry(stored.name, stored.size, None, UNREADABLE))
        else:
            entries.append(BackupEntry(stored.name, stored.size, len(manifest.dossiers), VERIFIED))
    return entries


def newest_backup(backups: BackupsStore) -> str | None:
    """The newest well-named data backup, by the date in its name (``domain.backups.newest``)."""
    return newest([f.name for f in backups.data_backups()])
