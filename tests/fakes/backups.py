"""An in-memory backups volume: files by name with their time, staged files that appear
only on commit, a disk that can fill up, and verification by the real format readers."""

from __future__ import annotations

import datetime as dt
import errno
import io
from collections.abc import Sequence
from typing import BinaryIO

from appliance.adapters.backup_assembly import StagedSink, assemble_backup
from appliance.adapters.backup_reader import open_backup, verify_backup
from appliance.adapters.backup_subset import write_dossier_subset
from appliance.adapters.delta_reader import verify_delta
from appliance.adapters.resume import salvage
from appliance.adapters.system_zip import manifest_digest, verify_system_zip
from appliance.domain.assembly import AssembledSummary
from appliance.domain.backup_format import Manifest, Opener, VerifiedBackup
from appliance.domain.backups import StoredFile
from appliance.domain.delta_manifest import VerifiedDelta
from appliance.domain.salvage import Salvage, partials_to_keep
from appliance.errors import ApplianceError
from tests.fakes.basics import FakeClock

DATA, SYSTEM, LOCAL, WORK, RESUME = "data", "system", "local", "work", "resume"


class _Writer(io.BytesIO):
    """Keeps what was written when closed; raises ENOSPC past the volume's free space."""

    def __init__(self, staged: MemoryStaged) -> None:
        super().__init__()
        self.staged = staged

    def write(self, data: bytes, /) -> int:  # type: ignore[override]
        store = self.staged.store
        if store.free is not None and store.used() + self.tell() + len(data) > store.free:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def close(self) -> None:
        if not self.closed:
            self.staged.content = self.getvalue()
        super().close()


class MemoryStaged:
    def __init__(self, store: MemoryBackups, area: str, name: str) -> None:
        self.store = store
        self.area = area
        self.name = name
        self.location = f"/var/lib/guardian/backups/{area}/{name}"
        self.content = b""
        self.committed = False
        store.staged.append(self)

    def writer(self) -> BinaryIO:
        return _Writer(self)

    def reader(self) -> BinaryIO:
        return io.BytesIO(self.content)

    def commit(self) -> None:
        if self.store.fail_commit is not None:
            raise self.store.fail_commit
        self.store.put(self.area, self.name, self.content)
        self.committed = True

    def discard(self) -> None:
        if self.in_progress():
            self.store.discarded.append(self.name)
        self.content = b""

    def in_progress(self) -> bool:
        return not self.committed and bool(self.content)


class MemoryBackups:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.location = "/var/lib/guardian/backups"
        self.files: dict[str, dict[str, tuple[bytes, dt.datetime]]] = {
            DATA: {},
            SYSTEM: {},
            LOCAL: {},
            WORK: {},
            RESUME: {},
        }
        self.staged: list[MemoryStaged] = []
        self.discarded: list[str] = []
        self.free: int | None = None  # bytes the volume can still take; None: plenty
        self.fail_commit: OSError | None = None
        self.scratch_cleaned = 0
        self.indexed: list[str] = []

    def used(self) -> int:
        return sum(len(data) for area in self.files.values() for data, _ in area.values())

    def put(self, area: str, name: str, content: bytes, modified: dt.datetime | None = None) -> None:
        self.files[area][name] = (content, modified or self.clock.now())

    def _listing(self, area: str) -> list[StoredFile]:
        files = [StoredFile(n, len(d), m) for n, (d, m) in self.files[area].items() if not n.startswith(".")]
        return sorted(files, key=lambda stored: stored.name, reverse=True)

    def data_backups(self) -> list[StoredFile]:
        return self._listing(DATA)

    def data_opener(self, name: str) -> Opener:
        content = self.files[DATA][name][0]
        return lambda: io.BytesIO(content)

    def manifest(self, name: str) -> Manifest | None:
        try:
            return open_backup(self.data_opener(name), name=name).manifest
        except (ApplianceError, OSError):  # as the adapter: unreadable
            return None

    def new_data(self, name: str) -> MemoryStaged:
        return MemoryStaged(self, DATA, name)

    def remove_data(self, name: str) -> None:
        del self.files[DATA][name]

    def index_data(self, name: str) -> None:
        self.indexed.append(name)  # the in-memory volume copies by inflating, as without an index

    def system_zip(self) -> StoredFile | None:
        found = self.files[SYSTEM].get("system.zip")
        return None if found is None else StoredFile("system.zip", len(found[0]), found[1])

    def system_opener(self) -> Opener:
        content = self.files[SYSTEM]["system.zip"][0]
        return lambda: io.BytesIO(content)

    def new_system(self) -> MemoryStaged:
        return MemoryStaged(self, SYSTEM, "system.zip")

    def new_local_copy(self, name: str) -> MemoryStaged:
        return MemoryStaged(self, LOCAL, name)

    def local_copies(self) -> list[StoredFile]:
        return self._listing(LOCAL)

    def local_copy_opener(self, name: str) -> Opener:
        content = self.files[LOCAL][name][0]
        return lambda: io.BytesIO(content)

    def remove_local_copy(self, name: str) -> None:
        del self.files[LOCAL][name]

    def new_scratch(self, name: str) -> MemoryStaged:
        return MemoryStaged(self, WORK, name)

    def free_bytes(self) -> int | None:
        return None if self.free is None else max(0, self.free - self.used())

    def clean_partials(self) -> list[str]:
        """As the adapter: a killed run's partial data backups and deltas are kept for
        resuming, the rest removed."""
        for staged in self.staged:
            if staged.in_progress() and (staged.area == DATA or staged.name.endswith(".changes")):
                self.keep_partial(staged)
        removed = sorted(s.name for s in self.staged if s.in_progress())
        for staged in self.staged:
            if staged.in_progress():
                staged.content = b""
        return removed

    def keep_partial(self, staged: StagedSink) -> None:
        assert isinstance(staged, MemoryStaged)
        if staged.in_progress():
            self.put(RESUME, f"{staged.name}.part", staged.content)
            staged.content = b""

    def salvages(self, max_age: dt.timedelta, now: dt.datetime) -> list[Salvage]:
        area = self.files[RESUME]
        kept, expired = partials_to_keep({name: modified for name, (_, modified) in area.items()}, now, max_age)
        for name in expired:
            del area[name]
        return [salvage(name, lambda content=area[name][0]: io.BytesIO(content)) for name in kept]  # type: ignore[misc]

    def drop_partials(self) -> None:
        self.files[RESUME].clear()

    def clean_scratch(self) -> None:
        self.scratch_cleaned += 1
        self.files[WORK].clear()

    def verify_data(self, opener: Opener, name: str, full: bool = True) -> VerifiedBackup:
        return verify_backup(opener, name=name) if full else open_backup(opener, name=name)

    def verify_delta(self, opener: Opener, name: str) -> VerifiedDelta:
        return verify_delta(opener, name=name)

    def assemble_data(
        self,
        previous: VerifiedBackup | None,
        delta: VerifiedDelta,
        staged: StagedSink,
        salvaged: Sequence[Salvage] = (),
    ) -> AssembledSummary:
        return assemble_backup(previous, delta, staged, salvaged=salvaged)

    def extract_dossier(self, backup: VerifiedBackup, code: str, sink: BinaryIO, now: dt.datetime) -> None:
        write_dossier_subset(backup, code, sink, now)

    def verify_system(self, opener: Opener) -> int:
        return len(verify_system_zip(opener))

    def system_digest(self, opener: Opener) -> str:
        return manifest_digest(opener)

    # For the tests -------------------------------------------------------------------
    def data_names(self) -> list[str]:
        return sorted(self.files[DATA])

    def local_copy_contents(self) -> dict[str, bytes]:
        return {name: data for name, (data, _) in self.files[LOCAL].items()}
