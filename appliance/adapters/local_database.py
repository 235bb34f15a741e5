"""The local MySQL as the guardian sees it (the LocalDatabase port), through the guardian's
restricted account: the data generations and the control row (``generations``), the fast
loader (``generation_loader``), dossier rows replaced in one transaction (``dossier_rows``)
and a dossier's local copy in the backup format (``backup_writer``). All the guardian's SQL
is here and in those modules (docs/design.md §3, §4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters import generations
from appliance.adapters.backup_reader import open_zip
from appliance.adapters.backup_writer import ExportRequest, stream_export
from appliance.adapters.dossier_rows import load_table, replace_dossier_rows
from appliance.adapters.generation_loader import load_generation
from appliance.adapters.mysql import ConnectionPool, MysqlClient, MysqlSettings, connect, query_all
from appliance.adapters.outbox_rows import read_outbox, write_outcome
from appliance.adapters.standby_generation import (
    apply_plan,
    extract_checked,
    prepare_record,
    read_content,
    record_full_load,
    rename_into,
)
from appliance.domain.backup_format import DossierEntry, VerifiedBackup, centre_member, dossier_member
from appliance.domain.ddl import generation_schema_name, quote_identifier
from appliance.domain.dossiers import LocalDossier
from appliance.domain.generations import Live, LoadReport
from appliance.domain.outbox import OutboxEntry, Outcome
from appliance.domain.pull_scope import check_pull_scope
from appliance.domain.schema import DOSSIER_TABLES, TABLES_BY_NAME
from appliance.domain.standby import StandbyContent, StandbyPlan
from appliance.errors import BadRequest, Refused, Unavailable

log = logging.getLogger(__name__)
DossierGuard = Callable[[Mapping[str, LocalDossier]], None]
CONTROL = "neocuma_control"
_CENTRE_TABLES = (("centre", True), ("utilisateur", True), ("dossier", True), ("droit_dossier", False))


def read_dossiers(
    connection: MySQLConnectionAbstract, schema: str, codes: Sequence[str] | None = None
) -> dict[str, LocalDossier]:
    """The dossiers of ``schema`` read on ``connection`` (inside its transaction if any);
    with ``codes``, only those, locked FOR UPDATE."""
    quoted = quote_identifier(schema)
    if codes is None:
        rows = query_all(connection, f"SELECT id, code, nom, revision FROM {quoted}.dossier ORDER BY code")
    elif not codes:
        rows = []
    else:
        marks = ", ".join(["%s"] * len(codes))
        rows = query_all(
            connection,
            f"SELECT id, code, nom, revision FROM {quoted}.dossier WHERE code IN ({marks}) FOR UPDATE",
            codes,
        )
    return {str(r[1]): LocalDossier(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows}


@contextlib.contextmanager
def _transaction(connection: MySQLConnectionAbstract, failed: str) -> Iterator[MySQLConnectionAbstract]:
    """One READ COMMITTED transaction, committed at the end of the block, rolled back on any
    error; MySQL's errors become Unavailable prefixed with ``failed``."""
    try:
        connection.cmd_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        connection.start_transaction()
        yield connection
        connection.commit()
    except mysql.connector.Error as error:
        raise Unavailable(f"{failed} : {error.msg}") from error
    finally:
        with contextlib.suppress(mysql.connector.Error):
            connection.rollback()


class MysqlLocalDatabase:
    """The LocalDatabase port over MySQL; ``work_dir`` holds the loader's pipes and the files
    a pull extracts (emptied by the backups store's ``clean_scratch``)."""

    def __init__(self, settings: MysqlSettings, work_dir: Path, pool_size: int = 4) -> None:
        self.settings = settings
        self.work_dir = work_dir
        self.pool = ConnectionPool(settings, size=pool_size)
        self.client = MysqlClient(settings)

    def live(self) -> Live:
        with self.pool.acquire() as connection:
            data, system, mode = generations.live_generations(connection)
        return Live(data, system, mode)

    def outbox(self, states: Sequence[str]) -> list[OutboxEntry]:
        """The outbox's operations in ``states``, oldest first (``adapters.outbox_rows``)."""
        with self.pool.acquire() as connection:
            return read_outbox(connection, states, CONTROL)

    def record_outcome(self, outcome: Outcome, at: dt.datetime) -> None:
        """Write one answer of ``v1 replay`` into the outbox, committed at once."""
        with self.pool.acquire() as connection:
            write_outcome(connection, outcome, at, CONTROL)

    def generations(self) -> list[int]:
        with self.pool.acquire() as connection:
            return generations.existing_generations(connection)

    def create_generation(self, generation: int) -> None:
        with self.pool.acquire() as connection:
            generations.create_generation_schema(connection, generation)

    def load_generation(
        self,
        generation: int,
        backup: VerifiedBackup,
        progress: Callable[[int, int], None] | None = None,
        built_at: dt.datetime | None = None,
    ) -> LoadReport:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        schema = generation_schema_name(generation)
        with self.pool.acquire() as connection:
            report = load_generation(backup, self.client, connection, schema, self.work_dir, progress=progress)
            _check_dossier_rows(connection, schema, backup)
            try:
                record_full_load(connection, schema, backup.manifest, backup.name, built_at or dt.datetime.now(dt.UTC))
            except mysql.connector.Error as error:
                raise Unavailable(f"inventaire de la génération {generation} non écrit : {error.msg}") from error
        return report

    def standby_content(self, generation: int) -> StandbyContent | None:
        with self.pool.acquire() as connection:
            return read_content(connection, generation_schema_name(generation), generation)

    def refresh_generation(
        self,
        standby: int,
        target: int,
        backup: VerifiedBackup,
        plan: StandbyPlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> LoadReport:
        """Bring ``standby`` to ``backup`` by ``plan`` in one transaction, then rename its
        tables into the new generation ``target`` (``adapters/standby_generation.py``)."""
        started = time.monotonic()
        schema = generation_schema_name(standby)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="standby-", dir=self.work_dir))
        try:
            size = extract_checked(backup, plan, directory)
            if progress is not None:
                progress(size, size)
            loading = time.monotonic()
            opened = connect(self.settings, local_infile_dir=str(directory))
            try:
                prepare_record(opened, schema)
                with _transaction(opened, "la mise à jour de la génération de réserve a été annulée") as connection:
                    rows = apply_plan(connection, schema, backup, plan, directory)
            finally:
                opened.close()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        checked = time.monotonic()
        with self.pool.acquire() as connection:
            generations.create_generation_schema(connection, target)
            rename_into(connection, schema, generation_schema_name(target))
            generations.drop_generation_schema(connection, standby)
        return LoadReport(rows, size, checked - loading, loading - started)

    def drop_generation(self, generation: int) -> None:
        with self.pool.acquire() as connection:
            generations.drop_generation_schema(connection, generation)

    def switch_live(self, data_generation: int | None, system_generation: int | None) -> None:
        with self.pool.acquire() as connection:
            generations.switch_live(connection, data_generation, system_generation)

    def dossiers(self) -> dict[str, LocalDossier]:
        with self.pool.acquire() as connection:
            data, _, _ = generations.live_generations(connection)
            return {} if data is None else read_dossiers(connection, generation_schema_name(data))

    def set_mode(self, mode: str, guard: DossierGuard | None = None) -> None:
        """One transaction holding the control row exclusively: a LAN write in flight (it
        holds the row shared) finishes first, and none starts until the mode is written."""
        with (
            self.pool.acquire() as pooled,
            _transaction(pooled, "impossible de changer le mode du serveur local") as connection,
        ):
            rows = query_all(connection, f"SELECT data_generation FROM {CONTROL}.live WHERE id = 1 FOR UPDATE")
            if guard is not None and rows and rows[0][0] is not None:
                guard(read_dossiers(connection, generation_schema_name(int(rows[0][0]))))
            cursor = connection.cursor()
            # changed_at first, while mode still holds the old value: it moves only when the mode
            # does (NeoCuma Web shows it as the start of the fallback mode).
            cursor.execute(
                f"UPDATE {CONTROL}.live SET changed_at = IF(mode = %s, changed_at, CURRENT_TIMESTAMP(3)),"
                " mode = %s WHERE id = 1",
                (mode, mode),
            )
            cursor.close()

    def replace_dossiers(self, generation: int, backup: VerifiedBackup, guard: DossierGuard) -> None:
        """Extract the backup's dossiers and centre tables, then replace the rows in one
        transaction: the control row read shared (a swap waits), ``generation`` still live,
        the dossiers locked and passed to ``guard``. The backup's centre rows are those of
        its dossiers only (an export of those dossiers), so its rights replace theirs."""
        entries = backup.manifest.dossiers
        self.work_dir.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="pull-", dir=self.work_dir))
        try:
            _extract(backup, [entry.code for entry in entries], directory)
            check_pull_scope(
                backup.manifest,
                {name: (directory / centre_member(TABLES_BY_NAME[name])).read_bytes() for name, _ in _CENTRE_TABLES},
            )
            self._replace(generation_schema_name(generation), entries, directory, guard)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _replace(self, schema: str, entries: Sequence[DossierEntry], directory: Path, guard: DossierGuard) -> None:
        opened = connect(self.settings, local_infile_dir=str(directory))
        quoted = quote_identifier(schema)
        try:
            with _transaction(opened, "la descente a été annulée") as connection:
                self._replace_in(connection, quoted, schema, entries, directory, guard)
        finally:
            opened.close()

    @staticmethod
    def _replace_in(
        connection: MySQLConnectionAbstract,
        quoted: str,
        schema: str,
        entries: Sequence[DossierEntry],
        directory: Path,
        guard: DossierGuard,
    ) -> None:
        live = query_all(connection, f"SELECT data_generation FROM {CONTROL}.live WHERE id = 1 LOCK IN SHARE MODE")
        if not live or live[0][0] is None or generation_schema_name(int(live[0][0])) != schema:
            raise Unavailable("la génération en service a changé entre-temps ; rien n'a été écrit, réessayez")
        guard(read_dossiers(connection, schema, sorted(entry.code for entry in entries)))
        cursor = connection.cursor()
        for entry in entries:
            cursor.execute(f"DELETE FROM {quoted}.droit_dossier WHERE dossier_id = %s", (entry.id,))
            replace_dossier_rows(cursor, schema, entry.id, entry, directory)
        for name, replace in _CENTRE_TABLES:
            table = TABLES_BY_NAME[name]
            load_table(cursor, schema, table, directory / centre_member(table), replace=replace)
        cursor.close()

    def export_dossier(self, dossier: LocalDossier, login: str, sink: BinaryIO, now: dt.datetime) -> None:
        """The live generation's copy of ``dossier`` in the backup format (restorable with
        stock tools); raises Refused before the first synchronisation."""
        with self.pool.acquire() as connection:
            data, _, _ = generations.live_generations(connection)
            if data is None:
                raise Refused("le serveur local n'a aucune donnée")
            schema = generation_schema_name(data)
            quoted = quote_identifier(schema)
            centre = query_all(
                connection,
                f"SELECT d.centre_code, c.nom FROM {quoted}.dossier d LEFT JOIN {quoted}.centre c"
                " ON c.code = d.centre_code WHERE d.id = %s",
                (dossier.id,),
            )
        if not centre:
            raise Refused(f"le dossier {dossier.code} n'est plus sur le serveur local")
        request = ExportRequest(
            schema=schema,
            data_generation=data,
            centre_code=str(centre[0][0]),
            centre_name=str(centre[0][1] or centre[0][0]),
            user_login=login,
            user_profile="local-copy",
            dossiers=[(dossier.id, dossier.code)],
            server_name="neocuma-local",
            server_role="local",
        )
        stream_export(request, self.client, sink, zip_level=6, now=lambda: now)


def _check_dossier_rows(connection: MySQLConnectionAbstract, schema: str, backup: VerifiedBackup) -> None:
    """The loaded dossiers are the manifest's, with its codes and revisions: its revisions
    become the baselines, so rows saying otherwise would hide local work done later (or
    invent some); raises BadRequest."""
    rows = query_all(connection, f"SELECT id, code, revision FROM {quote_identifier(schema)}.dossier")
    found = sorted((int(r[0]), str(r[1]), int(r[2])) for r in rows)
    listed = sorted((d.id, d.code, d.revision) for d in backup.manifest.dossiers)
    if found != listed:
        differ = sorted(set(found) ^ set(listed))[:3]
        raise BadRequest(
            f"dossier : les lignes chargées ne sont pas les dossiers du manifeste (identifiant, code, révision : {differ})"
        )


def _extract(backup: VerifiedBackup, codes: list[str], directory: Path) -> None:
    names = [dossier_member(code, table) for code in codes for table in DOSSIER_TABLES]
    names += [centre_member(TABLES_BY_NAME[name]) for name, _ in _CENTRE_TABLES]
    with open_zip(backup.opener, backup.name) as archive:
        for name in names:
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as member, target.open("wb") as sink:
                shutil.copyfileobj(member, sink, 1 << 20)
