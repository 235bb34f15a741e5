"""Replacing one dossier's rows inside a transaction the caller holds (server imports and
the guardian's pulls share it). Every statement is bounded by ``dossier_id``; each table is
loaded with LOAD DATA LOCAL INFILE from the extracted backup, then MariaDB's warnings and the
row count are checked against the manifest, so a value MariaDB had to coerce or a row of
another dossier fails the whole transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mysql.connector

from appliance.domain.backup_format import DossierEntry, dossier_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import DOSSIER_TABLES, Table
from appliance.domain.sqltext import literal
from appliance.errors import BadRequest

# MariaDB's errors about a value or a row of the data: truncated, incorrect, out of range,
# too long, NULL in a NOT NULL column, too few or too many fields, a duplicate key.
_DATA_ERRORS = frozenset({1048, 1062, 1261, 1262, 1264, 1265, 1292, 1366, 1406})


def load_table(cursor: Any, schema: str, table: Table, path: Path, replace: bool = False) -> int:
    """LOAD DATA LOCAL INFILE ``path`` into ``table``; returns the rows MariaDB took and raises
    BadRequest on its first warning (a value it had to coerce, a duplicate key)."""
    columns = ", ".join(quote_identifier(c) for c in table.column_names)
    mode = " REPLACE" if replace else ""
    try:
        cursor.execute(
            f"LOAD DATA LOCAL INFILE {literal(str(path))}{mode} INTO TABLE {quote_identifier(schema)}.{quote_identifier(table.name)}"
            f" CHARACTER SET utf8mb4 ({columns})"
        )
    except mysql.connector.Error as error:
        # With REPLACE, MariaDB's strict mode raises what it otherwise warns about: the
        # backup's fault, not the database's (tests/integration/test_hostile_loads.py).
        if error.errno in _DATA_ERRORS:
            raise BadRequest(f"{table.name} : données invalides ({error.msg})") from error
        raise
    loaded = int(cursor.rowcount)
    cursor.execute("SHOW WARNINGS")
    warnings: list[Any] = list(cursor.fetchall())
    if warnings:
        raise BadRequest(f"{table.name} : données invalides ({warnings[0][2]!s})")
    return loaded


def replace_dossier_rows(cursor: Any, schema: str, dossier_id: int, entry: DossierEntry, directory: Path) -> int:
    """Delete the dossier's rows and load the backup's, table by table; returns the rows."""
    quoted = quote_identifier(schema)
    total = 0
    for table in DOSSIER_TABLES:
        cursor.execute(f"DELETE FROM {quoted}.{quote_identifier(table.name)} WHERE dossier_id = %s", (dossier_id,))
        loaded = load_table(cursor, schema, table, directory / dossier_member(entry.code, table))
        cursor.execute(
            f"SELECT COUNT(*) FROM {quoted}.{quote_identifier(table.name)} WHERE dossier_id = %s", (dossier_id,)
        )
        counted: Any = cursor.fetchone()
        expected = entry.tables[table.name].rows
        if loaded != expected or int(counted[0]) != expected:
            raise BadRequest(
                f"{table.name} : {int(counted[0])} lignes chargées pour le dossier {entry.code}, "
                f"le manifeste en annonce {expected}"
            )
        total += loaded
    return total
