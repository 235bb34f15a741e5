"""Moments as people read them (docs/operations.md, "Dates"): one format everywhere,
``01/12/2026 02:03:27 UTC (03:03 à Paris)``, Paris time beside UTC because the centres live
by it while the slots and the names of backups stay in UTC. Pure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
_STAMPS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H-%M-%SZ.zip")


def parse_moment(value: object) -> dt.datetime | None:
    """A moment from a datetime or one of the stamps the guardian writes (UTC); None if not one."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        return None
    for layout in _STAMPS:
        try:
            return dt.datetime.strptime(value, layout).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def for_people(value: object, seconds: bool = True) -> str:
    """``JJ/MM/AAAA HH:MM:SS UTC (HH:MM à Paris)``; a value that is no moment is shown as it is
    (``—`` for none)."""
    moment = parse_moment(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    utc = moment.astimezone(dt.UTC)
    paris = moment.astimezone(PARIS)
    day = "" if paris.date() == utc.date() else f" le {paris:%d/%m}"
    return f"{utc:%d/%m/%Y %H:%M{':%S' if seconds else ''}} UTC ({paris:%H:%M}{day} à Paris)"
