"""What a user starts, from the CLI, the scheduler or the console: each action takes the
guardian's one lock, runs its services and records its outcome for status."""

from __future__ import annotations

import logging
import time
from typing import Any

from appliance.errors import ApplianceError
from appliance.guardian import backup, modes, sync, transfers
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)


def _recorded(guardian: Guardian, job: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.monotonic()
    try:
        result = function(guardian, *args, **kwargs)
    except ApplianceError as error:
        guardian.record(job, ok=False, error=str(error), seconds=round(time.monotonic() - started, 1))
        raise
    facts = {k: v for k, v in getattr(result, "__dict__", {}).items() if isinstance(v, str | int | float | bool | None)}
    facts.update(ok=True, seconds=round(time.monotonic() - started, 1))
    guardian.record(job, **facts)
    moved = facts.get("bytes")
    if isinstance(moved, int):
        _count_bytes(guardian, job, moved)
    return result


def _count_bytes(guardian: Guardian, job: str, size: int) -> None:
    from appliance.adapters.state_files import JsonFile

    counters = JsonFile(guardian.state_dir / "counters.json")
    data = counters.read()
    data[job] = int(data.get(job, 0)) + size
    counters.write(data)


def run_data_backup(guardian: Guardian) -> backup.BackupResult:
    with guardian.lock("sauvegarde des données"):
        return _recorded(guardian, "backup", backup.data_backup)  # type: ignore[no-any-return]


def run_system_backup(guardian: Guardian) -> backup.SystemBackupResult:
    with guardian.lock("sauvegarde système"):
        return _recorded(guardian, "system_backup", backup.system_backup)  # type: ignore[no-any-return]


def run_sync(guardian: Guardian, requested: str | None = None) -> sync.SyncResult:
    with guardian.lock("synchronisation"):
        return _recorded(guardian, "sync", sync.synchronise, requested)  # type: ignore[no-any-return]


def run_all(guardian: Guardian) -> tuple[backup.BackupResult, backup.SystemBackupResult, sync.SyncResult]:
    """ "Lancer une Sauvegarde/Synchronisation maintenant": data backup, system backup, sync."""
    with guardian.lock("sauvegarde et synchronisation"):
        data = _recorded(guardian, "backup", backup.data_backup)
        system = _recorded(guardian, "system_backup", backup.system_backup)
        synced = _recorded(guardian, "sync", sync.synchronise, None)
    return data, system, synced


def run_pull(guardian: Guardian, codes: list[str], overwrite_local: bool) -> transfers.PullResult:
    with guardian.lock(f"descente de {', '.join(codes)}"):
        return _recorded(guardian, "pull", transfers.pull, codes, overwrite_local)  # type: ignore[no-any-return]


def run_restore(
    guardian: Guardian, codes: list[str], password: str, overwrite_remote: bool
) -> list[transfers.RestoreResult]:
    with guardian.lock(f"remontée de {', '.join(codes)}"):
        return _recorded(guardian, "restore", transfers.restore, codes, password, overwrite_remote)  # type: ignore[no-any-return]


def run_mode(guardian: Guardian, mode: str, force: bool) -> modes.ModeResult:
    with guardian.lock(f"passage en mode {mode}"):
        return modes.set_mode(guardian, mode, force)
