"""The backups volume as a BackupsStore (docs/design.md §5): ``data/`` (dated data
backups), ``system.zip``, ``local/`` (local copies saved before an overwrite), a work
area ``.work/`` and ``.resume/``, what cut transfers received, kept for the next attempt. A new file is written under a hidden temporary name beside its final one,
synced to disk, then renamed and the directory synced: a crash or a full disk leaves the
previous files as they were and never a half-written one under a listed name."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from appliance.adapters.backup_assembly import StagedSink, assemble_backup
from appliance.adapters.backup_reader import open_backup, verify_backup
from appliance.adapters.backup_subset import write_dossier_subset
from appliance.adapters.delta_reader import verify_delta
from appliance.adapters.raw_index import RawIndex, build_index, read_index, remove_index, write_index
from appliance.adapters.resume import salvage
from appliance.adapters.state_files import fsync_directory
from appliance.adapters.system_zip import manifest_digest, verify_system_zip
from appliance.domain.assembly import AssembledSummary
from appliance.domain.backup_format import Manifest, Opener, VerifiedBackup
from appliance.domain.backups import StoredFile
from appliance.domain.delta_manifest import VerifiedDelta
from appliance.domain.salvage import Salvage, partials_to_keep
from appliance.errors import ApplianceError

__all__ = ["FilesystemBackups", "StagedOnDisk"]
log = logging.getLogger(__name__)


class _SyncedWriter(io.BufferedWriter):
    """A file that is flushed and fsynced when closed, so ``close`` reports a full disk."""

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush()
                os.fsync(self.fileno())
            finally:
                super().close()


class StagedOnDisk:
    """A file written as ``.<name>.part`` beside ``final``, renamed once complete."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.name = final.name
        self.location = str(final)
        self.temporary = final.with_name(f".{final.name}.part")
        self.committed = False

    def writer(self) -> BinaryIO:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        return _SyncedWriter(io.FileIO(self.temporary, "w"))

    def reader(self) -> BinaryIO:
        return (self.final if self.committed else self.temporary).open("rb")

    def commit(self) -> None:
        os.rename(self.temporary, self.final)
        fsync_directory(self.final.parent)
        self.committed = True

    def discard(self) -> None:
        if not self.committed:
            with contextlib.suppress(OSError):
                self.temporary.unlink()


class FilesystemBackups:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = str(directory)
        self.data_dir = directory / "data"
        self.system_path = directory / "system.zip"
        self.local_dir = directory / "local"
        self.work_dir = directory / ".work"
        self.resume_dir = directory / ".resume"

    def data_backups(self) -> list[StoredFile]:
        return _listing(self.data_dir)

    def data_opener(self, name: str) -> Opener:
        path = self._data_path(name)
        return lambda: path.open("rb")

    def manifest(self, name: str) -> Manifest | None:
        try:
            return open_backup(self._data_path(name)).manifest
        except (ApplianceError, OSError):
            return None

    def new_data(self, name: str) -> StagedOnDisk:
        return StagedOnDisk(self._data_path(name))

    def remove_data(self, name: str) -> None:
        self._data_path(name).unlink()
        remove_index(self._index_path(name))

    def index_data(self, name: str) -> None:
        """The raw index of backup ``name``, unless the assembly that made it wrote it."""
        if read_index(self._data_path(name), self._index_path(name)) is None:
            build_index(self._data_path(name), self._index_path(name))

    def _index_path(self, name: str) -> Path:
        return self.data_dir / ".index" / f"{self._data_path(name).name}.json"

    def system_zip(self) -> StoredFile | None:
        try:
            info = self.system_path.stat()
        except FileNotFoundError:
            return None
        return StoredFile(self.system_path.name, info.st_size, dt.datetime.fromtimestamp(info.st_mtime, dt.UTC))

    def system_opener(self) -> Opener:
        return lambda: self.system_path.open("rb")

    def new_system(self) -> StagedOnDisk:
        return StagedOnDisk(self.system_path)

    def new_local_copy(self, name: str) -> StagedOnDisk:
        return StagedOnDisk(self._inside(self.local_dir, name))

    def local_copies(self) -> list[StoredFile]:
        return _listing(self.local_dir)

    def local_copy_opener(self, name: str) -> Opener:
        path = self._inside(self.local_dir, name)
        return lambda: path.open("rb")

    def remove_local_copy(self, name: str) -> None:
        self._inside(self.local_dir, name).unlink()

    def new_scratch(self, name: str) -> StagedOnDisk:
        return StagedOnDisk(self._inside(self.work_dir, name))

    def clean_scratch(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.directory).free
        except OSError:
            return None

    def clean_partials(self) -> list[str]:
        """Remove what a killed run left, but keep the partial data backups and deltas in
        ``.resume/`` for the next backup to resume from (a killed guardian never got to
        ``keep_partial``)."""
        removed = []
        for directory, pattern in ((self.data_dir, ".*.zip.part"), (self.work_dir, ".*.changes.part")):
            for path in directory.glob(pattern) if directory.is_dir() else []:
                with contextlib.suppress(OSError):
                    self._keep(path, path.name[1:-5])
        for directory in (self.data_dir, self.directory):
            if not directory.is_dir():
                continue
            for path in directory.glob(".*.part"):
                with contextlib.suppress(OSError):  # gone already, or a read-only volume
                    path.unlink()
                    removed.append(path.name)
        return sorted(removed)

    def keep_partial(self, staged: StagedSink) -> None:
        """Keep what a cut transfer received in ``.resume/`` (docs/backup-format.md,
        "Resuming a cut transfer"); the staged file is gone from its place afterwards."""
        if not isinstance(staged, StagedOnDisk) or staged.committed or not staged.temporary.is_file():
            return
        self._keep(staged.temporary, staged.name)

    def _keep(self, path: Path, name: str) -> None:
        if path.stat().st_size == 0:
            path.unlink()
            return
        self.resume_dir.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.resume_dir / f"{name}.part")
        fsync_directory(self.resume_dir)

    def salvages(self, max_age: dt.timedelta, now: dt.datetime) -> list[Salvage]:
        """What the kept partial files hold, newest first; the older than ``max_age`` and
        beyond the newest few are deleted first (``domain.salvage.partials_to_keep``)."""
        if not self.resume_dir.is_dir():
            return []
        found = {
            path.name: dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            for path in self.resume_dir.iterdir()
            if path.is_file()
        }
        kept, expired = partials_to_keep(found, now, max_age)
        for name in expired:
            with contextlib.suppress(OSError):
                (self.resume_dir / name).unlink()
        return [salvage(name, _opener(self.resume_dir / name)) for name in kept]

    def drop_partials(self) -> None:
        shutil.rmtree(self.resume_dir, ignore_errors=True)

    def verify_data(self, opener: Opener, name: str, full: bool = True) -> VerifiedBackup:
        """The backup ``opener`` reads, checked in full (every member's size, sha256 and
        rows) or, with ``full=False``, its structure and manifest only; raises BadRequest."""
        return verify_backup(opener, name=name) if full else open_backup(opener, name=name)

    def verify_delta(self, opener: Opener, name: str) -> VerifiedDelta:
        return verify_delta(opener, name=name)

    def assemble_data(
        self,
        previous: VerifiedBackup | None,
        delta: VerifiedDelta,
        staged: StagedSink,
        salvaged: Sequence[Salvage] = (),
    ) -> AssembledSummary:
        index = (
            None if previous is None else read_index(self._data_path(previous.name), self._index_path(previous.name))
        )
        path, index_path = self._data_path(staged.name), self._index_path(staged.name)
        return assemble_backup(
            previous,
            delta,
            staged,
            salvaged=salvaged,
            previous_index=index,
            on_committed=lambda members: _write_index_quietly(path, index_path, members),
        )

    def extract_dossier(self, backup: VerifiedBackup, code: str, sink: BinaryIO, now: dt.datetime) -> None:
        write_dossier_subset(backup, code, sink, now)

    def verify_system(self, opener: Opener) -> int:
        """Check a system.zip against its MANIFEST; returns its file count; raises BadRequest."""
        return len(verify_system_zip(opener))

    def system_digest(self, opener: Opener) -> str:
        return manifest_digest(opener)

    def _data_path(self, name: str) -> Path:
        return self._inside(self.data_dir, name)

    @staticmethod
    def _inside(directory: Path, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
            raise ValueError(f"not a file name of {directory.name}/: {name!r}")
        return directory / name


def _opener(path: Path) -> Opener:
    return lambda: path.open("rb")


def _listing(directory: Path) -> list[StoredFile]:
    """The files of ``directory`` (not the hidden temporary ones), newest name first."""
    if not directory.is_dir():
        return []
    files = []
    for path in directory.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        info = path.stat()
        files.append(StoredFile(path.name, info.st_size, dt.datetime.fromtimestamp(info.st_mtime, dt.UTC)))
    return sorted(files, key=lambda stored: stored.name, reverse=True)


def _write_index_quietly(backup: Path, index: Path, members: RawIndex) -> None:
    """The raw index the assembly took; not written (a full disk), the job builds it again
    once the backup is listed, and warns if that fails too."""
    try:
        write_index(backup, index, members)
    except OSError as error:
        log.info("index des octets compressés de %s non écrit après l'assemblage : %s", backup.name, error)
