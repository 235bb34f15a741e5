"""Data and system backups (manual §12.3.3.1–12.3.3.3, DESIGN §4–§5).

A data backup streams ``v1 export`` into a hidden temporary file of ``data/``, is verified
in full against its manifest, fsynced, then renamed to ``YYYY-MM-DDTHH-MM-SSZ.zip``: a cut,
stalled, corrupted or partial transfer is never listed. Retention keeps the N latest and
never deletes the newest. ``system.zip`` is built from the remote's system files over SFTP,
each file checked against the server's MANIFEST, and replaces the previous one only once it
verifies.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.state_files import fsync_directory
from appliance.adapters.system_zip import MANIFEST, verify_system_zip
from appliance.domain.backups import backup_name, parse_backup_name, to_prune
from appliance.domain.system_manifest import parse_system_manifest
from appliance.errors import ApplianceError, BadRequest, Unavailable
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)
_BLOCK = 1 << 20


@dataclass(frozen=True)
class BackupResult:
    name: str
    bytes: int
    dossiers: int
    rows: int
    seconds: float
    pruned: list[str]


@dataclass(frozen=True)
class SystemBackupResult:
    files: int
    bytes: int
    seconds: float


def _disk_error(error: OSError, what: Path) -> ApplianceError:
    if error.errno == errno.ENOSPC:
        return Unavailable(
            f"the backups volume is full while writing {what.name}: nothing was listed, earlier backups are intact"
        )
    return Unavailable(f"cannot write {what}: {error.strerror}")


def data_backup(guardian: Guardian) -> BackupResult:
    """Take a data backup of every dossier in the user's rights; raises Unavailable (link,
    stall, disk), BadRequest (it does not verify) or Refused (login, rights)."""
    started = time.monotonic()
    name = backup_name(guardian.now())
    guardian.data_dir.mkdir(parents=True, exist_ok=True)
    temporary = guardian.data_dir / f".{name}.part"
    final = guardian.data_dir / name
    try:
        guardian.report(step="sauvegarde des données : téléchargement", bytes_done=0)
        try:
            with guardian.remote_session() as session, temporary.open("wb") as sink:
                size = session.export([], _Counting(sink, guardian))
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as error:
            raise _disk_error(error, temporary) from error
        guardian.report(step="sauvegarde des données : vérification")
        verified = verify_backup(temporary)
        login = guardian.credentials().login
        if verified.manifest.user.get("login") != login:
            raise BadRequest(f"the backup was made for {verified.manifest.user.get('login')!r}, not {login!r}")
        os.rename(temporary, final)
        fsync_directory(guardian.data_dir)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        log.error("data backup %s failed: %s", name, error)
        raise
    pruned = prune_data_backups(guardian)
    manifest = verified.manifest
    result = BackupResult(
        name, size, len(manifest.dossiers), sum(d.rows() for d in manifest.dossiers), time.monotonic() - started, pruned
    )
    log.info(
        "data backup %s: %d dossiers, %d rows, %.1f MB in %.1f s",
        name,
        result.dossiers,
        result.rows,
        size / 1e6,
        result.seconds,
    )
    return result


class _Counting:
    """A file that reports the bytes written to the console, every 256 KiB."""

    def __init__(self, sink: Any, guardian: Guardian) -> None:
        self.sink = sink
        self.guardian = guardian
        self.size = 0
        self.reported = 0

    def write(self, data: bytes) -> int:
        written = int(self.sink.write(data))
        self.size += len(data)
        if self.size - self.reported >= 256 * 1024:
            self.guardian.report(bytes_done=self.size)
            self.reported = self.size
        return written


def prune_data_backups(guardian: Guardian) -> list[str]:
    """Keep the configured number of data backups; the newest is never deleted."""
    names = [path.name for path in guardian.data_dir.iterdir() if path.is_file() and parse_backup_name(path.name)]
    removed = to_prune(names, int(guardian.config["backups.keep"]))
    for name in removed:
        (guardian.data_dir / name).unlink()
        log.info("retention: removed data backup %s", name)
    return removed


def system_backup(guardian: Guardian) -> SystemBackupResult:
    """Fetch the remote's system files into ``system.zip``, replaced atomically once the new
    one verifies; the previous one stays until then."""
    started = time.monotonic()
    target = guardian.system_zip
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    size = 0
    guardian.report(step="sauvegarde système", bytes_done=0)
    try:
        with guardian.remote_session() as session:
            sftp = session.sftp()
            try:
                with sftp.open(MANIFEST, "rb") as handle:
                    manifest_bytes = handle.read(64 * 1024 * 1024)
                entries = parse_system_manifest(manifest_bytes.decode("utf-8", "replace"))
                with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                    for entry in entries:
                        size += _copy_checked(sftp, entry.path, entry.sha256, entry.size, archive)
                        guardian.report(bytes_done=size)
                    archive.writestr(MANIFEST, manifest_bytes)
            except TimeoutError as error:
                raise Unavailable(
                    f"nothing received from the remote server for {session.stall_timeout:.0f} s: system backup abandoned"
                ) from error
            except OSError as error:
                if error.errno == errno.ENOSPC:
                    raise _disk_error(error, temporary) from error
                raise Unavailable(f"the system backup failed: {error}") from error
            finally:
                sftp.close()
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        verify_system_zip(temporary)
        os.rename(temporary, target)
        fsync_directory(target.parent)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        log.error("system backup failed: %s", error)
        raise
    result = SystemBackupResult(len(entries), size, time.monotonic() - started)
    log.info("system backup: %d files, %.1f MB in %.1f s", result.files, size / 1e6, result.seconds)
    return result


def _copy_checked(sftp: object, path: str, sha256: str, expected: int, archive: zipfile.ZipFile) -> int:
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(path, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    with sftp.open(path, "rb") as source, archive.open(info, "w", force_zip64=True) as sink:  # type: ignore[attr-defined]
        source.prefetch()
        while block := source.read(_BLOCK):
            digest.update(block)
            sink.write(block)
            size += len(block)
    if size != expected or digest.hexdigest() != sha256:
        raise BadRequest(
            f"system file {path} does not match the server's MANIFEST ({size} bytes received, {expected} expected)"
        )
    return size


@dataclass(frozen=True)
class BackupEntry:
    name: str
    size: int
    dossiers: int | None
    status: str


def list_backups(guardian: Guardian) -> list[BackupEntry]:
    """``data/`` newest first, with the manifest's dossier count; a file that is not a
    readable backup is listed as such (sync would refuse it)."""
    entries: list[BackupEntry] = []
    if not guardian.data_dir.is_dir():
        return entries
    for path in sorted(guardian.data_dir.iterdir(), key=lambda p: p.name, reverse=True):
        if not path.is_file() or path.name.startswith("."):
            continue
        dossiers, status = _quick_look(path)
        entries.append(BackupEntry(path.name, path.stat().st_size, dossiers, status))
    return entries


def _quick_look(path: Path) -> tuple[int | None, str]:
    import json

    if parse_backup_name(path.name) is None:
        return None, "nom invalide"
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        return len(manifest.get("dossiers", [])), "vérifiée à l'écriture"
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None, "illisible"
