"""The daemon's timers, on the ``schedule`` library: the slot's tick (which starts the
automatic runs when ``appliance.domain.schedule`` says their moment has come) and the
periodic housekeeping. Each job runs every so many seconds; a failing job is logged and
runs again at its next turn, never a crash loop. ``schedule`` reads the wall clock, so a
backward jump of the clock would push every job's next run as far into the future: jobs
whose next run lies further away than their period are re-armed (docs/operations.md)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import schedule

from appliance import logs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Timer:
    name: str
    seconds: float
    work: Callable[[], object]


class Timers:
    def __init__(self) -> None:
        self._scheduler = schedule.Scheduler()
        self._timers: list[_Timer] = []

    def every(self, seconds: float, name: str, work: Callable[[], object]) -> None:
        """Run ``work`` every ``seconds``, the first time at the first ``run_pending``."""
        timer = _Timer(name, seconds, work)
        self._timers.append(timer)
        self._arm(timer, at_once=True)

    def _arm(self, timer: _Timer, at_once: bool = False) -> None:
        # schedule types the interval as int; a float works (it becomes a timedelta).
        job = self._scheduler.every(timer.seconds).seconds.do(self._run, timer).tag(timer.name)  # type: ignore[arg-type]
        if at_once:
            job.next_run = dt.datetime.now()  # noqa: DTZ005 - schedule's naive local time

    def _run(self, timer: _Timer) -> None:
        logs.new_run_id()
        try:
            timer.work()
        except Exception:  # a failing job must not kill the daemon: logged, retried
            log.exception("%s en échec ; nouvel essai dans %.0f s", timer.name, timer.seconds)

    def run_pending(self) -> float:
        """Run the jobs that are due; returns the seconds until the next one is."""
        now = dt.datetime.now()  # noqa: DTZ005 - schedule's naive local time
        for timer in self._timers:
            jobs = self._scheduler.get_jobs(timer.name)
            if any(j.next_run is not None and (j.next_run - now).total_seconds() > timer.seconds for j in jobs):
                log.warning("l'horloge a reculé : minuterie %s réarmée", timer.name)
                self._scheduler.clear(timer.name)
                self._arm(timer, at_once=True)
        self._scheduler.run_pending()
        idle = self._scheduler.idle_seconds
        return max(0.0, idle) if idle is not None else 1.0

    def next_run(self, name: str) -> dt.datetime | None:
        jobs = self._scheduler.get_jobs(name)
        return jobs[0].next_run if jobs else None
