"""SQL text for MariaDB: literals and multi-row INSERT statements (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from appliance.domain.ddl import quote_identifier

SqlValue = None | bool | int | str | Decimal | dt.date | dt.datetime

_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "'": "\\'",
        "\n": "\\n",
        "\r": "\\r",
        "\0": "\\0",
        "\x1a": "\\Z",
    }
)


def literal(value: SqlValue) -> str:
    """Return ``value`` as a MariaDB literal; raises TypeError for an unsupported type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return "'" + value.translate(_ESCAPES) + "'"
    if isinstance(value, dt.datetime):
        return "'" + value.strftime("%Y-%m-%d %H:%M:%S") + "'"
    if isinstance(value, dt.date):
        return "'" + value.isoformat() + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def insert_statements(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[SqlValue]],
    max_bytes: int = 1 << 20,
) -> Iterable[str]:
    """Yield multi-row INSERT statements (with the ``;\\n``) of at most about ``max_bytes``."""
    head = f"INSERT INTO {quote_identifier(table)} (" + ", ".join(map(quote_identifier, columns)) + ") VALUES\n"
    parts: list[str] = []
    size = 0
    for row in rows:
        text = "(" + ",".join(literal(value) for value in row) + ")"
        parts.append(text)
        size += len(text) + 2
        if size >= max_bytes:
            yield head + ",\n".join(parts) + ";\n"
            parts, size = [], 0
    if parts:
        yield head + ",\n".join(parts) + ";\n"
