"""Rows of one generated dossier, with per-table id counters, and value helpers."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from appliance.domain.sqltext import SqlValue

Row = tuple[SqlValue, ...]
CENT = Decimal("0.01")
TVA_RATE = Decimal("0.20")


@dataclass
class DossierRows:
    """Rows of one dossier, table by table; ids are allocated per dossier and per table."""

    dossier_id: int
    tables: dict[str, list[Row]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, *values: SqlValue) -> int:
        next_id = self.counters.get(table, 0) + 1
        self.counters[table] = next_id
        self.tables.setdefault(table, []).append((self.dossier_id, next_id, *values))
        return next_id


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def random_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))
