"""Prometheus metrics of the NeoCuma server (text format on /metrics of the web port), with
the process's own figures (``process_*``, ``python_info``). A counter is its ``_total``
alone: the ``_created`` series (the moment the counter object was made, one per counter
and label set) is left out, as most exporters do."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from appliance import __version__
from appliance.errors import ApplianceError
from appliance.server.store import Live

MODES = ("standby", "fallback")


class _LiveCollector(Collector):
    """Reads the control row at scrape time, so the figures are never stale."""

    def __init__(self, live: Callable[[], Live], role: str) -> None:
        self._live = live
        self._role = role

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        yield InfoMetricFamily(
            "neocuma_server", "NeoCuma server build and role", value={"version": __version__, "role": self._role}
        )
        up = GaugeMetricFamily("neocuma_database_up", "1 when the server can read its control row")
        try:
            live = self._live()
        except ApplianceError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, value, text in (
            (
                "neocuma_data_generation",
                live.data_generation,
                "live data generation (schema neocuma_g<N>), -1 before the first",
            ),
            ("neocuma_system_generation", live.system_generation, "live system-files generation, -1 before the first"),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], -1 if value is None else value)
            yield gauge
        mode = GaugeMetricFamily("neocuma_mode", "1 for the current mode of the server", labels=["mode"])
        for name in MODES:
            mode.add_metric([name], 1 if live.mode == name else 0)
        yield mode


class ServerMetrics:
    """Counters shared by the web app and the SSH endpoint."""

    def __init__(self, live: Callable[[], Live] | None = None, role: str = "central") -> None:
        # Process-wide in prometheus_client, read when a scrape renders; the library leaves it untyped.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.requests = Counter(
            "neocuma_http_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "neocuma_http_errors", "HTTP requests that failed with a 5xx status", ["endpoint"], registry=self.registry
        )
        self.ssh_requests = Counter(
            "neocuma_ssh_requests",
            "SSH protocol requests by command and result",
            ["command", "result"],
            registry=self.registry,
        )
        self.exports = Counter("neocuma_exports", "Data exports by result", ["result"], registry=self.registry)
        self.export_bytes = Counter("neocuma_export_bytes", "Bytes of TSV data exported", registry=self.registry)
        self.imports = Counter("neocuma_imports", "Dossier imports by result", ["result"], registry=self.registry)
        self.import_bytes = Counter("neocuma_import_bytes", "Bytes of zip received by imports", registry=self.registry)
        if live is not None:
            self.registry.register(_LiveCollector(live, role))

    def render(self) -> bytes:
        return generate_latest(self.registry)
