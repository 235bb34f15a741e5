"""A generation's record of what it holds, and the incremental refresh of the standby
generation (``domain/standby.py``, docs/design.md §3, "The standby generation").

The record is two tables inside the generation's own schema, so that it moves with the
tables when they are renamed into the next generation and goes with them when it is
dropped: ``guardian_generation`` (one row: the backup it was last brought to, when it was
last built in full, the schema version) and ``guardian_content`` (per dossier: code, ID
système, revision, digest). The local server never reads them.

A refresh checks the scripts (``schema.sql``, ``load.sql``) and extracts the members it
needs (the replaced dossiers' tables, the centre and reference tables), each checked against the manifest as it is written (size, sha256, rows,
every row that dossier's), then, in **one** transaction on the standby: deletes the rows of
the dossiers that left, replaces the rows of the changed ones (each table's count checked),
reloads the centre and reference tables whole, checks that the ``dossier`` table lists
exactly the manifest's dossiers and that no dossier table holds rows of another, and
rewrites the record. Any failure rolls it all back: the
standby is as it was. Then its tables are renamed into the new generation in one
``RENAME TABLE`` statement, and the emptied schema is dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.backup_reader import ZIP_ERRORS, MemberCheck, open_zip
from appliance.adapters.dossier_rows import load_table, replace_dossier_rows
from appliance.adapters.mysql import query_all
from appliance.domain.backup_format import Manifest, MemberDigest, VerifiedBackup, centre_member, dossier_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.domain.standby import HeldContent, StandbyContent, StandbyPlan, dossier_digest
from appliance.errors import BadRequest

CONTENT, INFO = "guardian_content", "guardian_generation"
_BLOCK = 1 << 20
_STAMP = "%Y-%m-%d %H:%M:%S"


def _create_record_tables(cursor: Any, quoted: str) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {quoted}.{CONTENT} (code VARCHAR(64) NOT NULL PRIMARY KEY,"
        " id INT UNSIGNED NOT NULL, revision BIGINT UNSIGNED NOT NULL, digest CHAR(64) NOT NULL)"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {quoted}.{INFO} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
        " backup VARCHAR(255) NOT NULL, built_at DATETIME NOT NULL, schema_version INT UNSIGNED NOT NULL)"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )


def _write_record(cursor: Any, quoted: str, manifest: Manifest, backup: str, built_at: dt.datetime | None) -> None:
    cursor.execute(f"DELETE FROM {quoted}.{CONTENT}")
    rows = [(d.code, d.id, d.revision, dossier_digest(d)) for d in manifest.dossiers]
    if rows:
        cursor.executemany(f"INSERT INTO {quoted}.{CONTENT} (code, id, revision, digest) VALUES (%s, %s, %s, %s)", rows)
    if built_at is None:
        cursor.execute(
            f"UPDATE {quoted}.{INFO} SET backup = %s, schema_version = %s WHERE id = 1",
            (backup, manifest.schema_version),
        )
    else:
        cursor.execute(
            f"REPLACE INTO {quoted}.{INFO} (id, backup, built_at, schema_version) VALUES (1, %s, %s, %s)",
            (backup, built_at.astimezone(dt.UTC).strftime(_STAMP), manifest.schema_version),
        )


def record_full_load(
    connection: MySQLConnectionAbstract, schema: str, manifest: Manifest, backup: str, now: dt.datetime
) -> None:
    """Write the record of a generation just loaded in full from ``backup``."""
    quoted = quote_identifier(schema)
    cursor = connection.cursor()
    try:
        _create_record_tables(cursor, quoted)
        connection.start_transaction()
        _write_record(cursor, quoted, manifest, backup, now)
        connection.commit()
    finally:
        cursor.close()


def read_content(connection: MySQLConnectionAbstract, schema: str, generation: int) -> StandbyContent | None:
    """The record of ``schema`` and its dossiers' IDs and revisions now; None without a
    complete record (a generation built before records, or half-renamed)."""
    tables = {
        str(r[0])
        for r in query_all(
            connection, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
    }
    if not {CONTENT, INFO, "dossier"} <= tables:
        return None
    quoted = quote_identifier(schema)
    info = query_all(connection, f"SELECT backup, built_at, schema_version FROM {quoted}.{INFO} WHERE id = 1")
    if not info:
        return None
    held = query_all(connection, f"SELECT code, id, revision, digest FROM {quoted}.{CONTENT}")
    current = query_all(connection, f"SELECT code, id, revision FROM {quoted}.dossier")
    built = info[0][1]
    return StandbyContent(
        generation=generation,
        backup=str(info[0][0]),
        built_at=built.replace(tzinfo=dt.UTC)
        if isinstance(built, dt.datetime)
        else dt.datetime.min.replace(tzinfo=dt.UTC),
        schema_version=int(info[0][2]),
        dossiers={str(r[0]): HeldContent(int(r[1]), int(r[2]), str(r[3])) for r in held},
        current={str(r[0]): (int(r[1]), int(r[2])) for r in current},
    )


def extract_checked(backup: VerifiedBackup, plan: StandbyPlan, directory: Path) -> int:
    """Write the members a refresh loads into ``directory``, each checked against the
    manifest as it goes by; returns their bytes; raises BadRequest."""
    manifest = backup.manifest
    by_code = {entry.code: entry for entry in manifest.dossiers}
    wanted: list[tuple[str, MemberDigest, int | None]] = []
    for table in REFERENCE_TABLES + CENTRE_TABLES:
        wanted.append((centre_member(table), manifest.centre_tables[table.name], None))
    for code in plan.replace:
        entry = by_code[code]
        wanted += [(dossier_member(code, t), entry.tables[t.name], entry.id) for t in DOSSIER_TABLES]
    size = 0
    with open_zip(backup.opener, backup.name) as archive:
        for name, digest in manifest.members.items():  # the scripts: checked, not loaded
            _copy_checked(archive, name, MemberCheck(name, digest, None), None)
        for name, digest, owner in wanted:
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_checked(archive, name, MemberCheck(name, digest, owner), target)
            size += digest.size
    return size


def _copy_checked(archive: Any, name: str, check: MemberCheck, target: Path | None) -> None:
    try:
        with archive.open(name) as member, target.open("wb") if target else contextlib.nullcontext() as sink:
            while block := member.read(_BLOCK):
                check.update(block)
                if sink is not None:
                    sink.write(block)
    except ZIP_ERRORS as error:
        raise BadRequest(f"{name} ne peut être lu : {error}") from error
    check.finish()


def apply_plan(
    connection: MySQLConnectionAbstract, schema: str, backup: VerifiedBackup, plan: StandbyPlan, directory: Path
) -> int:
    """The refresh's statements, inside the caller's transaction; returns the rows loaded;
    raises BadRequest when a count or the dossier list differs from the manifest."""
    manifest = backup.manifest
    quoted = quote_identifier(schema)
    by_code = {entry.code: entry for entry in manifest.dossiers}
    cursor = connection.cursor()
    rows = 0
    try:
        for identifier in plan.delete:
            for table in DOSSIER_TABLES:
                cursor.execute(
                    f"DELETE FROM {quoted}.{quote_identifier(table.name)} WHERE dossier_id = %s", (identifier,)
                )
        for code in plan.replace:
            entry = by_code[code]
            rows += replace_dossier_rows(cursor, schema, entry.id, entry, directory)
        for table in REFERENCE_TABLES + CENTRE_TABLES:
            cursor.execute(f"DELETE FROM {quoted}.{quote_identifier(table.name)}")
            loaded = load_table(cursor, schema, table, directory / centre_member(table))
            expected = manifest.centre_tables[table.name].rows
            if loaded != expected:
                raise BadRequest(f"{table.name} : {loaded} lignes chargées, le manifeste en annonce {expected}")
            rows += loaded
        listed_rows: list[Any] = list(query_all(connection, f"SELECT id, code, revision FROM {quoted}.dossier"))
        found = sorted((int(r[0]), str(r[1]), int(r[2])) for r in listed_rows)
        listed = sorted((d.id, d.code, d.revision) for d in manifest.dossiers)
        if found != listed:
            differ = sorted(set(found) ^ set(listed))[:3]
            raise BadRequest(f"dossier : les lignes ne sont pas les dossiers du manifeste ({differ})")
        ids = {d.id for d in manifest.dossiers}
        for table in DOSSIER_TABLES:  # the primary key starts with dossier_id: an index walk
            name = quote_identifier(table.name)
            present = {int(r[0]) for r in query_all(connection, f"SELECT DISTINCT dossier_id FROM {quoted}.{name}")}
            if stray := sorted(present - ids):
                raise BadRequest(
                    f"{table.name} : des lignes de dossiers absents de la sauvegarde (ID système {stray[:3]})"
                )
        _write_record(cursor, quoted, manifest, backup.name, None)
    finally:
        cursor.close()
    return rows


def rename_into(connection: MySQLConnectionAbstract, standby: str, target: str) -> None:
    """Move every table of ``standby`` into the empty schema ``target`` in one statement."""
    tables = [
        str(r[0])
        for r in query_all(
            connection, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (standby,)
        )
    ]
    moves = ", ".join(
        f"{quote_identifier(standby)}.{quote_identifier(t)} TO {quote_identifier(target)}.{quote_identifier(t)}"
        for t in sorted(tables)
    )
    query_all(connection, f"RENAME TABLE {moves}")
