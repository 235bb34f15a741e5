"""Dossier import over SSH (what a restore to the central server lands on), with OpenSSH."""

from __future__ import annotations

import json
import logging
import stat
import threading
import zipfile
from typing import Any

import pytest

from appliance.server.writes import enter_bon
from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle
from tests.support.zips import rezip

pytestmark = pytest.mark.integration


def _codes(central: Central, where: str) -> list[tuple[int, str]]:
    connection = central.root_connection()
    rows = oracle.query(
        connection,
        f"SELECT d.id, d.code FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = 'resp.fd12' AND {where} ORDER BY d.code",
    )
    connection.close()
    return [(int(r[0]), str(r[1])) for r in rows]


def _export(central: Central, code: str) -> bytes:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {code}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _import(central: Central, code: str, backup: bytes, password: str = USER_PASSWORD) -> Any:
    return central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 import {code}", stdin=password.encode() + b"\n" + backup)


def _fix_digest(manifest: dict[str, Any], code: str, table: str, data: bytes, rows: int | None = None) -> None:
    import hashlib

    entry = next(d for d in manifest["dossiers"] if d["code"] == code)["tables"][table]
    entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    if rows is not None:
        entry["rows"] = rows


def test_import_replaces_one_dossier_while_others_are_written_and_the_copy_brings_it_back(central: Central) -> None:
    (target_id, target), (busy_id, busy) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[:2]
    everyone = [i for i, _ in _codes(central, "1 = 1")]
    quiet = [i for i in everyone if i not in (target_id, busy_id)]
    connection = central.root_connection()
    exported_state = oracle.dossier_oracles(connection, central.schema, [target_id])
    backup = _export(central, target)
    # The dossier changes on the server after the backup was taken.
    oracle.query(connection, f"DELETE FROM `{central.schema}`.intervention WHERE dossier_id = %s LIMIT 5", (target_id,))
    changed_state = oracle.dossier_oracles(connection, central.schema, [target_id])
    assert changed_state != exported_state
    quiet_before = oracle.dossier_oracles(connection, central.schema, quiet)
    busy_before = oracle.dossier_oracles(connection, central.schema, [busy_id])
    revision_before = oracle.query(
        connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE id = %s", (target_id,)
    )[0][0]

    with central.store.request() as view:
        writer = view.find_user("resp.fd12")
        exercice = oracle.query(
            connection,
            f"SELECT id, date_debut FROM `{central.schema}`.exercice WHERE dossier_id = %s AND cloture = 0",
            (busy_id,),
        )[0]
        member = oracle.query(
            connection,
            f"SELECT id FROM `{central.schema}`.tiers WHERE dossier_id = %s AND categorie = 'adherent' AND actif = 1 LIMIT 1",
            (busy_id,),
        )[0][0]
        activity = oracle.query(
            connection, f"SELECT id FROM `{central.schema}`.activite WHERE dossier_id = %s LIMIT 1", (busy_id,)
        )[0][0]
    assert writer is not None
    stop, written, failures = threading.Event(), [], []

    def write_concurrently() -> None:
        while not stop.is_set():
            try:
                result = enter_bon(
                    central.store.pool,
                    "central",
                    writer,
                    busy,
                    {"tiers_id": member, "activite_id": activity, "date": exercice[1].isoformat(), "quantite": "1"},
                )
                written.append(result.bon_id)
            except Exception as error:  # noqa: BLE001 - handed to the test
                failures.append(error)

    thread = threading.Thread(target=write_concurrently)
    thread.start()
    try:
        reply = _import(central, target, backup)
    finally:
        stop.set()
        thread.join(30)
    assert reply.returncode == 0, reply.stderr
    assert not failures and len(written) > 0
    answer = json.loads(reply.stdout)
    assert answer["dossier"] == target and answer["revision"] > revision_before
    assert oracle.dossier_oracles(connection, central.schema, [target_id]) == exported_state
    assert oracle.dossier_oracles(connection, central.schema, quiet) == quiet_before
    busy_after = oracle.dossier_oracles(connection, central.schema, [busy_id])
    assert {k: v for k, v in busy_after.items() if k[1] != "bon_travaux"} == {
        k: v for k, v in busy_before.items() if k[1] != "bon_travaux"
    }
    assert busy_after[(busy_id, "bon_travaux")][0] == busy_before[(busy_id, "bon_travaux")][0] + len(written)

    listed = json.loads(central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 prerestores {target}").stdout)["copies"]
    assert listed[0]["fichier"] == answer["copie_avant_restauration"]
    copy = central.importer.copies.resolve(answer["copie_avant_restauration"])
    central.importer.import_dossier(target, copy, "operator")
    assert oracle.dossier_oracles(connection, central.schema, [target_id]) == changed_state
    connection.close()


def test_wrong_password_typed_again_is_refused(
    central: Central, unchanged: None, caplog: pytest.LogCaptureFixture
) -> None:
    (_, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[0]
    reply = _import(central, code, _export(central, code), password="pas-le-bon")
    assert reply.returncode == 5 and b"error wrong_password:" in reply.stderr
    assert f"import of {code} refused for resp.fd12: wrong password typed again" in caplog.text
    assert "pas-le-bon" not in caplog.text


def test_outside_rights_and_exporte_are_refused(
    central: Central, unchanged: None, caplog: pytest.LogCaptureFixture
) -> None:
    (_, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[0]
    backup = _export(central, code)
    connection = central.root_connection()
    societe = oracle.query(
        connection, f"SELECT code FROM `{central.schema}`.dossier WHERE centre_code = 'FD12' AND type = 'Societe'"
    )[0][0]
    connection.close()
    outside = _import(central, societe, backup)
    assert outside.returncode == 5 and b"error outside_rights:" in outside.stderr
    (_, exported) = _codes(central, "d.exporte = 1")[0]
    locked = _import(central, exported, _export(central, exported))
    assert locked.returncode == 5 and b"error dossier_exporte:" in locked.stderr
    assert f"import of {exported} refused for resp.fd12: the dossier is export" in caplog.text


def _bad_backups(central: Central, code: str, other: str) -> dict[str, tuple[bytes, str]]:
    backup = _export(central, code)
    table = f"dossiers/{code}/bon_travaux.tsv"

    def drop_row(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        members[table] = b"".join(members[table].splitlines(keepends=True)[1:])

    def drop_row_fix_sha(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        drop_row(members, manifest)
        _fix_digest(manifest, code, "bon_travaux", members[table])

    def foreign_row(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        lines = members[table].splitlines(keepends=True)
        lines[0] = b"999999" + lines[0][lines[0].index(b"\t") :]
        members[table] = b"".join(lines)
        _fix_digest(manifest, code, "bon_travaux", members[table])

    def bad_value(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        lines = members[table].splitlines(keepends=True)
        fields = lines[0].split(b"\t")
        fields[7] = b"beaucoup"
        lines[0] = b"\t".join(fields)
        members[table] = b"".join(lines)
        _fix_digest(manifest, code, "bon_travaux", members[table])

    def value_changed(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        data = bytearray(members[table])
        position = data.index(b"\t", data.index(b"\t") + 1) + 1  # first digit of the exercice id
        data[position] = ord("9") if data[position] != ord("9") else ord("8")
        members[table] = bytes(data)

    def extra_member(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        members[f"dossiers/{code}/extra.tsv"] = b"1\t2\n"

    link = zipfile.ZipInfo(f"dossiers/{code}/lien")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return {
        "garbage": (b"PK\x03\x04 ceci n'est pas un zip" * 50, "not a readable zip"),
        "dot-dot member": (rezip(backup, lambda m, f: None, [zipfile.ZipInfo("../evil.tsv")]), "unsafe member name"),
        "absolute member": (rezip(backup, lambda m, f: None, [zipfile.ZipInfo("/etc/evil")]), "unsafe member name"),
        "link member": (rezip(backup, lambda m, f: None, [link]), "is a link"),
        "member not in manifest": (rezip(backup, extra_member), "not in the manifest"),
        "row removed": (rezip(backup, drop_row), "the zip declares"),
        "a value changed": (rezip(backup, value_changed), "sha256 does not match"),
        "row removed, sha256 forged": (rezip(backup, drop_row_fix_sha), "rows, the manifest says"),
        "row of another dossier": (rezip(backup, foreign_row), "belongs to another dossier"),
        "invalid value": (rezip(backup, bad_value), "données invalides"),
        "another dossier's backup": (_export(central, other), f"holds dossier {other}, not {code}"),
    }


def test_every_bad_backup_is_refused_with_its_reason_and_nothing_changes(
    central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    (_, code), (_, other) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[:2]
    cases = _bad_backups(central, code, other)
    connection = central.root_connection()
    before = oracle.whole_schema_oracle(connection, central.schema)
    for label, (data, reason) in cases.items():
        reply = _import(central, code, data)
        assert reply.returncode == 7, (label, reply.stderr)
        assert b"error invalid_backup:" in reply.stderr and reason.encode() in reply.stderr, (label, reply.stderr)
        assert f"import of {code} refused for resp.fd12: invalid backup" in caplog.text
        assert oracle.whole_schema_oracle(connection, central.schema) == before, label
    connection.close()


def test_an_upload_over_the_limit_is_refused(central: Central, unchanged: None) -> None:
    (_, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[0]
    backup = _export(central, code)
    central.context.max_import_bytes = 10_000
    try:
        reply = _import(central, code, backup)
    finally:
        central.context.max_import_bytes = 512 * 1024 * 1024
    assert reply.returncode == 2 and b"error request_too_large:" in reply.stderr
    assert not any(central.importer.work_dir.iterdir()), "the partial upload was removed"


def test_the_clients_revision_is_never_trusted(central: Central) -> None:
    """Issue 12, finding 8: a revision near 2^64 in the backup would block every later
    write to the dossier; the server moves its own revision forward by one."""
    (target_id, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[1]
    connection = central.root_connection()
    (before,) = oracle.query(
        connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE id = %s", (target_id,)
    )[0]

    def huge(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        manifest["dossiers"][0]["revision"] = 2**64 - 2

    reply = _import(central, code, rezip(_export(central, code), huge))
    assert reply.returncode == 0, reply.stderr
    assert json.loads(reply.stdout)["revision"] == before + 1
    (after,) = oracle.query(connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE id = %s", (target_id,))[
        0
    ]
    assert after == before + 1
    connection.close()


def test_import_needs_exactly_one_dossier(central: Central, unchanged: None) -> None:
    for command in ("v1 import", "v1 import 120001 120003", "v1 import ../x"):
        reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, command, stdin=b"x\n")
        assert reply.returncode == 2 and b"error bad_request:" in reply.stderr


def test_a_backup_that_unpacks_over_the_limit_is_refused_before_anything_is_read(
    central: Central, unchanged: None
) -> None:
    (_, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[0]
    backup = _export(central, code)
    central.importer.max_unpacked = 10_000
    try:
        reply = _import(central, code, backup)
    finally:
        central.importer.max_unpacked = None
    assert reply.returncode == 7, reply.stderr
    assert b"error invalid_backup:" in reply.stderr and b"over the limit of 10000" in reply.stderr


def test_a_write_landing_after_the_pre_restore_copy_is_kept_and_the_restore_refused(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    (target_id, code) = _codes(central, "d.exporte = 0 AND d.type = 'CUMA'")[0]
    backup = _export(central, code)
    connection = central.root_connection()
    exported = oracle.dossier_oracles(connection, central.schema, [target_id])
    oracle.query(connection, f"DELETE FROM `{central.schema}`.intervention WHERE dossier_id = %s LIMIT 3", (target_id,))
    before = oracle.dossier_oracles(connection, central.schema, [target_id])
    assert before != exported
    original = central.importer._pre_restore_copy

    def copy_then_someone_writes(target: Any, requested_by: str) -> tuple[str, int]:
        result = original(target, requested_by)
        # A LAN user's write between the copy and the replacing transaction.
        oracle.query(
            connection, f"UPDATE `{central.schema}`.dossier SET revision = revision + 1 WHERE id = %s", (target_id,)
        )
        return result

    monkeypatch.setattr(central.importer, "_pre_restore_copy", copy_then_someone_writes)
    reply = _import(central, code, backup)
    monkeypatch.undo()
    assert reply.returncode == 6, reply.stderr
    assert b"error unavailable:" in reply.stderr and "modifié pendant la restauration".encode() in reply.stderr
    # The dossier as the writer left it: the backup's rows did not replace it.
    assert oracle.dossier_oracles(connection, central.schema, [target_id]) == before
    reply = _import(central, code, backup)
    assert reply.returncode == 0, reply.stderr
    assert oracle.dossier_oracles(connection, central.schema, [target_id]) == exported
    connection.close()
