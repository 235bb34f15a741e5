"""Pre-restore copies: before an import replaces a dossier, the server keeps its current rows
as a backup zip (the export format), listed, restorable by an operator, and pruned after
``NEOCUMA_PRE_RESTORE_DAYS`` days (docs/design.md §4)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from appliance.domain.backup_format import valid_dossier_code

log = logging.getLogger(__name__)
_NAME = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)-r(?P<revision>\d+)\.zip$")


@dataclass(frozen=True)
class PreRestoreCopy:
    dossier: str
    path: Path
    created_at: dt.datetime
    revision: int
    size: int

    def as_json(self) -> dict[str, object]:
        return {
            "dossier": self.dossier,
            "fichier": f"{self.dossier}/{self.path.name}",
            "cree_le": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "revision": self.revision,
            "taille": self.size,
        }


class PreRestoreStore:
    def __init__(self, root: Path, keep_days: int) -> None:
        self.root = root
        self.keep_days = keep_days

    def new_path(self, code: str, revision: int, now: dt.datetime) -> Path:
        """Where the copy of ``code`` at ``revision`` taken ``now`` goes (directory made)."""
        if not valid_dossier_code(code):
            raise ValueError(f"invalid dossier code {code!r}")
        directory = self.root / code
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{now.strftime('%Y-%m-%dT%H-%M-%SZ')}-r{revision}.zip"

    def copies(self, code: str | None = None) -> list[PreRestoreCopy]:
        """Copies of one dossier, or of all, newest first."""
        copies: list[PreRestoreCopy] = []
        if not self.root.is_dir():
            return copies
        directories = [self.root / code] if code else sorted(p for p in self.root.iterdir() if p.is_dir())
        for directory in directories:
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                match = _NAME.match(path.name)
                if match and path.is_file():
                    created = dt.datetime.strptime(match["stamp"], "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=dt.UTC)
                    copies.append(
                        PreRestoreCopy(directory.name, path, created, int(match["revision"]), path.stat().st_size)
                    )
        return sorted(copies, key=lambda c: c.created_at, reverse=True)

    def resolve(self, name: str) -> Path:
        """The copy called ``<code>/<file>`` (as listed); raises ValueError otherwise."""
        code, _, file_name = name.partition("/")
        if not valid_dossier_code(code) or not _NAME.match(file_name):
            raise ValueError(
                f"{name!r} n'est pas le nom d'une copie d'avant restauration (attendu CODE/AAAA-MM-JJTHH-MM-SSZ-rN.zip)"
            )
        path = self.root / code / file_name
        if not path.is_file():
            raise ValueError(f"aucune copie d'avant restauration {name}")
        return path

    def prune(self, now: dt.datetime) -> list[Path]:
        """Remove copies older than the retention; returns what was removed."""
        removed = []
        limit = now - dt.timedelta(days=self.keep_days)
        for copy in self.copies():
            if copy.created_at < limit:
                os.unlink(copy.path)
                removed.append(copy.path)
                log.info("pruned pre-restore copy %s/%s", copy.dossier, copy.path.name)
        return removed
