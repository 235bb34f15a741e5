"""A complete backup assembled from a full export A and the delta since A (``v1 export-changes``)
against the real endpoint and MariaDB: it verifies alone, it is member for member the full
export B of the same snapshot (the manifest differs only by ``created_at``), and it restores
with stock ``unzip`` + ``mariadb`` into the same rows as B; the previous backup's members are
copied compressed as they are. A damaged or unsuitable previous backup is refused with nothing
left under the final name. A real export cut at 90 % resumes into the full export."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.backup_assembly import assemble_backup
from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.backups_store import StagedOnDisk
from appliance.adapters.delta_reader import verify_delta
from appliance.adapters.resume import salvage
from appliance.errors import BadRequest
from tests.integration.conftest import USER_PASSWORD, Central
from tests.integration.test_export import _restore_with_stock_tools
from tests.support import oracle

pytestmark = pytest.mark.integration
ADDED = "ASSEMB1"


def _export(central: Central, target: Path, *codes: str) -> Path:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, " ".join(("v1", "export", *codes)))
    assert result.returncode == 0, result.stderr.decode()
    target.write_bytes(result.stdout)
    return target


def _delta(central: Central, previous: Path, target: Path) -> Path:
    held = {d.code: {"id": d.id, "revision": d.revision} for d in verify_backup(previous).manifest.dossiers}
    document = json.dumps({"dossiers": held}).encode()
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=document)
    assert result.returncode == 0, result.stderr.decode()
    target.write_bytes(result.stdout)
    return target


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return dict(json.loads(archive.read("manifest.json")))


def _raw(path: Path, name: str) -> bytes:
    """A member's compressed bytes, located through the local header."""
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        info = archive.getinfo(name)
        handle.seek(info.header_offset + 26)
        skip = int.from_bytes(handle.read(2), "little") + int.from_bytes(handle.read(2), "little")
        handle.seek(skip, 1)
        return handle.read(info.compress_size)


@pytest.fixture()
def changed_rights(central: Central) -> Iterator[tuple[int, str]]:
    """On the central server: a new dossier, not yet in resp.fd12's rights (``_grant``), and
    the dossier the test takes out of them (both put back afterwards); yields (new dossier's
    id, the code of the one to take away)."""
    connection = central.root_connection()
    schema = central.schema
    (new_id,) = oracle.query(connection, f"SELECT MAX(id) + 2000 FROM `{schema}`.dossier")[0]
    oracle.query(
        connection,
        f"INSERT INTO `{schema}`.dossier SELECT %s, centre_code, %s, NULL, 'Dossier assemblé', type, 0, 0, 0,"
        f" base_reference_id, 4, modifie_le FROM `{schema}`.dossier WHERE centre_code = 'FD12' ORDER BY id LIMIT 1",
        (new_id, ADDED),
    )
    (user_id,) = oracle.query(connection, f"SELECT id FROM `{schema}`.utilisateur WHERE login = 'resp.fd12'")[0]
    mine = oracle.dossiers_of(connection, schema, "resp.fd12")
    removed_id, removed_code = sorted(mine, key=lambda d: d[1])[-2]
    right = oracle.query(
        connection,
        f"SELECT * FROM `{schema}`.droit_dossier WHERE utilisateur_id = %s AND dossier_id = %s",
        (user_id, removed_id),
    )
    try:
        yield int(new_id), removed_code
    finally:
        oracle.query(connection, f"DELETE FROM `{schema}`.droit_dossier WHERE dossier_id = %s", (new_id,))
        oracle.query(connection, f"DELETE FROM `{schema}`.dossier WHERE id = %s", (new_id,))
        for row in right:
            oracle.query(connection, f"REPLACE INTO `{schema}`.droit_dossier VALUES (%s, %s, %s)", tuple(row))
        connection.close()


def _grant(central: Central, dossier_id: int) -> None:
    connection = central.root_connection()
    oracle.query(
        connection,
        f"INSERT INTO `{central.schema}`.droit_dossier SELECT id, %s, 'ecriture' FROM `{central.schema}`.utilisateur"
        " WHERE login = 'resp.fd12'",
        (dossier_id,),
    )
    connection.close()


def _take_rights_away(central: Central, code: str) -> None:
    connection = central.root_connection()
    oracle.query(
        connection,
        f"DELETE FROM `{central.schema}`.droit_dossier"
        f" WHERE dossier_id = (SELECT id FROM `{central.schema}`.dossier WHERE code = %s)"
        f" AND utilisateur_id = (SELECT id FROM `{central.schema}`.utilisateur WHERE login = 'resp.fd12')",
        (code,),
    )
    connection.close()


def _change(central: Central, code: str) -> None:
    connection = central.root_connection()
    schema = central.schema
    oracle.query(connection, f"UPDATE `{schema}`.dossier SET revision = revision + 1 WHERE code = %s", (code,))
    oracle.query(
        connection,
        f"UPDATE `{schema}`.tiers t JOIN `{schema}`.dossier d ON d.id = t.dossier_id"
        " SET t.nom = CONCAT(t.nom, ' (assemblé)') WHERE d.code = %s",
        (code,),
    )
    connection.close()


def test_the_assembled_backup_is_the_full_export_of_the_same_snapshot(
    central: Central, changed_rights: tuple[int, str], tmp_path: Path
) -> None:
    added_id, removed = changed_rights
    a = _export(central, tmp_path / "a.zip")
    codes = [d["code"] for d in _manifest(a)["dossiers"]]
    assert ADDED not in codes and removed in codes
    changed = next(code for code in codes if code != removed)
    _change(central, changed)
    _grant(central, added_id)
    _take_rights_away(central, removed)
    delta = verify_delta(_delta(central, a, tmp_path / "delta.zip"))
    b = _export(central, tmp_path / "b.zip")
    sink = StagedOnDisk(tmp_path / "data" / "2026-12-02T02-00-00Z.zip")
    summary = assemble_backup(verify_backup(a), delta, sink)
    c = sink.final
    assert summary.from_delta == sorted([changed, ADDED]) and summary.removed == [removed]
    assert sorted(summary.from_previous) == sorted(set(codes) - {changed, removed})
    verify_backup(c)
    made, full = _manifest(c), _manifest(b)
    assert made.pop("created_at") and full.pop("created_at")
    assert made == full
    with zipfile.ZipFile(c) as mine, zipfile.ZipFile(b) as theirs:
        assert mine.namelist() == theirs.namelist()
        for name in mine.namelist():
            if name != "manifest.json":
                assert mine.read(name) == theirs.read(name), name
    unchanged = f"dossiers/{summary.from_previous[0]}/ecriture_ligne.tsv"
    assert _raw(c, unchanged) == _raw(a, unchanged)  # copied compressed, not recompressed
    new = f"dossiers/{changed}/tiers.tsv"
    assert _raw(c, new) == _raw(tmp_path / "delta.zip", new)  # the delta's members likewise
    for workdir in ("c", "b"):
        (tmp_path / workdir).mkdir()
    _restore_with_stock_tools(central, c, "assembled_c", tmp_path / "c")
    _restore_with_stock_tools(central, b, "assembled_b", tmp_path / "b")
    connection = central.root_connection()
    restored = oracle.whole_schema_oracle(connection, "assembled_c")
    assert restored == oracle.whole_schema_oracle(connection, "assembled_b")
    ids = [d["id"] for d in full["dossiers"]]
    assert oracle.dossier_oracles(connection, "assembled_c", ids) == oracle.dossier_oracles(
        connection, central.schema, ids
    )
    connection.close()


def test_a_previous_backup_damaged_since_it_was_verified_is_refused_and_nothing_is_written(
    central: Central, tmp_path: Path
) -> None:
    a = _export(central, tmp_path / "a.zip")
    verified = verify_backup(a)
    delta = verify_delta(_delta(central, a, tmp_path / "delta.zip"))
    victim = f"dossiers/{verified.manifest.dossiers[0].code}/ecriture_ligne.tsv"
    raw = bytearray(a.read_bytes())
    with zipfile.ZipFile(a) as archive:
        info = archive.getinfo(victim)
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2] ^= 0x55
    a.write_bytes(bytes(raw))
    sink = StagedOnDisk(tmp_path / "data" / "c.zip")
    with pytest.raises(BadRequest, match=f"assemblage de c.zip refusé : {victim}"):
        assemble_backup(verified, delta, sink)
    assert not sink.final.exists() and not sink.temporary.exists()


def test_a_previous_backup_without_an_unchanged_dossier_is_refused(central: Central, tmp_path: Path) -> None:
    a = _export(central, tmp_path / "a.zip")
    codes = [d.code for d in verify_backup(a).manifest.dossiers]
    delta = verify_delta(_delta(central, a, tmp_path / "delta.zip"))
    partial = verify_backup(_export(central, tmp_path / "one.zip", codes[0]))
    sink = StagedOnDisk(tmp_path / "data" / "c.zip")
    with pytest.raises(BadRequest, match=f"le dossier {codes[1]} est inchangé .* absent de la sauvegarde précédente"):
        assemble_backup(partial, delta, sink)
    assert not sink.final.exists() and not sink.temporary.exists()


def test_a_real_export_cut_at_90_percent_resumes_into_the_full_export(central: Central, tmp_path: Path) -> None:
    """The real server's streamed zip (data descriptors, ZIP64 sizes) cut at 90 %: the whole
    dossiers before the cut are salvaged, sent as held, and the assembled backup, with no
    previous one, is member for member the full export; the link carried the rest only."""
    full = _export(central, tmp_path / "full.zip")
    data = full.read_bytes()
    partial = tmp_path / "partial.zip.part"
    partial.write_bytes(data[: len(data) * 9 // 10])
    found = salvage(partial.name, lambda: partial.open("rb"))
    dossiers = _manifest(full)["dossiers"]
    assert 0 < len(found.dossiers) < len(dossiers)
    assert {c: (e.id, e.revision) for c, e in found.dossiers.items()} == {
        d["code"]: (d["id"], d["revision"]) for d in dossiers if d["code"] in found.dossiers
    }
    held = {code: {"id": e.id, "revision": e.revision} for code, e in found.dossiers.items()}
    result = central.ssh.ssh(
        "resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=json.dumps({"dossiers": held}).encode()
    )
    assert result.returncode == 0, result.stderr.decode()
    (tmp_path / "rest.zip").write_bytes(result.stdout)
    assert len(result.stdout) < len(data) * 0.25, "only the rest crossed the link"
    sink = StagedOnDisk(tmp_path / "data" / "2026-12-02T02-00-00Z.zip")
    summary = assemble_backup(None, verify_delta(tmp_path / "rest.zip"), sink, salvaged=[found])
    assert sorted(summary.from_salvage) == sorted(found.dossiers) and summary.from_previous == []
    verify_backup(sink.final)
    made, expected = _manifest(sink.final), _manifest(full)
    assert made.pop("created_at") and expected.pop("created_at")
    assert made == expected
    with zipfile.ZipFile(sink.final) as mine, zipfile.ZipFile(full) as theirs:
        assert mine.namelist() == theirs.namelist()
        for name in mine.namelist():
            if name != "manifest.json":
                assert mine.read(name) == theirs.read(name), name
    victim = tmp_path / "damaged.zip.part"
    raw = bytearray(partial.read_bytes())
    first = found.locations[f"dossiers/{sorted(found.dossiers)[0]}/tiers.tsv"]
    raw[first.data_offset + first.compressed // 2] ^= 0x55
    victim.write_bytes(bytes(raw))
    damaged = salvage(victim.name, lambda: victim.open("rb"))
    assert sorted(found.dossiers)[0] not in damaged.dossiers, "salvage stops at the damaged member"
