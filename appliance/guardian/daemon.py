"""The guardian's daemon: the container's main process. It logs in the demo account when
asked (`make up`), ticks, and answers /healthz on port 8000. A tick failing is logged and
retried later, never a crash loop; signals only set a flag."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from flask import Flask, jsonify

from appliance import __version__
from appliance.errors import ApplianceError
from appliance.guardian import identification
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0


class Daemon:
    def __init__(self, guardian: Guardian) -> None:
        self.guardian = guardian
        self.stopping = threading.Event()
        self.last_tick = time.monotonic()
        self.logged_in = False
        self._next_login_attempt = 0.0

    def tick(self) -> None:
        self.last_tick = time.monotonic()
        if not self.logged_in and time.monotonic() >= self._next_login_attempt:
            try:
                identification.demo_autologin(self.guardian)
                self.guardian.credentials()
                self.logged_in = True
            except ApplianceError as error:
                log.warning("not logged in to the remote server yet: %s", error)
                self._next_login_attempt = time.monotonic() + 30

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # a failing tick must not kill the daemon
                log.exception("daemon tick failed")
            self.stopping.wait(TICK_SECONDS)


def create_app(daemon: Daemon) -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Any:
        stalled = time.monotonic() - daemon.last_tick > 10 * TICK_SECONDS
        body = {"status": "stalled" if stalled else "ok", "version": __version__, "logged_in": daemon.logged_in}
        return jsonify(body), 503 if stalled else 200

    return app


def serve(guardian: Guardian, port: int = 8000) -> int:
    from waitress import create_server

    daemon = Daemon(guardian)
    web = create_server(create_app(daemon), host="0.0.0.0", port=port, threads=4, ident="NeoCuma Guardian")

    def _stop(signum: int, frame: FrameType | None) -> None:
        daemon.stopping.set()
        web.close()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threading.Thread(target=daemon.run, name="guardian-tick", daemon=True).start()
    log.info("neocuma-guardian %s ready on port %d", __version__, port)
    with contextlib.suppress(OSError):
        web.run()
    daemon.stopping.set()
    return 0
