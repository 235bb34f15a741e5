"""The guardian's fast loader (LOAD DATA through named pipes, verifying as it streams) against
our MariaDB image, on a real export of the integration server."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.backup_reader import VerifiedBackup, open_backup
from appliance.adapters.generation_loader import load_generation
from appliance.adapters.mysql import MysqlClient
from appliance.errors import ApplianceError, BadRequest, Unavailable
from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle
from tests.support.zips import rezip

pytestmark = pytest.mark.integration
SCHEMA = "loader_test"


@pytest.fixture(scope="module")
def export(central: Central) -> bytes:
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export")
    assert reply.returncode == 0, reply.stderr
    return reply.stdout


@pytest.fixture()
def target(central: Central) -> Iterator[Any]:
    connection = central.root_connection()
    oracle.query(connection, f"DROP DATABASE IF EXISTS `{SCHEMA}`")
    oracle.query(connection, f"CREATE DATABASE `{SCHEMA}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    yield connection
    oracle.query(connection, f"DROP DATABASE IF EXISTS `{SCHEMA}`")
    connection.close()


def _write(tmp_path: Path, data: bytes) -> VerifiedBackup:
    path = tmp_path / "backup.zip"
    path.write_bytes(data)
    return open_backup(path)


def _load(central: Central, connection: Any, backup: VerifiedBackup, work: Path, timeout: float = 120) -> Any:
    """Run the loader in a thread so that a hang fails the test instead of stalling it."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = load_generation(backup, MysqlClient(central.root), connection, SCHEMA, work)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the loader did not finish within {timeout} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]


def test_a_backup_loads_with_the_source_oracles(central: Central, export: bytes, target: Any, tmp_path: Path) -> None:
    backup = _write(tmp_path, export)
    report = _load(central, target, backup, tmp_path / "work")
    ids = [d.id for d in backup.manifest.dossiers]
    assert report.rows > 0
    source = central.root_connection()
    assert oracle.dossier_oracles(target, SCHEMA, ids) == oracle.dossier_oracles(source, central.schema, ids)
    source.close()
    assert not (tmp_path / "work" / f"load-{SCHEMA}").exists(), "the pipes' directory is removed"


def test_a_member_that_fails_its_check_stops_the_load_at_once_with_its_name(
    central: Central, export: bytes, target: Any, tmp_path: Path
) -> None:
    with zipfile.ZipFile(io.BytesIO(export)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    first = manifest["dossiers"][0]
    # The largest table is the first one its session loads: without the feeder stopping the
    # client, the client would wait forever on the next table's pipe.
    table = max(first["tables"], key=lambda t: first["tables"][t]["size"])
    name = f"dossiers/{first['code']}/{table}.tsv"

    def change_a_digit(members: dict[str, bytes], _: dict[str, Any]) -> None:
        data = bytearray(members[name])
        position = data.index(b"\t") + 1
        data[position] = ord("9") if data[position] != ord("9") else ord("8")
        members[name] = bytes(data)

    backup = _write(tmp_path, rezip(export, change_a_digit))
    with pytest.raises(BadRequest, match=f"{name}: its sha256 does not match the manifest"):
        _load(central, target, backup, tmp_path / "work", timeout=90)


def test_a_client_whose_connection_is_lost_mid_load_fails_as_mysql_unavailable(
    central: Central, export: bytes, target: Any, tmp_path: Path
) -> None:
    """MySQL restarted (here: the loading sessions killed) while the feeders still write:
    the pipe breaks under them, and the load fails with the client's reason as Unavailable,
    never a raw BrokenPipeError (issue 12: it reached the user as "erreur interne")."""
    backup = _write(tmp_path, export)
    killer = central.root_connection()
    killed: list[int] = []

    def kill_the_loads(done: int, total: int) -> None:
        if killed:
            return
        rows = oracle.query(
            killer, "SELECT id FROM information_schema.processlist WHERE db = %s AND command <> 'Sleep'", (SCHEMA,)
        )
        for (session,) in rows:
            oracle.query(killer, f"KILL CONNECTION {int(session)}")
            killed.append(int(session))

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            load_generation(
                backup, MysqlClient(central.root), target, SCHEMA, tmp_path / "work", progress=kill_the_loads
            )
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(90)
    killer.close()
    assert not thread.is_alive() and killed, "the loading sessions were killed and the loader stopped"
    error = outcome.get("error")
    assert isinstance(error, Unavailable), repr(error)
    # Killed mid-read or before it opened its data (timing decides which), the client's own
    # words follow: "ERROR 2013 … Lost connection" (or its reason for stopping).
    assert str(error).startswith("le chargement dans MySQL a échoué : "), error
    assert "ERROR" in str(error) or "arrêté" in str(error), error


@pytest.mark.parametrize(
    ("member", "evil"),
    [
        ("schema.sql", b"CREATE DATABASE loader_pwned;\nCREATE TABLE loader_test.pwned (x INT);\n"),
        ("load.sql", b"\\! touch /tmp/loader-pwned\nLOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE centre;\n"),
    ],
)
def test_planted_restore_scripts_refuse_the_backup_and_are_never_executed(
    central: Central, export: bytes, target: Any, tmp_path: Path, member: str, evil: bytes
) -> None:
    """The scripts kept for the stock-tools restore must be byte for byte what this code
    writes, even when the remote's manifest vouches for others (issue 12, finding 5)."""

    def plant(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        members[member] = evil
        manifest["members"][member] = {"size": len(evil), "sha256": hashlib.sha256(evil).hexdigest()}

    backup = _write(tmp_path, rezip(export, plant))
    with pytest.raises(BadRequest, match=rf"{member} is not the script this version writes"):
        _load(central, target, backup, tmp_path / "work")
    databases = {row[0] for row in oracle.query(target, "SHOW DATABASES")}
    tables = {row[0] for row in oracle.query(target, f"SHOW TABLES FROM `{SCHEMA}`")}
    assert "loader_pwned" not in databases and tables == set(), "refused before anything is created"
    assert not Path("/tmp/loader-pwned").exists()


def test_another_schema_version_is_refused_before_anything_is_created(
    central: Central, export: bytes, target: Any, tmp_path: Path
) -> None:
    def bump(_: dict[str, bytes], manifest: dict[str, Any]) -> None:
        manifest["schema_version"] = 999

    backup = _write(tmp_path, rezip(export, bump))
    with pytest.raises(ApplianceError, match="version de schéma 999"):
        _load(central, target, backup, tmp_path / "work")
    assert oracle.query(target, f"SHOW TABLES FROM `{SCHEMA}`") == []
