"""Copying zip members without recompressing them (docs/backup-format.md, "Assembling a
complete backup from a delta").

Python's ``zipfile`` has no public way to write a member's compressed bytes as they are, so
this module holds a small writer of its own, following PKWARE's APPNOTE (4.3): for each
member a local file header with the CRC-32 and both sizes known in advance (no data
descriptor), the compressed bytes, then the central directory and its end record, with the
ZIP64 extra field and end records whenever a size, an offset or the entry count does not fit
the classic fields. It writes only what the backups use: stored or deflated members, UTF-8
names, Unix regular files (mode 0644).

``read_raw`` finds a member's compressed bytes in a zip that ``zipfile`` opened: the offset
of its local header comes from the central directory, the header's own name and extra
lengths give where the data starts.
"""

from __future__ import annotations

import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from appliance.errors import BadRequest

_LIMIT = 0xFFFFFFFF
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR = struct.Struct("<IIQI")
_SUPPORTED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_UTF8_FLAG = 0x800
_BLOCK = 1 << 20


@dataclass(frozen=True)
class RawEntry:
    """What the central directory records of a member already written."""

    name: bytes
    method: int
    crc: int
    compressed: int
    size: int
    offset: int
    dos_time: int
    dos_date: int
    flags: int
    data_offset: int  # where the compressed bytes start, after the local header


def dos_stamp(moment: time.struct_time) -> tuple[int, int]:
    """The MS-DOS time and date of ``moment`` (two-second resolution)."""
    year = max(moment.tm_year, 1980)
    return (
        moment.tm_hour << 11 | moment.tm_min << 5 | moment.tm_sec // 2,
        (year - 1980) << 9 | moment.tm_mon << 5 | moment.tm_mday,
    )


class RawZipWriter:
    """Writes a zip to ``output`` (positioned at its start) member by member, from
    compressed bytes and their CRC-32 and sizes; ``force_zip64`` writes the ZIP64 records
    for every member and the end, so tests exercise them on small files."""

    def __init__(self, output: BinaryIO, force_zip64: bool = False) -> None:
        self.output = output
        self.force_zip64 = force_zip64
        self.offset = 0
        self.entries: list[RawEntry] = []
        self.dos_time, self.dos_date = dos_stamp(time.gmtime())

    def _write(self, data: bytes) -> None:
        self.output.write(data)
        self.offset += len(data)

    def add(self, name: str, method: int, crc: int, compressed: int, size: int, blocks: Iterator[bytes]) -> None:
        """Write one member whose ``compressed`` bytes ``blocks`` yields; raises
        BadRequest when they are not as many as announced."""
        if method not in _SUPPORTED:
            raise BadRequest(f"{name} : méthode de compression {method} non prise en charge")
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        zip64 = self.force_zip64 or compressed >= _LIMIT or size >= _LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, compressed) if zip64 else b""
        header = _LOCAL.pack(
            0x04034B50,
            45 if zip64 else 20,
            flags,
            method,
            self.dos_time,
            self.dos_date,
            crc,
            _LIMIT if zip64 else compressed,
            _LIMIT if zip64 else size,
            len(encoded),
            len(extra),
        )
        entry = RawEntry(
            encoded,
            method,
            crc,
            compressed,
            size,
            self.offset,
            self.dos_time,
            self.dos_date,
            flags,
            self.offset + len(header) + len(encoded) + len(extra),
        )
        prefix = header + encoded + extra
        written = 0
        for block in blocks:
            written += len(block)
            self._write(prefix + block if prefix else block)  # one write for a small member
            prefix = b""
        if prefix:
            self._write(prefix)
        if written != compressed:
            raise BadRequest(f"{name} : {written} octets compressés copiés, {compressed} annoncés")
        self.entries.append(entry)

    def add_bytes(self, name: str, data: bytes, level: int = 6) -> None:
        """Deflate ``data`` (held in memory: a script, the manifest) and write it."""
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        self.add(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(packed), len(data), iter([packed]))

    def close(self) -> None:
        """Write the central directory and the end records (ZIP64 ones when needed)."""
        start = self.offset
        for entry in self.entries:
            self._write(self._central(entry))
        size = self.offset - start
        count = len(self.entries)
        if self.force_zip64 or count >= 0xFFFF or start >= _LIMIT or size >= _LIMIT:
            end64 = self.offset
            self._write(_END64.pack(0x06064B50, 44, 45 | 3 << 8, 45, 0, 0, count, count, size, start))
            self._write(_LOCATOR.pack(0x07064B50, 0, end64, 1))
            self._write(_END.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, _LIMIT, _LIMIT, 0))
        else:
            self._write(_END.pack(0x06054B50, 0, 0, count, count, size, start, 0))
        self.output.flush()

    def _central(self, entry: RawEntry) -> bytes:
        fields = []
        size, compressed, offset = entry.size, entry.compressed, entry.offset
        if self.force_zip64 or size >= _LIMIT:
            fields.append(size)
            size = _LIMIT
        if self.force_zip64 or compressed >= _LIMIT:
            fields.append(compressed)
            compressed = _LIMIT
        if self.force_zip64 or offset >= _LIMIT:
            fields.append(offset)
            offset = _LIMIT
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        version = 45 if fields else 20
        header = _CENTRAL.pack(
            0x02014B50,
            version | 3 << 8,  # made by Unix, so unzip applies the mode
            version,
            entry.flags,
            entry.method,
            entry.dos_time,
            entry.dos_date,
            entry.crc,
            compressed,
            size,
            len(entry.name),
            len(extra),
            0,
            0,
            0,
            (stat.S_IFREG | 0o644) << 16,
            offset,
        )
        return header + entry.name + extra


def read_raw(handle: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The compressed bytes of ``info``'s member, read from ``handle`` (the zip's file) in
    blocks; raises BadRequest when its local header is not where and what it should be."""
    if info.compress_type not in _SUPPORTED or info.flag_bits & 0x1:
        raise BadRequest(f"{info.filename} : membre chiffré ou compressé autrement que par deflate")
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL.size)
    if len(header) != _LOCAL.size or _LOCAL.unpack(header)[0] != 0x04034B50:
        raise BadRequest(f"{info.filename} : en-tête local introuvable")
    fields = _LOCAL.unpack(header)
    truncated = f"{info.filename} : les données compressées sont tronquées"
    small = info.compress_size <= _BLOCK
    # A small member (nearly all of them) is read with its name in one call.
    rest = handle.read(fields[9] + fields[10] + info.compress_size if small else fields[9])
    name = rest[: fields[9]]
    if name.decode("utf-8", "replace") != info.filename and name.decode("cp437") != info.filename:
        raise BadRequest(f"{info.filename} : l'en-tête local nomme un autre membre")
    if not small:
        handle.seek(fields[10], 1)
        yield from read_span(handle, handle.tell(), info.compress_size, truncated)
        return
    data = rest[fields[9] + fields[10] :]
    if len(data) != info.compress_size:
        raise BadRequest(truncated)
    if data:
        yield data


def read_span(handle: BinaryIO, start: int, length: int, truncated: str) -> Iterator[bytes]:
    """``length`` bytes of ``handle`` from ``start``, in blocks; BadRequest(``truncated``)
    when the file ends first."""
    handle.seek(start)
    remaining = length
    while remaining:
        block = handle.read(min(_BLOCK, remaining))
        if not block:
            raise BadRequest(truncated)
        remaining -= len(block)
        yield block
