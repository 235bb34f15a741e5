"""Fakes of the small ports: the clock, the state store, the notifier, progress."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

from appliance.errors import Refused

START = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that moves only when told to, or when someone sleeps."""

    def __init__(self, now: dt.datetime = START) -> None:
        self._now = now
        self._monotonic = 1000.0
        self.slept = 0.0

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        self.slept += seconds

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._monotonic += seconds

    def set(self, moment: dt.datetime) -> None:
        """Jump the wall clock (as NTP or an operator would); the monotonic clock goes on."""
        self._now = moment


class MemoryStateStore:
    """Documents in a dict (copied in and out, as files would be), a lock that refuses a
    second holder as flock does, signals with their time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.location = "/var/lib/guardian/state"
        self.documents: dict[str, dict[str, Any]] = {}
        self.holders: dict[str, str] = {}  # lock name → what holds it
        self.touched: dict[str, float] = {}
        self.secrets: dict[str, bytes] = {}
        self.unreadable: set[str] = set()

    def read(self, name: str) -> dict[str, Any]:
        if name in self.unreadable:
            from appliance.errors import Unavailable

            raise Unavailable(f"{self.location}/{name}.json est illisible : broken")
        return copy.deepcopy(self.documents.get(name, {}))

    def write(self, name: str, document: dict[str, Any]) -> None:
        self.documents[name] = copy.deepcopy(document)

    @contextlib.contextmanager
    def lock(self, what: str, name: str = "lock") -> Iterator[None]:
        if name in self.holders:
            raise Refused(f"une opération est déjà en cours ({self.holders[name]}) : réessayez quand elle sera finie")
        self.holders[name] = what
        try:
            yield
        finally:
            del self.holders[name]

    def touch(self, name: str) -> None:
        self.touched[name] = self.clock.monotonic()

    def touched_at(self, name: str) -> float:
        return self.touched.get(name, 0.0)

    def secret(self, name: str) -> bytes:
        return self.secrets.setdefault(name, b"s" * 32)


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, subject: str, body: str, payload: dict[str, Any]) -> None:
        self.sent.append((subject, body, payload))


class RecordingProgress:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.bytes: list[int] = []

    def update(self, step: str | None = None, bytes_done: int | None = None, dossiers: int | None = None) -> None:
        if step is not None:
            self.steps.append(step)
        if bytes_done is not None:
            self.bytes.append(bytes_done)
