"""The raw index of a listed data backup: the sha256 of each member's compressed bytes, taken
right after the backup verified in full (docs/backup-format.md, "Copying without
recompressing").

The next incremental backup copies the unchanged dossiers' members compressed as they are;
with the index it checks each one by hashing those compressed bytes (a sha256 pass) instead
of inflating it to check its CRC-32, sha256, rows and owner again, which was 1.5 s of a 4 s
incremental backup of 300 dossiers. The bytes are then exactly those that verified. An index
that does not match its backup (another file under that name: its size or modification time
differs) is not used; a missing or unreadable one neither: the copy inflates, as without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters.raw_zip import read_raw
from appliance.errors import BadRequest

FORMAT = "neocuma-raw-index"
VERSION = 1


@dataclass(frozen=True)
class RawEntry:
    """A member as the verified zip holds it: CRC-32, sizes, and the sha256 of its
    compressed bytes."""

    crc: int
    compressed: int
    size: int
    sha256: str


def build_index(backup: Path, index: Path) -> None:
    """Write the raw index of ``backup`` to ``index`` (replaced atomically), reading each
    member's compressed bytes."""
    members: dict[str, RawEntry] = {}
    with zipfile.ZipFile(backup) as archive, backup.open("rb") as handle:
        for info in archive.infolist():
            digest = hashlib.sha256()
            for block in read_raw(handle, info):
                digest.update(block)
            members[info.filename] = RawEntry(info.CRC, info.compress_size, info.file_size, digest.hexdigest())
    write_index(backup, index, members)


def write_index(backup: Path, index: Path, members: Mapping[str, RawEntry]) -> None:
    """Write ``members`` as the raw index of ``backup`` (as it is on disk now) to ``index``,
    replaced atomically: an assembly that hashed each member as it read the file back
    (``backup_assembly``) needs no second pass."""
    status = backup.stat()
    document = {
        "format": FORMAT,
        "version": VERSION,
        "backup_size": status.st_size,
        "backup_mtime_ns": status.st_mtime_ns,
        "members": {
            name: {"crc": e.crc, "compressed": e.compressed, "size": e.size, "sha256": e.sha256}
            for name, e in members.items()
        },
    }
    index.parent.mkdir(parents=True, exist_ok=True)
    temporary = index.with_name(f".{index.name}.part")
    temporary.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, index)


def read_index(backup: Path, index: Path) -> dict[str, RawEntry] | None:
    """The raw index of ``backup``, or None when there is none or it is not that file's."""
    try:
        document = json.loads(index.read_text(encoding="utf-8"))
        status = backup.stat()
        if (document.get("format"), document.get("version")) != (FORMAT, VERSION):
            return None
        if (document.get("backup_size"), document.get("backup_mtime_ns")) != (status.st_size, status.st_mtime_ns):
            return None
        return {
            str(name): RawEntry(int(e["crc"]), int(e["compressed"]), int(e["size"]), str(e["sha256"]))
            for name, e in dict(document["members"]).items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def remove_index(index: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        index.unlink()


def hashed(blocks: Iterator[bytes], name: str, expected: str) -> Iterator[bytes]:
    """``blocks`` passed through; BadRequest once they are all read if their sha256 is not
    ``expected`` (the compressed bytes changed since the backup verified)."""
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
        yield block
    if digest.hexdigest() != expected:
        raise BadRequest(f"{name} : ses octets compressés ne sont plus ceux de la sauvegarde vérifiée")


def matches(entry: RawEntry | None, info: zipfile.ZipInfo) -> bool:
    return entry is not None and (entry.crc, entry.compressed, entry.size) == (
        info.CRC,
        info.compress_size,
        info.file_size,
    )


RawIndex = Mapping[str, RawEntry]
