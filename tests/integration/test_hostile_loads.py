"""Hostile backups through real loads (issue 12's campaign, its second part): a real export
of the integration server mutated at random (tests/support/mutations.py, the mutations of
tests/fuzz and more that reach MariaDB: hostile values with their digests fixed) and fed to

- a synchronisation (the real SyncJob over the local MariaDB through the guardian's
  account: a new generation schema loaded by the fast loader, then the swap);
- a pull (the real Transfers.pull: verification, then one transaction replacing the
  dossiers and their centre rows in the live generation);
- the central server's import (the Importer the SSH ``v1 import`` hands its upload to).

Each case must be refused with BadRequest (or Refused) and a message, leaving no new or
partial generation and every table as it was (checksums of every row), or be accepted with
rows identical to the TSV the manifest vouches for (parsed by tests/support/tsv_oracle.py,
read back from MariaDB; a member an incremental sync kept from the standby, unread, may
not read back from the zip: the content of its sha256 an earlier accepted case loaded is
then the one vouched for) and nothing else changed. Rows MariaDB changed without a warning
(a fraction into an integer column, a number into an ENUM taken as its index, spaces
around a date: found here, not refused yet) are counted apart, and fail nothing.
``NEOCUMA_FUZZ_CASES`` (sync cases; pulls a third of them, imports three fifths) and
``NEOCUMA_FUZZ_SEED`` change the run; the figures are printed (``-s``)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.domain.identity import Credentials
from appliance.domain.states import Baseline
from appliance.errors import BadRequest, Refused
from appliance.guardian.jobs.local_copies import LocalCopies
from appliance.guardian.jobs.sync import SyncJob
from appliance.guardian.jobs.transfers import Transfers
from appliance.guardian.state import GuardianState
from tests.fakes.around_mysql import LocalServerOverMysql, RemoteSending, SilentProgress
from tests.fakes.backups import MemoryBackups
from tests.fakes.basics import FakeClock, MemoryStateStore
from tests.integration.conftest import USER_PASSWORD, Central, Db
from tests.support import containers, oracle, tsv_oracle
from tests.support.mutations import Mutation, mutated_zips

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:Duplicate name")]
CASES = int(os.environ.get("NEOCUMA_FUZZ_CASES", "100"))
SEED = int(os.environ.get("NEOCUMA_FUZZ_SEED", "20261202"))
NAME = "2026-11-28T11-00-00Z.zip"  # before the fake clock's now


@dataclass
class Figures:
    what: str
    cases: int = 0
    refused: int = 0
    identical: int = 0
    coerced: int = 0  # accepted with a value MariaDB changed without a warning (not refused yet)
    failures: list[str] = field(default_factory=list)  # crashes, partial generations, changed bytes
    counts: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str, case: int, mutation: Mutation, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.failures.append(f"{self.what} case {case} ({mutation.__name__}): {kind}: {detail}"[:600])

    def report(self) -> str:
        kinds = ("crashes", "partial generations", "bytes changed elsewhere", "changed rows")
        return (
            f"\nhostile {self.what}, seed {SEED}: {self.cases} cases, {self.refused} refused, "
            f"{self.identical} accepted identical, {self.coerced} accepted with a value MariaDB coerced silently, "
            + ", ".join(f"{self.counts.get(k, 0)} {k}" for k in kinds)
        )


Snapshot = tuple[Any, list[int], dict[str, tuple[int, str]]]
Tables = dict[str, list[tsv_oracle.Row]]


@dataclass
class Guardian:
    database: MysqlLocalDatabase
    root: Any
    backups: MemoryBackups
    state: GuardianState
    sync: SyncJob
    remote: RemoteSending
    pull: Transfers
    last: Snapshot | None = None  # as the last accepted case (or the clean sync) left it
    # Every member content an accepted sync loaded, by sha256: an incremental sync keeps a
    # table whose sha256 the record holds from the standby without reading the member.
    vouched: dict[str, bytes] = field(default_factory=dict)

    def schema(self) -> str:
        return f"neocuma_g{self.database.live().data_generation}"

    def snapshot(self) -> Snapshot:
        """The control row, the generations and every row of the live one."""
        return self.database.live(), self.database.generations(), tsv_oracle.checksums(self.root, self.schema())

    def changes(self) -> str:
        """What differs from ``last``: '' when nothing does."""
        assert self.last is not None
        live, generations, rows = self.snapshot()
        if (live, generations) != self.last[:2]:
            return f"generations {self.last[1]} live {self.last[0]} became {generations} live {live}"
        return "" if rows == self.last[2] else "a row of the live generation changed"

    def rows(self) -> Tables:
        return {
            t: tsv_oracle.read_rows(self.root, self.schema(), t) for t in tsv_oracle.layout(self.root, self.schema())
        }


@pytest.fixture(scope="module")
def guardian(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guardian]:
    """The real sync and pull over a local MariaDB, through the guardian's own account."""
    target = containers.container(containers.MYSQL_IMAGE).with_exposed_ports(3306)
    target = target.with_envs(MYSQL_ROOT_PASSWORD="local-root", NEOCUMA_ROLE="local", NEOCUMA_GUARDIAN_DB_PASSWORD="pw")
    target.start()
    try:
        containers.wait_healthy(target, 180)
        port = int(target.get_exposed_port(3306))
        database = MysqlLocalDatabase(Db("127.0.0.1", port, "neocuma_guardian", "pw"), tmp_path_factory.mktemp("w"))
        clock = FakeClock()
        backups = MemoryBackups(clock)
        state = GuardianState(MemoryStateStore(clock), clock)
        state.store_credentials(Credentials("resp.fd12", "x", "FD12", "responsable_departemental"))
        sync = SyncJob(
            database, LocalServerOverMysql(database), backups, state, clock, SilentProgress(), health_timeout=5
        )
        remote = RemoteSending([])
        pull = Transfers(
            database, remote, backups, state, LocalCopies(database, backups, state, clock), SilentProgress()
        )
        root = oracle.connect("127.0.0.1", port, "root", "local-root")
        yield Guardian(database, root, backups, state, sync, remote, pull)
        root.close()
    finally:
        target.stop()


@pytest.fixture(scope="module")
def sources(central: Central) -> tuple[bytes, bytes, str, int]:
    """An export of two dossiers (syncs and pulls) and of one (imports), its code and id."""
    connection = central.root_connection()
    rows = oracle.dossiers_of(connection, central.schema, "resp.fd12", "d.exporte = 0 AND d.type = 'CUMA'")
    connection.close()
    (first, second), (target_id, target) = rows[-2:], rows[-1]
    replies = [
        central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {codes}")
        for codes in (f"{first[1]} {second[1]}", target)
    ]
    assert all(reply.returncode == 0 for reply in replies), [reply.stderr for reply in replies]
    return replies[0].stdout, replies[1].stdout, target, target_id


def _vouched_dossiers(data: bytes) -> set[tuple[str, str, str]]:
    """(id, code, revision) of every dossier the manifest lists, read without the appliance."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    return {(str(d["id"]), str(d["code"]), str(int(d["revision"]))) for d in manifest["dossiers"]}


def _differs(root: Any, schema: str, table: str, rows: list[tsv_oracle.Row], where: str = "1 = 1") -> tuple[str, bool]:
    """('', False) when ``table`` holds exactly ``rows``; ('', True) when it does once
    MariaDB's silent coercions are applied to them; else what differs."""
    found = tsv_oracle.read_rows(root, schema, table, where)
    difference = tsv_oracle.differences(rows, found)
    if difference:
        coerce = tsv_oracle.silent_coercions(root, schema, table)
        if not tsv_oracle.differences([coerce(row) for row in rows], found):
            return "", True
    return difference, False


def _rows_as_vouched(root: Any, schema: str, expected: Tables, data: bytes) -> tuple[str, bool]:
    """('', coerced) when each table of ``expected`` holds exactly its rows (but for MariaDB's
    silent coercions) and the dossier rows are those the manifest lists (id, code,
    revision); else what differs."""
    coerced = False
    for table, rows in sorted(expected.items()):
        difference, changed = _differs(root, schema, table, rows)
        if difference:
            return f"{table}: {difference}", False
        coerced = coerced or changed
    vouched = _vouched_dossiers(data)
    ids = ", ".join(sorted({i for i, _, _ in vouched}))
    found = oracle.query(root, f"SELECT id, code, revision FROM `{schema}`.dossier WHERE id IN ({ids})")
    loaded = {(str(i), str(c), str(r)) for i, c, r in found}
    if loaded != vouched:
        return f"the manifest lists the dossiers {sorted(vouched)}, their rows say {sorted(loaded)}", False
    return "", coerced


def _accepted(figures: Figures, case: int, mutation: Mutation, outcome: tuple[str, bool]) -> None:
    if outcome[0]:
        figures.fail("changed rows", case, mutation, outcome[0])
    elif outcome[1]:
        figures.coerced += 1
    else:
        figures.identical += 1


def _refused(figures: Figures, case: int, mutation: Mutation, error: Exception, changed: str) -> None:
    if not str(error).strip():
        figures.fail("crashes", case, mutation, f"{type(error).__name__} without a message")
    elif changed:
        kind = "partial generations" if changed.startswith("generation") else "bytes changed elsewhere"
        figures.fail(kind, case, mutation, f"refused ({error}) but {changed}")
    else:
        figures.refused += 1


def _sync_case(g: Guardian, figures: Figures, case: int, mutation: Mutation, data: bytes) -> None:
    assert g.last is not None
    g.backups.put("data", NAME, data)
    try:
        result = g.sync.run(NAME)
    except (BadRequest, Refused) as error:
        _refused(figures, case, mutation, error, g.changes())
        return
    except Exception as error:  # noqa: BLE001 - what the test is about
        figures.fail("crashes", case, mutation, f"{type(error).__name__}: {error}")
        return
    previous = f"neocuma_g{g.last[0].data_generation}"
    try:
        expected = tsv_oracle.by_table(_vouched_members(data, g.vouched))
    except KeyError as unknown:
        figures.fail("changed rows", case, mutation, f"accepted, with {unknown} unreadable and of no known content")
        g.last = g.snapshot()
        return
    if tsv_oracle.checksums(g.root, previous) != g.last[2]:
        figures.fail("bytes changed elsewhere", case, mutation, f"accepted, and {previous} changed")
    elif g.database.live().data_generation != result.data_generation:
        figures.fail("partial generations", case, mutation, "accepted but not live")
    else:
        _accepted(figures, case, mutation, _rows_as_vouched(g.root, g.schema(), expected, data))
    g.last = g.snapshot()


def _after_pull(g: Guardian, before: Tables, data: bytes) -> Tables:
    """Each table as a pull of ``data`` must leave it: the pulled dossiers' rows and rights
    those of the backup, its centres, users and dossiers replacing theirs (by primary key),
    every other row as it was."""
    members = tsv_oracle.tsv_members(data)
    pulled = tsv_oracle.by_table({n: r for n, r in members.items() if n.startswith("dossiers/")})
    ids = {row[0] for rows in pulled.values() for row in rows}
    expected = dict(before)
    for table, rows in [*pulled.items(), ("droit_dossier", members["centre/droit_dossier.tsv"])]:
        position = tsv_oracle.layout(g.root, g.schema())[table].index("dossier_id")
        expected[table] = [row for row in before[table] if row[position] not in ids] + rows
    for table in ("centre", "utilisateur", "dossier"):
        key = tsv_oracle.primary_key(g.root, g.schema(), table)
        merged = {tuple(row[k] for k in key): row for row in before[table]}
        merged.update({tuple(row[k] for k in key): row for row in members[f"centre/{table}.tsv"]})
        expected[table] = list(merged.values())
    return expected


def _pull_case(g: Guardian, figures: Figures, case: int, mutation: Mutation, data: bytes, before: Tables) -> None:
    g.state.save_baselines({c: Baseline(d.revision, d.revision) for c, d in g.database.dossiers().items()})
    g.remote.data = data
    try:
        g.pull.pull(g.remote.codes)
    except (BadRequest, Refused) as error:
        _refused(figures, case, mutation, error, g.changes())
        return
    except Exception as error:  # noqa: BLE001 - what the test is about
        figures.fail("crashes", case, mutation, f"{type(error).__name__}: {error}")
        return
    assert g.last is not None
    if (g.database.live(), g.database.generations()) != g.last[:2]:
        figures.fail("partial generations", case, mutation, "a pull changed the generations")
    else:
        _accepted(figures, case, mutation, _rows_as_vouched(g.root, g.schema(), _after_pull(g, before, data), data))
    g.last = g.snapshot()
    before.clear()
    before.update(g.rows())


def _run(figures: Figures, count: int, source: bytes, salt: int, one: Callable[[int, Mutation, bytes], None]) -> None:
    for case, mutation, data in mutated_zips(source, count, SEED * 10 + salt):
        figures.cases += 1
        one(case, mutation, data)
    print(figures.report())
    assert not figures.failures, "\n".join(figures.failures[:20])
    assert figures.refused + figures.identical + figures.coerced == figures.cases


def _vouched_members(data: bytes, vouched: dict[str, bytes]) -> dict[str, list[tsv_oracle.Row]]:
    """Each TSV member's rows as the manifest vouches for them: read from the zip, or, for a
    member that does not read back (its CRC-32, its deflate stream), the content of that
    sha256 an earlier accepted case loaded (KeyError naming the member when none did). The
    contents read are added to ``vouched``."""
    members: dict[str, list[tsv_oracle.Row]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        digests = _member_digests(json.loads(archive.read("manifest.json")))
        for name in archive.namelist():
            if not name.endswith(".tsv"):
                continue
            try:
                raw = archive.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                if digests.get(name) not in vouched:
                    raise KeyError(name) from None
                raw = vouched[digests[name]]
            vouched[hashlib.sha256(raw).hexdigest()] = raw
            members[name] = tsv_oracle.parse_tsv(raw)
    return members


def _member_digests(manifest: dict[str, Any]) -> dict[str, str]:
    digests = {f"centre/{t}.tsv": str(e.get("sha256")) for t, e in dict(manifest.get("centre_tables", {})).items()}
    for dossier in manifest.get("dossiers", []):
        for table, entry in dict(dossier.get("tables", {})).items():
            digests[f"dossiers/{dossier.get('code')}/{table}.tsv"] = str(entry.get("sha256"))
    return digests


def _clean_sync(g: Guardian, source: bytes) -> None:
    _vouched_members(source, g.vouched)
    g.backups.put("data", NAME, source)
    g.sync.run(NAME)
    assert _rows_as_vouched(g.root, g.schema(), tsv_oracle.by_table(tsv_oracle.tsv_members(source)), source) == (
        "",
        False,
    )
    g.last = g.snapshot()


def test_hostile_backups_synchronised_are_refused_or_load_as_vouched(
    guardian: Guardian, sources: tuple[bytes, bytes, str, int]
) -> None:
    _clean_sync(guardian, sources[0])
    figures = Figures("syncs")
    _run(figures, CASES, sources[0], 1, lambda c, m, d: _sync_case(guardian, figures, c, m, d))


def test_hostile_pulls_are_refused_or_replace_the_dossiers_as_vouched(
    guardian: Guardian, sources: tuple[bytes, bytes, str, int]
) -> None:
    _clean_sync(guardian, sources[0])
    guardian.remote.codes = sorted(code for _, code, _ in _vouched_dossiers(sources[0]))
    before = guardian.rows()
    figures = Figures("pulls")
    _run(figures, CASES // 3, sources[0], 2, lambda c, m, d: _pull_case(guardian, figures, c, m, d, before))


def test_hostile_imports_are_refused_or_replace_the_dossier_as_vouched(
    central: Central, sources: tuple[bytes, bytes, str, int], tmp_path: Path
) -> None:
    _, source, code, dossier_id = sources
    root = central.root_connection()

    def outside(table: str, columns: list[str]) -> str:
        """Every row but the imported dossier's (its rights stay: an import leaves them)."""
        if table == "dossier":
            return f"id <> {dossier_id}"
        return f"dossier_id <> {dossier_id}" if "dossier_id" in columns and table != "droit_dossier" else "1 = 1"

    def now() -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
        return tsv_oracle.checksums(root, central.schema), tsv_oracle.checksums(root, "neocuma_control")

    elsewhere, before = tsv_oracle.checksums(root, central.schema, outside), [now()]
    figures = Figures("imports")
    upload = tmp_path / "upload.zip"

    def one(case: int, mutation: Mutation, data: bytes) -> None:
        upload.write_bytes(data)
        try:
            central.importer.import_dossier(code, upload, "fuzz")
        except (BadRequest, Refused) as error:
            _refused(
                figures, case, mutation, error, "a row of the central server changed" if now() != before[0] else ""
            )
            return
        except Exception as error:  # noqa: BLE001 - what the test is about
            figures.fail("crashes", case, mutation, f"{type(error).__name__}: {error}")
            return
        control = before[0][1]
        before[0] = now()
        if tsv_oracle.checksums(root, central.schema, outside) != elsewhere or before[0][1] != control:
            figures.fail("bytes changed elsewhere", case, mutation, "accepted, and another dossier's rows changed")
            return
        outcome = ("", False)
        for name, rows in sorted(tsv_oracle.tsv_members(data).items()):
            if name.startswith("dossiers/") and not outcome[0]:
                table = name.rsplit("/", 1)[-1][: -len(".tsv")]
                difference, coerced = _differs(root, central.schema, table, rows, f"dossier_id = {dossier_id}")
                outcome = (f"{table}: {difference}" if difference else "", outcome[1] or coerced)
        _accepted(figures, case, mutation, outcome)

    try:
        _run(figures, CASES * 3 // 5, source, 3, one)
        assert not [p for p in central.importer.work_dir.iterdir() if p.name.startswith("import-")]
    finally:
        upload.write_bytes(source)  # the dossier as it was, for the tests after this one
        central.importer.import_dossier(code, upload, "fuzz")
        root.close()
