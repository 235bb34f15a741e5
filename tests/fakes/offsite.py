"""A restic repository in memory (the OffsiteStore port): the copies pushed, each with the
bytes of the backup it holds, and the faults a repository shows (unreachable, a wrong
password, full)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from appliance.domain.backup_format import Opener
from appliance.domain.offsite import OffsiteCopy, PushSummary, Retention
from appliance.errors import BadRequest, Unavailable


@dataclass
class FakeOffsite:
    location: str = "sftp:sauvegarde@nas.example.fr:/neocuma"
    exists: bool = False
    fault: str | None = None  # "unreachable", "password", "full" or "damaged" (check fails)
    held: dict[str, tuple[OffsiteCopy, bytes]] = field(default_factory=dict)
    forgotten: list[tuple[str, Retention]] = field(default_factory=list)
    checked: list[tuple[int, int]] = field(default_factory=list)
    on_ensure: Callable[[], None] | None = None  # called as each push starts
    on_push: Callable[[str], None] | None = None  # called with each backup's name as its push starts
    unpacked_factor: float = 3.5  # a backup's members unpacked, for the zip's size
    push_error: OSError | None = None  # raised by a push (the work directory's disk)

    def _fail(self) -> None:
        if self.fault == "unreachable":
            raise Unavailable(
                f"dépôt hors site {self.location} injoignable : restic snapshots a échoué (connection refused)"
            )
        if self.fault == "password":
            raise BadRequest(f"dépôt hors site {self.location} : mot de passe refusé")

    def ensure(self) -> bool:
        if self.on_ensure is not None:
            self.on_ensure()
        self._fail()
        created, self.exists = not self.exists, True
        return created

    def room_needed(self, opener: Opener, name: str) -> int:
        with opener() as handle:
            return int(len(handle.read()) * self.unpacked_factor)

    def push_backup(self, opener: Opener, name: str, kind: str, made: dt.datetime) -> PushSummary:
        if self.on_push is not None:
            self.on_push(name)
        self._fail()
        if self.push_error is not None:
            raise self.push_error
        if self.fault == "full":
            raise Unavailable(f"dépôt hors site {self.location} plein : restic backup a échoué (no space left)")
        with opener() as handle:
            data = handle.read()
        snapshot = f"{len(self.held) + 1:064x}"
        self.held[snapshot] = (OffsiteCopy(snapshot, kind, name, made), data)
        return PushSummary(snapshot[:8], 1, len(data), len(data))

    def copies(self) -> list[OffsiteCopy]:
        self._fail()
        return sorted((copy for copy, _ in self.held.values()), key=lambda c: (c.made, c.snapshot))

    def forget(self, retention: Retention, kind: str) -> None:
        """As restic's --keep-daily does, as far as these tests go: the newest copy of each day."""
        self.forgotten.append((kind, retention))
        newest: dict[dt.date, tuple[dt.datetime, str]] = {}
        for snapshot, (copy, _) in self.held.items():
            if copy.kind == kind:
                day = copy.made.date()
                newest[day] = max(newest.get(day, (copy.made, snapshot)), (copy.made, snapshot))
        kept = {snapshot for _, snapshot in newest.values()}
        for snapshot, (copy, _) in list(self.held.items()):
            if copy.kind == kind and snapshot not in kept:
                del self.held[snapshot]

    def check(self, part: int, parts: int) -> None:
        self._fail()
        if self.fault == "damaged":
            raise BadRequest(f"dépôt hors site {self.location} : restic check a échoué (repository contains errors)")
        self.checked.append((part, parts))

    def restore_backup(self, copy: OffsiteCopy, sink: BinaryIO) -> None:
        self._fail()
        sink.write(self.held[copy.snapshot][1])

    def size(self) -> int:
        return sum(len(data) for _, data in self.held.values())
