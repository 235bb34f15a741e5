"""What the guardian's jobs and watchers talk to, as typed protocols. Adapters implement
them (``appliance/adapters``), ``wiring.py`` picks which, and the unit tests use in-memory
fakes (``tests/fakes``). Values that cross a port are domain types.

- ``LocalDatabase``: the local MySQL (generations, the control row, dossier rows);
- ``CentralServer`` and ``CentralSession``: the central NeoCuma server over SSH;
- ``LocalServer``: the local NeoCuma server (health, application check, reload signal,
  system-files generations);
- ``StateStore``: the state volume (small JSON documents and the one lock);
- ``BackupsStore``: the backups volume (``data/``, ``system.zip``, ``local/``);
- ``Clock``, ``Notifier``, ``Reporter``: time, alerts, progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Protocol

from appliance.domain.assembly import AssembledSummary
from appliance.domain.backup_format import Manifest, Opener, VerifiedBackup
from appliance.domain.backups import StoredFile
from appliance.domain.changes import HeldDossier
from appliance.domain.delta_manifest import VerifiedDelta
from appliance.domain.dossiers import ImportReply, LocalDossier, RemoteDossier
from appliance.domain.generations import Live, LoadReport
from appliance.domain.identity import WhoAmI
from appliance.domain.offsite import OffsiteCopy, PushSummary
from appliance.domain.offsite import Retention as OffsiteRetention
from appliance.domain.outbox import Operation, OutboxEntry, Outcome
from appliance.domain.salvage import Salvage
from appliance.domain.standby import StandbyContent, StandbyPlan

DossierGuard = Callable[[Mapping[str, LocalDossier]], None]
"""Called inside a transaction that holds the control row, with the live generation's
dossiers as they are then; raises (Refused) to stop the change before anything is written."""


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class Clock(Protocol):
    """``now``: the current moment, in UTC; ``monotonic``: seconds of a clock that never
    jumps, for durations and deadlines."""

    def now(self) -> dt.datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


LoadProgress = Callable[[int, int], None]  # (bytes loaded so far, bytes to load in all)


class Reporter(Protocol):
    def update(
        self,
        step: str | None = None,
        bytes_done: int | None = None,
        dossiers: int | None = None,
        bytes_total: int | None = None,
    ) -> None:
        """Tell whoever follows the running job how it is going; ``bytes_total`` is what the
        step should move in all (an estimate for a backup: the previous one's size)."""


class LocalDatabase(Protocol):
    def live(self) -> Live:
        """The control row; raises Unavailable when MySQL does not answer."""

    def generations(self) -> list[int]:
        """Numbers of the data generations that exist, ascending."""

    def create_generation(self, generation: int) -> None:
        """Create the empty schema of ``generation``; raises Unavailable if it exists."""

    def load_generation(
        self,
        generation: int,
        backup: VerifiedBackup,
        progress: LoadProgress | None = None,
        built_at: dt.datetime | None = None,
    ) -> LoadReport:
        """Fill the empty ``generation`` from ``backup``, checking every member as it loads,
        and record what it holds (built in full at ``built_at``); raises BadRequest (the
        data does not match its manifest) or Unavailable."""

    def standby_content(self, generation: int) -> StandbyContent | None:
        """What ``generation`` holds by its record, with its dossiers' IDs and revisions
        now; None when it has no record."""

    def refresh_generation(
        self, standby: int, target: int, backup: VerifiedBackup, plan: StandbyPlan, progress: LoadProgress | None = None
    ) -> LoadReport:
        """Bring the standby generation to ``backup`` by ``plan`` in one transaction (rolled
        back whole on any mismatch: BadRequest, or Unavailable), then move its tables into
        the new generation ``target``; ``standby`` no longer exists after."""

    def drop_generation(self, generation: int) -> None: ...

    def switch_live(self, data_generation: int | None, system_generation: int | None) -> None:
        """The swap: one committed UPDATE of the control row."""

    def dossiers(self) -> dict[str, LocalDossier]:
        """The dossiers of the live generation by code ({} before the first synchronisation)."""

    def set_mode(self, mode: str, guard: DossierGuard | None = None) -> None:
        """Write the mode in one transaction holding the control row exclusively (LAN writes
        in flight finish first); ``guard`` may refuse it inside that transaction."""

    def replace_dossiers(self, generation: int, backup: VerifiedBackup, guard: DossierGuard) -> None:
        """Replace, in ``generation`` (which must still be live), the rows of every dossier
        ``backup`` holds with the backup's, and its centre rows, in one transaction (users see
        all of them change, or none), after ``guard`` accepted those dossiers as they are
        under lock (absent ones are missing from its mapping); raises Refused, BadRequest or
        Unavailable."""

    def export_dossier(self, dossier: LocalDossier, login: str, sink: BinaryIO, now: dt.datetime) -> None:
        """Write the live generation's copy of ``dossier`` into ``sink`` in the backup format."""

    def outbox(self, states: Sequence[str]) -> list[OutboxEntry]:
        """The outbox's operations in those states, oldest first (docs/design.md §10)."""

    def record_outcome(self, outcome: Outcome, at: dt.datetime) -> None:
        """Write the central server's answer for one operation into the outbox."""


class CentralSession(Protocol):
    stall_timeout: float

    def __enter__(self) -> CentralSession: ...

    def __exit__(self, *exc: object) -> None: ...

    def whoami(self) -> WhoAmI: ...

    def dossiers(self) -> dict[str, RemoteDossier]:
        """The dossiers in the user's rights, by code."""

    def clock(self) -> float:
        """The central server's time, seconds since the epoch."""

    def export(self, codes: Sequence[str], sink: Sink) -> int:
        """Stream a backup of ``codes`` (all in rights when empty) into ``sink``; returns its
        size; raises Unavailable (cut, stalled) or a refusal."""

    def export_changes(self, held: Mapping[str, HeldDossier], sink: Sink) -> int:
        """Stream the delta (``v1 export-changes``) against the dossiers the guardian holds
        into ``sink``; returns its size; raises as ``export`` (RemoteRefused ``bad_request``
        from a server that does not know the command)."""

    def import_dossier(self, code: str, password: str, backup: Opener) -> ImportReply:
        """Send the password typed again, then ``backup``; the server checks both."""

    def replay(self, operations: Sequence[Operation], record: Callable[[Outcome], None]) -> list[Outcome]:
        """``v1 replay``: ``record`` is called with each answer as it arrives (a cut keeps
        what was answered); raises Unavailable when the answers stop before the end."""

    def system_manifest(self) -> bytes:
        """The server-written MANIFEST of the system files."""

    def system_file(self, path: str) -> AbstractContextManager[BinaryIO]:
        """One system file, to read; reads time out after ``stall_timeout``."""


class CentralServer(Protocol):
    address: str

    def session(self, login: str, password: str) -> CentralSession:
        """An authenticated session; raises HostKeyUnknown or HostKeyChanged (Refused) before
        sending the password, Refused for wrong credentials, Unavailable when unreachable."""

    def presented_fingerprint(self) -> str: ...

    def pinned_fingerprint(self) -> str | None: ...

    def pin(self, fingerprint: str) -> str:
        """Pin the key the server presents if its fingerprint is ``fingerprint``; returns it;
        raises Refused (nothing pinned) otherwise."""


class LocalServer(Protocol):
    def healthz(self) -> dict[str, Any]:
        """The local server's /healthz; raises Unavailable when it does not answer."""

    def dossier_count(self, login: str) -> tuple[int | None, int]:
        """The application check through the local server's check account: (data generation,
        dossiers in ``login``'s rights); raises Unavailable."""

    def reload(self) -> None:
        """SIGHUP through the Docker proxy: drop cached system files; raises Unavailable."""

    def system_generations(self) -> list[int]:
        """System-files generations present in the system volume."""

    def install_system(self, generation: int, system_zip: Opener) -> int:
        """Extract a verified system.zip as ``generation`` (beside the live ones, renamed into
        place once complete); returns the number of files."""

    def remove_system(self, generation: int) -> None: ...

    def clean_system_staging(self) -> list[str]:
        """Remove half-extracted generations a killed run left; returns their names."""


class StateStore(Protocol):
    location: str

    def read(self, name: str) -> dict[str, Any]:
        """The document ``name`` ({} when absent); raises Unavailable when unreadable."""

    def write(self, name: str, document: dict[str, Any]) -> None:
        """Replace ``name`` whole (never half-written), readable by the guardian only."""

    def lock(self, what: str, name: str = "lock") -> AbstractContextManager[None]:
        """The lock ``name``: ``lock``, the guardian's one lock, or ``offsite.lock``, the
        offsite copies' own; raises Refused at once, naming the holder, when taken."""

    def touch(self, name: str) -> None:
        """Mark ``name`` as changed now (a signal between processes)."""

    def touched_at(self, name: str) -> float:
        """When ``name`` was last touched (0 when never)."""

    def secret(self, name: str) -> bytes:
        """A 32-byte secret kept in the state volume, made on first use."""


class StagedFile(Protocol):
    """A file being written under a hidden temporary name; ``commit`` makes it appear."""

    name: str
    location: str  # the final path, for messages

    def writer(self) -> BinaryIO:
        """Write the content (a new, empty file); flushed and synced to disk on close."""

    def reader(self) -> BinaryIO: ...

    def commit(self) -> None:
        """Rename to the final name (replacing a file of that name) and sync the directory."""

    def discard(self) -> None:
        """Remove the temporary file; does nothing when committed or already gone."""


class BackupsStore(Protocol):
    location: str

    def data_backups(self) -> list[StoredFile]:
        """The files of ``data/`` (not the hidden temporary ones), newest name first."""

    def data_opener(self, name: str) -> Opener: ...

    def manifest(self, name: str) -> Manifest | None:
        """A quick look: the manifest of a data backup, None when it cannot be read."""

    def new_data(self, name: str) -> StagedFile: ...

    def remove_data(self, name: str) -> None: ...

    def index_data(self, name: str) -> None:
        """Record the sha256 of each member's compressed bytes of the data backup ``name``,
        just verified, for the next incremental backup's copy (``adapters/raw_index.py``)."""

    def system_zip(self) -> StoredFile | None: ...

    def system_opener(self) -> Opener: ...

    def new_system(self) -> StagedFile: ...

    def new_local_copy(self, name: str) -> StagedFile:
        """A file of ``local/``: a dossier's local copy saved before it is overwritten."""

    def local_copies(self) -> list[StoredFile]:
        """The files of ``local/`` (not the hidden temporary ones), newest name first."""

    def local_copy_opener(self, name: str) -> Opener: ...

    def remove_local_copy(self, name: str) -> None: ...

    def new_scratch(self, name: str) -> StagedFile:
        """A work file (a pull's download); discarded after use, never committed."""

    def clean_scratch(self) -> None:
        """Remove what an interrupted run left in the work area."""

    def free_bytes(self) -> int | None:
        """Space left on the backups volume (None when it cannot be read)."""

    def clean_partials(self) -> list[str]:
        """Remove the temporary files of backups a killed run never finished; returns them."""

    def verify_data(self, opener: Opener, name: str, full: bool = True) -> VerifiedBackup:
        """The data backup ``opener`` reads, checked in full (every member's size, sha256 and
        rows) or, with ``full=False``, its structure and manifest only (a loader checks the
        content as it streams); raises BadRequest naming the first problem."""

    def verify_delta(self, opener: Opener, name: str) -> VerifiedDelta:
        """A delta (``v1 export-changes``) checked in full; raises BadRequest."""

    def assemble_data(
        self,
        previous: VerifiedBackup | None,
        delta: VerifiedDelta,
        staged: StagedFile,
        salvaged: Sequence[Salvage] = (),
    ) -> AssembledSummary:
        """Write into ``staged`` the complete backup of ``delta``'s snapshot, the unchanged
        dossiers' members copied as they are from what a cut transfer salvaged or from
        ``previous``; checked as they are copied, read back, then committed. Raises
        BadRequest (and discards ``staged``) when anything does not match."""

    def keep_partial(self, staged: StagedFile) -> None:
        """Keep what a cut transfer wrote into ``staged`` for the next attempt to resume
        from (docs/backup-format.md, "Resuming a cut transfer")."""

    def salvages(self, max_age: dt.timedelta, now: dt.datetime) -> list[Salvage]:
        """What the kept partial files hold, newest first (older ones deleted)."""

    def drop_partials(self) -> None:
        """Delete every kept partial file (a backup was made, or they led nowhere)."""

    def extract_dossier(self, backup: VerifiedBackup, code: str, sink: BinaryIO, now: dt.datetime) -> None:
        """Write into ``sink`` a backup of dossier ``code`` taken out of ``backup`` (verified
        in full by the caller); raises Refused when the backup does not hold it."""

    def verify_system(self, opener: Opener) -> int:
        """Check a system.zip against its MANIFEST; returns its file count; raises BadRequest."""

    def system_digest(self, opener: Opener) -> str:
        """The sha256 of a verified system.zip's MANIFEST (same files, same digest)."""


class Notifier(Protocol):
    def send(self, subject: str, body: str, payload: dict[str, Any]) -> None:
        """Send an alert by every channel configured (email: subject and body; webhook:
        payload as JSON); a failing channel is logged, never raised."""


class OffsiteStore(Protocol):
    """The restic repository of the offsite copies (``adapters/offsite_store.py``):
    ``ensure`` creates it when none is there (True then); a push unpacks a verified
    backup's members; ``restore_backup`` writes a copy back as a zip, to verify before use;
    ``location`` names it in messages, without any credential."""

    location: str

    def ensure(self) -> bool: ...

    def room_needed(self, opener: Opener, name: str) -> int:
        """The bytes a push of that backup writes on the backups volume (its members unpacked)."""

    def push_backup(self, opener: Opener, name: str, kind: str, made: dt.datetime) -> PushSummary: ...

    def copies(self) -> list[OffsiteCopy]: ...

    def forget(self, retention: OffsiteRetention, kind: str) -> None: ...

    def check(self, part: int, parts: int) -> None: ...

    def restore_backup(self, copy: OffsiteCopy, sink: BinaryIO) -> None: ...

    def size(self) -> int: ...
