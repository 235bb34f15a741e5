"""The members of a zip cut short that arrived whole: the first step of resumable transfers
(issue 13, item 4; docs/backup-format.md, "Salvaging a cut transfer").

A backup or a delta is streamed by the central server as a zip written to a pipe, so each
member is a local file header without sizes (bit 3 of its flags), its deflated bytes, then a
data descriptor with its CRC-32 and sizes (8-byte sizes when the header carries a ZIP64
extra field); the central directory and ``manifest.json`` come last, so a cut transfer has
neither. A deflate stream ends by itself: inflating it, a bounded piece at a time, finds
where its compressed bytes stop, and the descriptor that follows must then give the CRC-32
and both sizes just computed. A member whose header, bytes or descriptor did not all arrive,
or disagree, ends the salvage there: nothing after it is trusted.

Each salvaged member is located (where its compressed bytes start in the partial file, how
many) so that it can be copied without recompressing (``raw_zip``) once its content has
been checked against what it claims to hold.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO

from appliance.domain.salvage import Salvaged

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50
_DESCRIPTOR_SIGNATURE = 0x08074B50
_ZIP64_EXTRA = 0x0001
_DESCRIPTOR_FLAG = 0x08
_ENCRYPTED_FLAG = 0x01
_BLOCK = 1 << 20
_INFLATED = 4 << 20
MAX_NAME = 4096


def salvage_members(handle: BinaryIO) -> list[Salvaged]:
    """The members of the partial zip ``handle`` reads (from its start) that arrived whole,
    in order; never raises for what the file holds, it stops at the first doubt."""
    found: list[Salvaged] = []
    position = 0
    while (member := _member_at(handle, position)) is not None:
        found.append(member[0])
        position = member[1]
    return found


def _member_at(handle: BinaryIO, position: int) -> tuple[Salvaged, int] | None:
    """The member whose local header starts at ``position`` and where the next one starts."""
    handle.seek(position)
    header = handle.read(_LOCAL.size)
    if len(header) < _LOCAL.size:
        return None
    signature, _, flags, method, _, _, crc, compressed, size, name_length, extra_length = _LOCAL.unpack(header)
    if signature != _LOCAL_SIGNATURE or flags & _ENCRYPTED_FLAG or name_length > MAX_NAME:
        return None
    raw_name = handle.read(name_length)
    extra = handle.read(extra_length)
    if len(raw_name) < name_length or len(extra) < extra_length:
        return None
    try:
        name = raw_name.decode("utf-8")
    except UnicodeDecodeError:
        return None
    data_offset = position + _LOCAL.size + name_length + extra_length
    if flags & _DESCRIPTOR_FLAG:
        if method != zipfile.ZIP_DEFLATED:
            return None  # a stored member of unknown size has no end to find
        measured = _inflate_to_end(handle, data_offset, None)
        if measured is None:
            return None
        crc, compressed, size = measured
        end = _descriptor_end(handle, data_offset + compressed, (crc, compressed, size), _has_zip64(extra))
        if end is None:
            return None
    else:
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        measured = (
            _inflate_to_end(handle, data_offset, compressed) if method else _stored(handle, data_offset, compressed)
        )
        if measured is None or measured != (crc, compressed, size):
            return None
        end = data_offset + compressed
    return Salvaged(name, method, crc, compressed, size, data_offset), end


def _has_zip64(extra: bytes) -> bool:
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == _ZIP64_EXTRA:
            return True
        at += 4 + length
    return False


def _inflate_to_end(handle: BinaryIO, start: int, limit: int | None) -> tuple[int, int, int] | None:
    """(CRC-32, compressed bytes, size) of the deflate stream at ``start``, or None when it
    does not end before the file does (or before ``limit`` compressed bytes)."""
    handle.seek(start)
    inflater = zlib.decompressobj(-15)
    crc = size = consumed = 0
    try:
        while not inflater.eof:
            wanted = _BLOCK if limit is None else min(_BLOCK, limit - consumed)
            block = handle.read(wanted) if wanted > 0 else b""
            if not block:
                return None
            consumed += len(block)
            pending = block
            while pending and not inflater.eof:
                data = inflater.decompress(pending, _INFLATED)
                crc, size = zlib.crc32(data, crc), size + len(data)
                pending = inflater.unconsumed_tail
            if inflater.eof:
                tail = inflater.flush()
                crc, size = zlib.crc32(tail, crc), size + len(tail)
                consumed -= len(inflater.unused_data)
    except zlib.error:
        return None
    if limit is not None and consumed != limit:
        return None
    return crc, consumed, size


def _stored(handle: BinaryIO, start: int, length: int) -> tuple[int, int, int] | None:
    handle.seek(start)
    crc = read = 0
    while read < length and (block := handle.read(min(_BLOCK, length - read))):
        crc, read = zlib.crc32(block, crc), read + len(block)
    return (crc, read, read) if read == length else None


def _descriptor_end(handle: BinaryIO, at: int, measured: tuple[int, int, int], zip64: bool) -> int | None:
    """Where the data descriptor at ``at`` ends, if it gives ``measured``; else None."""
    handle.seek(at)
    sizes = "QQ" if zip64 else "II"
    body = struct.Struct(f"<I{sizes}")
    raw = handle.read(4 + body.size)
    if len(raw) >= 4 and struct.unpack_from("<I", raw)[0] == _DESCRIPTOR_SIGNATURE:
        raw, skip = raw[4:], 4
    else:
        raw, skip = raw[: body.size], 0
    if len(raw) < body.size:
        return None
    crc, compressed, size = body.unpack(raw)
    if (crc, compressed, size) != measured:
        return None
    return at + skip + body.size
