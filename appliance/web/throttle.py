"""Slowing down repeated failed logins (SSH and web)."""

from __future__ import annotations

import threading
import time


class FailedLogins:
    """Recent failures per login and per address; the delay doubles with each, up to 8 s."""

    def __init__(self, window: float = 600.0) -> None:
        self._window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def record(self, *keys: str) -> float:
        """Record a failure; return how long to wait before answering."""
        now = time.monotonic()
        with self._lock:
            counts = []
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < self._window]
                recent.append(now)
                self._failures[key] = recent[-50:]
                counts.append(len(recent))
        return float(min(8.0, 0.5 * 2 ** (max(counts) - 1)))

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
