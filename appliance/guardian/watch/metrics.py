"""Prometheus metrics of the guardian, read from its state at scrape time (so figures from
CLI runs and from the daemon agree and are never stale)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from appliance import __version__
from appliance.domain.health import ORDER
from appliance.errors import ApplianceError
from appliance.guardian.state import STATUS, GuardianState, parse_stamp

JOBS = ("backup", "system_backup", "sync", "scheduled", "pull", "restore")


class GuardianCollector(Collector):
    def __init__(self, state: GuardianState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        yield InfoMetricFamily("neocuma_guardian", "NeoCuma Server Guardian build", value={"version": __version__})
        try:
            history = self.state.history()
            status = self.state.document(STATUS)
            counters = self.state.counters()
        except ApplianceError:
            return
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
            moment = parse_stamp(entry.get("at"))
            if entry.get("ok") and moment is not None:
                success.add_metric([job], moment.timestamp())
            if "seconds" in entry:
                duration.add_metric([job], float(entry["seconds"]))
            failed.add_metric([job], 0 if entry.get("ok") else 1)
        yield success
        yield duration
        yield failed
        moved = CounterMetricFamily("neocuma_guardian_transferred_bytes", "Bytes moved, per job", labels=["job"])
        for job, value in sorted(counters.items()):
            moved.add_metric([job], float(value))
        yield moved
        up = GaugeMetricFamily("neocuma_guardian_component_up", "1 when the indicator is green", labels=["component"])
        indicators = {entry["name"]: entry for entry in status.get("indicators", [])}
        for name in ORDER:
            if name in indicators:
                up.add_metric([name], 1 if indicators[name]["green"] else 0)
        yield up
        if status.get("clock_skew") is not None:
            skew = GaugeMetricFamily("neocuma_guardian_clock_skew_seconds", "Remote clock minus this host's clock")
            skew.add_metric([], float(status["clock_skew"]))
            yield skew
        dossiers = GaugeMetricFamily("neocuma_guardian_dossiers", "Dossiers by state", labels=["state"])
        for state, count in sorted(status.get("dossiers_by_state", {}).items()):
            dossiers.add_metric([state], count)
        yield dossiers
        mode = GaugeMetricFamily(
            "neocuma_guardian_local_mode", "1 for the local server's current mode", labels=["mode"]
        )
        for name in ("standby", "fallback"):
            mode.add_metric([name], 1 if status.get("mode") == name else 0)
        yield mode


def registry(state: GuardianState) -> CollectorRegistry:
    result = CollectorRegistry()
    result.register(GuardianCollector(state))
    return result


def render(registry_: CollectorRegistry) -> bytes:
    return generate_latest(registry_)
