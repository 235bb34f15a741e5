"""The scheduler's tick: runs the automatic backups (and the synchronisation after them when
the settings say so) inside the centre's slot; windows, missed runs and planned moments are
domain code (``appliance.domain.schedule``); this module only does the I/O around them."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from appliance.adapters.state_files import JsonFile
from appliance.domain.schedule import Decision, decide
from appliance.errors import ApplianceError, Refused
from appliance.guardian import actions
from appliance.guardian.context import Guardian
from appliance.guardian.monitor import STAMP, watching_since
from appliance.guardian.progress import JobRunner
from appliance.guardian.settings_store import centre_slot, load_settings

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, guardian: Guardian, runner: JobRunner) -> None:
        self.guardian = guardian
        self.runner = runner
        self.state = JsonFile(guardian.state_dir / "schedule.json")
        self.last_decision: Decision | None = None

    def tick(self) -> Decision | None:
        """One look at the clock; runs a window's backup when its moment has come."""
        guardian = self.guardian
        settings, _ = load_settings(guardian)
        if not settings.backups_enabled:
            return None
        try:
            centre, slot = centre_slot(guardian)
        except Refused as error:  # not logged in yet: nothing to schedule
            log.debug("scheduler idle: %s", error)
            return None
        state = self.state.read()
        now = guardian.now()
        since = state.get("watched_since")
        watched = dt.datetime.strptime(since, STAMP).replace(tzinfo=dt.UTC) if since else watching_since(guardian)
        decision = decide(now, slot, settings.effective_hours(slot), centre.code, state.get("last_window"), watched)
        self.last_decision = decision
        if decision.missed:
            for window in decision.missed:
                log.warning(
                    "créneau de sauvegarde manqué : %s (le guardian ne tournait pas ou une autre opération occupait le créneau)",
                    window.key,
                )
            guardian.record(
                "missed", windows=", ".join(w.key for w in decision.missed[-5:]), count=len(decision.missed)
            )
            state["watched_since"] = now.strftime(STAMP)
        if decision.next_start is not None:
            state["next_start"] = decision.next_start.strftime(STAMP)
        if decision.run is not None and not self.runner.busy():
            # Marked before it runs: a guardian killed mid-run does not run this window again.
            state["last_window"] = decision.run.key
            state["watched_since"] = now.strftime(STAMP)
            self.state.write(state)
            self._run(decision, settings.sync_after)
            return decision
        self.state.write(state)
        return decision

    def _run(self, decision: Decision, sync_after: bool) -> None:
        window = decision.run
        assert window is not None
        log.info("sauvegarde programmée du créneau %s", window.key)
        summary: dict[str, Any] = {"window": window.key}

        def work() -> str:
            data = actions.run_data_backup(self.guardian)
            system = actions.run_system_backup(self.guardian)
            summary.update(backup=data.name, system_files=system.files)
            message = f"sauvegarde {data.name} et system.zip faites"
            if sync_after:
                try:
                    synced = actions.run_sync(self.guardian)
                    summary["data_generation"] = synced.data_generation
                    message += f", génération {synced.data_generation} en service"
                except Refused as error:
                    log.warning("synchronisation après la sauvegarde programmée non faite : %s", error)
                    message += f"; synchronisation non faite : {error}"
            return message

        def work_and_record() -> str:
            try:
                message = work()
            except ApplianceError as error:
                self.guardian.record("scheduled", ok=False, error=str(error), **summary)
                raise
            self.guardian.record("scheduled", ok=True, **summary)
            if self.guardian.now() > window.end:
                log.warning(
                    "dépassement du créneau %s : la sauvegarde programmée a fini à %s",
                    window.key,
                    self.guardian.now().strftime("%H:%M:%S"),
                )
            return message

        # In the runner's thread: the tick goes on (and the health check sees it tick).
        self.runner.start("sauvegarde programmée", work_and_record)
