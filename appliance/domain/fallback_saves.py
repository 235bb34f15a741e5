"""The saves of fallback work (issue 24, point 4): while the local server is in fallback
mode, the dossiers changed locally are copied into ``backups/local/`` every so many minutes,
each only when its local revision moved since its last save. Pure: ``now`` passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from appliance.domain.dossiers import LocalDossier, local_work
from appliance.domain.states import Baseline


def save_interval(minutes: int) -> dt.timedelta | None:
    """The interval ``NEOCUMA_FALLBACK_SAVE_MINUTES`` sets; None (no saves) for 0."""
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def save_due(since: dt.datetime | None, now: dt.datetime, interval: dt.timedelta) -> bool:
    """Whether a save is due: ``interval`` has passed since ``since`` (the last save, or the
    moment fallback mode was first seen); never before fallback mode was seen. A clock that
    went back (``since`` ahead of ``now``) makes a save due, rather than none for as long."""
    if since is None:
        return False
    return now - since >= interval or since > now


def to_save(
    local: Mapping[str, LocalDossier], baselines: Mapping[str, Baseline], saved: Mapping[str, int]
) -> list[str]:
    """Codes of the dossiers to save, sorted: those changed locally since their baseline
    (``local_work``) whose revision differs from the one of their last save (``saved``,
    by code). A dossier unchanged since its last save gets no new file."""
    return [code for code in local_work(local, baselines) if saved.get(code) != local[code].revision]
