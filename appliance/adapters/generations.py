"""Data generations in MySQL: the ``neocuma_g<N>`` schemas and the control row's swap.

Used by the server (demo seeding) and the guardian (synchronisation): build the new schema
beside the live one, switch with one committed UPDATE, keep the previous one for rollback
and drop older ones (docs/design.md §3).
"""

from __future__ import annotations

import logging
import re

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import query_all
from appliance.domain.ddl import generation_schema_name, quote_identifier
from appliance.errors import Unavailable

log = logging.getLogger(__name__)
_GENERATION = re.compile(r"^neocuma_g([0-9]+)$")


def existing_generations(connection: MySQLConnectionAbstract) -> list[int]:
    """Numbers of the data generation schemas that exist, ascending."""
    rows = query_all(
        connection,
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'neocuma\\_g%'",
    )
    numbers = []
    for (name,) in rows:
        match = _GENERATION.match(str(name))
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers)


def live_generations(
    connection: MySQLConnectionAbstract, control_schema: str = "neocuma_control"
) -> tuple[int | None, int | None, str]:
    """The control row: (data generation, system generation, mode)."""
    rows = query_all(
        connection,
        f"SELECT data_generation, system_generation, mode FROM {quote_identifier(control_schema)}.live WHERE id = 1",
    )
    if not rows:
        raise Unavailable("la ligne de contrôle neocuma_control.live est absente")
    data, system, mode = rows[0]
    return (None if data is None else int(data), None if system is None else int(system), str(mode))


def next_generation(connection: MySQLConnectionAbstract, control_schema: str = "neocuma_control") -> int:
    """A generation number above every existing schema and every number the control row names."""
    data, system, _ = live_generations(connection, control_schema)
    used = existing_generations(connection) + [n for n in (data, system) if n is not None]
    return max(used, default=0) + 1


def create_generation_schema(connection: MySQLConnectionAbstract, generation: int) -> str:
    """Create an empty schema for ``generation``; raises Unavailable if it exists already."""
    schema = generation_schema_name(generation)
    try:
        connection.cmd_query(
            f"CREATE DATABASE {quote_identifier(schema)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    except mysql.connector.Error as error:
        raise Unavailable(f"impossible de créer le schéma {schema} : {error.msg}") from error
    return schema


def drop_generation_schema(connection: MySQLConnectionAbstract, generation: int) -> None:
    """Drop a generation's schema if it exists."""
    schema = generation_schema_name(generation)
    try:
        connection.cmd_query(f"DROP DATABASE IF EXISTS {quote_identifier(schema)}")
    except mysql.connector.Error as error:
        raise Unavailable(f"impossible de supprimer le schéma {schema} : {error.msg}") from error
    log.info("génération de données %s supprimée", schema)


def switch_live(
    connection: MySQLConnectionAbstract,
    data_generation: int | None,
    system_generation: int | None,
    control_schema: str = "neocuma_control",
) -> None:
    """The swap: one committed UPDATE naming the new pair (docs/design.md §3). In fallback
    mode ``changed_at`` stays the moment the fallback began (NeoCuma Web shows it)."""
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(
                f"UPDATE {quote_identifier(control_schema)}.live SET data_generation = %s,"
                " system_generation = %s,"
                " changed_at = IF(mode = 'fallback', changed_at, CURRENT_TIMESTAMP(3)) WHERE id = 1",
                (data_generation, system_generation),
            )
        finally:
            cursor.close()
        connection.commit()
    except mysql.connector.Error as error:
        raise Unavailable(f"le basculement vers la génération {data_generation} a échoué : {error.msg}") from error


def prune_generations(connection: MySQLConnectionAbstract, keep: set[int]) -> list[int]:
    """Drop every data generation schema not in ``keep``; returns those dropped."""
    dropped = []
    for generation in existing_generations(connection):
        if generation not in keep:
            drop_generation_schema(connection, generation)
            dropped.append(generation)
    return dropped
