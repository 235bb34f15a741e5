import datetime as dt
from decimal import Decimal

import pytest

from appliance.domain.sqltext import insert_statements, literal


def test_literals_escape_everything_mariadb_interprets() -> None:
    assert literal(None) == "NULL"
    assert literal(True) == "1"
    assert literal(12) == "12"
    assert literal(Decimal("1.50")) == "1.50"
    assert literal(dt.date(2026, 1, 2)) == "'2026-01-02'"
    assert literal(dt.datetime(2026, 1, 2, 3, 4, 5))  # noqa: DTZ001 - MySQL DATETIME values are naive == "'2026-01-02 03:04:05'"
    assert literal("l'a\\b\nc\rd\0e\x1a") == "'l\\'a\\\\b\\nc\\rd\\0e\\Z'"


def test_unsupported_types_are_refused() -> None:
    with pytest.raises(TypeError):
        literal(1.5)  # type: ignore[arg-type]


def test_insert_statements_split_by_size_and_keep_every_row() -> None:
    rows = [(i, f"nom {i}") for i in range(1000)]
    statements = list(insert_statements("tiers", ("id", "nom"), rows, max_bytes=2000))
    assert len(statements) > 5
    assert all(s.startswith("INSERT INTO `tiers` (`id`, `nom`) VALUES\n") and s.endswith(";\n") for s in statements)
    assert sum(s.count("'nom ") for s in statements) == 1000
