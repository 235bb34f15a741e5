"""A generation's record of what it holds, and the incremental refresh of the standby
generation (``domain/standby.py``, docs/design.md §3, "The standby generation").

The record is two tables inside the generation's own schema, so that it moves with the
tables when they are renamed into the next generation and goes with them when it is
dropped: ``guardian_generation`` (one row: the backup it was last brought to, when it was
last built in full, the schema version) and ``guardian_content`` (per dossier: code, ID
système, revision, digest, and each table's sha256 and rows as JSON in ``table_digests``, a column
added to older records by ``prepare_record``). The local server never reads them.

A refresh checks the scripts (``schema.sql``, ``load.sql``) and extracts the members it
needs (the replaced tables of the replaced dossiers, the centre and reference tables), each checked against the manifest as it is written (size, sha256, rows,
every row that dossier's), then, in **one** transaction on the standby, table by table:
deletes the rows of the dossiers that left or changed, loads the changed ones' rows in one
``LOAD DATA`` (each dossier's count checked), reloads the centre and reference tables
whole, checks that the ``dossier`` table lists exactly the manifest's dossiers and that no
dossier table holds rows of another, and rewrites the record. Any failure rolls it all back: the
standby is as it was. Then its tables are renamed into the new generation in one
``RENAME TABLE`` statement, and the emptied schema is dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.backup_reader import ZIP_ERRORS, MemberCheck, open_zip
from appliance.adapters.dossier_rows import load_table
from appliance.adapters.mysql import query_all
from appliance.domain.backup_format import DossierEntry, Manifest, VerifiedBackup, centre_member, dossier_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, Table
from appliance.domain.sqltext import literal
from appliance.domain.standby import HeldContent, StandbyContent, StandbyPlan, dossier_digest, table_tokens
from appliance.errors import BadRequest

CONTENT, INFO = "guardian_content", "guardian_generation"
_BLOCK = 1 << 20
_STAMP = "%Y-%m-%d %H:%M:%S"


def _create_record_tables(cursor: Any, quoted: str) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {quoted}.{CONTENT} (code VARCHAR(64) NOT NULL PRIMARY KEY,"
        " id INT UNSIGNED NOT NULL, revision BIGINT UNSIGNED NOT NULL, digest CHAR(64) NOT NULL,"
        " table_digests MEDIUMTEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    cursor.execute(f"ALTER TABLE {quoted}.{CONTENT} ADD COLUMN IF NOT EXISTS table_digests MEDIUMTEXT NULL")
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {quoted}.{INFO} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
        " backup VARCHAR(255) NOT NULL, built_at DATETIME NOT NULL, schema_version INT UNSIGNED NOT NULL)"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )


def _write_record(cursor: Any, quoted: str, manifest: Manifest, backup: str, built_at: dt.datetime | None) -> None:
    cursor.execute(f"DELETE FROM {quoted}.{CONTENT}")
    rows = [
        (d.code, d.id, d.revision, dossier_digest(d), json.dumps(table_tokens(d), separators=(",", ":")))
        for d in manifest.dossiers
    ]
    if rows:
        cursor.executemany(
            f"INSERT INTO {quoted}.{CONTENT} (code, id, revision, digest, table_digests) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
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


def prepare_record(connection: MySQLConnectionAbstract, schema: str) -> None:
    """The record's tables as this code writes them (a column added to an older record):
    DDL, so outside the refresh's transaction, which it would commit."""
    cursor = connection.cursor()
    try:
        _create_record_tables(cursor, quote_identifier(schema))
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
    columns = {
        str(r[0])
        for r in query_all(
            connection,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema, CONTENT),
        )
    }
    digests = "table_digests" if "table_digests" in columns else "NULL"
    held = query_all(connection, f"SELECT code, id, revision, digest, {digests} FROM {quoted}.{CONTENT}")
    current = query_all(connection, f"SELECT code, id, revision FROM {quoted}.dossier")
    built = info[0][1]
    return StandbyContent(
        generation=generation,
        backup=str(info[0][0]),
        built_at=built.replace(tzinfo=dt.UTC)
        if isinstance(built, dt.datetime)
        else dt.datetime.min.replace(tzinfo=dt.UTC),
        schema_version=int(info[0][2]),
        dossiers={str(r[0]): HeldContent(int(r[1]), int(r[2]), str(r[3]), _tokens(r[4])) for r in held},
        current={str(r[0]): (int(r[1]), int(r[2])) for r in current},
    )


def _tokens(value: object) -> dict[str, str]:
    """A record's ``table_digests`` JSON; anything else (NULL, damaged) is no knowledge, so every
    table of that dossier is replaced if it changed."""
    try:
        tokens = json.loads(value) if isinstance(value, (str, bytes, bytearray)) else None
    except ValueError:
        return {}
    if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
        return {}
    return {str(k): v for k, v in tokens.items()}


def _batch(directory: Path, table: Table) -> Path:
    return directory / "batch" / f"{table.name}.tsv"


def extract_checked(backup: VerifiedBackup, plan: StandbyPlan, directory: Path) -> int:
    """Write the members a refresh loads into ``directory``, each checked against the
    manifest as it goes by: the centre and reference tables one file each, and per dossier
    table one file holding the replaced dossiers' members one after the other (one
    ``LOAD DATA`` per table). Returns their bytes; raises BadRequest."""
    manifest = backup.manifest
    by_code = {entry.code: entry for entry in manifest.dossiers}
    size = 0
    (directory / "batch").mkdir(parents=True, exist_ok=True)
    with open_zip(backup.opener, backup.name) as archive:
        for name, digest in manifest.members.items():  # the scripts: checked, not loaded
            _copy_checked(archive, name, MemberCheck(name, digest, None), None)
        for table in REFERENCE_TABLES + CENTRE_TABLES:
            name, digest = centre_member(table), manifest.centre_tables[table.name]
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as sink:
                _copy_checked(archive, name, MemberCheck(name, digest, None), sink)
            size += digest.size
        for table in DOSSIER_TABLES:
            with _batch(directory, table).open("wb") as sink:
                for code in plan.replaced_in(table.name):
                    entry = by_code[code]
                    name, digest = dossier_member(code, table), entry.tables[table.name]
                    _copy_checked(archive, name, MemberCheck(name, digest, entry.id), sink)
                    size += digest.size
    return size


def _copy_checked(archive: Any, name: str, check: MemberCheck, sink: BinaryIO | None) -> None:
    try:
        with archive.open(name) as member:
            while block := member.read(_BLOCK):
                check.update(block)
                if sink is not None:
                    sink.write(block)
    except ZIP_ERRORS as error:
        raise BadRequest(f"{name} ne peut être lu : {error}") from error
    check.finish()


def _marks(values: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(values))


def apply_plan(
    connection: MySQLConnectionAbstract, schema: str, backup: VerifiedBackup, plan: StandbyPlan, directory: Path
) -> int:
    """The refresh's statements, inside the caller's transaction; returns the rows loaded;
    raises BadRequest when a count, the dossier list or a row's dossier differs from the
    manifest."""
    manifest = backup.manifest
    quoted = quote_identifier(schema)
    by_code = {entry.code: entry for entry in manifest.dossiers}
    cursor = connection.cursor()
    rows = 0
    try:
        for table in DOSSIER_TABLES:
            name = f"{quoted}.{quote_identifier(table.name)}"
            replaced = [by_code[code] for code in plan.replaced_in(table.name)]
            emptied = sorted(set(plan.delete) | {entry.id for entry in replaced})
            if emptied:
                cursor.execute(f"DELETE FROM {name} WHERE dossier_id IN ({_marks(emptied)})", tuple(emptied))
            if replaced:
                rows += _load_dossiers(cursor, schema, table, replaced, _batch(directory, table))
        for table in REFERENCE_TABLES + CENTRE_TABLES:
            cursor.execute(f"DELETE FROM {quoted}.{quote_identifier(table.name)}")
            loaded = load_table(cursor, schema, table, directory / centre_member(table))
            expected = manifest.centre_tables[table.name].rows
            if loaded != expected:
                raise BadRequest(f"{table.name} : {loaded} lignes chargées, le manifeste en annonce {expected}")
            rows += loaded
        _check_dossiers(connection, quoted, manifest)
        _write_record(cursor, quoted, manifest, backup.name, None)
    finally:
        cursor.close()
    return rows


def _load_dossiers(cursor: Any, schema: str, table: Table, replaced: list[DossierEntry], path: Path) -> int:
    """One LOAD DATA of the replaced dossiers' rows of ``table``, then each one's count."""
    loaded = load_table(cursor, schema, table, path)
    ids = [entry.id for entry in replaced]
    cursor.execute(
        f"SELECT dossier_id, COUNT(*) FROM {quote_identifier(schema)}.{quote_identifier(table.name)}"
        f" WHERE dossier_id IN ({_marks(ids)}) GROUP BY dossier_id",
        tuple(ids),
    )
    counted = {int(r[0]): int(r[1]) for r in cursor.fetchall()}
    for entry in replaced:
        expected = entry.tables[table.name].rows or 0
        if counted.get(entry.id, 0) != expected:
            raise BadRequest(
                f"{table.name} : {counted.get(entry.id, 0)} lignes chargées pour le dossier {entry.code}, "
                f"le manifeste en annonce {expected}"
            )
    return loaded


def _check_dossiers(connection: MySQLConnectionAbstract, quoted: str, manifest: Manifest) -> None:
    """The ``dossier`` table lists exactly the manifest's dossiers, and no dossier table
    holds a row of another (a range scan of the primary key between the listed IDs)."""
    found = sorted(
        (int(r[0]), str(r[1]), int(r[2]))
        for r in query_all(connection, f"SELECT id, code, revision FROM {quoted}.dossier")
    )
    listed = sorted((d.id, d.code, d.revision) for d in manifest.dossiers)
    if found != listed:
        differ = sorted(set(found) ^ set(listed))[:3]
        raise BadRequest(f"dossier : les lignes ne sont pas les dossiers du manifeste ({differ})")
    # One query for every table (one round trip); the IDs are the manifest's whole numbers.
    listed_ids = ",".join(str(int(d.id)) for d in sorted(manifest.dossiers, key=lambda d: d.id))
    where = f" WHERE dossier_id NOT IN ({listed_ids})" if listed_ids else ""
    parts = [
        f"(SELECT {literal(table.name)}, dossier_id FROM {quoted}.{quote_identifier(table.name)}{where} LIMIT 1)"
        for table in DOSSIER_TABLES
    ]
    stray = query_all(connection, " UNION ALL ".join(parts))
    if stray:
        raise BadRequest(f"{stray[0][0]} : des lignes d'un dossier absent de la sauvegarde (ID système {stray[0][1]})")


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
