"""The incremental synchronisation's refresh of the standby generation (issue 13) against our
MariaDB image in the local role, through the guardian's restricted account, on real exports
of the integration server: a generation loaded in full records what it holds; after a
dossier changed, one left the rights and one was added, the refresh of that generation from
the new export, renamed into the next one, holds exactly what a full load of the same export
holds (per dossier and table, and every centre table); a refresh that meets a damaged member
or a forged plan is rolled back whole, the standby as it was and no new generation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.backup_reader import open_backup
from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.domain.backup_format import VerifiedBackup
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.domain.standby import HeldContent, StandbyPlan, dossier_digest, plan_standby, table_tokens
from appliance.errors import BadRequest
from tests.integration.conftest import (
    USER_PASSWORD,
    Central,
    Db,
    local_mysql_started,
)
from tests.integration.test_assemble_backup import _change, _grant, _take_rights_away
from tests.support import oracle
from tests.support.zips import rezip

pytestmark = pytest.mark.integration
ADDED = "STANDB1"


@pytest.fixture(scope="module")
def local_mysql(docker_client: Any) -> Iterator[tuple[Db, Db]]:
    with local_mysql_started() as accounts:
        yield accounts


def _export(central: Central, target: Path) -> VerifiedBackup:
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export")
    assert reply.returncode == 0, reply.stderr
    target.write_bytes(reply.stdout)
    return open_backup(target)


def _alone(
    central: Central, local_mysql: tuple[Db, Db], path: Path, generation: int
) -> tuple[MysqlLocalDatabase, VerifiedBackup]:
    """The guardian's local database holding one generation only, ``generation``, loaded
    in full from a new export written to ``path``."""
    database = MysqlLocalDatabase(local_mysql[1], path.parent / "work")
    for existing in database.generations():
        database.drop_generation(existing)
    backup = _export(central, path)
    database.create_generation(generation)
    database.load_generation(generation, backup)
    return database, backup


def _root(local_mysql: tuple[Db, Db]) -> Any:
    root = local_mysql[0]
    return oracle.connect(root.host, root.port, root.user, root.password)


def _everything(connection: Any, generation: int, ids: list[int]) -> tuple[Any, ...]:
    """Each dossier's tables (count, hash) and each centre and reference table's checksum."""
    schema = f"neocuma_g{generation}"
    tables = ", ".join(f"{schema}.{t.name}" for t in REFERENCE_TABLES + CENTRE_TABLES)
    sums = {str(r[0]).split(".")[1]: r[1] for r in oracle.query(connection, f"CHECKSUM TABLE {tables}")}
    distinct = {
        t.name: sorted(
            int(r[0]) for r in oracle.query(connection, f"SELECT DISTINCT dossier_id FROM {schema}.{t.name}")
        )
        for t in DOSSIER_TABLES
    }
    return oracle.dossier_oracles(connection, schema, ids), sums, distinct


@pytest.fixture(scope="module")
def changed_world(central: Central) -> Iterator[dict[str, Any]]:
    """On the central server: a new dossier ADDED, out of the rights until ``_grant``; the
    dossier the test takes out of them; the dossier it changes (all put back after)."""
    connection = central.root_connection()
    schema = central.schema
    (new_id,) = oracle.query(connection, f"SELECT MAX(id) + 3000 FROM `{schema}`.dossier")[0]
    oracle.query(
        connection,
        f"INSERT INTO `{schema}`.dossier SELECT %s, centre_code, %s, NULL, 'Dossier de réserve', type, 0, 0, 0,"
        f" base_reference_id, 4, modifie_le FROM `{schema}`.dossier WHERE centre_code = 'FD12' ORDER BY id LIMIT 1",
        (new_id, ADDED),
    )
    mine = sorted(oracle.dossiers_of(connection, schema, "resp.fd12"), key=lambda d: d[1])
    (user_id,) = oracle.query(connection, f"SELECT id FROM `{schema}`.utilisateur WHERE login = 'resp.fd12'")[0]
    removed_id, removed_code = mine[-3]
    right = oracle.query(
        connection,
        f"SELECT * FROM `{schema}`.droit_dossier WHERE utilisateur_id = %s AND dossier_id = %s",
        (user_id, removed_id),
    )
    try:
        yield {"new_id": int(new_id), "removed": (removed_id, removed_code), "changed": mine[1]}
    finally:
        oracle.query(connection, f"DELETE FROM `{schema}`.droit_dossier WHERE dossier_id = %s", (new_id,))
        oracle.query(connection, f"DELETE FROM `{schema}`.dossier WHERE id = %s", (new_id,))
        for row in right:
            oracle.query(connection, f"REPLACE INTO `{schema}`.droit_dossier VALUES (%s, %s, %s)", tuple(row))
        connection.close()


def test_a_refreshed_standby_holds_what_a_full_load_of_the_same_backup_holds(
    central: Central, local_mysql: tuple[Db, Db], changed_world: dict[str, Any], tmp_path: Path
) -> None:
    database = MysqlLocalDatabase(local_mysql[1], tmp_path / "work")
    before = _export(central, tmp_path / "2026-12-01T02-00-00Z.zip")
    database.create_generation(1)
    database.load_generation(1, before)
    content = database.standby_content(1)
    assert content is not None and content.backup == before.name
    assert content.dossiers == {
        d.code: HeldContent(d.id, d.revision, dossier_digest(d), table_tokens(d)) for d in before.manifest.dossiers
    }
    assert database.standby_content(1) == content, "reading it changes nothing"

    _changed_id, changed_code = changed_world["changed"]
    _change(central, changed_code)
    _take_rights_away(central, changed_world["removed"][1])
    _grant(central, changed_world["new_id"])
    after = _export(central, tmp_path / "2026-12-02T02-00-00Z.zip")
    plan = plan_standby(content, after.manifest)
    assert set(plan.replace) == {changed_code, ADDED} and plan.delete == (changed_world["removed"][0],)
    assert dict(plan.partial) == {changed_code: ("tiers",)}, "only the changed table of the changed dossier"
    report = database.refresh_generation(1, 3, after, plan)
    assert database.generations() == [3], "generation 1's tables moved into 3"
    database.create_generation(4)
    database.load_generation(4, after)
    ids = [d.id for d in after.manifest.dossiers]
    root = _root(local_mysql)
    try:
        assert _everything(root, 3, ids) == _everything(root, 4, ids)
    finally:
        root.close()
    refreshed = database.standby_content(3)
    assert refreshed is not None and refreshed.backup == after.name and refreshed.built_at == content.built_at
    assert refreshed.dossiers == database.standby_content(4).dossiers  # type: ignore[union-attr]
    assert report.rows > 0 and report.bytes > 0
    assert plan_standby(refreshed, after.manifest).replace == (), "nothing left to do"


def test_a_damaged_member_or_a_forged_plan_leaves_the_standby_as_it_was(
    central: Central, local_mysql: tuple[Db, Db], tmp_path: Path
) -> None:
    database, backup = _alone(central, local_mysql, tmp_path / "2026-12-03T02-00-00Z.zip", 5)
    ids = [d.id for d in backup.manifest.dossiers]
    root = _root(local_mysql)
    held = _everything(root, 5, ids)
    victim = backup.manifest.dossiers[0]

    def damage(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        name = f"dossiers/{victim.code}/exercice.tsv"
        members[name] = members[name].replace(b"\t", b" ", 1)

    path = tmp_path / "2026-12-03T03-00-00Z.zip"
    path.write_bytes(rezip(backup.opener().read(), damage))
    damaged = open_backup(path)
    everything = StandbyPlan(tuple(sorted(d.code for d in backup.manifest.dossiers)), (), ())
    with pytest.raises(BadRequest, match=f"{victim.code}/exercice.tsv"):
        database.refresh_generation(5, 6, damaged, everything)
    # A manifest that leaves out a dossier its own centre tables list: the dossier check.
    fewer = VerifiedBackup(
        backup.name, dataclasses.replace(backup.manifest, dossiers=backup.manifest.dossiers[1:]), backup.opener
    )
    with pytest.raises(BadRequest, match="les lignes ne sont pas les dossiers du manifeste"):
        database.refresh_generation(5, 6, fewer, StandbyPlan((), (), ()))
    # A real backup without one dossier and a plan that forgets to delete its rows: the
    # stray-row check (one query over every dossier table) names the table and the dossier.
    kept = [d.code for d in backup.manifest.dossiers if d.code != victim.code]
    reply = central.ssh.ssh("resp.fd12", USER_PASSWORD, " ".join(["v1", "export", *kept]))
    assert reply.returncode == 0, reply.stderr
    (tmp_path / "2026-12-03T04-00-00Z.zip").write_bytes(reply.stdout)
    without = open_backup(tmp_path / "2026-12-03T04-00-00Z.zip")
    with pytest.raises(BadRequest, match=rf"exercice : des lignes d'un dossier absent .*ID système {victim.id}\)"):
        database.refresh_generation(5, 6, without, StandbyPlan((), tuple(kept), ()))
    try:
        assert database.generations() == [5] and _everything(root, 5, ids) == held
    finally:
        root.close()


def test_a_record_written_before_it_held_tables_refreshes_whole_dossiers_then_gains_them(
    central: Central, local_mysql: tuple[Db, Db], tmp_path: Path
) -> None:
    """A generation recorded by an earlier version (no ``table_digests`` column): its
    dossiers are known without their tables, so a changed one would be replaced whole; the
    refresh adds the column (outside its transaction) and the new record holds the tables."""
    database, backup = _alone(central, local_mysql, tmp_path / "2026-12-04T02-00-00Z.zip", 7)
    root = _root(local_mysql)
    try:
        oracle.query(root, "ALTER TABLE neocuma_g7.guardian_content DROP COLUMN table_digests")
    finally:
        root.close()
    old = database.standby_content(7)
    assert old is not None and all(held.tables == {} for held in old.dossiers.values())
    victim = backup.manifest.dossiers[0]
    changed = dataclasses.replace(
        old, dossiers={**old.dossiers, victim.code: dataclasses.replace(old.dossiers[victim.code], digest="0" * 64)}
    )
    plan = plan_standby(changed, backup.manifest)
    assert plan.replace == (victim.code,) and dict(plan.partial) == {}, "every table of it"
    database.refresh_generation(7, 8, backup, plan)
    new = database.standby_content(8)
    assert new is not None and new.dossiers[victim.code].tables == table_tokens(victim)
    assert plan_standby(new, backup.manifest).replace == ()
