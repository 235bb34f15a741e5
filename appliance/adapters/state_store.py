"""The guardian's state volume as a StateStore: one JSON file per document
(``<name>.json``, written atomically, mode 0600), the one ``flock`` lock, signal files
between processes, and the secrets made on first use (docs/design.md §6)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from appliance.adapters.state_files import JsonFile, atomic_write, exclusive_lock, load_or_create_secret
from appliance.errors import Unavailable

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class FileStateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = str(directory)

    def _path(self, name: str, suffix: str = ".json") -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a state document name: {name!r}")
        return self.directory / f"{name}{suffix}"

    def read(self, name: str) -> dict[str, Any]:
        """The document ({} when absent); raises Unavailable naming the unreadable file."""
        return JsonFile(self._path(name)).read()

    def write(self, name: str, document: dict[str, Any]) -> None:
        """Replace the document whole; raises Unavailable when it cannot be written."""
        JsonFile(self._path(name)).write(document)

    def lock(self, what: str, name: str = "lock") -> AbstractContextManager[None]:
        return exclusive_lock(self.directory / name, what)

    def touch(self, name: str) -> None:
        """Write the moment into ``name`` (no suffix); a full or read-only volume only loses
        the signal, never fails the caller."""
        with contextlib.suppress(OSError, ValueError, Unavailable):
            now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            atomic_write(self._path(name, suffix=""), f"{now}\n".encode())

    def touched_at(self, name: str) -> float:
        try:
            return self._path(name, suffix="").stat().st_mtime
        except (OSError, ValueError):
            return 0.0

    def secret(self, name: str) -> bytes:
        return load_or_create_secret(self._path(name, suffix=""))
