"""Loading a verified data backup into a new generation schema of the local MySQL.

Fast path, measured in docs/performance.md: one LOAD DATA LOCAL INFILE per *table* (not per
dossier and table), fed through a named pipe by a thread that streams the table's members out
of the zip — each member's sha256 and row count checked again on the way, nothing extracted
to disk — and tables spread over a few ``mariadb`` sessions that load in parallel, each table
committed once. MariaDB's warnings are printed by the client (``--show-warnings``) and fail
the load; finally every table's row count is compared with the manifest. Memory stays flat.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.backup_reader import (
    ZIP_DAMAGE,
    MemberCheck,
    member_owners,
    open_zip,
    verify_members,
    verify_scripts,
)
from appliance.adapters.mysql import ClientProcess, MysqlClient, query_all
from appliance.domain.backup_format import Manifest, MemberDigest, VerifiedBackup, centre_member, dossier_member
from appliance.domain.ddl import generation_ddl, quote_identifier
from appliance.domain.generations import LoadReport
from appliance.domain.schema import ALL_TABLES, SCHEMA_VERSION, Scope, Table
from appliance.domain.sqltext import literal
from appliance.errors import BadRequest, Unavailable

log = logging.getLogger(__name__)
_BLOCK = 1 << 20


@dataclass
class _TablePlan:
    table: Table
    members: list[tuple[str, MemberDigest]]
    size: int = 0
    rows: int = 0


@dataclass
class _Session:
    plans: list[_TablePlan] = field(default_factory=list)
    size: int = 0
    error: BaseException | None = None
    fed: int = 0


def _plans(manifest: Manifest) -> list[_TablePlan]:
    plans = []
    for table in ALL_TABLES:
        if table.scope is Scope.DOSSIER:
            members = [(dossier_member(d.code, table), d.tables[table.name]) for d in manifest.dossiers]
        else:
            members = [(centre_member(table), manifest.centre_tables[table.name])]
        plan = _TablePlan(table, members)
        plan.size = sum(digest.size for _, digest in members)
        plan.rows = sum(digest.rows or 0 for _, digest in members)
        plans.append(plan)
    return plans


def _spread(plans: list[_TablePlan], sessions: int) -> list[_Session]:
    """Largest tables first, each to the least loaded session."""
    buckets = [_Session() for _ in range(max(1, sessions))]
    for plan in sorted(plans, key=lambda p: p.size, reverse=True):
        bucket = min(buckets, key=lambda b: b.size)
        bucket.plans.append(plan)
        bucket.size += plan.size
    return [bucket for bucket in buckets if bucket.plans]


def _script(session: _Session, schema: str, pipes: dict[str, Path]) -> bytes:
    lines = ["SET SESSION unique_checks = 0;", "SET SESSION foreign_key_checks = 0;", "SET SESSION autocommit = 0;"]
    for plan in session.plans:
        columns = ", ".join(quote_identifier(c) for c in plan.table.column_names)
        lines.append(
            f"LOAD DATA LOCAL INFILE {literal(str(pipes[plan.table.name]))} INTO TABLE {quote_identifier(schema)}."
            f"{quote_identifier(plan.table.name)} CHARACTER SET utf8mb4 ({columns});"
        )
        lines.append("COMMIT;")
    return ("\n".join(lines) + "\n").encode("utf-8")


class ClientGone(Unavailable):
    """The mariadb client stopped before it read its data; its standard error says why."""


def _open_pipe(path: Path, process: ClientProcess, deadline: float) -> int:
    """Open a FIFO for writing once its reader (the client) opened it; fail if the client
    died first instead of blocking forever."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != 6:  # ENXIO: no reader yet
                raise
            if process.process.poll() is not None:
                raise ClientGone("le client mariadb s'est arrêté avant de lire ses données") from error
            if time.monotonic() > deadline:
                raise Unavailable("le client mariadb n'a pas commencé à lire en 10 minutes") from error
            time.sleep(0.01)
            continue
        os.set_blocking(fd, True)
        return fd


class _Fed:
    """Bytes fed by every session, reported to ``progress`` (done, total) member by member."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress
        self._lock = threading.Lock()

    def add(self, size: int) -> None:
        with self._lock:
            self.done += size
            if self.progress is not None:
                self.progress(self.done, self.total)


def _feed(backup: VerifiedBackup, session: _Session, pipes: dict[str, Path], process: ClientProcess, fed: _Fed) -> None:
    """Stream each table's members into its pipe, verifying every member (size, sha256,
    rows, rows' dossier) as it goes: the load is the verification pass."""
    owners = member_owners(backup.manifest)
    try:
        with open_zip(backup.opener, backup.name) as archive:
            for plan in session.plans:
                fd = _open_pipe(pipes[plan.table.name], process, time.monotonic() + 600)
                with os.fdopen(fd, "wb", buffering=0) as pipe:
                    for name, digest in plan.members:
                        check = MemberCheck(name, digest, owners.get(name))
                        with archive.open(name) as member:
                            while block := member.read(_BLOCK):
                                check.update(block)
                                pipe.write(block)
                        check.finish()
                        session.fed += check.size
                        fed.add(check.size)
    except ZIP_DAMAGE as error:  # an OSError (the client gone) is handed on as it is, to _wait
        session.error = BadRequest(f"{backup.name} est illisible : {error}")
    except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which raises it
        session.error = error
    if session.error is not None:
        # The client would otherwise wait forever on the next table's pipe, which no one
        # will open for writing: stop it so the caller sees the feeder's error at once.
        process.kill()


def load_generation(
    backup: VerifiedBackup,
    client: MysqlClient,
    connection: MySQLConnectionAbstract,
    schema: str,
    work_dir: Path,
    sessions: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Fill the empty schema ``schema`` from ``backup``; raises BadRequest (the data does not
    match its manifest, MariaDB warned) or Unavailable (MySQL failed). The caller drops the
    schema on error. ``progress(done, total)`` follows the bytes loaded, member by member."""
    manifest = backup.manifest
    if manifest.schema_version != SCHEMA_VERSION:
        raise BadRequest(
            f"{backup.name} a la version de schéma {manifest.schema_version} ; "
            f"ce gardien charge la version {SCHEMA_VERSION}"
        )
    started = time.monotonic()
    _verify_top_members(backup)
    _create_tables(client, schema)
    directory = work_dir / f"load-{schema}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    plans = _plans(manifest)
    pipes = {plan.table.name: directory / f"{plan.table.name}.pipe" for plan in plans}
    for path in pipes.values():
        os.mkfifo(path, stat.S_IRUSR | stat.S_IWUSR)
    buckets = _spread(plans, sessions)
    fed = _Fed(sum(plan.size for plan in plans), progress)
    running: list[tuple[_Session, ClientProcess, threading.Thread]] = []
    try:
        for bucket in buckets:
            process = client.start(["--batch", "--local-infile=1", "--show-warnings"], database=schema)
            assert process.process.stdin is not None
            process.process.stdin.write(_script(bucket, schema, pipes))
            process.process.stdin.close()
            feeder = threading.Thread(target=_feed, args=(backup, bucket, pipes, process, fed), daemon=True)
            feeder.start()
            running.append((bucket, process, feeder))
        problems = _wait(running)
    finally:
        for _, process, _ in running:
            if process.process.poll() is None:
                process.kill()
        shutil.rmtree(directory, ignore_errors=True)
    if problems:
        raise problems[0]
    loaded = time.monotonic()
    rows = _check_counts(plans, connection, schema)
    return LoadReport(rows, sum(b.fed for b in buckets), loaded - started, time.monotonic() - loaded)


def _wait(running: list[tuple[_Session, ClientProcess, threading.Thread]]) -> list[BaseException]:
    problems: list[BaseException] = []
    for bucket, process, feeder in running:
        output = b""
        if process.process.stdout is not None:
            output = process.process.stdout.read()
        status, stderr = process.finish(timeout=6 * 3600)
        feeder.join(60)
        if isinstance(bucket.error, (BrokenPipeError, ClientGone)):
            # The client went away mid-load (MySQL restarted, the connection lost): its
            # own words say why, never a raw error of the pipe it no longer read.
            gone = str(bucket.error) if isinstance(bucket.error, ClientGone) else "client mariadb arrêté"
            problems.append(Unavailable(f"le chargement dans MySQL a échoué : {stderr or gone}"))
        elif bucket.error is not None:  # the cause, when the feeder stopped the client
            problems.append(bucket.error)
        elif status != 0:
            problems.append(Unavailable(f"le chargement dans MySQL a échoué : {stderr}"))
        elif b"Warning" in output or b"Note" in output:
            first = output.decode("utf-8", "replace").strip().splitlines()[:2]
            problems.append(BadRequest(f"MariaDB a dû modifier les données pendant le chargement : {' '.join(first)}"))
        if problems:
            for _, other, _ in running:
                if other.process.poll() is None:
                    other.kill()
    return problems


def _verify_top_members(backup: VerifiedBackup) -> None:
    """schema.sql, load.sql: not streamed into a table, verified all the same (a sync
    re-verifies every member of the backup it loads), and byte for byte what this code
    writes (they stay in data/ for the documented restore with stock tools)."""
    verify_members(backup, dict(backup.manifest.members))
    verify_scripts(backup)


def _create_tables(client: MysqlClient, schema: str) -> None:
    """Create the tables from this guardian's own DDL: the backup's schema.sql is verified
    and kept for a restore by hand, but never executed (the remote server cannot make the
    guardian run SQL of its choosing). The schema version was checked by the caller."""
    ddl = generation_ddl().script().encode("utf-8")
    process = client.start(["--batch"], database=schema, stdout=subprocess.DEVNULL)
    assert process.process.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        process.process.stdin.write(ddl)
        process.process.stdin.close()
    status, stderr = process.finish(timeout=600)
    if status != 0:
        raise Unavailable(f"la création des tables de {schema} a échoué : {stderr}")


def _check_counts(plans: list[_TablePlan], connection: MySQLConnectionAbstract, schema: str) -> int:
    """Every table holds exactly the manifest's rows. (Each row's dossier was checked when
    the backup was verified, and each member's count while it was fed.)"""
    total = 0
    for plan in plans:
        count = int(
            query_all(
                connection, f"SELECT COUNT(*) FROM {quote_identifier(schema)}.{quote_identifier(plan.table.name)}"
            )[0][0]
        )
        if count != plan.rows:
            raise BadRequest(f"{plan.table.name} : {count} lignes chargées, le manifeste en annonce {plan.rows}")
        total += count
    return total
