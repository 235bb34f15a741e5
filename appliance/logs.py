"""The one logging set-up of both programs: human lines on a stream (stderr for commands,
stdout for daemons, so ``docker logs`` shows them), optionally JSON lines in a file (the
guardian's state volume; rotated by the daemon). Every line carries the id of the run it
belongs to; times are UTC. Only the programs' ``main`` functions call ``setup``."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import logging.handlers
import sys
import time
import uuid
from pathlib import Path
from typing import TextIO

RUN_ID: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
NOISY = ("paramiko", "mysql.connector", "urllib3", "docker", "waitress", "werkzeug")
HUMAN_FORMAT = "%(asctime)s %(levelname)s [%(run_id)s] %(name)s: %(message)s"
ROTATE_BYTES = 5 * 1024 * 1024
ROTATE_KEEP = 5


def new_run_id() -> str:
    """Start a new run: every line logged from this context on carries its id."""
    run_id = uuid.uuid4().hex[:8]
    RUN_ID.set(run_id)
    return run_id


class _RunFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = RUN_ID.get()
        return True


class ClientResetIsNoError(logging.Filter):
    """paramiko logs a client closing its connection abruptly (``neocuma-guardian login``
    does, after reading the host key) as ERROR "Socket exception: Connection reset by peer":
    no failure of ours, so INFO. A transfer it cuts fails, and that failure is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Connection reset by peer" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, centiseconds), level, logger, run, message."""

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


def setup(
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    json_file: Path | None = None,
    rotate: bool = False,
) -> None:
    """Replace the root logger's handlers: human lines at ``level`` on ``stream`` (stderr by
    default) and, with ``json_file``, JSON lines at INFO and above in that file (rotated at
    5 MB x 5 when ``rotate``; reopened when moved otherwise, for short commands)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()  # a file handler's file (a stream handler leaves its stream open)
    human = logging.StreamHandler(stream or sys.stderr)
    human.setLevel(level)
    formatter = logging.Formatter(HUMAN_FORMAT, "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    human.setFormatter(formatter)
    human.addFilter(_RunFilter())
    root.addHandler(human)
    if json_file is not None:
        try:
            json_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler: logging.Handler = (
                logging.handlers.RotatingFileHandler(
                    json_file, maxBytes=ROTATE_BYTES, backupCount=ROTATE_KEEP, encoding="utf-8"
                )
                if rotate
                else logging.handlers.WatchedFileHandler(json_file, encoding="utf-8")
            )
        except OSError as error:
            logging.getLogger(__name__).warning("no log file %s: %s", json_file, error)
        else:
            file_handler.setLevel(logging.INFO)
            file_handler.setFormatter(JsonFormatter())
            file_handler.addFilter(_RunFilter())
            root.addHandler(file_handler)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    transport = logging.getLogger("paramiko.transport")
    if not any(isinstance(existing, ClientResetIsNoError) for existing in transport.filters):
        transport.addFilter(ClientResetIsNoError())
