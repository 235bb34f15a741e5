"""The building blocks of the data model (``schema``): scopes, columns and tables."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Scope(Enum):
    REFERENCE = "reference"
    CENTRE = "centre"
    DOSSIER = "dossier"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool = False

    @property
    def is_text(self) -> bool:
        """Whether values of this column may hold characters that need escaping."""
        upper = self.sql_type.upper()
        return upper.startswith(("VARCHAR", "CHAR", "TEXT", "ENUM"))


@dataclass(frozen=True)
class Table:
    name: str
    scope: Scope
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    comment: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raises KeyError if there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)
