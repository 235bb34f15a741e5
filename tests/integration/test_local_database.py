"""The guardian's LocalDatabase adapter against our MariaDB image in the local role, through
the guardian's own restricted account: generations, the swap, the dossiers of the live one,
the mode change and a pull's replace (each with its guard inside the transaction), and a
dossier's local copy, on a real export of the integration server. The tests share one local
MariaDB and build on one another, in the order of this file."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.backup_reader import open_backup, verify_backup
from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.domain.backup_format import VerifiedBackup
from appliance.domain.dossiers import LocalDossier
from appliance.domain.generations import Live
from appliance.errors import BadRequest, Refused, Unavailable
from tests.integration.conftest import (
    USER_PASSWORD,
    Central,
    Db,
    local_mysql_started,
)
from tests.support import oracle
from tests.support.zips import rezip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_mysql(docker_client: Any) -> Iterator[tuple[Db, Db]]:
    """A second MariaDB as a centre's local one: (root, the guardian's account)."""
    with local_mysql_started() as accounts:
        yield accounts


@pytest.fixture(scope="module")
def backup(central: Central, tmp_path_factory: pytest.TempPathFactory) -> VerifiedBackup:
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export")
    assert reply.returncode == 0, reply.stderr
    path = tmp_path_factory.mktemp("export") / "2026-11-28T12-00-00Z.zip"
    path.write_bytes(reply.stdout)
    return open_backup(path)


@pytest.fixture(scope="module")
def database(local_mysql: tuple[Db, Db], tmp_path_factory: pytest.TempPathFactory) -> MysqlLocalDatabase:
    return MysqlLocalDatabase(local_mysql[1], tmp_path_factory.mktemp("work"))


def _root(local_mysql: tuple[Db, Db]) -> Any:
    root = local_mysql[0]
    return oracle.connect(root.host, root.port, root.user, root.password)


def test_a_generation_is_built_swapped_in_and_read_back(database: MysqlLocalDatabase, backup: VerifiedBackup) -> None:
    assert database.live() == Live(None, None, "standby") and database.dossiers() == {}
    database.create_generation(1)
    progress: list[tuple[int, int]] = []
    report = database.load_generation(1, backup, lambda done, total: progress.append((done, total)))
    assert report.rows == sum(d.rows() for d in backup.manifest.dossiers) + sum(
        t.rows or 0 for t in backup.manifest.centre_tables.values()
    )
    done = [d for d, _ in progress]
    assert done == sorted(done) and progress[-1][0] == progress[-1][1] == report.bytes, "member by member, to the end"
    database.switch_live(1, None)
    assert database.live() == Live(1, None, "standby") and database.generations() == [1]
    local = database.dossiers()
    assert {code: d.revision for code, d in local.items()} == {d.code: d.revision for d in backup.manifest.dossiers}
    with pytest.raises(Unavailable, match="neocuma_g1"):
        database.create_generation(1)


def test_the_mode_changes_only_when_the_guard_accepts(database: MysqlLocalDatabase) -> None:
    seen: list[int] = []

    def refuse(now: Mapping[str, LocalDossier]) -> None:
        seen.append(len(now))
        raise Refused("travail arrivé pendant le changement")

    with pytest.raises(Refused, match="travail arrivé"):
        database.set_mode("fallback", refuse)
    assert seen and seen[0] == len(database.dossiers()), "the guard saw every dossier of the live generation"
    assert database.live().mode == "standby"
    database.set_mode("fallback", lambda now: None)
    assert database.live().mode == "fallback"
    database.set_mode("standby")
    assert database.live().mode == "standby"


def test_a_pull_replaces_the_dossiers_in_one_transaction_after_its_guard(
    database: MysqlLocalDatabase, backup: VerifiedBackup, local_mysql: tuple[Db, Db], central: Central, tmp_path: Path
) -> None:
    entry = backup.manifest.dossiers[0]
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {entry.code}")
    assert reply.returncode == 0, reply.stderr
    (tmp_path / "pull.zip").write_bytes(reply.stdout)
    pulled = verify_backup(tmp_path / "pull.zip")
    root = _root(local_mysql)
    oracle.query(root, f"UPDATE neocuma_g1.dossier SET revision = revision + 5 WHERE id = {entry.id}")
    oracle.query(root, f"DELETE FROM neocuma_g1.tiers WHERE dossier_id = {entry.id}")
    before = oracle.dossier_oracles(root, "neocuma_g1", [entry.id])

    def refuse(now: Mapping[str, LocalDossier]) -> None:
        assert list(now) == [entry.code] and now[entry.code].revision == entry.revision + 5
        raise Refused("modifié pendant la descente")

    with pytest.raises(Refused):
        database.replace_dossiers(1, pulled, refuse)
    assert oracle.dossier_oracles(root, "neocuma_g1", [entry.id]) == before, "nothing written"
    with pytest.raises(Unavailable, match="génération en service a changé"):
        database.replace_dossiers(2, pulled, lambda now: None)
    database.replace_dossiers(1, pulled, lambda now: None)
    assert database.dossiers()[entry.code].revision == entry.revision
    rows = oracle.query(root, f"SELECT COUNT(*) FROM neocuma_g1.tiers WHERE dossier_id = {entry.id}")[0][0]
    assert rows == entry.tables["tiers"].rows
    # A remote that slips another dossier's row into centre/dossier.tsv (its manifest
    # vouching for it) would reset that dossier's revision: refused, nothing written.
    other = next(d for d in backup.manifest.dossiers if d.id != entry.id)
    oracle.query(root, f"UPDATE neocuma_g1.dossier SET revision = revision + 9 WHERE id = {other.id}")
    watched = oracle.dossier_oracles(root, "neocuma_g1", [entry.id, other.id])
    (planted_row,) = oracle.query(
        root,
        "SELECT CONCAT_WS('\t', "
        + ", ".join(f"IFNULL(`{c}`, '\\N')" for c in oracle.columns(root, "neocuma_g1", "dossier"))
        + f") FROM neocuma_g1.dossier WHERE id = {other.id}",
    )

    def plant(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        data = members["centre/dossier.tsv"] + planted_row[0].encode() + b"\n"
        members["centre/dossier.tsv"] = data
        digest = manifest["centre_tables"]["dossier"]
        digest.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data), rows=digest["rows"] + 1)

    (tmp_path / "planted.zip").write_bytes(rezip(reply.stdout, plant))
    planted = verify_backup(tmp_path / "planted.zip")
    with pytest.raises(BadRequest, match="ne tient pas exactement les dossiers descendus"):
        database.replace_dossiers(1, planted, lambda now: None)
    assert oracle.dossier_oracles(root, "neocuma_g1", [entry.id, other.id]) == watched, "nothing written"
    root.close()


def test_a_pulled_value_mariadb_refuses_is_an_invalid_backup_and_nothing_is_written(
    database: MysqlLocalDatabase, backup: VerifiedBackup, local_mysql: tuple[Db, Db], central: Central, tmp_path: Path
) -> None:
    """Found by tests/integration/test_hostile_loads.py: the centre tables load with REPLACE,
    where MariaDB's strict mode raises an error instead of a warning, and a bad value
    (vouched for by the manifest) was reported as the database being unavailable."""
    entry = backup.manifest.dossiers[0]
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {entry.code}")
    assert reply.returncode == 0, reply.stderr

    def spoil(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        lines = members["centre/utilisateur.tsv"].split(b"\n")
        lines[0] = lines[0].rsplit(b"\t", 1)[0] + b"\toui"  # actif, a TINYINT
        data = members["centre/utilisateur.tsv"] = b"\n".join(lines)
        manifest["centre_tables"]["utilisateur"].update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    (tmp_path / "spoiled.zip").write_bytes(rezip(reply.stdout, spoil))
    spoiled = verify_backup(tmp_path / "spoiled.zip")
    root = _root(local_mysql)
    before = oracle.whole_schema_oracle(root, "neocuma_g1")
    with pytest.raises(BadRequest, match=r"utilisateur : données invalides .*`actif`"):
        database.replace_dossiers(1, spoiled, lambda now: None)
    assert oracle.whole_schema_oracle(root, "neocuma_g1") == before, "nothing written"
    root.close()


def test_a_backup_whose_rows_give_a_dossier_another_revision_than_its_manifest_is_refused(
    database: MysqlLocalDatabase, backup: VerifiedBackup, tmp_path: Path
) -> None:
    """Found by tests/integration/test_hostile_loads.py: a sync keeps the manifest's revisions
    as its baselines, so a dossier row holding another one would hide local work done
    later (or invent some). The manifest itself has no digest: only the load can tell."""

    def bump(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        manifest["dossiers"][0]["revision"] += 1

    with backup.opener() as handle:
        (tmp_path / "bumped.zip").write_bytes(rezip(handle.read(), bump))
    database.create_generation(6)
    try:
        with pytest.raises(BadRequest, match="ne sont pas les dossiers du manifeste"):
            database.load_generation(6, open_backup(tmp_path / "bumped.zip"))
    finally:
        database.drop_generation(6)


def test_a_local_copy_is_a_backup_of_one_dossier(database: MysqlLocalDatabase, tmp_path: Path) -> None:
    dossier = next(iter(database.dossiers().values()))
    path = tmp_path / "copy.zip"
    with path.open("wb") as sink:
        database.export_dossier(dossier, "resp.fd12", sink, dt.datetime.now(dt.UTC))
    copy = verify_backup(path)
    assert [d.code for d in copy.manifest.dossiers] == [dossier.code]
    assert copy.manifest.user == {"login": "resp.fd12", "profil": "local-copy"}


def test_the_guardians_account_cannot_touch_anything_else(local_mysql: tuple[Db, Db]) -> None:
    guardian = local_mysql[1]
    connection = oracle.connect(guardian.host, guardian.port, guardian.user, guardian.password)
    with pytest.raises(Exception, match="denied"):
        oracle.query(connection, "CREATE DATABASE not_a_generation")
    connection.close()


def test_dropping_generations(database: MysqlLocalDatabase) -> None:
    database.create_generation(7)
    database.drop_generation(7)
    database.drop_generation(8)  # absent: nothing to do
    assert database.generations() == [1]
