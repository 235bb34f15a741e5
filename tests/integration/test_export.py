"""An export over SSH, restored with stock unzip + mariadb, equals its source (oracles)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle

pytestmark = pytest.mark.integration


def _export(central: Central, target: Path, *codes: str) -> dict[str, object]:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, " ".join(("v1", "export", *codes)))
    assert result.returncode == 0, result.stderr.decode()
    target.write_bytes(result.stdout)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        return dict(json.loads(archive.read("manifest.json")))


def _restore_with_stock_tools(central: Central, archive: Path, database: str, workdir: Path) -> None:
    connection = central.root_connection()
    oracle.query(connection, f"DROP DATABASE IF EXISTS `{database}`")
    oracle.query(connection, f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()
    extracted = workdir / "extracted"
    subprocess.run(["unzip", "-q", "-o", str(archive), "-d", str(extracted)], check=True)
    with (extracted / "load.sql").open("rb") as script:
        subprocess.run(
            [
                "mariadb",
                f"--host={central.root.host}",
                f"--port={central.root.port}",
                "--protocol=tcp",
                f"--user={central.root.user}",
                f"--password={central.root.password}",
                "--local-infile=1",
                "--default-character-set=utf8mb4",
                database,
            ],
            stdin=script,
            cwd=extracted,
            check=True,
            capture_output=True,
        )


def _my_dossiers(central: Central) -> list[tuple[int, str]]:
    connection = central.root_connection()
    rows = oracle.query(
        connection,
        f"SELECT d.id, d.code FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r"
        f" ON r.dossier_id = d.id JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id"
        " WHERE u.login = 'resp.fd12' ORDER BY d.code",
    )
    connection.close()
    return [(int(r[0]), str(r[1])) for r in rows]


def test_full_export_restores_with_stock_tools_and_matches_the_source(central: Central, tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    manifest = _export(central, archive)
    mine = _my_dossiers(central)
    assert [d["code"] for d in manifest["dossiers"]] == [code for _, code in mine]  # type: ignore[index]
    _restore_with_stock_tools(central, archive, "restored_full", tmp_path)
    connection = central.root_connection()
    ids = [dossier_id for dossier_id, _ in mine]
    source = oracle.dossier_oracles(connection, central.schema, ids)
    restored = oracle.dossier_oracles(connection, "restored_full", ids)
    assert restored == source
    assert all(count > 0 for (_, table), (count, _) in source.items() if table in ("tiers", "ecriture_ligne"))
    # Nothing of another centre, and only what the exported dossiers need.
    assert oracle.query(connection, "SELECT DISTINCT centre_code FROM restored_full.dossier") == [("FD12",)]
    assert oracle.query(connection, "SELECT code FROM restored_full.centre") == [("FD12",)]
    foreign = oracle.query(
        connection, f"SELECT COUNT(*) FROM restored_full.tiers WHERE dossier_id NOT IN ({','.join(map(str, ids))})"
    )
    assert foreign == [(0,)]
    users = {row[0] for row in oracle.query(connection, "SELECT login FROM restored_full.utilisateur")}
    assert "resp.fd12" in users and not any(login.endswith(".fd24") for login in users)
    assert "chrono.fd12" not in users  # no rights on any exported dossier
    rights = oracle.query(
        connection,
        f"SELECT COUNT(*) FROM restored_full.droit_dossier WHERE dossier_id NOT IN ({','.join(map(str, ids))})",
    )
    assert rights == [(0,)]
    for table in ("ref_unite", "ref_compte_modele", "ref_tva", "ref_base"):
        assert oracle.table_oracle(connection, "restored_full", table) == oracle.table_oracle(
            connection, central.schema, table
        )
    connection.close()


def test_export_of_one_dossier_holds_only_that_dossier(central: Central, tmp_path: Path) -> None:
    dossier_id, code = _my_dossiers(central)[2]
    archive = tmp_path / "one.zip"
    manifest = _export(central, archive, code)
    assert [d["code"] for d in manifest["dossiers"]] == [code]  # type: ignore[index]
    with zipfile.ZipFile(archive) as opened:
        dossier_dirs = {name.split("/")[1] for name in opened.namelist() if name.startswith("dossiers/")}
    assert dossier_dirs == {code}
    _restore_with_stock_tools(central, archive, "restored_one", tmp_path)
    connection = central.root_connection()
    assert oracle.dossier_oracles(connection, "restored_one", [dossier_id]) == oracle.dossier_oracles(
        connection, central.schema, [dossier_id]
    )
    assert oracle.query(connection, "SELECT COUNT(DISTINCT dossier_id) FROM restored_one.ecriture") == [(1,)]
    connection.close()


def test_manifest_counts_and_revisions_match_the_database(central: Central, tmp_path: Path) -> None:
    manifest = _export(central, tmp_path / "m.zip")
    connection = central.root_connection()
    for entry in manifest["dossiers"]:  # type: ignore[attr-defined]
        revision = oracle.query(
            connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE id = %s", (entry["id"],)
        )
        assert revision == [(entry["revision"],)]
        count = oracle.query(
            connection, f"SELECT COUNT(*) FROM `{central.schema}`.bon_travaux WHERE dossier_id = %s", (entry["id"],)
        )
        assert count == [(entry["tables"]["bon_travaux"]["rows"],)]
    connection.close()
