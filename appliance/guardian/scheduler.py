"""The scheduler's tick: runs the automatic backups (and the synchronisation after them when
the settings say so) inside the centre's slot. Windows, missed runs and planned moments are
domain code (``appliance.domain.schedule``); this module only does the I/O around them: the
schedule's state in the state volume (``schedule.json``) and starting the run in the
background."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from appliance.domain.schedule import Decision, Window, decide
from appliance.errors import ApplianceError, ConfigError, Refused
from appliance.guardian.jobs.actions import Actions
from appliance.guardian.ports import Clock
from appliance.guardian.settings_store import SettingsStore
from appliance.guardian.state import SCHEDULE, GuardianState, parse_stamp, stamp

log = logging.getLogger(__name__)


class Runner(Protocol):
    def busy(self) -> bool: ...

    def start(self, name: str, work: Callable[[], str]) -> Any: ...


class Scheduler:
    def __init__(
        self, actions: Actions, settings: SettingsStore, state: GuardianState, clock: Clock, runner: Runner
    ) -> None:
        self.actions = actions
        self.settings = settings
        self.state = state
        self.clock = clock
        self.runner = runner
        self.last_decision: Decision | None = None
        self.slot_problem = ""  # the centres table's problem last said, not repeated each tick

    def tick(self) -> Decision | None:
        """One look at the clock; starts a window's backup when its moment has come. The
        window is marked as run before it starts: a guardian killed mid-run, or restarted
        inside the window, never runs it twice."""
        settings, _ = self.settings.load()
        if not settings.backups_enabled:
            return None
        try:
            centre, slot = self.settings.centre_slot()
        except Refused as error:  # not logged in yet: nothing to schedule
            log.debug("scheduler idle: %s", error)
            return None
        except ConfigError as error:  # no slot for the centre: said once, never silent
            if str(error) != self.slot_problem:
                log.error("aucune sauvegarde programmée : %s", error)
                self.state.record("scheduled", ok=False, error=str(error))
            self.slot_problem = str(error)
            return None
        self.slot_problem = ""
        schedule = self.state.document(SCHEDULE)
        now = self.clock.now()
        watched = parse_stamp(schedule.get("watched_since")) or self.state.watching_since()
        if watched > now:
            # The clock went back: windows are watched again from now on, not from a moment
            # that lies ahead (the misses until then would never be reported).
            log.warning(
                "l'horloge a reculé : créneaux surveillés depuis %s, plus depuis %s", stamp(now), stamp(watched)
            )
            watched = now
            schedule["watched_since"] = stamp(now)
        decision = decide(now, slot, settings.effective_hours(slot), centre.code, schedule.get("last_window"), watched)
        self.last_decision = decision
        if decision.missed:
            for window in decision.missed[-5:]:
                log.warning(
                    "créneau de sauvegarde manqué : %s (le guardian ne tournait pas ou une autre opération occupait le créneau)",
                    window.key,
                )
            if len(decision.missed) > 5:  # a clock jumped forward: one line, not one per window
                log.warning("et %d créneaux manqués plus anciens", len(decision.missed) - 5)
            self.state.record(
                "missed", windows=", ".join(w.key for w in decision.missed[-5:]), count=len(decision.missed)
            )
            schedule["watched_since"] = stamp(now)
        if decision.next_start is not None:
            schedule["next_start"] = stamp(decision.next_start)
        if decision.run is not None and not self.runner.busy():
            schedule["last_window"] = decision.run.key
            schedule["watched_since"] = stamp(now)
            self.state.save_document(SCHEDULE, schedule)
            self._run(decision.run, settings.sync_after)
            return decision
        self.state.save_document(SCHEDULE, schedule)
        return decision

    def _run(self, window: Window, sync_after: bool) -> None:
        log.info("sauvegarde programmée du créneau %s", window.key)
        summary: dict[str, Any] = {"window": window.key}

        def work() -> str:
            try:
                # A refusal a new request cures is retried, but no retry starts after the slot.
                data = self.actions.data_backup(offsite=False, until=window.end)
                system = self.actions.system_backup(offsite=False, until=window.end)
                summary.update(backup=data.name, system_files=system.files)
                message = f"sauvegarde {data.name} et system.zip faites"
                if sync_after:
                    try:
                        synced = self.actions.sync()
                        summary["data_generation"] = synced.data_generation
                        message += f", génération {synced.data_generation} en service"
                    except Refused as error:
                        log.warning("synchronisation après la sauvegarde programmée non faite : %s", error)
                        message += f"; synchronisation non faite : {error}"
            finally:  # once, last, whatever failed: what a failed step left, the copy still takes
                self.actions.offsite_after_backups()
            return message

        def work_and_record() -> str:
            try:
                message = work()
            except ApplianceError as error:
                self.state.record("scheduled", ok=False, error=str(error), **summary)
                raise
            except Exception as error:  # a bug is a failed run too, never the last success
                self.state.record(
                    "scheduled", ok=False, error=f"erreur interne : {type(error).__name__}: {error}", **summary
                )
                raise
            self.state.record("scheduled", ok=True, **summary)
            if self.clock.now() > window.end:
                log.warning(
                    "dépassement du créneau %s : la sauvegarde programmée a fini à %s",
                    window.key,
                    self.clock.now().strftime("%H:%M:%S"),
                )
            return message

        # In the runner's thread: the tick goes on (and the health check sees it tick).
        self.runner.start("sauvegarde programmée", work_and_record)
