"""Test oracles, computed directly on a database; they import nothing of the appliance.

Per dossier and table: COUNT(*) and an order-independent hash of every column (columns read
from information_schema), so two databases holding the same rows in any order agree, and a
single changed value anywhere disagrees.
"""

from __future__ import annotations

from typing import Any

import mysql.connector


def connect(host: str, port: int, user: str, password: str, database: str | None = None) -> Any:
    return mysql.connector.connect(
        host=host,
        port=port,
        user=user,
        password=password,
        database=database,
        use_pure=True,
        autocommit=True,
        charset="utf8mb4",
        collation="utf8mb4_unicode_ci",
    )


def columns(connection: Any, schema: str, table: str) -> list[str]:
    cursor = connection.cursor()
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (schema, table),
    )
    names = [str(row[0]) for row in cursor.fetchall()]
    cursor.close()
    return names


def tables_with_column(connection: Any, schema: str, column: str) -> list[str]:
    cursor = connection.cursor()
    cursor.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = %s"
        " ORDER BY table_name",
        (schema, column),
    )
    names = [str(row[0]) for row in cursor.fetchall()]
    cursor.close()
    return names


def _row_hash_sql(names: list[str]) -> str:
    parts = ", ".join(f"IFNULL(CAST(`{n}` AS CHAR), '<NULL>')" for n in names)
    # 16 hex digits of SHA-256 per row, summed: order-independent, sensitive to every value.
    return f"SUM(CAST(CONV(LEFT(SHA2(CONCAT_WS(CHAR(31), {parts}), 256), 15), 16, 10) AS UNSIGNED))"


def dossier_oracles(connection: Any, schema: str, dossier_ids: list[int]) -> dict[tuple[int, str], tuple[int, str]]:
    """(dossier_id, table) -> (row count, hash) for every table with a dossier_id column
    (``dossier`` and ``droit_dossier`` excepted: their rows are centre-level)."""
    result: dict[tuple[int, str], tuple[int, str]] = {}
    if not dossier_ids:
        return result
    ids = ", ".join(str(int(d)) for d in dossier_ids)
    cursor = connection.cursor()
    for table in tables_with_column(connection, schema, "dossier_id"):
        if table == "droit_dossier":
            continue
        names = columns(connection, schema, table)
        cursor.execute(
            f"SELECT dossier_id, COUNT(*), {_row_hash_sql(names)} FROM `{schema}`.`{table}`"
            f" WHERE dossier_id IN ({ids}) GROUP BY dossier_id"
        )
        seen = set()
        for dossier_id, count, digest in cursor.fetchall():
            result[(int(dossier_id), table)] = (int(count), str(digest))
            seen.add(int(dossier_id))
        for dossier_id in dossier_ids:
            if dossier_id not in seen:
                result[(dossier_id, table)] = (0, "None")
    cursor.close()
    return result


def table_oracle(connection: Any, schema: str, table: str, where: str = "1 = 1") -> tuple[int, str]:
    names = columns(connection, schema, table)
    cursor = connection.cursor()
    cursor.execute(f"SELECT COUNT(*), {_row_hash_sql(names)} FROM `{schema}`.`{table}` WHERE {where}")
    count, digest = cursor.fetchone()
    cursor.close()
    return int(count), str(digest)


def whole_schema_oracle(connection: Any, schema: str) -> dict[str, tuple[int, str]]:
    """Every table of ``schema``: (row count, hash). Used to prove nothing changed."""
    cursor = connection.cursor()
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))
    tables = [str(row[0]) for row in cursor.fetchall()]
    cursor.close()
    return {table: table_oracle(connection, schema, table) for table in tables}


def query(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(sql, params)
    rows = cursor.fetchall() if cursor.with_rows else []
    cursor.close()
    return [tuple(r) for r in rows]


def dossiers_of(connection: Any, schema: str, login: str, where: str = "1 = 1") -> list[tuple[int, str]]:
    """(id, code) of the dossiers ``login`` has rights on, by code, filtered by ``where``."""
    rows = query(
        connection,
        f"SELECT d.id, d.code FROM `{schema}`.dossier d JOIN `{schema}`.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN `{schema}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = %s AND {where} ORDER BY d.code",
        (login,),
    )
    return [(int(r[0]), str(r[1])) for r in rows]


def bon_form(connection: Any, schema: str, dossier_id: int, quantity: str = "4") -> dict[str, Any]:
    """A valid bon de travaux for the dossier: an active member, an activity, the first day of
    its open exercice."""
    day = query(
        connection, f"SELECT date_debut FROM `{schema}`.exercice WHERE dossier_id = %s AND cloture = 0", (dossier_id,)
    )[0][0]
    member = query(
        connection,
        f"SELECT id FROM `{schema}`.tiers WHERE dossier_id = %s AND categorie = 'adherent' AND actif = 1 LIMIT 1",
        (dossier_id,),
    )[0][0]
    activity = query(connection, f"SELECT id FROM `{schema}`.activite WHERE dossier_id = %s LIMIT 1", (dossier_id,))[0][
        0
    ]
    return {"tiers_id": int(member), "activite_id": int(activity), "date": day.isoformat(), "quantite": quantity}
