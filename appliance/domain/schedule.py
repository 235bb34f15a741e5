"""Scheduled backups inside the centre's slot (manual §12.3.4), as pure functions of time.

A centre's slot is a window of minutes inside every even or every odd UTC hour. The
settings pick some of those hours: by default one a night (``night_hour``), as the manual
asks for daily backups and the slot table exists to spread the centres' load. Each chosen hour gives a *window*; a run starts at a
moment drawn in the first half of its window (the same moment for the same window and
centre, so a restart does not redraw it); a window runs once; windows that passed without a
run are reported as missed, never replayed in a burst.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from appliance.domain.centres import Slot
from appliance.errors import BadRequest


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%MZ")


def allowed_hours(slot: Slot) -> list[int]:
    """The UTC hours of the slot's parity."""
    first = 0 if slot.parity == "even" else 1
    return list(range(first, 24, 2))


NIGHT_HOUR = 2


def night_hour(slot: Slot) -> int:
    """The hour of the nightly run: the first hour of the slot's parity from 02:00 UTC
    (02 for even slots, 03 for odd ones), when the LAN is idle and before the day's work."""
    return NIGHT_HOUR if slot.parity == "even" else NIGHT_HOUR + 1


def check_hours(slot: Slot, hours: Sequence[int]) -> list[int]:
    """Validate chosen hours against the slot; raises BadRequest listing the allowed windows."""
    allowed = allowed_hours(slot)
    bad = sorted({h for h in hours if h not in allowed})
    if bad or not hours:
        windows = ", ".join(
            f"{h:02d}:{slot.start:02d}–{h if slot.end < 60 else (h + 1) % 24:02d}:{slot.end % 60:02d}" for h in allowed
        )
        what = f"heure(s) hors du créneau : {', '.join(f'{h:02d}' for h in bad)}" if bad else "aucune heure choisie"
        raise BadRequest(f"{what}; créneau du centre ({slot.describe()}), fenêtres autorisées (UTC) : {windows}")
    return sorted(set(hours))


def window_at(slot: Slot, day: dt.date, hour: int) -> Window:
    start = dt.datetime(day.year, day.month, day.day, hour, slot.start, tzinfo=dt.UTC)
    return Window(start, start + dt.timedelta(minutes=slot.end - slot.start))


def windows_between(slot: Slot, hours: Sequence[int], since: dt.datetime, until: dt.datetime) -> Iterator[Window]:
    """The windows of ``hours`` that start in [since, until), in order."""
    day = since.date() - dt.timedelta(days=1)
    while day <= until.date():
        for hour in sorted(hours):
            window = window_at(slot, day, hour)
            if since <= window.start < until:
                yield window
        day += dt.timedelta(days=1)


def planned_start(window: Window, centre: str) -> dt.datetime:
    """A moment in the first half of the window, fixed for this window and centre."""
    half = (window.end - window.start) / 2
    seed = hashlib.sha256(f"{centre}|{window.key}".encode()).digest()
    fraction = int.from_bytes(seed[:8], "big") / 2**64
    return window.start + dt.timedelta(seconds=int(half.total_seconds() * fraction))


@dataclass(frozen=True)
class Decision:
    run: Window | None
    missed: list[Window]
    next_window: Window | None
    next_start: dt.datetime | None


def decide(
    now: dt.datetime, slot: Slot, hours: Sequence[int], centre: str, last_window: str | None, watched_since: dt.datetime
) -> Decision:
    """What the scheduler does at ``now``: the window to run (if its planned moment has come
    and it has not run), the windows missed since ``watched_since`` (the later of the last
    run and the start of the watch), and the next planned run."""
    current = next(
        (
            w
            for w in windows_between(slot, hours, now - dt.timedelta(hours=2), now + dt.timedelta(seconds=1))
            if w.start <= now < w.end
        ),
        None,
    )
    run = None
    if current is not None and current.key != last_window and now >= planned_start(current, centre):
        run = current
    # A last window ahead of the clock (it went back since) says nothing of the windows
    # before it: those missed are reported all the same.
    after = last_window if last_window is not None and last_window <= Window(now, now).key else None
    missed = [
        w
        for w in windows_between(slot, hours, watched_since, now)
        if w.end <= now and w.key != last_window and (after is None or w.key > after)
    ]
    upcoming = next(
        (
            w
            for w in windows_between(slot, hours, now - dt.timedelta(hours=2), now + dt.timedelta(days=2))
            if w.key != last_window and w.end > now and w != run
        ),
        None,
    )
    return Decision(run, missed, upcoming, planned_start(upcoming, centre) if upcoming else None)
