"""Opening and verifying a data backup zip (docs/backup-format.md, docs/design.md §5) before anything uses it.

Checks, in order, each failure naming the problem: the file is a zip; every member name is
safe (relative, no '..', no backslash, no link or device); ``manifest.json`` is valid; the
members are exactly those the manifest lists; then each member, streamed, has the size,
sha256 and row count the manifest gives, and every row of a dossier's table belongs to that
dossier. Memory stays flat: members are read in blocks.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from appliance.domain.backup_format import (
    MANIFEST_MEMBER,
    MAX_MANIFEST_BYTES,
    Manifest,
    MemberDigest,
    Opener,
    VerifiedBackup,
    dossier_member,
    expected_scripts,
    parse_manifest,
)
from appliance.domain.schema import DOSSIER_TABLES
from appliance.errors import BadRequest

_BLOCK = 1 << 20


_CONTROL = re.compile("[\x00-\x1f]")


def safe_member_name(name: str) -> bool:
    """Whether a zip member name can be extracted without leaving its directory."""
    if not name or name.startswith(("/", "\\")) or "\\" in name:
        return False
    if len(name) > 255 or _CONTROL.search(name) is not None:
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") for part in parts) and ":" not in parts[0]


def check_entries(archive: zipfile.ZipFile) -> None:
    seen: set[str] = set()
    for info in archive.infolist():
        if not safe_member_name(info.filename):
            raise BadRequest(f"unsafe member name {info.filename[:80]!r} (absolute, '..' or control characters)")
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # no type bits: a plain file
            kind = "link" if stat.S_ISLNK(mode) else "directory" if stat.S_ISDIR(mode) else "special file"
            raise BadRequest(f"member {info.filename!r} is a {kind}, not a regular file")
        if info.filename in seen:
            raise BadRequest(f"member {info.filename!r} appears twice")
        seen.add(info.filename)


class MemberCheck:
    """Running checks of one member as its bytes go by: size, sha256, rows and, for a
    dossier's table, that every row starts with that dossier's id (counted with C-level
    searches, never a Python loop per row)."""

    def __init__(self, name: str, digest: MemberDigest, dossier_id: int | None) -> None:
        self.name = name
        self.digest = digest
        self.sha = hashlib.sha256()
        self.size = 0
        self.rows = 0
        self.prefix = f"{dossier_id}\t".encode() if dossier_id is not None else None
        self.needle = b"\n" + self.prefix if self.prefix else b""
        self.owned = 0
        self.tail = b""
        self.first = b""

    def update(self, block: bytes) -> None:
        self.sha.update(block)
        self.size += len(block)
        self.rows += block.count(b"\n")
        if self.prefix is not None:
            if len(self.first) < len(self.prefix):
                self.first = (self.first + block)[: len(self.prefix)]
            window = self.tail + block
            self.owned += window.count(self.needle)
            self.tail = window[-(len(self.needle) - 1) :]

    def _check_owner(self) -> None:
        if self.prefix is not None and self.size:
            starts = 1 if self.first == self.prefix else 0
            # Every line starts at the beginning or right after a newline (the last newline
            # ends the file and starts nothing).
            if not self.tail.endswith(b"\n"):
                raise BadRequest(f"{self.name}: the last row is not terminated")
            if starts + self.owned != self.rows:
                raise BadRequest(f"{self.name}: a row belongs to another dossier")

    def measured(self) -> MemberDigest:
        """What went by, with no manifest to compare it with (a salvaged member); raises
        BadRequest when a row is not that dossier's."""
        self._check_owner()
        return MemberDigest(self.sha.hexdigest(), self.size, self.rows)

    def finish(self) -> None:
        """Raise BadRequest naming the first mismatch with the manifest."""
        name, digest = self.name, self.digest
        self._check_owner()
        if self.size != digest.size:
            raise BadRequest(f"{name}: {self.size} bytes, the manifest says {digest.size}")
        if self.sha.hexdigest() != digest.sha256:
            raise BadRequest(f"{name}: its sha256 does not match the manifest")
        if digest.rows is not None and self.rows != digest.rows:
            raise BadRequest(f"{name}: {self.rows} rows, the manifest says {digest.rows}")


def member_owners(manifest: Manifest) -> dict[str, int]:
    """Which dossier each dossier-table member belongs to."""
    return {dossier_member(d.code, t): d.id for d in manifest.dossiers for t in DOSSIER_TABLES}


def _verify_member(archive: zipfile.ZipFile, name: str, digest: MemberDigest, dossier_id: int | None) -> None:
    check = MemberCheck(name, digest, dossier_id)
    with archive.open(name) as member:
        while block := member.read(_BLOCK):
            check.update(block)
    check.finish()


Source = Path | Opener


def opener_of(source: Source) -> tuple[Opener, str]:
    """A reader factory for ``source`` and the name its messages use."""
    if isinstance(source, Path):
        path = source
        return (lambda: path.open("rb")), path.name
    return source, "the backup"


# What Python's zip reader raises on a damaged archive or member, besides BadZipFile:
# zlib's error for a corrupted deflate stream, NotImplementedError for a compression or flag
# it does not support, RuntimeError for an encrypted member, ValueError and struct.error for
# offsets and headers that make no sense. Each is the backup's fault (tests/fuzz found them).
ZIP_DAMAGE: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
    EOFError,
)
ZIP_ERRORS: tuple[type[BaseException], ...] = (*ZIP_DAMAGE, OSError)  # and a file that cannot be read

# Entries a data backup may hold: the top members and centre tables, and each dossier's
# tables for thousands of dossiers. Python's zip reader keeps every entry of the central
# directory in memory (several hundred bytes each), so the count is read first.
MAX_ENTRIES = 200_000


def _entries(handle: BinaryIO) -> int | None:
    """The entry count the zip's end-of-central-directory record declares (None: no record)."""
    try:
        record = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    except (OSError, EOFError, ValueError, struct.error):
        return None
    handle.seek(0)
    return None if record is None else int(record[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


@contextlib.contextmanager
def open_zip(opener: Opener, name: str = "the backup", max_entries: int = MAX_ENTRIES) -> Iterator[zipfile.ZipFile]:
    """The zip ``opener`` reads, closed (with its reader) at the end of the block; raises
    BadRequest when it is not a readable zip, or declares more than ``max_entries``
    entries (refused before its directory is read into memory)."""
    try:
        handle = opener()
    except OSError as error:
        raise BadRequest(f"{name} cannot be opened: {error.strerror or error}") from error
    try:
        entries = _entries(handle)
        if entries is not None and entries > max_entries:
            raise BadRequest(f"{name} declares {entries} entries, over the limit of {max_entries}")
        try:
            archive = zipfile.ZipFile(handle)
        except ZIP_ERRORS as error:
            raise BadRequest(f"{name} is not a readable zip file: {error}") from error
        with archive:
            yield archive
    finally:
        handle.close()


def open_backup(
    source: Source, max_unpacked: int | None = None, name: str | None = None, max_entries: int = MAX_ENTRIES
) -> VerifiedBackup:
    """Check the zip's structure, member names and manifest, that the members are exactly
    those the manifest lists, and that each member's size declared by the zip is the
    manifest's (cheap: no member is read). Python's zip reader never inflates a member past
    its declared size, so with ``max_unpacked`` (a bound on the sum of the sizes) a small zip
    cannot unpack into gigabytes. The content is checked by ``verify_backup``, or by the
    loader as it streams; raises BadRequest."""
    opener, default_name = opener_of(source)
    label = name or default_name
    with open_zip(opener, label, max_entries) as archive:
        manifest = check_structure(archive, parse_manifest, max_unpacked)
    return VerifiedBackup(label, manifest, opener)


class _Listing(Protocol):
    def all_members(self) -> dict[str, MemberDigest]: ...


Listed = TypeVar("Listed", bound=_Listing)


def check_structure(
    archive: zipfile.ZipFile, parse: Callable[[bytes], Listed], max_unpacked: int | None, what: str = "backup"
) -> Listed:
    """The manifest of ``archive`` as ``parse`` reads it, once the zip's entries, its members
    (exactly those the manifest lists) and their declared sizes (the manifest's, within
    ``max_unpacked`` in all) are checked; raises BadRequest naming the first problem. Shared
    by complete backups and export-changes deltas."""
    check_entries(archive)
    names = set(archive.namelist())
    if MANIFEST_MEMBER not in names:
        raise BadRequest("the zip has no manifest.json")
    if archive.getinfo(MANIFEST_MEMBER).file_size > MAX_MANIFEST_BYTES:
        raise BadRequest("manifest.json is too large")
    try:
        manifest = parse(archive.read(MANIFEST_MEMBER))
    except ZIP_ERRORS as error:
        raise BadRequest(f"manifest.json cannot be read: {error}") from error
    listed = manifest.all_members()
    unlisted = sorted(names - set(listed) - {MANIFEST_MEMBER})
    if unlisted:
        raise BadRequest(f"members not in the manifest: {', '.join(unlisted[:5])}")
    missing = sorted(set(listed) - names)
    if missing:
        raise BadRequest(f"members missing from the zip: {', '.join(missing[:5])}")
    for name, digest in listed.items():
        declared = archive.getinfo(name).file_size
        if declared != digest.size:
            raise BadRequest(f"{name}: the zip declares {declared} bytes, the manifest {digest.size}")
    total = sum(digest.size for digest in listed.values())
    if max_unpacked is not None and total > max_unpacked:
        raise BadRequest(f"the {what} unpacks to {total} bytes, over the limit of {max_unpacked}")
    return manifest


def verify_backup(
    source: Source, max_unpacked: int | None = None, name: str | None = None, max_entries: int = MAX_ENTRIES
) -> VerifiedBackup:
    """Verify the backup ``source`` reads in full; raises BadRequest naming the first problem."""
    backup = open_backup(source, max_unpacked, name, max_entries)
    verify_members(backup, backup.manifest.all_members())
    verify_scripts(backup)
    return backup


def verify_scripts(backup: VerifiedBackup) -> None:
    """``schema.sql`` and ``load.sql`` byte for byte as this code writes them for the
    backup's schema version and members; raises BadRequest naming the member otherwise."""
    expected = expected_scripts(backup.manifest)
    with open_zip(backup.opener, backup.name) as archive:
        for member, content in expected.items():
            try:
                with archive.open(member) as handle:
                    found = handle.read(len(content) + 1)
            except KeyError as error:
                raise BadRequest(f"{member} is missing") from error
            except ZIP_ERRORS as error:
                raise BadRequest(f"{member} cannot be read: {error}") from error
            if found != content:
                raise BadRequest(
                    f"{member} is not the script this version writes for schema version "
                    f"{backup.manifest.schema_version}: refused (it would run on the machine of whoever restores)"
                )


def verify_members(backup: VerifiedBackup, members: dict[str, MemberDigest]) -> None:
    """Read ``members`` of ``backup`` and check each against its digest (and, for a
    dossier's table, that every row is that dossier's); raises BadRequest."""
    owners = member_owners(backup.manifest)
    with open_zip(backup.opener, backup.name) as archive:
        for member, digest in members.items():
            try:
                _verify_member(archive, member, digest, owners.get(member))
            except ZIP_ERRORS as error:
                raise BadRequest(f"{member} cannot be read: {error}") from error
