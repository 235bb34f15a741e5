"""The raw index (adapters/raw_index.py) on a real backups directory: written for a listed
backup, used by the next assembly to check the copied members by the sha256 of their
compressed bytes (a damaged byte is still refused, named), ignored when it is not that
file's, removed with its backup."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import BinaryIO

import pytest

from appliance.adapters import backup_assembly, backups_store
from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.backups_store import FilesystemBackups
from appliance.adapters.delta_reader import verify_delta
from appliance.adapters.raw_index import build_index, read_index
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members, delta_members, zip_members

DOSSIERS = [Dossier(100001 + n, f"12000{n + 1}", 2, rows=50) for n in range(4)]
PREVIOUS, NEXT = "2026-12-01T02-00-00Z.zip", "2026-12-02T02-00-00Z.zip"


def _store(tmp_path: Path) -> FilesystemBackups:
    store = FilesystemBackups(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / PREVIOUS).write_bytes(zip_members(backup_members(DOSSIERS)))
    return store


def _delta() -> bytes:
    changed = [Dossier(d.id, d.code, d.revision + (d.code == "120002"), rows=d.rows) for d in DOSSIERS]
    return zip_members(delta_members(backup_members(changed), {"120002"}, []))


def _assemble(store: FilesystemBackups) -> None:
    previous = store.verify_data(store.data_opener(PREVIOUS), PREVIOUS, full=False)
    delta = verify_delta(lambda: io.BytesIO(_delta()))
    store.assemble_data(previous, delta, store.new_data(NEXT))


def _damage(path: Path, member: str) -> None:
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    lengths = raw[info.header_offset + 26 : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(lengths[:2], "little") + int.from_bytes(lengths[2:], "little")
    raw[start + info.compress_size // 2] ^= 0x40
    stat = path.stat()
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same size and time: the index still applies


def test_an_indexed_backup_is_copied_by_its_compressed_bytes_and_the_result_verifies(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.index_data(PREVIOUS)
    index = read_index(tmp_path / "data" / PREVIOUS, tmp_path / "data" / ".index" / f"{PREVIOUS}.json")
    assert index is not None and "dossiers/120001/tiers.tsv" in index
    _assemble(store)
    verify_backup(store.data_opener(NEXT), name=NEXT)
    assert [s.name for s in store.data_backups()] == [NEXT, PREVIOUS], "the index is not listed"


def test_a_byte_damaged_since_indexing_is_refused_by_its_sha256(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.index_data(PREVIOUS)
    _damage(tmp_path / "data" / PREVIOUS, "dossiers/120003/tiers.tsv")
    with pytest.raises(BadRequest, match=r"120003/tiers\.tsv : ses octets compressés ne sont plus ceux"):
        _assemble(store)
    assert not (tmp_path / "data" / NEXT).exists()


def test_without_an_index_the_copy_inflates_and_still_refuses_the_damage(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _damage(tmp_path / "data" / PREVIOUS, "dossiers/120003/tiers.tsv")
    with pytest.raises(BadRequest, match=r"120003/tiers\.tsv") as caught:
        _assemble(store)
    assert "octets compressés" not in str(caught.value), "the inflating check, not the index's"


def test_an_index_of_another_file_under_that_name_is_not_used_and_removal_takes_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.index_data(PREVIOUS)
    path = tmp_path / "data" / PREVIOUS
    path.write_bytes(zip_members(backup_members(DOSSIERS, created_at="2026-12-01T03:00:00Z")))
    assert read_index(path, tmp_path / "data" / ".index" / f"{PREVIOUS}.json") is None
    _assemble(store)  # copied by inflating: the file is not the one indexed
    verify_backup(store.data_opener(NEXT), name=NEXT)
    store.remove_data(PREVIOUS)
    assert not (tmp_path / "data" / ".index" / f"{PREVIOUS}.json").exists()


@pytest.mark.parametrize("block", [4 << 20, 7, 1000])
def test_the_assembly_writes_the_index_it_took_when_reading_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """The index written from the read-back pass is, entry for entry, the one a separate
    pass over the listed file builds, whether a member lies in one block read or spans
    several; the job's own indexing then keeps it."""
    monkeypatch.setattr(backup_assembly, "_READ", block)
    store = _store(tmp_path)
    store.index_data(PREVIOUS)
    _assemble(store)
    path, index_path = tmp_path / "data" / NEXT, tmp_path / "data" / ".index" / f"{NEXT}.json"
    taken = read_index(path, index_path)
    assert taken is not None and len(taken) == len(zipfile.ZipFile(path).namelist())
    build_index(path, tmp_path / "rebuilt.json")
    assert taken == read_index(path, tmp_path / "rebuilt.json")
    written = index_path.stat().st_mtime_ns
    store.index_data(NEXT)
    assert index_path.stat().st_mtime_ns == written, "an index that matches its backup is not built again"


def test_an_index_the_assembly_could_not_write_is_built_once_the_backup_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backups_store, "write_index", full_disk)
    _assemble(store)  # the backup is made all the same
    index_path = tmp_path / "data" / ".index" / f"{NEXT}.json"
    assert not index_path.exists()
    monkeypatch.undo()
    store.index_data(NEXT)
    assert read_index(tmp_path / "data" / NEXT, index_path) is not None


class _FlippingDisk:
    """A staged file whose reads return one byte other than was written (a failing disk or
    cache), at ``at`` bytes from the end."""

    def __init__(self, staged: backups_store.StagedOnDisk, at: int) -> None:
        self.staged, self.at, self.name = staged, at, staged.name

    def writer(self) -> BinaryIO:
        return self.staged.writer()

    def reader(self) -> BinaryIO:
        with self.staged.reader() as handle:
            raw = bytearray(handle.read())
        raw[len(raw) - self.at] ^= 0x01
        return io.BytesIO(bytes(raw))

    def commit(self) -> None:
        self.staged.commit()

    def discard(self) -> None:
        self.staged.discard()


@pytest.mark.parametrize("at", [1, 20_000])
def test_a_file_that_does_not_read_back_as_written_is_refused_and_not_listed(tmp_path: Path, at: int) -> None:
    """One bit flipped, in the end record or inside a copied member: the read-back's
    CRC-32 of the whole file catches it, and nothing is listed under the name."""
    store = _store(tmp_path)
    store.index_data(PREVIOUS)
    previous = store.verify_data(store.data_opener(PREVIOUS), PREVIOUS, full=False)
    delta = verify_delta(lambda: io.BytesIO(_delta()))
    with pytest.raises(BadRequest, match="le fichier écrit ne relit pas les octets écrits"):
        backup_assembly.assemble_backup(previous, delta, _FlippingDisk(store.new_data(NEXT), at))
    assert [s.name for s in store.data_backups()] == [PREVIOUS]
