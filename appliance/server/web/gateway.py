"""``GET /gateway/fallback``: the LAN gateway's health check (docker/gateway/haproxy.cfg).

The gateway sends the LAN to this server while it answers 200, that is while the control row
says fallback mode, and to the central NeoCuma Web otherwise. No login: the answer is one
word, the mode the local server's /healthz already tells anyone. The gateway asks every two
seconds, and anyone on the LAN may ask too, so the mode is read from MySQL at most once per
``seconds`` (a failure too: a MySQL that is down is not asked again at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask, Response

from appliance.errors import ApplianceError

ENDPOINT = "gateway_fallback"


class ModeCache:
    """The local server's mode, read through ``read_mode`` at most once per ``seconds``."""

    def __init__(
        self, read_mode: Callable[[], str], seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._read_mode = read_mode
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._mode = ""
        self._read_at: float | None = None

    def mode(self) -> str:
        """``fallback``, ``standby``, or ``unavailable`` when the mode could not be read
        (MySQL down, the control row missing). Never raises an ApplianceError."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._seconds:
                try:
                    self._mode = self._read_mode()
                except ApplianceError:
                    self._mode = "unavailable"
                self._read_at = now
            return self._mode


def register_gateway(app: Flask, cache: ModeCache) -> None:
    """Add ``GET /gateway/fallback`` to ``app``: 200 in fallback mode, 503 otherwise (the
    body names the mode, ``unavailable`` when it could not be read)."""

    def gateway_fallback() -> Response:
        mode = cache.mode()
        status = 200 if mode == "fallback" else 503
        response = Response(f"{mode}\n", status=status, mimetype="text/plain")
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule("/gateway/fallback", endpoint=ENDPOINT, view_func=gateway_fallback, methods=["GET"])
