"""Salvaging the members of a zip cut short (adapters/salvage.py): a zip streamed to a pipe
as the central server writes it (data descriptors, ZIP64 sizes for the large members) and
one written to a file (sizes in the headers), cut at every point of interest and at seeded
random ones: exactly the members wholly before the cut, each with the CRC-32, sizes and
bytes of the original; a damaged byte ends the salvage at that member."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile

import pytest

from appliance.adapters.salvage import salvage_members
from appliance.domain.salvage import partials_to_keep


class _Pipe(io.RawIOBase):
    """A write-only stream that cannot seek, as the server's stdout."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.data += data
        return len(data)


def _members(seed: int = 3) -> dict[str, bytes]:
    chance = random.Random(seed)
    members = {"schema.sql": b"CREATE TABLE t (a INT);\n" * 40, "centre/centre.tsv": b"FD12\tFDCUMA\n"}
    for n in range(6):
        rows = b"".join(f"{100000 + n}\t{i}\t{chance.random()}\n".encode() for i in range(chance.randint(0, 3000)))
        members[f"dossiers/12000{n}/tiers.tsv"] = rows
    members["dossiers/120009/empty.tsv"] = b""
    return members


def _streamed(members: dict[str, bytes]) -> bytes:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # type: ignore[arg-type]
        for n, (name, data) in enumerate(members.items()):
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED  # as the server's writer sets it
            with archive.open(info, "w", force_zip64=n % 2 == 0) as handle:
                handle.write(data)
        archive.writestr("manifest.json", b"{}")
    return bytes(pipe.data)


def _written(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if "centre" in name else zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _ends(whole: bytes) -> list[tuple[str, int]]:
    """Each member's name and the offset its bytes (descriptor included) end at."""
    found = salvage_members(io.BytesIO(whole))
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        infos = archive.infolist()
        directory = archive.start_dir  # type: ignore[attr-defined]
    offsets = [info.header_offset for info in infos[1:]] + [directory]
    return [(member.name, offsets[n]) for n, member in enumerate(found)]


@pytest.mark.parametrize("build", [_streamed, _written])
def test_a_whole_zip_gives_every_member_with_its_crc_sizes_and_bytes(build: object) -> None:
    members = _members()
    whole = build(members)  # type: ignore[operator]
    found = salvage_members(io.BytesIO(whole))
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for member in found:
            info = infos[member.name]
            assert (member.crc, member.compressed, member.size, member.method) == (
                info.CRC,
                info.compress_size,
                info.file_size,
                info.compress_type,
            )
            raw = whole[member.data_offset : member.data_offset + member.compressed]
            if member.method == zipfile.ZIP_DEFLATED:
                assert zipfile._get_decompressor(zipfile.ZIP_DEFLATED).decompress(raw) == archive.read(member.name)  # type: ignore[attr-defined]
        assert [m.name for m in found] == archive.namelist()


@pytest.mark.parametrize("build", [_streamed, _written])
def test_a_cut_anywhere_gives_exactly_the_members_wholly_before_it(build: object) -> None:
    members = _members()
    whole = build(members)  # type: ignore[operator]
    ends = _ends(whole)
    chance = random.Random(20261202)
    cuts = {0, 1, 29, 30, len(whole) - 1, len(whole)}
    cuts |= {end + delta for _, end in ends for delta in (-17, -1, 0, 1, 31)}
    cuts |= {chance.randrange(len(whole)) for _ in range(300)}
    for cut in sorted(c for c in cuts if 0 <= c <= len(whole)):
        found = [m.name for m in salvage_members(io.BytesIO(whole[:cut]))]
        assert found == [name for name, end in ends if end <= cut], cut


def test_a_damaged_byte_ends_the_salvage_at_that_member() -> None:
    members = _members()
    whole = bytearray(_streamed(members))
    found = salvage_members(io.BytesIO(bytes(whole)))
    victim = next(m for m in found if m.name.startswith("dossiers/") and m.compressed > 100)
    whole[victim.data_offset + victim.compressed // 2] ^= 0xFF
    again = [m.name for m in salvage_members(io.BytesIO(bytes(whole)))]
    assert again == [m.name for m in found[: found.index(victim)]]


@pytest.mark.parametrize("garbage", [b"", b"PK", b"not a zip at all" * 10, b"PK\x03\x04" + b"\xff" * 40])
def test_what_is_not_a_zip_gives_nothing(garbage: bytes) -> None:
    assert salvage_members(io.BytesIO(garbage)) == []


def test_the_three_newest_partial_files_of_the_last_day_are_kept() -> None:
    now = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
    found = {f"p{n}": now - dt.timedelta(hours=n) for n in (1, 2, 3, 4)} | {"old": now - dt.timedelta(hours=25)}
    assert partials_to_keep(found, now, dt.timedelta(hours=24)) == (["p1", "p2", "p3"], ["p4", "old"])
    assert partials_to_keep({"old": found["old"]}, now, dt.timedelta(hours=24)) == ([], ["old"])
