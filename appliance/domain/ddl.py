"""SQL names and the DDL of a data generation, derived from the data model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appliance.domain.schema import ALL_TABLES, SCHEMA_VERSION, Table

_PLAIN = re.compile(r"[A-Za-z0-9_]+")


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier; raises ValueError for a name that is not a plain identifier."""
    if _PLAIN.fullmatch(name) is None:
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"`{name}`"


@dataclass(frozen=True)
class Ddl:
    """The statements that create a data generation's tables."""

    statements: tuple[str, ...] = field(default_factory=tuple)

    def script(self) -> str:
        return "".join(statement + ";\n" for statement in self.statements)


def create_table_sql(table: Table) -> str:
    """Return the CREATE TABLE statement of ``table`` (InnoDB, utf8mb4)."""
    lines = [f"  {quote_identifier(c.name)} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
    lines.append("  PRIMARY KEY (" + ", ".join(map(quote_identifier, table.primary_key)) + ")")
    for number, columns in enumerate(table.unique, start=1):
        lines.append(f"  UNIQUE KEY `uq_{table.name}_{number}` (" + ", ".join(map(quote_identifier, columns)) + ")")
    for number, columns in enumerate(table.indexes, start=1):
        lines.append(f"  KEY `ix_{table.name}_{number}` (" + ", ".join(map(quote_identifier, columns)) + ")")
    body = ",\n".join(lines)
    comment = table.comment.replace("'", "''")
    return (
        f"CREATE TABLE {quote_identifier(table.name)} (\n{body}\n)"
        f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        f" COMMENT='{comment}'"
    )


def generation_ddl() -> Ddl:
    """Return the DDL of a whole data generation, ``schema_info`` included."""
    statements = [
        "CREATE TABLE `schema_info` (`version` INT UNSIGNED NOT NULL PRIMARY KEY)"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        f"INSERT INTO `schema_info` (`version`) VALUES ({SCHEMA_VERSION})",
    ]
    statements.extend(create_table_sql(table) for table in ALL_TABLES)
    return Ddl(tuple(statements))


def generation_schema_name(generation: int) -> str:
    """Return the MySQL schema of data generation ``generation`` (``neocuma_g<N>``)."""
    if generation < 1:
        raise ValueError(f"a generation number is positive, not {generation}")
    return f"neocuma_g{generation}"
