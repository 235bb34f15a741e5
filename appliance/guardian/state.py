"""The guardian's state, typed, over the state store: the stored login, the baselines, the
history of every job (what status, check and /metrics show), byte counters, and the
documents the daemon keeps (status snapshot, indicators, schedule). Document names are
file names of the state volume (``<name>.json``), so an operator finds them there."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any

from appliance.domain.identity import Credentials
from appliance.domain.states import Baseline
from appliance.errors import Refused
from appliance.guardian.ports import Clock, StateStore

STAMP = "%Y-%m-%dT%H:%M:%SZ"
CREDENTIALS, BASELINES, HISTORY, COUNTERS = "credentials", "baselines", "history", "counters"
STATUS, INDICATORS, SCHEDULE, DAEMON = "status", "indicators", "schedule", "daemon"
SYNC_PENDING = "sync-pending"  # a switch made and not yet confirmed (jobs/sync.py)
SETTINGS, VERIFIERS, REFRESH = "settings", "console_verifiers", "refresh-requested"
FULL_BACKUP = "full-backup"  # the last full data backup (jobs/backup.py: the periodic full)
SYSTEM_INSTALLED = "system-installed"  # which system.zip the live system generation came from (jobs/sync.py)
OFFSITE_LOCK = "offsite.lock"
OFFSITE = "offsite"  # the repository as the last successful offsite push left it (jobs/actions.py)
OUTAGE = "outage"  # the central server's current run of failed probes (watch/outage.py)
FALLBACK_SAVES = "fallback-saves"  # the saves of fallback work so far (jobs/fallback_saves.py)


def stamp(moment: dt.datetime) -> str:
    """A moment as the state documents write it (UTC, to the second)."""
    return moment.astimezone(dt.UTC).strftime(STAMP)


def parse_stamp(text: object) -> dt.datetime | None:
    """The moment ``stamp`` wrote, or None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.strptime(text, STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


class GuardianState:
    """Typed access to the state store; ``clock`` dates what is recorded."""

    def __init__(self, store: StateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def lock(self, what: str) -> AbstractContextManager[None]:
        """The guardian's one lock: backups, syncs, transfers and mode changes, one at a time."""
        return self.store.lock(what)

    def offsite_lock(self, what: str) -> AbstractContextManager[None]:
        """The offsite copies' own lock (pushes, checks, restores: one restic at a time),
        apart from the guardian's, so that a long push never holds up a sync or a switch
        to fallback mode (docs/offsite.md, "Time limits")."""
        return self.store.lock(what, OFFSITE_LOCK)

    def credentials(self) -> Credentials:
        """The stored login; raises Refused when the guardian is not logged in."""
        data = self.store.read(CREDENTIALS)
        if not data.get("login") or not data.get("password"):
            raise Refused(
                "le gardien n'est pas identifié auprès du serveur distant : "
                "lancez `neocuma-guardian login` (make login)"
            )
        return Credentials(
            str(data["login"]), str(data["password"]), str(data.get("centre", "")), str(data.get("profile", ""))
        )

    def logged_in(self) -> bool:
        try:
            self.credentials()
        except Refused:
            return False
        return True

    def store_credentials(self, credentials: Credentials) -> None:
        self.store.write(
            CREDENTIALS,
            {
                "login": credentials.login,
                "password": credentials.password,
                "centre": credentials.centre,
                "profile": credentials.profile,
            },
        )

    def baselines(self) -> dict[str, Baseline]:
        data = self.store.read(BASELINES)
        return {code: Baseline(int(value["remote"]), int(value["local"])) for code, value in data.items()}

    def save_baselines(self, baselines: dict[str, Baseline]) -> None:
        self.store.write(
            BASELINES,
            {code: {"remote": b.remote_revision, "local": b.local_revision} for code, b in sorted(baselines.items())},
        )

    def last_full_backup(self) -> dt.datetime | None:
        """When the last full data backup was made (None: never, or before this was kept)."""
        return parse_stamp(self.store.read(FULL_BACKUP).get("at"))

    def record_full_backup(self, name: str) -> None:
        self.store.write(FULL_BACKUP, {"at": stamp(self.clock.now()), "name": name})

    def installed_system(self) -> tuple[int, str] | None:
        """(system generation, sha256 of its system.zip's MANIFEST) last installed and
        confirmed live; None when not known."""
        document = self.store.read(SYSTEM_INSTALLED)
        generation, digest = document.get("generation"), document.get("manifest")
        if isinstance(generation, int) and not isinstance(generation, bool) and isinstance(digest, str):
            return generation, digest
        return None

    def record_installed_system(self, generation: int, digest: str) -> None:
        self.store.write(
            SYSTEM_INSTALLED, {"generation": generation, "manifest": digest, "at": stamp(self.clock.now())}
        )

    def history(self) -> dict[str, Any]:
        return self.store.read(HISTORY)

    def record(self, job: str, **facts: Any) -> None:
        """Remember the outcome of a job (for status, check, /metrics and the next runs)."""
        history = self.store.read(HISTORY)
        now = stamp(self.clock.now())
        entry = dict(facts, at=now)
        if "ok" in facts:  # when it last succeeded, kept across failures (/metrics, the indicators)
            previous = history.get(job) or {}
            earlier = previous.get("last_success") or (previous.get("at") if previous.get("ok") else None)
            last = now if facts["ok"] else earlier
            if last:
                entry["last_success"] = last
        history[job] = entry
        self.store.write(HISTORY, history)

    def count_bytes(self, job: str, size: int) -> None:
        counters = self.store.read(COUNTERS)
        counters[job] = int(counters.get(job, 0)) + size
        self.store.write(COUNTERS, counters)

    def counters(self) -> dict[str, Any]:
        return self.store.read(COUNTERS)

    def watching_since(self) -> dt.datetime:
        """When this guardian started watching (its first start), kept across restarts."""
        data = self.store.read(DAEMON)
        first = parse_stamp(data.get("first_start"))
        if first is None:
            first = self.clock.now()
            data["first_start"] = stamp(first)
            self.store.write(DAEMON, data)
        return first

    def document(self, name: str) -> dict[str, Any]:
        return self.store.read(name)

    def save_document(self, name: str, document: dict[str, Any]) -> None:
        self.store.write(name, document)

    def request_refresh(self) -> None:
        """Ask the daemon's monitor (another process: the CLI runs through ``docker exec``)
        for a round now rather than at its next one."""
        self.store.touch(REFRESH)

    def refresh_requested_at(self) -> float:
        return self.store.touched_at(REFRESH)
