"""The guardian's daemon, the container's main process: the scheduler's tick, the monitor,
and the console with /healthz and /metrics on port 8000. A failing tick is logged and retried
later, never a crash loop; signals only set a flag. Health means "fresh and usable": the
tick is alive and the last successful data backup is younger than the configured age (after
a grace period of that age from the first start)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from appliance import __version__, logs
from appliance.domain.backups import parse_backup_name
from appliance.errors import ApplianceError
from appliance.guardian import identification, monitor
from appliance.guardian.backup import list_backups
from appliance.guardian.context import Guardian
from appliance.guardian.progress import JobRunner, Progress
from appliance.guardian.scheduler import Scheduler

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
STALL_SECONDS = 120.0


class Daemon:
    def __init__(self, guardian: Guardian) -> None:
        self.guardian = guardian
        guardian.progress = Progress()
        self.monitor_wakeup = threading.Event()
        self.runner = JobRunner(guardian.progress, guardian.now, on_finish=self.monitor_wakeup.set)
        self.scheduler = Scheduler(guardian, self.runner)
        self.stopping = threading.Event()
        self.last_tick = time.monotonic()
        self.logged_in = False
        self._next_login_attempt = 0.0
        self.first_start = monitor.watching_since(guardian)

    def _login_if_needed(self) -> None:
        if self.logged_in or time.monotonic() < self._next_login_attempt:
            return
        try:
            identification.demo_autologin(self.guardian)
            self.guardian.credentials()
            self.logged_in = True
            self.monitor_wakeup.set()  # the first probe may have run before the login
        except ApplianceError as error:
            log.warning("not logged in to the remote server yet: %s", error)
            self._next_login_attempt = time.monotonic() + 30

    def tick(self) -> None:
        self.last_tick = time.monotonic()
        self._login_if_needed()
        if self.logged_in:
            self.scheduler.tick()

    def _loop(self, every: float, step: Any, name: str) -> None:
        while not self.stopping.is_set():
            logs.new_run_id()
            try:
                step()
            except Exception:  # a failing step must not kill the daemon: logged, retried
                log.exception("%s failed; retrying in %.0f s", name, every)
            self.stopping.wait(every)

    def watch(self, every: float) -> None:
        """The monitor's loop: every ``every`` seconds, at once after each console job, and
        within a second of a CLI command's refresh request."""
        seen = monitor.refresh_requested_at(self.guardian)
        while not self.stopping.is_set():
            logs.new_run_id()
            try:
                monitor.evaluate_and_record(self.guardian)
            except Exception:  # logged, retried at the next round
                log.exception("monitor failed; retrying in %.0f s", every)
            deadline = time.monotonic() + every
            while not self.monitor_wakeup.is_set() and time.monotonic() < deadline:
                requested = monitor.refresh_requested_at(self.guardian)
                if requested != seen:
                    seen = requested
                    break
                self.monitor_wakeup.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            self.monitor_wakeup.clear()

    def health(self) -> tuple[bool, dict[str, Any]]:
        now = self.guardian.now()
        reasons = []
        stalled = time.monotonic() - self.last_tick
        if stalled > STALL_SECONDS:
            reasons.append(f"the daemon's tick has not run for {stalled:.0f} s")
        max_age = dt.timedelta(hours=int(self.guardian.config["monitor.max_backup_age_hours"]))
        newest = next(
            (parse_backup_name(b.name) for b in list_backups(self.guardian) if parse_backup_name(b.name)), None
        )
        reference = newest or self.first_start
        if now - reference > max_age:
            what = "no successful data backup" if newest is None else "the last successful data backup is"
            reasons.append(f"{what} older than {max_age.total_seconds() / 3600:.0f} h")
        body = {
            "status": "ok" if not reasons else "unhealthy",
            "reasons": reasons,
            "version": __version__,
            "logged_in": self.logged_in,
            "newest_backup": newest.strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None,
        }
        return not reasons, body


def serve(guardian: Guardian) -> int:
    from waitress import create_server

    from appliance.guardian.console.app import create_console

    logs.setup(logging.INFO, stream=sys.stdout, json_file=guardian.state_dir / "logs" / "guardian.log", rotate=True)
    daemon = Daemon(guardian)
    port = int(guardian.config["console.port"])
    app = create_console(guardian, daemon.runner, daemon.health)
    web = create_server(app, host="0.0.0.0", port=port, threads=6, ident="NeoCuma Guardian")

    def _stop(signum: int, frame: FrameType | None) -> None:
        daemon.stopping.set()
        daemon.monitor_wakeup.set()
        web.close()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threading.Thread(
        target=daemon._loop, args=(TICK_SECONDS, daemon.tick, "tick"), name="guardian-tick", daemon=True
    ).start()
    interval = float(guardian.config["monitor.interval"])
    threading.Thread(target=daemon.watch, args=(interval,), name="guardian-monitor", daemon=True).start()
    log.info("neocuma-guardian %s ready on port %d", __version__, port)
    with contextlib.suppress(OSError):
        web.run()
    daemon.stopping.set()
    daemon.runner.wait(30)
    return 0
