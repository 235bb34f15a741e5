"""An independent oracle of loaded rows: the TSV members of a backup parsed here, in
MariaDB's LOAD DATA default format, and rows read back from MariaDB as text. It imports
nothing of the appliance: a bug shared by the loader and its oracle cannot hide.

Values compare as text, but for numbers, which compare by value ("1.5" loaded into a
DECIMAL(10,2) reads back "1.50", the same number)."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tests.support import oracle

Row = tuple[str | None, ...]
_ESCAPES = {"0": "\x00", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_NUMBER = re.compile(r"\s*[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?\s*")


def _field(raw: str) -> str | None:
    if raw == "\\N":
        return None
    out: list[str] = []
    position = 0
    while position < len(raw):
        char = raw[position]
        if char == "\\" and position + 1 < len(raw):
            position += 1
            out.append(_ESCAPES.get(raw[position], raw[position]))
        else:
            out.append(char)
        position += 1
    return "".join(out)


# A field: anything but a tab, a newline or a backslash, or a backslash and what it escapes;
# then what ends it (a tab, a newline, or the end of the data).
_TOKEN = re.compile(r"((?:[^\\\t\n]|\\(?:.|\Z))*)(\t|\n|\Z)", re.DOTALL)


def parse_tsv(data: bytes) -> list[Row]:
    """The rows of a TSV member: fields split on tabs, rows on newlines, neither escaped by a
    backslash; ``\\N`` alone is NULL."""
    text = data.decode("utf-8", "surrogateescape")
    rows: list[Row] = []
    fields: list[str | None] = []
    for match in _TOKEN.finditer(text):
        raw, end = match.group(1), match.group(2)
        if not end and not raw and not fields:
            break  # the end of the data, after the last row's newline
        fields.append(_field(raw) if "\\" in raw else raw)
        if end != "\t":
            rows.append(tuple(fields))
            fields = []
        if not end:
            break
    return rows


def _canonical(value: str | None) -> str | None:
    if value is not None and _NUMBER.fullmatch(value):
        try:
            return "#" + str(Decimal(value.strip()).normalize())
        except InvalidOperation:
            return value
    return value


def canonical_rows(rows: list[Row]) -> Counter[Row]:
    return Counter(tuple(_canonical(value) for value in row) for row in rows)


def tsv_members(data: bytes) -> dict[str, list[Row]]:
    """Every TSV member of the zip ``data``, parsed, by member name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: parse_tsv(archive.read(name)) for name in archive.namelist() if name.endswith(".tsv")}


def by_table(members: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """The rows of ``members`` grouped by table (the member's file name)."""
    tables: dict[str, list[Row]] = {}
    for name, rows in members.items():
        tables.setdefault(name.rsplit("/", 1)[-1][: -len(".tsv")], []).extend(rows)
    return tables


_LAYOUTS: dict[tuple[str, int, str], dict[str, list[str]]] = {}


def layout(connection: Any, schema: str) -> dict[str, list[str]]:
    """The columns of every table of ``schema``, in order (read once per server and schema:
    the tests never change a schema's tables, but two servers may hold schemas of one name
    with different tables, e.g. a central ``neocuma_g1`` and a guardian's generation with
    its record tables)."""
    key = (str(connection.server_host), int(connection.server_port), schema)
    if key not in _LAYOUTS:
        found: dict[str, list[str]] = {}
        for table, column in oracle.query(
            connection,
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s"
            " ORDER BY table_name, ordinal_position",
            (schema,),
        ):
            found.setdefault(str(table), []).append(str(column))
        _LAYOUTS[key] = found
    return _LAYOUTS[key]


def checksums(
    connection: Any, schema: str, where: Callable[[str, list[str]], str] = lambda t, c: "1 = 1"
) -> dict[str, tuple[int, str]]:
    """Every table of ``schema``: (rows, an order-independent hash of every value), the rows
    chosen by ``where(table, columns)``; one query for the whole schema."""
    parts = []
    for table, names in sorted(layout(connection, schema).items()):
        values = ", ".join(f"IFNULL(CAST(`{n}` AS CHAR), '<NULL>')" for n in names)
        digest = f"SUM(CAST(CONV(LEFT(SHA2(CONCAT_WS(CHAR(31), {values}), 256), 15), 16, 10) AS UNSIGNED))"
        parts.append(f"SELECT '{table}', COUNT(*), {digest} FROM `{schema}`.`{table}` WHERE {where(table, names)}")
    if not parts:
        return {}
    return {str(t): (int(n), str(h)) for t, n, h in oracle.query(connection, " UNION ALL ".join(parts))}


def read_rows(connection: Any, schema: str, table: str, where: str = "1 = 1") -> list[Row]:
    """Every row of ``table`` (filtered by ``where``), each column read back as text."""
    names = layout(connection, schema)[table]
    columns = ", ".join(f"CAST(`{name}` AS CHAR)" for name in names)
    rows = oracle.query(connection, f"SELECT {columns} FROM `{schema}`.`{table}` WHERE {where}")
    return [tuple(None if value is None else str(value) for value in row) for row in rows]


def primary_key(connection: Any, schema: str, table: str) -> list[int]:
    """Positions of the primary key's columns among the table's columns."""
    names = layout(connection, schema)[table]
    keyed = oracle.query(
        connection,
        "SELECT column_name FROM information_schema.statistics WHERE table_schema = %s AND table_name = %s"
        " AND index_name = 'PRIMARY' ORDER BY seq_in_index",
        (schema, table),
    )
    return [names.index(str(row[0])) for row in keyed]


def differences(expected: list[Row], found: list[Row]) -> str:
    """'' when both hold the same rows (any order), else a short account of the first ones."""
    if Counter(expected) == Counter(found):
        return ""
    want, have = canonical_rows(expected), canonical_rows(found)
    if want == have:
        return ""
    missing = list((want - have).elements())[:2]
    extra = list((have - want).elements())[:2]
    return f"{len(expected)} rows expected, {len(found)} found; missing {missing!r}, unexpected {extra!r}"[:400]


_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "bigint"}
_TEMPORAL = {"date", "datetime", "timestamp", "time"}
_ENUM_VALUE = re.compile(r"'((?:[^']|'')*)'")
_INDEX = re.compile(r"\s*\+?[0-9]+\s*")


def silent_coercions(connection: Any, schema: str, table: str) -> Callable[[Row], Row]:
    """A row as MariaDB loads it without a warning, when it differs from the text: a number
    with a fraction rounded into an integer column, a number into an ENUM column taken as
    the index of its value, spaces around a date dropped (found by
    tests/integration/test_hostile_loads.py, not refused by the loaders yet)."""
    kinds = oracle.query(
        connection,
        "SELECT data_type, column_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (schema, table),
    )

    def one(value: str | None, data_type: str, column_type: str) -> str | None:
        if value is not None and data_type in _TEMPORAL:
            return value.strip()
        if value is None or not _NUMBER.fullmatch(value):
            return value
        if data_type in _INTEGERS:
            return str(Decimal(value.strip()).to_integral_value(ROUND_HALF_UP))
        if data_type == "enum" and _INDEX.fullmatch(value):
            values = [v.replace("''", "'") for v in _ENUM_VALUE.findall(column_type)]
            index = int(value.strip().lstrip("+"))
            return values[index - 1] if 1 <= index <= len(values) else value
        return value

    return lambda row: tuple(one(v, str(k[0]), str(k[1])) for v, k in zip(row, kinds, strict=False))
