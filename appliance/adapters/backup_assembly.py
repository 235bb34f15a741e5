"""A complete data backup assembled from the previous verified backup and a verified delta
(docs/backup-format.md, "Assembling a complete backup from a delta"), indistinguishable
from a full export of the delta's snapshot but for the time it records.

``domain/assembly.py`` decides which member comes from where (the delta, the previous
backup, or the partial file of a cut transfer, ``resume.py``); this module copies each
member's compressed bytes as they are (``raw_zip``), inflating them on the way only to check
them against the manifest (size, sha256, rows, every row that dossier's) and against the
zip's own CRC-32. ``schema.sql``, ``load.sql`` and ``manifest.json`` are written last but
for the scripts. The file goes to the sink's temporary name; once written it is read back
(its sha256 must be that of the bytes written) and opened as a backup (zip directory,
members exactly the manifest's, the manifest the one written), and only then renamed to
its final name; anything that does not match leaves nothing under that name.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, Protocol, cast

from appliance.adapters.backup_reader import ZIP_ERRORS, MemberCheck, open_backup, open_zip
from appliance.adapters.raw_index import RawEntry, RawIndex, hashed, matches
from appliance.adapters.raw_zip import RawEntry as WrittenEntry
from appliance.adapters.raw_zip import RawZipWriter, read_raw
from appliance.adapters.resume import raw_blocks
from appliance.domain.assembly import AssembledSummary, AssemblyPlan, Origin, PlannedMember, plan_assembly
from appliance.domain.backup_format import MANIFEST_MEMBER, Opener, VerifiedBackup
from appliance.domain.delta_manifest import VerifiedDelta
from appliance.domain.salvage import Salvage
from appliance.errors import BadRequest

_INFLATED = 4 << 20
_READ = 4 << 20
__all__ = ["AssembledSummary", "StagedSink", "assemble_backup"]


class StagedSink(Protocol):
    """A file written under a temporary name and renamed once complete
    (``backups_store.StagedOnDisk``)."""

    name: str

    def writer(self) -> BinaryIO: ...

    def reader(self) -> BinaryIO: ...

    def commit(self) -> None: ...

    def discard(self) -> None: ...


def assemble_backup(
    previous: VerifiedBackup | None,
    delta: VerifiedDelta,
    sink: StagedSink,
    force_zip64: bool = False,
    salvaged: Sequence[Salvage] = (),
    previous_index: RawIndex | None = None,
    on_committed: Callable[[RawIndex], None] | None = None,
) -> AssembledSummary:
    """Write to ``sink`` the complete backup of ``delta``'s snapshot, the members of the
    dossiers it leaves out copied from what a cut transfer salvaged or from ``previous``,
    each member checked as it is copied; read it back and open it as a backup, then commit
    the sink and hand ``on_committed`` its raw index, taken as it was read back. Raises BadRequest (in French, naming the problem) and discards the sink when
    neither holds an unchanged dossier as the delta lists it, the schema versions differ,
    or any member read does not match its manifest."""
    started = time.monotonic()
    plan = plan_assembly(
        previous.manifest if previous is not None else None, delta.manifest, [s.dossiers for s in salvaged]
    )
    try:
        with sink.writer() as output:
            summed = _Summed(output)
            known: dict[str, str] = {}  # the copied members' sha256 of compressed bytes, checked
            writer = _write(plan, previous, delta, salvaged, cast(BinaryIO, summed), force_zip64, previous_index, known)
        raw_index = _check_written(sink, summed.crc, plan, writer.entries, known)
    except BadRequest as error:
        sink.discard()
        raise BadRequest(f"assemblage de {sink.name} refusé : {error}") from error
    except BaseException:
        sink.discard()
        raise
    sink.commit()
    if on_committed is not None:
        on_committed(raw_index)
    return AssembledSummary(
        name=sink.name,
        manifest=plan.manifest,
        from_delta=plan.dossiers_from(Origin.DELTA),
        from_previous=plan.dossiers_from(Origin.PREVIOUS),
        removed=sorted(
            {d.code for d in (previous.manifest.dossiers if previous is not None else [])}
            - {d.code for d in plan.manifest.dossiers}
        ),
        size=writer.offset,
        seconds=time.monotonic() - started,
        from_salvage=plan.dossiers_from(Origin.SALVAGED),
    )


class _Summed:
    """``output`` with a CRC-32 of every byte written to it. It guards the read-back against
    a disk or a cache that returns other bytes, not against an adversary: what an adversary
    could change is each member's content, and that was checked by sha256 as it went by."""

    def __init__(self, output: BinaryIO) -> None:
        self.output = output
        self.crc = 0

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.output.write(data)

    def flush(self) -> None:
        self.output.flush()


def _check_written(
    sink: StagedSink, written: int, plan: AssemblyPlan, entries: Sequence[WrittenEntry], known: dict[str, str]
) -> RawIndex:
    """The file on disk is, byte for byte, what was written (each member's content was
    checked as it went by), and it opens as the planned backup: its zip directory, its
    members exactly the manifest's with their sizes, the manifest itself. Reading it back is
    a CRC-32 pass over compressed bytes, not a second inflation of every member; the same
    pass hashes the compressed bytes of each member whose sha256 is not ``known`` already
    (copied by the previous backup's raw index) for the new raw index (``raw_index``)."""
    with sink.reader() as handle:
        crc, members = _read_back(handle, entries, known)
    if crc != written:
        raise BadRequest("le fichier écrit ne relit pas les octets écrits")
    if open_backup(sink.reader, name=sink.name).manifest != plan.manifest:
        raise BadRequest("le manifeste relu n'est pas celui qui a été écrit")
    return members


def _read_back(
    handle: BinaryIO, entries: Sequence[WrittenEntry], known: dict[str, str]
) -> tuple[int, dict[str, RawEntry]]:
    """One sequential read of the whole file: its CRC-32, and each written member's raw
    index entry (the sha256 of its compressed bytes, which lie between its header and the
    next one's: ``known``, or hashed here)."""
    spans = sorted(entries, key=lambda entry: entry.data_offset)
    members: dict[str, RawEntry] = {}
    crc = 0
    member = hashlib.sha256()
    position = index = 0
    while block := handle.read(_READ):
        crc = zlib.crc32(block, crc)
        start, position = position, position + len(block)
        view = memoryview(block)
        while index < len(spans) and spans[index].data_offset < position:
            entry = spans[index]
            name = entry.name.decode("utf-8")
            end = entry.data_offset + entry.compressed
            sha = known.get(name)
            if sha is None:
                member.update(view[max(entry.data_offset - start, 0) : min(end, position) - start])
            if end > position:
                break  # the member goes on in the next block
            members[name] = RawEntry(entry.crc, entry.compressed, entry.size, sha or member.hexdigest())
            if sha is None:
                member = hashlib.sha256()
            index += 1
    if index < len(spans):
        raise BadRequest("le fichier écrit est plus court que ce qui a été écrit")
    return crc, members


def _write(
    plan: AssemblyPlan,
    previous: VerifiedBackup | None,
    delta: VerifiedDelta,
    salvaged: Sequence[Salvage],
    output: BinaryIO,
    force_zip64: bool,
    previous_index: RawIndex | None,
    known: dict[str, str],
) -> RawZipWriter:
    writer = RawZipWriter(output, force_zip64)
    with contextlib.ExitStack() as stack:
        sources: dict[Origin, _Source] = {Origin.DELTA: _Source(stack, delta.opener, delta.name, "les changements")}
        if plan.from_origin(Origin.PREVIOUS) and previous is not None:
            sources[Origin.PREVIOUS] = _Source(
                stack, previous.opener, previous.name, "la sauvegarde précédente", previous_index, known
            )
        parts = [_PartialSource(stack, salvage) for salvage in salvaged]
        for member in plan.members:
            if member.origin is Origin.WRITTEN:
                writer.add_bytes(member.name, plan.scripts[member.name])
            elif member.origin is Origin.SALVAGED:
                parts[member.part].copy(member, writer)
            else:
                sources[member.origin].copy(member, writer)
    writer.add_bytes(MANIFEST_MEMBER, plan.manifest.to_json())
    writer.close()
    return writer


class _Source:
    """A zip members are copied from: its directory (``zipfile``) and a second reader of its
    file for the raw bytes."""

    def __init__(
        self,
        stack: contextlib.ExitStack[bool | None],
        opener: Opener,
        name: str,
        label: str,
        index: RawIndex | None = None,
        known: dict[str, str] | None = None,
    ) -> None:
        self.label = label
        self.index = index or {}
        self.known = known if known is not None else {}
        self.archive = stack.enter_context(open_zip(opener, name))
        self.handle = stack.enter_context(opener())

    def copy(self, member: PlannedMember, writer: RawZipWriter) -> None:
        """Copy ``member``'s compressed bytes, checked as they go by; raises BadRequest."""
        try:
            info = self.archive.getinfo(member.name)
        except KeyError as error:
            raise BadRequest(f"{member.name} manque dans {self.label}") from error
        if info.file_size != member.digest.size:
            raise BadRequest(
                f"{member.name} : {self.label} en déclare {info.file_size} octets, le manifeste {member.digest.size}"
            )
        try:
            raw = read_raw(self.handle, info)
            entry = self.index.get(member.name)
            indexed = entry if matches(entry, info) else None
            # Indexed: the bytes that verified, by their sha256; otherwise inflated and checked.
            blocks = hashed(raw, member.name, indexed.sha256) if indexed is not None else _checked(raw, info, member)
            writer.add(member.name, info.compress_type, info.CRC, info.compress_size, info.file_size, blocks)
            if indexed is not None:
                self.known[member.name] = indexed.sha256  # they hashed to it as they were written
        except ZIP_ERRORS as error:
            raise BadRequest(f"{member.name} ne peut être lu dans {self.label} : {error}") from error


class _PartialSource:
    """The partial file of a cut transfer, its salvaged members located by ``resume``."""

    def __init__(self, stack: contextlib.ExitStack[bool | None], salvage: Salvage) -> None:
        self.salvage = salvage
        self.handle = stack.enter_context(salvage.opener())

    def copy(self, member: PlannedMember, writer: RawZipWriter) -> None:
        location = self.salvage.locations.get(member.name)
        if location is None or location.size != member.digest.size:
            raise BadRequest(f"{member.name} manque dans le transfert interrompu {self.salvage.name}")
        info = zipfile.ZipInfo(member.name)
        info.compress_type, info.CRC = location.method, location.crc
        blocks = _checked(raw_blocks(self.handle, location), info, member)
        try:
            writer.add(member.name, location.method, location.crc, location.compressed, location.size, blocks)
        except ZIP_ERRORS as error:
            raise BadRequest(f"{member.name} ne peut être lu dans {self.salvage.name} : {error}") from error


def _checked(blocks: Iterator[bytes], info: zipfile.ZipInfo, member: PlannedMember) -> Iterator[bytes]:
    """``blocks`` passed through, while their inflated content is checked against the zip's
    CRC-32 and the manifest's digest once the last block went by."""
    check = MemberCheck(member.name, member.digest, member.dossier_id)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    crc = 0
    for block in blocks:
        pending = block
        while pending:  # inflated a bounded piece at a time: memory stays flat
            if inflater is None:
                data, pending = pending, b""
            else:
                data = inflater.decompress(pending, _INFLATED)
                pending = inflater.unconsumed_tail
            crc = zlib.crc32(data, crc)
            check.update(data)
        yield block
    if inflater is not None:
        tail = inflater.flush()
        crc = zlib.crc32(tail, crc)
        check.update(tail)
        if not inflater.eof or inflater.unused_data:
            raise BadRequest(f"{member.name} : le flux compressé ne se termine pas où le zip l'annonce")
    if crc != info.CRC:
        raise BadRequest(f"{member.name} : son CRC-32 ne correspond pas à celui du zip")
    check.finish()
