"""The command line's progress display, on standard error (standard output stays the
result, or its JSON): on a terminal, one tqdm bar per step with bytes, rate and time left
(when the step knows its total: the previous backup's size, the system files' MANIFEST,
the members a sync loads); otherwise one line per step, for logs and pipes."""

from __future__ import annotations

import time
from typing import TextIO

from tqdm import tqdm


class TerminalProgress:
    def __init__(self, stream: TextIO, terminal: bool) -> None:
        self.stream = stream
        self.terminal = terminal
        self.bar: tqdm | None = None
        self.step: str | None = None
        self.done = 0
        self.started = time.monotonic()
        self.total: int | None = None

    def __call__(self, step: str | None, bytes_done: int | None, dossiers: int | None, bytes_total: int | None) -> None:
        if step is not None and step != self.step:
            self._next_step(step)
        if bytes_total is not None:
            self.total = bytes_total
            if self.bar is not None:
                self.bar.total = bytes_total
                self.bar.refresh()
        if bytes_done is not None:
            if self.bar is not None and bytes_done >= self.done:
                self.bar.update(bytes_done - self.done)
            self.done = bytes_done

    def _next_step(self, step: str) -> None:
        self._end_step()
        self.step, self.done, self.total, self.started = step, 0, None, time.monotonic()
        if self.terminal:
            self.bar = tqdm(
                desc=step,
                unit="o",
                unit_scale=True,
                unit_divisor=1024,
                file=self.stream,
                leave=True,
                dynamic_ncols=True,
            )
        else:
            print(f"{time.strftime('%H:%M:%S')} {step}", file=self.stream, flush=True)

    def _end_step(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.step is not None and self.done:
            seconds = max(time.monotonic() - self.started, 1e-3)
            print(
                f"{time.strftime('%H:%M:%S')}   {self.done / 1e6:.1f} Mo en {seconds:.1f} s"
                f" ({self.done / 1e6 / seconds:.1f} Mo/s)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        self._end_step()
        self.step = None
