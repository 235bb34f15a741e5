"""``v1 export-changes`` against the real endpoint and MariaDB: the delta holds the members of
exactly the dossiers whose revision differs from what the guardian sent, lists every dossier
in rights, names the ones that left, and refuses a bad document with nothing exported. The
zips are read with zipfile and json only (the oracle), and once through the adapters."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle

pytestmark = pytest.mark.integration
NEW_CODE = "DELTA01"


def _full(central: Central, *codes: str) -> zipfile.ZipFile:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, " ".join(("v1", "export", *codes)))
    assert result.returncode == 0, result.stderr.decode()
    return zipfile.ZipFile(io.BytesIO(result.stdout))


def _held(archive: zipfile.ZipFile) -> dict[str, dict[str, int]]:
    """What a guardian holding this full backup sends."""
    manifest = json.loads(archive.read("manifest.json"))
    return {d["code"]: {"id": d["id"], "revision": d["revision"]} for d in manifest["dossiers"]}


def _delta_bytes(central: Central, held: dict[str, dict[str, int]]) -> bytes:
    document = json.dumps({"dossiers": held}).encode()
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=document)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def _delta(central: Central, held: dict[str, dict[str, int]]) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(_delta_bytes(central, held)))
    assert archive.testzip() is None and archive.namelist()[-1] == "manifest.json"
    return archive


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    return dict(json.loads(archive.read("manifest.json")))


def _dossier_dirs(archive: zipfile.ZipFile) -> set[str]:
    return {name.split("/")[1] for name in archive.namelist() if name.startswith("dossiers/")}


def _revisions_in_db(central: Central) -> dict[str, int]:
    connection = central.root_connection()
    rows = oracle.query(
        connection,
        f"SELECT d.code, d.revision FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r"
        f" ON r.dossier_id = d.id JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id"
        " WHERE u.login = 'resp.fd12'",
    )
    connection.close()
    return {str(code): int(revision) for code, revision in rows}


def test_with_every_revision_current_no_dossier_member_crosses_and_every_dossier_is_listed(
    central: Central, tmp_path: Path
) -> None:
    from appliance.adapters.backup_reader import verify_backup
    from appliance.adapters.delta_reader import verify_delta
    from appliance.errors import BadRequest

    full = _full(central)
    raw = _delta_bytes(central, _held(full))
    delta = zipfile.ZipFile(io.BytesIO(raw))
    manifest = _manifest(delta)
    assert manifest["format"] == "neocuma-data-changes" and manifest["removed"] == []
    assert _dossier_dirs(delta) == set()
    assert {d["code"]: d["revision"] for d in manifest["dossiers"]} == _revisions_in_db(central)
    assert not any(d["included"] or "tables" in d for d in manifest["dossiers"])
    # The centre-scope tables are whole, byte for byte what the full export holds.
    centre = sorted(name for name in full.namelist() if name.startswith("centre/"))
    assert sorted(name for name in delta.namelist() if name.startswith("centre/")) == centre
    assert all(delta.read(name) == full.read(name) for name in centre)
    assert "schema.sql" not in delta.namelist() and "load.sql" not in delta.namelist()
    path = tmp_path / "delta.zip"
    path.write_bytes(raw)
    assert len(verify_delta(path).manifest.dossiers) == len(manifest["dossiers"])
    with pytest.raises(BadRequest, match="not a complete backup"):
        verify_backup(path)


def test_a_changed_dossier_crosses_alone_with_the_rows_a_full_export_gives(central: Central) -> None:
    held = _held(_full(central))
    code = sorted(held)[1]
    connection = central.root_connection()
    oracle.query(connection, f"UPDATE `{central.schema}`.dossier SET revision = revision + 1 WHERE code = %s", (code,))
    oracle.query(
        connection,
        f"UPDATE `{central.schema}`.tiers SET nom = CONCAT(nom, ' (modifié)') WHERE dossier_id = %s LIMIT 1",
        (held[code]["id"],),
    )
    connection.close()
    delta = _delta(central, held)
    assert _dossier_dirs(delta) == {code}
    manifest = _manifest(delta)
    assert [d["code"] for d in manifest["dossiers"] if d["included"]] == [code]
    entry = next(d for d in manifest["dossiers"] if d["code"] == code)
    assert entry["revision"] == held[code]["revision"] + 1 == _revisions_in_db(central)[code]
    full = _full(central, code)
    members = sorted(name for name in full.namelist() if name.startswith(f"dossiers/{code}/"))
    assert sorted(name for name in delta.namelist() if name.startswith("dossiers/")) == members
    for name in members:
        assert delta.read(name) == full.read(name), name
    full_entry = _manifest(full)["dossiers"][0]
    assert entry["tables"] == full_entry["tables"] and entry["id"] == full_entry["id"]


@pytest.fixture()
def new_dossier(central: Central) -> Iterator[int]:
    """A dossier added on the central server with rights for resp.fd12 (removed afterwards)."""
    connection = central.root_connection()
    schema = central.schema
    (new_id,) = oracle.query(connection, f"SELECT MAX(id) + 1000 FROM `{schema}`.dossier")[0]
    oracle.query(
        connection,
        f"INSERT INTO `{schema}`.dossier SELECT %s, centre_code, %s, NULL, 'Dossier du delta', type, 0, 0, 0,"
        f" base_reference_id, 3, modifie_le FROM `{schema}`.dossier WHERE centre_code = 'FD12' ORDER BY id LIMIT 1",
        (new_id, NEW_CODE),
    )
    oracle.query(
        connection,
        f"INSERT INTO `{schema}`.droit_dossier SELECT id, %s, 'ecriture' FROM `{schema}`.utilisateur"
        " WHERE login = 'resp.fd12'",
        (new_id,),
    )
    try:
        yield int(new_id)
    finally:
        oracle.query(connection, f"DELETE FROM `{schema}`.droit_dossier WHERE dossier_id = %s", (new_id,))
        oracle.query(connection, f"DELETE FROM `{schema}`.dossier WHERE id = %s", (new_id,))
        connection.close()


def test_new_dossiers_cross_and_those_that_left_the_rights_or_were_deleted_are_named(
    central: Central, new_dossier: int
) -> None:
    held = _held(_full(central))
    assert NEW_CODE in held
    connection = central.root_connection()
    (outside,) = oracle.query(
        connection,
        f"SELECT code FROM `{central.schema}`.dossier WHERE centre_code = 'FD12' AND type = 'Societe' LIMIT 1",
    )[0]
    connection.close()
    unknown_to_guardian = sorted(held)[0]
    other_id = sorted(held)[2]  # same code and revision, another ID système: not the same dossier
    sent = {code: value for code, value in held.items() if code != unknown_to_guardian}
    sent[other_id] = {"id": held[other_id]["id"] + 1_000_000, "revision": held[other_id]["revision"]}
    sent[str(outside)] = {"id": 1, "revision": 1}
    sent["999999"] = {"id": 999999, "revision": 7}
    delta = _delta(central, sent)
    assert _dossier_dirs(delta) == {unknown_to_guardian, other_id}
    assert _manifest(delta)["removed"] == sorted([str(outside), "999999"])
    # The dossier is deleted on the central server: the guardian holding it is told.
    connection = central.root_connection()
    oracle.query(connection, f"DELETE FROM `{central.schema}`.droit_dossier WHERE dossier_id = %s", (new_dossier,))
    oracle.query(connection, f"DELETE FROM `{central.schema}`.dossier WHERE id = %s", (new_dossier,))
    connection.close()
    after = _manifest(_delta(central, held))
    assert after["removed"] == [NEW_CODE] and NEW_CODE not in {d["code"] for d in after["dossiers"]}
    assert not any(d["included"] for d in after["dossiers"])


@pytest.mark.parametrize(
    ("document", "code", "words"),
    [
        (b"", "bad_request", "attendu sur l'entrée"),
        (b"{not json", "bad_request", "JSON illisible"),
        (b'{"dossiers": []}', "bad_request", "est attendu"),
        (b'{"dossiers": {"120001": {"id": 1, "revision": -1}}}', "bad_request", "entier positif"),
        (b'{"dossiers": {"../x": {"id": 1, "revision": 1}}}', "bad_request", "code de dossier invalide"),
        (b'{"dossiers": {}}' + b" " * 300_000, "request_too_large", "octets"),
        (
            json.dumps({"dossiers": {f"{i}": {"id": i + 1, "revision": 0} for i in range(2001)}}).encode(),
            "request_too_large",
            "la limite est 2000",
        ),
    ],
)
def test_a_bad_document_is_refused_in_french_and_nothing_is_exported(
    central: Central, unchanged: None, document: bytes, code: str, words: str
) -> None:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=document)
    assert result.returncode == 2 and result.stdout == b""
    message = result.stderr.decode()
    assert message.startswith(f"error {code}: ") and words in message, message


def test_other_profiles_are_refused_as_for_export(central: Central, unchanged: None) -> None:
    result = central.ssh.ssh("compta.fd12", USER_PASSWORD, "v1 export-changes", stdin=b'{"dossiers": {}}')
    assert result.returncode == 5 and result.stdout == b""
    assert b"error forbidden_profile:" in result.stderr and "responsable départemental".encode() in result.stderr
    extra = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes 120001", stdin=b'{"dossiers": {}}')
    assert extra.returncode == 2 and extra.stderr.startswith(b"error bad_request:")


def test_the_central_server_adapter_streams_a_delta_that_verifies(central: Central, tmp_path: Path) -> None:
    from appliance.adapters.central import SshCentralServer
    from appliance.adapters.delta_reader import verify_delta
    from appliance.domain.changes import HeldDossier

    server = SshCentralServer("127.0.0.1", central.ssh_port, tmp_path / "known_hosts", 10)
    server.pin(server.presented_fingerprint())
    held = {code: HeldDossier(v["id"], v["revision"]) for code, v in _held(_full(central)).items()}
    changed = sorted(held)[3]
    held[changed] = HeldDossier(held[changed].id, held[changed].revision + 1)
    target = tmp_path / "delta.zip"
    with server.session("resp.fd12", USER_PASSWORD) as session, target.open("wb") as sink:
        size = session.export_changes(held, sink)
    assert size == target.stat().st_size
    delta = verify_delta(target).manifest
    assert [d.code for d in delta.included()] == [changed] and len(delta.dossiers) == len(held)
