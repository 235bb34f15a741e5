"""Prometheus metrics of the guardian, read from its state and the backups volume at scrape
time (so figures from CLI runs and from the daemon agree and are never stale). An unreadable
state document is reported as ``neocuma_guardian_state_readable 0`` beside everything that
could still be read, never as an empty page. A moment is exported as a timestamp
(``*_timestamp_seconds``), never as an age: Prometheus subtracts it from ``time()`` when it
evaluates, where an age would be as old as whatever computed it. Label values are ASCII
identifiers (``a_jour``, not ``à jour``). The page also has the process's own figures
(``process_*``, ``python_info``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from appliance import __version__
from appliance.domain.backups import parse_backup_name
from appliance.domain.health import FAILED, NEUTRAL, OK, ORDER, saved_state
from appliance.errors import ApplianceError
from appliance.guardian.ports import BackupsStore
from appliance.guardian.state import COUNTERS, HISTORY, STATUS, GuardianState, parse_stamp

JOBS = (
    "backup",
    "system_backup",
    "sync",
    "scheduled",
    "pull",
    "restore",
    "offsite",
    "offsite_check",
    "fallback_save",
    "fallback_save_offsite",
    "replay",
    "return",
)
Family = GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily


class GuardianCollector(Collector):
    def __init__(self, state: GuardianState, backups: BackupsStore) -> None:
        self.state = state
        self.backups = backups

    def _documents(self) -> tuple[dict[str, dict[str, Any]], GaugeMetricFamily]:
        readable = GaugeMetricFamily(
            "neocuma_guardian_state_readable", "1 when the state document can be read", labels=["document"]
        )
        documents: dict[str, dict[str, Any]] = {}
        for name in (HISTORY, STATUS, COUNTERS):
            try:
                documents[name] = self.state.document(name)
                readable.add_metric([name], 1)
            except ApplianceError:
                documents[name] = {}
                readable.add_metric([name], 0)
        return documents, readable

    def collect(self) -> Iterator[Family]:
        yield InfoMetricFamily(
            "neocuma_guardian_build", "NeoCuma Server Guardian build", value={"version": __version__}
        )
        documents, readable = self._documents()
        yield readable
        yield from _jobs(documents[HISTORY])
        moved = CounterMetricFamily("neocuma_guardian_transferred_bytes", "Bytes moved, per job", labels=["job"])
        for job, value in sorted(documents[COUNTERS].items()):
            moved.add_metric([job], float(value))
        yield moved
        yield from _indicators(documents[STATUS])
        yield from self._backups()

    def _backups(self) -> Iterator[GaugeMetricFamily]:
        stored = [f for f in self.backups.data_backups() if parse_backup_name(f.name)]
        count = GaugeMetricFamily("neocuma_guardian_data_backups", "Data backups in data/")
        count.add_metric([], len(stored))
        yield count
        if stored:
            newest = stored[0]
            moment = parse_backup_name(newest.name)
            size = GaugeMetricFamily("neocuma_guardian_newest_backup_bytes", "Size of the newest data backup")
            size.add_metric([], newest.size)
            yield size
            if moment is not None:
                taken = GaugeMetricFamily(
                    "neocuma_guardian_newest_backup_timestamp_seconds",
                    "When the newest data backup was taken (its name)",
                )
                taken.add_metric([], moment.timestamp())
                yield taken
        free = self.backups.free_bytes()
        if free is not None:
            space = GaugeMetricFamily("neocuma_guardian_backups_free_bytes", "Free space on the backups volume")
            space.add_metric([], free)
            yield space


def _jobs(history: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    success = GaugeMetricFamily(
        "neocuma_guardian_last_success_timestamp_seconds", "End of the last successful run, per job", labels=["job"]
    )
    duration = GaugeMetricFamily(
        "neocuma_guardian_last_duration_seconds", "Duration of the last run, per job", labels=["job"]
    )
    failed = GaugeMetricFamily(
        "neocuma_guardian_last_run_failed", "1 when the last run of the job failed", labels=["job"]
    )
    for job in JOBS:
        entry = history.get(job)
        if not entry:
            continue
        # Kept across failures (state.record), so "time() - last success" alerts keep working.
        moment = parse_stamp(entry.get("last_success") or (entry.get("at") if entry.get("ok") else None))
        if moment is not None:
            success.add_metric([job], moment.timestamp())
        if "seconds" in entry:
            duration.add_metric([job], float(entry["seconds"]))
        failed.add_metric([job], 0 if entry.get("ok") else 1)
    yield success
    yield duration
    yield failed


def _indicators(status: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    up = GaugeMetricFamily(
        "neocuma_guardian_component_up", "1 unless the indicator is red (green or neutral)", labels=["component"]
    )
    states = GaugeMetricFamily(
        "neocuma_guardian_component_state",
        "1 for the indicator's state: vert, neutre or rouge",
        labels=["component", "state"],
    )
    indicators = {entry["name"]: entry for entry in status.get("indicators", [])}
    for name in ORDER:
        if name in indicators:
            state = saved_state(indicators[name])
            up.add_metric([name], 0 if state == FAILED else 1)
            for each in (OK, NEUTRAL, FAILED):
                states.add_metric([name, each], 1 if state == each else 0)
    yield up
    yield states
    if status.get("clock_skew") is not None:
        skew = GaugeMetricFamily("neocuma_guardian_clock_skew_seconds", "Remote clock minus this host's clock")
        skew.add_metric([], float(status["clock_skew"]))
        yield skew
    dossiers = GaugeMetricFamily("neocuma_guardian_dossiers", "Dossiers by state", labels=["state"])
    for state, count in sorted(status.get("dossiers_by_state", {}).items()):
        dossiers.add_metric([ascii_identifier(state)], count)
    yield dossiers
    yield from _offsite(status.get("offsite"))
    mode = GaugeMetricFamily("neocuma_guardian_local_mode", "1 for the local server's current mode", labels=["mode"])
    for name in ("standby", "fallback"):
        mode.add_metric([name], 1 if status.get("mode") == name else 0)
    yield mode


def _offsite(offsite: dict[str, Any] | None) -> Iterator[GaugeMetricFamily]:
    """The offsite repository as the last successful push left it (none configured: nothing)."""
    if not offsite:
        return
    copied = parse_stamp(offsite.get("last_success"))
    if copied is not None:
        last = GaugeMetricFamily(
            "neocuma_guardian_offsite_last_copy_timestamp_seconds", "End of the last successful offsite push"
        )
        last.add_metric([], copied.timestamp())
        yield last
    for key, name, words in (
        ("size", "neocuma_guardian_offsite_repository_bytes", "Bytes the offsite restic repository holds"),
        ("copies", "neocuma_guardian_offsite_copies", "Copies the offsite restic repository holds"),
    ):
        if isinstance(offsite.get(key), int | float):
            gauge = GaugeMetricFamily(name, words)
            gauge.add_metric([], float(offsite[key]))
            yield gauge


def ascii_identifier(text: str) -> str:
    """A label value as an ASCII identifier: accents dropped, anything else but letters and
    digits turned into ``_`` (``modifié des deux côtés`` → ``modifie_des_deux_cotes``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(c if c.isalnum() else " " for c in plain).split()).lower()


def registry(state: GuardianState, backups: BackupsStore) -> CollectorRegistry:
    """The guardian's figures and its process's (memory, CPU, open files, Python version)."""
    result = CollectorRegistry()
    result.register(GuardianCollector(state, backups))
    ProcessCollector(registry=result)
    PlatformCollector(registry=result)
    return result


def render(registry_: CollectorRegistry) -> bytes:
    return generate_latest(registry_)
