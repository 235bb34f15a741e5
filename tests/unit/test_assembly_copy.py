"""A complete backup assembled from the previous one and a delta, the previous members
copied without recompressing (adapters.backup_assembly, adapters.raw_zip)."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from appliance.adapters.backup_assembly import assemble_backup
from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.backups_store import StagedOnDisk
from appliance.adapters.delta_reader import verify_delta
from appliance.adapters.raw_zip import RawZipWriter, read_raw
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members, delta_members, zip_members

BEFORE = [Dossier(1, "120001", 5), Dossier(2, "120002", 8), Dossier(9, "120009", 1)]
AFTER = [Dossier(1, "120001", 5), Dossier(2, "120002", 9, rows=3), Dossier(3, "120003", 0)]


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    previous, delta = tmp_path / "previous.zip", tmp_path / "delta.zip"
    previous.write_bytes(zip_members(backup_members(BEFORE, created_at="2026-11-27T02:00:00Z")))
    after = backup_members(AFTER)
    delta.write_bytes(zip_members(delta_members(after, {"120002", "120003"}, ["120009"])))
    return previous, delta, after


def test_the_assembled_backup_is_the_full_one_with_the_previous_compressed_bytes_copied(
    files: tuple[Path, Path, dict[str, bytes]], tmp_path: Path
) -> None:
    previous, delta, after = files
    sink = StagedOnDisk(tmp_path / "data" / "2026-11-28T12-00-00Z.zip")
    summary = assemble_backup(verify_backup(previous), verify_delta(delta), sink)
    assert (summary.from_previous, summary.from_delta, summary.removed) == (
        ["120001"],
        ["120002", "120003"],
        ["120009"],
    )
    assert summary.size == sink.final.stat().st_size and not sink.temporary.exists()
    verify_backup(sink.final)
    with zipfile.ZipFile(sink.final) as made, zipfile.ZipFile(previous) as old:
        assert made.namelist() == list(after) and made.testzip() is None
        assert {n: made.read(n) for n in made.namelist()} == after
        with previous.open("rb") as raw_old, sink.final.open("rb") as raw_new:
            for name in (n for n in made.namelist() if n.startswith("dossiers/120001/")):
                assert _raw(raw_new, made.getinfo(name)) == _raw(raw_old, old.getinfo(name))
        assert all(i.external_attr >> 16 == 0o100644 and i.create_system == 3 for i in made.infolist())


def _raw(handle: io.BufferedReader, info: zipfile.ZipInfo) -> bytes:
    handle.seek(info.header_offset + 26)
    name_length, extra_length = int.from_bytes(handle.read(2), "little"), int.from_bytes(handle.read(2), "little")
    handle.seek(name_length + extra_length, 1)
    return handle.read(info.compress_size)


def test_zip64_records_are_read_by_zipfile_and_by_stock_unzip(
    files: tuple[Path, Path, dict[str, bytes]], tmp_path: Path
) -> None:
    previous, delta, after = files
    sink = StagedOnDisk(tmp_path / "zip64.zip")
    assemble_backup(verify_backup(previous), verify_delta(delta), sink, force_zip64=True)
    with zipfile.ZipFile(sink.final) as made:
        assert {n: made.read(n) for n in made.namelist()} == after
    with sink.final.open("rb") as handle:
        assert b"PK\x06\x06" in handle.read()  # the ZIP64 end record is there
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(sink.final)], capture_output=True).returncode == 0


def test_a_corrupted_previous_backup_is_refused_and_nothing_is_left(
    files: tuple[Path, Path, dict[str, bytes]], tmp_path: Path
) -> None:
    previous, delta, _ = files
    verified = verify_backup(previous)
    raw = bytearray(previous.read_bytes())
    with zipfile.ZipFile(previous) as archive:
        info = archive.getinfo("dossiers/120001/tiers.tsv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 2] ^= 0xFF  # a byte of the compressed data, after it was verified
    previous.write_bytes(bytes(raw))
    sink = StagedOnDisk(tmp_path / "data" / "c.zip")
    with pytest.raises(BadRequest, match=r"assemblage de c.zip refusé : dossiers/120001/tiers.tsv"):
        assemble_backup(verified, verify_delta(delta), sink)
    assert not sink.final.exists() and not sink.temporary.exists()


def test_a_member_shorter_than_announced_is_refused() -> None:
    writer = RawZipWriter(io.BytesIO())
    with pytest.raises(BadRequest, match="3 octets compressés copiés, 4 annoncés"):
        writer.add("x", zipfile.ZIP_STORED, 0, 4, 4, iter([b"abc"]))
    with pytest.raises(BadRequest, match="méthode de compression"):
        writer.add("x", zipfile.ZIP_BZIP2, 0, 0, 0, iter([]))


def _stored_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_read_raw_gives_a_small_member_whole_and_a_large_one_in_blocks(tmp_path: Path) -> None:
    large = bytes(range(256)) * (5 << 12)  # 5 MiB stored: over the 1 MiB of one read
    _stored_zip(tmp_path / "m.zip", {"small.tsv": b"a\tb\n", "large.tsv": large, "empty.tsv": b""})
    with zipfile.ZipFile(tmp_path / "m.zip") as archive, (tmp_path / "m.zip").open("rb") as handle:
        assert list(read_raw(handle, archive.getinfo("small.tsv"))) == [b"a\tb\n"]
        blocks = list(read_raw(handle, archive.getinfo("large.tsv")))
        assert len(blocks) == 5 and b"".join(blocks) == large
        assert list(read_raw(handle, archive.getinfo("empty.tsv"))) == []


def test_read_raw_refuses_a_cut_file_and_a_header_naming_another_member(tmp_path: Path) -> None:
    _stored_zip(tmp_path / "m.zip", {"one.tsv": b"1" * 100, "two.tsv": b"2" * 100})
    with zipfile.ZipFile(tmp_path / "m.zip") as archive:
        one, two = archive.getinfo("one.tsv"), archive.getinfo("two.tsv")
    raw = (tmp_path / "m.zip").read_bytes()
    cut = io.BytesIO(raw[: one.header_offset + 30 + len("one.tsv") + 60])
    with pytest.raises(BadRequest, match=r"one\.tsv : les données compressées sont tronquées"):
        list(read_raw(cut, one))
    with pytest.raises(BadRequest, match=r"two\.tsv : l'en-tête local nomme un autre membre"):
        list(read_raw(io.BytesIO(raw.replace(b"two.tsv", b"owt.tsv", 1)), two))
