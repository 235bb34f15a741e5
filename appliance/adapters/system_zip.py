"""``system.zip``: the remote's system files and its MANIFEST, verified before it replaces
the previous one and again before a synchronisation installs it (docs/backup-format.md)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from pathlib import Path

from appliance.adapters.backup_reader import ZIP_ERRORS, Source, open_zip, opener_of
from appliance.adapters.state_files import fsync_directory
from appliance.domain.system_manifest import SystemEntry, parse_system_manifest
from appliance.errors import BadRequest

_BLOCK = 1 << 20
MANIFEST = "MANIFEST"
NAME = "system.zip"


def verify_system_zip(source: Source) -> list[SystemEntry]:
    """Check structure, names, and every file against the MANIFEST; raises BadRequest."""
    opener, _ = opener_of(source)
    with open_zip(opener, NAME) as archive:
        return _verify(archive)


def manifest_digest(source: Source) -> str:
    """The sha256 of the MANIFEST of a verified ``system.zip``: the same files (paths, sizes
    and digests, and the server's system generation) give the same digest."""
    opener, _ = opener_of(source)
    with open_zip(opener, NAME) as archive:
        try:
            return hashlib.sha256(archive.read(MANIFEST)).hexdigest()
        except KeyError as error:
            raise BadRequest(f"{NAME} n'a pas de MANIFEST") from error


def _verify(archive: zipfile.ZipFile) -> list[SystemEntry]:
    infos = {info.filename: info for info in archive.infolist()}
    if MANIFEST not in infos:
        raise BadRequest(f"{NAME} n'a pas de MANIFEST")
    for name, info in infos.items():
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            raise BadRequest(f"{NAME} : {name} n'est pas un fichier ordinaire")
    entries = parse_system_manifest(archive.read(MANIFEST).decode("utf-8", "replace"))
    listed = {entry.path for entry in entries}
    extra = sorted(set(infos) - listed - {MANIFEST})
    if extra:
        raise BadRequest(f"{NAME} : fichiers absents du MANIFEST : {', '.join(extra[:5])}")
    for entry in entries:
        if entry.path not in infos:
            raise BadRequest(f"{NAME} : {entry.path} est absent")
        sha = hashlib.sha256()
        size = 0
        try:
            with archive.open(entry.path) as member:
                while block := member.read(_BLOCK):
                    sha.update(block)
                    size += len(block)
        except ZIP_ERRORS as error:
            raise BadRequest(f"{NAME} : {entry.path} est illisible : {error}") from error
        if size != entry.size or sha.hexdigest() != entry.sha256:
            raise BadRequest(f"{NAME} : {entry.path} ne correspond pas au MANIFEST")
    return entries


def install_system_generation(source: Source, target: Path) -> int:
    """Extract a verified ``system.zip`` into the new directory ``target`` (atomically: beside
    it, then renamed); refuses anything the MANIFEST does not list. Returns the file count."""
    opener, _ = opener_of(source)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with open_zip(opener, NAME) as archive:
        entries = _verify(archive)
        for entry in entries:
            destination = staging / entry.path
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry.path) as member, destination.open("wb") as sink:
                shutil.copyfileobj(member, sink, _BLOCK)
                sink.flush()
                os.fsync(sink.fileno())
    if target.exists():
        shutil.rmtree(target)
    os.rename(staging, target)
    fsync_directory(target.parent)
    return len(entries)
