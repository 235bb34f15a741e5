"""The system backup (manual §12.3.3.3, docs/design.md §5): ``system.zip`` built from the
remote's system files, each checked against the server's MANIFEST, replacing the previous one
atomically once it verifies.

Only the files that changed cross the link (issue 13, item 3): a file the previous
``system.zip`` holds with the path, size and sha256 the new MANIFEST gives is read from it
(checked first: a damaged copy is fetched again); every other one is fetched over SFTP.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import stat
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from appliance.domain.system_manifest import SystemEntry, parse_system_manifest
from appliance.errors import BadRequest, Unavailable
from appliance.guardian.jobs.disk import commit_staged, disk_error
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import BackupsStore, CentralServer, CentralSession, Clock, Reporter, StagedFile
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
_BLOCK = 1 << 20
SYSTEM_MANIFEST = "MANIFEST"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class SystemBackupResult:
    files: int
    bytes: int
    seconds: float
    fetched: int = 0  # files that crossed the link (the others came from the previous system.zip)
    transferred: int = 0  # their bytes
    retries: int = 0  # attempts made again after a refusal a new request cures (jobs/retrying.py)


@dataclass(frozen=True)
class SystemBackup:
    central: CentralServer
    state: GuardianState
    backups: BackupsStore
    clock: Clock
    progress: Reporter

    def run(self) -> SystemBackupResult:
        """Fetch the remote's changed system files into ``system.zip``, which replaces the
        previous one atomically once it verifies; the previous one stays until then."""
        started = self.clock.monotonic()
        staged = self.backups.new_system()
        self.progress.update(step="sauvegarde système", bytes_done=0)
        try:
            with stored_session(self.central, self.state) as session, self._previous() as previous:
                files, size, fetched, transferred = self._fetch(session, staged, previous)
            self.backups.verify_system(staged.reader)
            commit_staged(staged)
        except BaseException as error:
            staged.discard()
            log.error("sauvegarde système en échec : %s", error)
            raise
        result = SystemBackupResult(files, size, self.clock.monotonic() - started, fetched, transferred)
        log.info(
            "sauvegarde système : %d fichiers (%.1f Mo) dont %d reçus (%.1f Mo), en %.1f s",
            files,
            size / 1e6,
            fetched,
            transferred / 1e6,
            result.seconds,
        )
        return result

    @contextlib.contextmanager
    def _previous(self) -> Iterator[_Previous | None]:
        """The current system.zip, opened, with its MANIFEST's entries; None when there is
        none or it cannot be read (then every file is fetched)."""
        if self.backups.system_zip() is None:
            yield None
            return
        try:
            handle = self.backups.system_opener()()
        except OSError:
            yield None
            return
        with handle:
            try:
                archive = zipfile.ZipFile(handle)
                entries = parse_system_manifest(archive.read(SYSTEM_MANIFEST).decode("utf-8", "replace"))
            except (*_ZIP_ERRORS, KeyError, BadRequest):
                yield None
                return
            with archive:
                yield _Previous(archive, {entry.path: entry for entry in entries})

    def _fetch(
        self, session: CentralSession, staged: StagedFile, previous: _Previous | None
    ) -> tuple[int, int, int, int]:
        size = fetched = transferred = 0
        try:
            manifest = session.system_manifest()
            entries = parse_system_manifest(manifest.decode("utf-8", "replace"))
            self.progress.update(bytes_done=0, bytes_total=sum(entry.size for entry in entries))
            with staged.writer() as sink, zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for entry in entries:
                    if previous is not None and previous.holds(entry):
                        size += _copy_checked(previous.open(entry), entry, archive)
                    else:
                        moved = _copy_checked(session.system_file(entry.path), entry, archive)
                        size, fetched, transferred = size + moved, fetched + 1, transferred + moved
                    self.progress.update(bytes_done=size)
                archive.writestr(SYSTEM_MANIFEST, manifest)
        except TimeoutError as error:
            raise Unavailable(
                f"rien n'a été reçu du serveur distant depuis {session.stall_timeout:.0f} s : "
                "sauvegarde système abandonnée"
            ) from error
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EROFS):  # EACCES may be the remote's answer
                raise disk_error(error, staged.name) from error
            raise Unavailable(f"la sauvegarde système a échoué : {error}") from error
        return len(entries), size, fetched, transferred


@dataclass(frozen=True)
class _Previous:
    archive: zipfile.ZipFile
    entries: dict[str, SystemEntry]

    def holds(self, entry: SystemEntry) -> bool:
        """The previous system.zip has this file as the MANIFEST gives it, and reads so."""
        kept = self.entries.get(entry.path)
        if kept is None or (kept.size, kept.sha256) != (entry.size, entry.sha256):
            return False
        digest, size = hashlib.sha256(), 0
        try:
            with self.archive.open(entry.path) as member:
                while block := member.read(_BLOCK):
                    digest.update(block)
                    size += len(block)
        except (*_ZIP_ERRORS, KeyError):
            return False
        return size == entry.size and digest.hexdigest() == entry.sha256

    @contextlib.contextmanager
    def open(self, entry: SystemEntry) -> Iterator[BinaryIO]:
        with self.archive.open(entry.path) as member:
            yield member  # type: ignore[misc]


def _copy_checked(
    opened: contextlib.AbstractContextManager[BinaryIO], entry: SystemEntry, archive: zipfile.ZipFile
) -> int:
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(entry.path, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    with opened as source, archive.open(info, "w", force_zip64=True) as sink:
        # Never more than the MANIFEST says, plus one byte to tell a longer file.
        while size <= entry.size and (block := source.read(min(_BLOCK, entry.size + 1 - size))):
            digest.update(block)
            sink.write(block)
            size += len(block)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise BadRequest(
            f"le fichier système {entry.path} ne correspond pas au MANIFEST du serveur "
            f"({size} octets reçus, {entry.size} attendus)"
        )
    return size
