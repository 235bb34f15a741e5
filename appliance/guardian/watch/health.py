"""The guardian container's health (its Docker HEALTHCHECK reads /healthz): "the guardian
works", that is its tick is alive, its state volume can be read and the local database
answers. Freshness of the backups and the remote's reachability are not the container's
health: a day-long internet outage, the case this appliance exists for, leaves the guardian
healthy while the indicators, ``check`` and /metrics say what is wrong (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from appliance import __version__

STALL_SECONDS = 120.0


def daemon_health(
    tick_age: float, state_error: str | None, database_error: str | None, logged_in: bool
) -> tuple[bool, dict[str, Any]]:
    """(healthy, the /healthz document with the reasons when not)."""
    reasons = []
    if tick_age > STALL_SECONDS:
        reasons.append(f"the daemon's tick has not run for {tick_age:.0f} s")
    if state_error is not None:
        reasons.append(f"the state volume cannot be read: {state_error}")
    if database_error is not None:
        reasons.append(f"the local database does not answer: {database_error}")
    body = {
        "status": "ok" if not reasons else "unhealthy",
        "reasons": reasons,
        "version": __version__,
        "logged_in": logged_in,
    }
    return not reasons, body
