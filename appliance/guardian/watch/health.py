"""The guardian container's health (its Docker HEALTHCHECK reads /healthz): "fresh and
usable" means the daemon's tick is alive and the last successful data backup is younger
than the configured age, after a grace period of that age from the first start."""

from __future__ import annotations

import datetime as dt
from typing import Any

from appliance import __version__
from appliance.domain.backups import parse_backup_name

STALL_SECONDS = 120.0


def daemon_health(
    now: dt.datetime,
    tick_age: float,
    newest_backup: str | None,
    first_start: dt.datetime,
    max_age: dt.timedelta,
    logged_in: bool,
) -> tuple[bool, dict[str, Any]]:
    """(healthy, the /healthz document with the reasons when not)."""
    reasons = []
    if tick_age > STALL_SECONDS:
        reasons.append(f"the daemon's tick has not run for {tick_age:.0f} s")
    newest = parse_backup_name(newest_backup) if newest_backup else None
    reference = newest or first_start
    if now - reference > max_age:
        what = "no successful data backup" if newest is None else "the last successful data backup is"
        reasons.append(f"{what} older than {max_age.total_seconds() / 3600:.0f} h")
    body = {
        "status": "ok" if not reasons else "unhealthy",
        "reasons": reasons,
        "version": __version__,
        "logged_in": logged_in,
        "newest_backup": newest.strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None,
    }
    return not reasons, body
