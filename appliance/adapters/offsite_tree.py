"""The unpacked layout of a backup, as restic stores it (docs/offsite.md, "Layout").

``unpack`` writes the members of a verified backup as files under a directory, the tree
stock ``unzip`` would make: ``schema.sql``, ``load.sql``, ``centre/*.tsv``,
``dossiers/CODE/*.tsv`` and ``manifest.json``. ``pack`` makes a backup zip again from such
a tree (one that came back from the repository): the members the manifest names, deflated,
the manifest last, so it verifies like any backup and every command takes it. It is the
same backup, not the same bytes: its members' compressed bytes and dates are new.
Both stream one member at a time.
"""

from __future__ import annotations

import shutil
import stat
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from appliance.adapters.backup_reader import open_zip
from appliance.domain.backup_format import MANIFEST_MEMBER, Opener, parse_manifest
from appliance.errors import BadRequest

_BLOCK = 1 << 20
_DISK_BLOCK = 4096  # a file system's usual block


def _inside(root: Path, name: str) -> Path:
    """``root``/``name`` for a member name that stays below ``root``; BadRequest otherwise."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in name:
        raise BadRequest(f"nom de membre {name[:80]!r} refusé : il sortirait du dossier de la copie")
    return root.joinpath(*parts)


def unpacked_size(opener: Opener, name: str) -> int:
    """The room ``unpack`` takes for the backup ``opener`` reads, from its zip's directory
    alone: every member's size rounded up to whole blocks, plus one block for each file's
    and directory's entry (a backup of tab-separated files unpacks to about 3.5 times its
    zip). Raises as ``open_zip``."""
    needed = 0
    with open_zip(opener, name) as archive:
        for info in archive.infolist():
            needed += -(-info.file_size // _DISK_BLOCK) * _DISK_BLOCK + _DISK_BLOCK
    return needed


def unpack(opener: Opener, name: str, target: Path) -> int:
    """Write every member of the backup ``opener`` reads (verified beforehand) under
    ``target``, emptied first; returns the bytes written."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = 0
    with open_zip(opener, name) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = _inside(target, info.filename)
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as member, path.open("wb") as out:
                shutil.copyfileobj(member, out, _BLOCK)
            written += info.file_size
    return written


def member_names(tree: Path) -> list[str]:
    """The members a backup made from ``tree`` holds, in a full export's order, the manifest
    last; raises BadRequest when the tree has no readable manifest."""
    try:
        manifest = parse_manifest((tree / MANIFEST_MEMBER).read_bytes())
    except OSError as error:
        raise BadRequest(f"la copie restaurée n'a pas de {MANIFEST_MEMBER} lisible : {error}") from error
    return [*manifest.all_members(), MANIFEST_MEMBER]


def pack(tree: Path, sink: BinaryIO) -> None:
    """The backup zip of ``tree`` written to ``sink``: the members its manifest names (a
    file missing is BadRequest; a file it does not name is left out)."""
    names = member_names(tree)
    stamp = time.gmtime()[:6]
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as archive:
        for name in names:
            path = _inside(tree, name)
            if not path.is_file():
                raise BadRequest(f"la copie restaurée n'a pas {name} que son manifeste nomme")
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            large = path.stat().st_size >= zipfile.ZIP64_LIMIT
            with path.open("rb") as source, archive.open(info, "w", force_zip64=large) as out:
                shutil.copyfileobj(source, out, _BLOCK)


__all__ = ["member_names", "pack", "unpack", "unpacked_size"]
