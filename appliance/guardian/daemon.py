"""The guardian's daemon, the container's main process: the scheduler's tick (on the
``schedule`` library, ``timers.py``), the monitor, and the console with /healthz and
/metrics on port 8000. A failing tick is logged and retried later, never a crash loop;
signals only set a flag (docs/operations.md)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from appliance import __version__, logs
from appliance.errors import ApplianceError, Refused
from appliance.guardian.jobs.progress import JobRunner
from appliance.guardian.scheduler import Scheduler
from appliance.guardian.state import STATUS, SYNC_PENDING
from appliance.guardian.timers import Timers
from appliance.guardian.watch.health import daemon_health
from appliance.guardian.wiring import Parts

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
FALLBACK_SAVE_TICK_SECONDS = 30.0  # how often the saves of fallback work look whether one is due
LOGIN_RETRY_SECONDS = 30.0
WORKER_THREADS = 6
STOP_WAIT_SECONDS = 30


class Daemon:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.clock = parts.ports.clock
        self.monitor_wakeup = threading.Event()
        self.runner = JobRunner(parts.progress, self.clock.now, on_finish=self.monitor_wakeup.set)
        self.scheduler = Scheduler(parts.actions, parts.settings, parts.state, self.clock, self.runner)
        self.stopping = threading.Event()
        self.last_tick = self.clock.monotonic()
        self.logged_in = False
        self._next_login_attempt = 0.0
        self.first_start = parts.state.watching_since()

    def _login_if_needed(self) -> None:
        if self.logged_in or self.clock.monotonic() < self._next_login_attempt:
            return
        try:
            self.parts.identification.demo_autologin()
            self.parts.state.credentials()
            self.logged_in = True
            self.monitor_wakeup.set()  # the first probe may have run before the login
        except ApplianceError as error:
            log.warning("pas encore identifié sur le serveur distant : %s", error)
            self._next_login_attempt = self.clock.monotonic() + LOGIN_RETRY_SECONDS
            return
        # A switch a killed guardian left unconfirmed is settled before anything else, in the
        # background (confirming waits for the local server; the tick must go on).
        if self.parts.state.document(SYNC_PENDING):
            self.runner.start(
                "Reprise d'une synchronisation interrompue", lambda: self.parts.actions.recover() or "rien à reprendre"
            )

    def tick(self) -> None:
        self.last_tick = self.clock.monotonic()
        self._login_if_needed()
        if self.logged_in:
            self.scheduler.tick()

    def timers(self) -> Timers:
        """The daemon's clock-driven work, on the ``schedule`` library: the slot's tick, and
        the saves of fallback work (each its own timer: one's failure never stops the other)."""
        timers = Timers()
        timers.every(TICK_SECONDS, "tick", self.tick)
        timers.every(FALLBACK_SAVE_TICK_SECONDS, "sauvegarde du mode secours", self.fallback_saves)
        return timers

    def fallback_saves(self) -> None:
        """A save of fallback work when one is due; after it, when a repository is
        configured, its offsite push in the background (restic may take long: the tick goes
        on). While another job runs, the push waits for the next save."""
        saves = self.parts.fallback_saves
        if saves.tick() is None or saves.push is None:
            return
        if self.runner.busy():
            log.info("copie hors site des sauvegardes du mode secours reportée : une autre opération est en cours")
            return
        try:
            self.runner.start("copie hors site des sauvegardes du mode secours", saves.push_offsite)
        except Refused as error:  # a console job started meanwhile
            log.info("copie hors site des sauvegardes du mode secours reportée : %s", error)

    def run(self, timers: Timers) -> None:
        """Run ``timers`` until the daemon stops."""
        while not self.stopping.is_set():
            self.stopping.wait(min(1.0, timers.run_pending()))

    def watch(self, every: float) -> None:
        """The monitor's loop: every ``every`` seconds, at once after each console job, and
        within a second of a CLI command's refresh request."""
        state = self.parts.state
        seen = state.refresh_requested_at()
        while not self.stopping.is_set():
            logs.new_run_id()
            try:
                self.parts.monitor.evaluate_and_record()
            except Exception:  # logged, retried at the next round
                log.exception("contrôle des indicateurs en échec ; nouvel essai dans %.0f s", every)
            deadline = time.monotonic() + every
            while not self.monitor_wakeup.is_set() and time.monotonic() < deadline:
                requested = state.refresh_requested_at()
                if requested != seen:
                    seen = requested
                    break
                self.monitor_wakeup.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            self.monitor_wakeup.clear()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the guardian works: its tick, its state, the local database."""
        state_error = database_error = None
        try:
            self.parts.state.history()
            self.parts.state.document(STATUS)
        except ApplianceError as error:
            state_error = str(error)
        try:
            self.parts.ports.database.live()
        except ApplianceError as error:
            database_error = str(error)
        return daemon_health(self.clock.monotonic() - self.last_tick, state_error, database_error, self.logged_in)


def _refuse_a_centre_without_slot(parts: Parts) -> None:
    """A logged-in centre the centres table gives no slot would never be backed up: the
    daemon does not start (ConfigError, its message in the container's log)."""
    try:
        parts.state.credentials()
    except ApplianceError:  # not logged in yet: `login` refuses such a centre itself
        return
    parts.settings.centre_slot()


def serve(parts: Parts) -> int:
    """Run the daemon until SIGTERM or SIGINT; a running job gets 30 s to finish."""
    from appliance.guardian.console.app import create_console
    from appliance.web.serving import tls_files, web_server

    config = parts.config
    logs.setup(logging.INFO, stream=sys.stdout, json_file=config.state.dir / "logs" / "guardian.log", rotate=True)
    for warning in config.loaded.warnings:
        log.warning("configuration: %s", warning)
    _refuse_a_centre_without_slot(parts)
    tls = tls_files(config.console.tls_certificate, config.console.tls_key, "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH")
    daemon = Daemon(parts)
    port = config.console.port
    app = create_console(parts, daemon.runner, daemon.health)
    # Inside its container the console listens on every interface; compose publishes it on
    # the address NEOCUMA_CONSOLE_BIND names.
    web = web_server(app, "0.0.0.0", port, WORKER_THREADS, "NeoCuma Guardian", tls)  # noqa: S104

    def _stop(signum: int, frame: FrameType | None) -> None:
        daemon.stopping.set()
        daemon.monitor_wakeup.set()
        web.close()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threading.Thread(target=daemon.run, args=(daemon.timers(),), name="guardian-tick", daemon=True).start()
    interval = float(config.monitor.interval)
    threading.Thread(target=daemon.watch, args=(interval,), name="guardian-monitor", daemon=True).start()
    log.info("neocuma-guardian %s prêt sur le port %d (%s)", __version__, port, "https" if tls else "http")
    with contextlib.suppress(OSError):
        web.run()
    daemon.stopping.set()
    daemon.runner.wait(STOP_WAIT_SECONDS)
    return 0
