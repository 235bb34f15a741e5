"""Failed logins (web and SSH): after a few failures a login, or an address, must wait
before its next attempt, the wait doubling with each failure up to a ceiling. The web apps
refuse an attempt that comes too early at once (429 with Retry-After) instead of holding a
worker thread; keys are bounded in number, the oldest forgotten first."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable

FREE_FAILURES = 3  # failures of a login allowed before any wait
PEER_FREE_FAILURES = 10  # of an address (several people may share one, behind a NAT)
FIRST_WAIT = 1.0
MAX_WAIT = 60.0
MAX_KEYS = 10_000
SSH_MAX_DELAY = 8.0  # the SSH endpoint answers a failure after a delay, in the connection's thread


def login_key(name: str) -> str:
    """A login as the database compares it (utf8mb4_unicode_ci: case and accents ignored)."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "login:" + "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class FailedLogins:
    """Recent failures per key within ``window`` seconds."""

    def __init__(
        self, window: float = 600.0, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window
        self._max_keys = max_keys
        self._clock: Callable[[], float] = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self._clock()

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self._failures.get(key, []) if now - t < self._window]

    def retry_after(self, *keys: str) -> float:
        """Seconds before the next attempt of any of ``keys`` is allowed (0: now)."""
        now = self._now()
        with self._lock:
            waits = [self._wait(key, self._recent(key, now), now) for key in keys]
        return max(waits, default=0.0)

    @staticmethod
    def _wait(key: str, recent: list[float], now: float) -> float:
        free = PEER_FREE_FAILURES if key.startswith("peer:") else FREE_FAILURES
        if len(recent) < free:
            return 0.0
        wait = min(MAX_WAIT, FIRST_WAIT * (1 << min(len(recent) - free, 16)))
        return max(0.0, recent[-1] + wait - now)

    def record(self, *keys: str) -> float:
        """Record a failure of each of ``keys``; return the wait the next attempt will face."""
        now = self._now()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                recent.append(now)
                self._failures[key] = recent[-50:]
                self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
            return max((self._wait(key, self._failures[key], now) for key in keys), default=0.0)

    def count(self, *keys: str) -> int:
        """The most recent failures of any of ``keys``."""
        now = self._now()
        with self._lock:
            return max((len(self._recent(key, now)) for key in keys), default=0)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)


def ssh_delay(failures: int) -> float:
    """How long the SSH endpoint waits before answering a failed login, in that connection's
    own thread (a web worker never waits): 0.5 s, doubling with each recent failure, up to
    ``SSH_MAX_DELAY``."""
    return min(SSH_MAX_DELAY, 0.5 * (1 << min(max(failures, 1) - 1, 8)))
