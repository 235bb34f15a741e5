"""The NeoCuma server's /metrics keeps the conventions the guardian's keeps: the process's
own figures are there, and a counter is its ``_total`` without a ``_created`` series."""

from __future__ import annotations

from appliance.server.metrics import ServerMetrics


def test_server_metrics_have_the_process_figures_and_no_created_series() -> None:
    metrics = ServerMetrics()
    metrics.requests.labels("healthz", "200").inc()
    metrics.export_bytes.inc(10)
    text = metrics.render().decode()
    assert 'neocuma_http_requests_total{endpoint="healthz",status="200"} 1.0' in text
    assert "neocuma_export_bytes_total 10.0" in text
    assert "_created" not in text, [line for line in text.splitlines() if "_created" in line][:3]
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"):
        assert f"\n{name}" in text, name
