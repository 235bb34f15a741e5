"""Pieces of the French one-line description of a run from its recorded facts (pure): shared
by ``backup_mode.describe_backup_run`` and ``standby.describe_sync_run``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KINDS = {"incremental": "incrémentale", "full": "complète"}


def count_text(value: object) -> str:
    """A recorded count, or "?" when it was not recorded as a whole number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def with_time_and_reason(parts: list[str], facts: Mapping[str, Any]) -> str:
    """``parts`` joined, then the run's time and, in brackets, why it was of its kind."""
    seconds = facts.get("seconds")
    if isinstance(seconds, int | float):
        parts = [*parts, f"{seconds:.1f} s".replace(".", ",")]
    reason = facts.get("reason")
    return ", ".join(parts) + (f" ({reason})" if reason else "")
