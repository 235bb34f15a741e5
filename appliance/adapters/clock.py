"""The system's clock, for the guardian's Clock port."""

from __future__ import annotations

import datetime as dt
import time


class SystemClock:
    """UTC wall time, a monotonic clock for durations, and a real sleep."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
