"""The guardian's logs: JSON lines in the state volume (rotated) and on stdout for
``docker logs``; every line carries the id of the run it belongs to. The console's "Logs"
tab reads them back, filtered by level and date."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import logging.handlers
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RUN_ID: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def new_run_id() -> str:
    run_id = uuid.uuid4().hex[:8]
    RUN_ID.set(run_id)
    return run_id


class _RunFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = RUN_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "run": getattr(record, "run_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup(state_dir: Path, level: int, daemon: bool) -> None:
    """JSON lines to ``state_dir/logs/guardian.log`` (the daemon rotates it at 5 MB × 5),
    human lines on stderr."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr if not daemon else sys.stdout)
    console.setLevel(level)
    console.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(run_id)s] %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    )
    console.formatter.converter = time.gmtime  # type: ignore[union-attr]
    console.addFilter(_RunFilter())
    root.addHandler(console)
    directory = state_dir / "logs"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "guardian.log"
        file_handler: logging.Handler = (
            logging.handlers.RotatingFileHandler(path, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8")
            if daemon
            else logging.handlers.WatchedFileHandler(path, encoding="utf-8")
        )
        file_handler.setLevel(logging.INFO)
        file_handler.setFormatter(JsonFormatter())
        file_handler.addFilter(_RunFilter())
        root.addHandler(file_handler)
    except OSError as error:
        logging.getLogger(__name__).warning("no log file in %s: %s", directory, error)
    for noisy in ("paramiko", "mysql.connector", "urllib3", "docker", "waitress", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def read(state_dir: Path, level: str = "INFO", day: dt.date | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """The newest ``limit`` lines at ``level`` or above (of ``day`` if given), newest first."""
    minimum = LEVELS.index(level) if level in LEVELS else 1
    lines: list[dict[str, Any]] = []
    for path in _files(state_dir):
        for entry in _entries(path):
            level_name = entry.get("level")
            if level_name not in LEVELS or LEVELS.index(level_name) < minimum:
                continue
            if day is not None and not str(entry.get("time", "")).startswith(day.isoformat()):
                continue
            lines.append(entry)
    lines.sort(key=lambda entry: str(entry.get("time", "")), reverse=True)
    return lines[:limit]


def _files(state_dir: Path) -> list[Path]:
    directory = state_dir / "logs"
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
