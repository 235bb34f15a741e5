"""Long operations run in the background with live progress (step, bytes, dossiers) that
every browser tab can follow; one at a time, under the guardian's lock."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from appliance.errors import ApplianceError, Refused
from appliance.guardian.ports import Reporter

log = logging.getLogger(__name__)
REPORT_EVERY = 256 * 1024


class Counting:
    """A sink that reports the bytes written to ``progress``, every 256 KiB."""

    def __init__(self, sink: BinaryIO, progress: Reporter) -> None:
        self.sink = sink
        self.progress = progress
        self.size = 0
        self.reported = 0

    def write(self, data: bytes) -> int:
        written = self.sink.write(data)
        self.size += len(data)
        if self.size - self.reported >= REPORT_EVERY:
            self.progress.update(bytes_done=self.size)
            self.reported = self.size
        return written


@dataclass
class Job:
    id: str
    name: str
    started_at: str
    step: str = "démarrage"
    bytes: int = 0
    bytes_total: int | None = None
    dossiers: int = 0
    finished_at: str | None = None
    ok: bool | None = None
    message: str = ""
    steps: list[str] = field(default_factory=list)
    user: str | None = None  # who started it from the console; None: the scheduler

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


Listener = Callable[[str | None, int | None, int | None, int | None], None]


class Progress:
    """Updated by the services while they run; read by the console, and followed by the
    listeners (the command line's progress display) whether a console job runs or not."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: Job | None = None
        self.last: Job | None = None
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener(step, bytes_done, dossiers, bytes_total)`` on every update."""
        self._listeners.append(listener)

    def update(
        self,
        step: str | None = None,
        bytes_done: int | None = None,
        dossiers: int | None = None,
        bytes_total: int | None = None,
    ) -> None:
        with self._lock:
            for listener in self._listeners:
                listener(step, bytes_done, dossiers, bytes_total)
            job = self.current
            if job is None:
                return
            if step is not None and step != job.step:
                job.step = step
                job.steps.append(step)
                job.bytes_total = None
            if bytes_done is not None:
                job.bytes = bytes_done
            if bytes_total is not None:
                job.bytes_total = bytes_total
            if dossiers is not None:
                job.dossiers = dossiers

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "current": self.current.as_json() if self.current else None,
                "last": self.last.as_json() if self.last else None,
            }


class JobRunner:
    """Starts one job at a time in a thread; a second start is refused while one runs."""

    def __init__(
        self, progress: Progress, now: Callable[[], dt.datetime], on_finish: Callable[[], None] | None = None
    ) -> None:
        self.progress = progress
        self.now = now
        self.on_finish = on_finish
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, name: str, work: Callable[[], str], user: str | None = None) -> Job:
        """Run ``work`` (which returns a French summary) in the background; ``user`` is who
        asked for it (the console's user), named in the log lines of the job."""
        with self._lock:
            if self.busy():
                assert self.progress.current is not None
                raise Refused(f"une opération est déjà en cours : {self.progress.current.name}")
            job = Job(uuid.uuid4().hex[:8], name, self.now().strftime("%Y-%m-%dT%H:%M:%SZ"), user=user)
            self.progress.current = job
            self._thread = threading.Thread(target=self._run, args=(job, work), name=f"job-{name}", daemon=True)
            self._thread.start()
            return job

    def _run(self, job: Job, work: Callable[[], str]) -> None:
        from appliance.logs import RUN_ID

        RUN_ID.set(job.id)
        started = time.monotonic()
        by = f" (demandée par {job.user})" if job.user else ""
        log.info("%s : début%s", job.name, by)
        try:
            job.message = work()
            job.ok = True
        except ApplianceError as error:
            job.ok, job.message = False, str(error)
            log.error("%s : échec%s : %s", job.name, by, error)
        except Exception as error:  # a bug must not kill the daemon
            job.ok, job.message = False, f"erreur interne : {error}"
            log.exception("%s : erreur interne%s", job.name, by)
        job.finished_at = self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        job.step = "terminé" if job.ok else "échec"
        log.info("%s : fin%s en %.1f s : %s", job.name, by, time.monotonic() - started, job.message)
        self.progress.last = job
        self.progress.current = None
        if self.on_finish is not None:
            self.on_finish()

    def wait(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
