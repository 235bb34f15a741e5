"""The OffsiteStore port: a restic repository (``restic.py``) and a work directory on the
backups volume where a backup is unpacked before a push, and a copy restored before it is
packed again (``offsite_tree.py``; docs/offsite.md, "Layout"). The directory is emptied
after each use; a run killed midway leaves it to the next one, which empties it first.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import BinaryIO

from appliance.adapters.offsite_tree import pack, unpack, unpacked_size
from appliance.adapters.restic import ResticRepository
from appliance.domain.backup_format import Opener
from appliance.domain.offsite import OffsiteCopy, PushSummary, Retention, copy_tags, shown


class ResticOffsite:
    def __init__(self, repository: ResticRepository, work: Path) -> None:
        self.repository = repository
        self.work = work
        self.location = shown(repository.repository)

    def ensure(self) -> bool:
        """Create the repository when none answers (True then); otherwise remove the stale
        locks a killed restic left, so that an exclusive one (a killed ``forget --prune``)
        does not refuse this run's pushes."""
        if self.repository.exists():
            self.repository.unlock()
            return False
        self.repository.create()
        return True

    def room_needed(self, opener: Opener, name: str) -> int:
        """The bytes the backup ``opener`` reads takes unpacked in the work directory."""
        return unpacked_size(opener, name)

    def push_backup(self, opener: Opener, name: str, kind: str, made: dt.datetime) -> PushSummary:
        tree = self.work / "tree"  # the same path for every push: restic finds its parent
        try:
            unpack(opener, name, tree)
            return self.repository.push(tree, copy_tags(kind, name), made)
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    def copies(self) -> list[OffsiteCopy]:
        return self.repository.copies()

    def forget(self, retention: Retention, kind: str) -> None:
        self.repository.forget(retention, kind)

    def check(self, part: int, parts: int) -> None:
        self.repository.check(part, parts)

    def restore_backup(self, copy: OffsiteCopy, sink: BinaryIO) -> None:
        target = self.work / "restored"
        shutil.rmtree(target, ignore_errors=True)
        try:
            self.repository.restore(copy.snapshot, target)
            pack(target, sink)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def size(self) -> int:
        return self.repository.size()
