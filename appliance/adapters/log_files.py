"""Reading the guardian's JSON log lines back (the console's "Logs" tab), newest first,
filtered by level and day; unreadable lines and files are skipped, never fatal."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def read_log_lines(
    directory: Path, level: str = "INFO", day: dt.date | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """The newest ``limit`` lines of ``directory/guardian.log*`` at ``level`` or above (of
    ``day`` if given), newest first."""
    minimum = LEVELS.index(level) if level in LEVELS else 1
    lines: list[dict[str, Any]] = []
    for path in _files(directory):
        for entry in _entries(path):
            level_name = entry.get("level")
            if level_name not in LEVELS or LEVELS.index(level_name) < minimum:
                continue
            if day is not None and not str(entry.get("time", "")).startswith(day.isoformat()):
                continue
            lines.append(entry)
    lines.sort(key=lambda entry: str(entry.get("time", "")), reverse=True)
    return lines[:limit]


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob("guardian.log*"))


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    yield entry
    except OSError:
        return
