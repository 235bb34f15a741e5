"""The control row and the generations it chooses between (docs/design.md §3): which
generations a synchronisation removes as leftovers, which it keeps, and the numbers of
system-files directories. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MODES = ("standby", "fallback")
STANDBY, FALLBACK = MODES
_SYSTEM_DIRECTORY = re.compile(r"^g([0-9]+)$")


@dataclass(frozen=True)
class Live:
    """``neocuma_control.live``: the live data and system generations and the mode."""

    data_generation: int | None
    system_generation: int | None
    mode: str


@dataclass(frozen=True)
class LoadReport:
    """What loading a generation did: rows, bytes read, and the time of each pass."""

    rows: int
    bytes: int
    load_seconds: float
    check_seconds: float


def next_generation(existing: Iterable[int], live: Live) -> int:
    """A number above every existing generation and every number the control row names."""
    used = [*existing, *(n for n in (live.data_generation, live.system_generation) if n is not None)]
    return max(used, default=0) + 1


def leftovers(existing: Iterable[int], live: int | None) -> list[int]:
    """Generations a killed or rolled-back synchronisation left: every one newer than the
    live generation (all of them before the first synchronisation)."""
    return sorted(n for n in existing if live is None or n > live)


def to_drop(existing: Iterable[int], keep: Iterable[int | None]) -> list[int]:
    """Generations to remove so that only ``keep`` (the live one and the previous one,
    kept for rollback) remain."""
    kept = {n for n in keep if n is not None}
    return sorted(n for n in existing if n not in kept)


def system_directory(generation: int) -> str:
    """The directory of a system-files generation in the system volume."""
    return f"g{generation}"


def system_generation_of(directory: str) -> int | None:
    """The generation a directory of the system volume holds, or None if it holds none."""
    match = _SYSTEM_DIRECTORY.match(directory)
    return int(match.group(1)) if match else None
