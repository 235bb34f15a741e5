"""The one rule for every job that talks to the central server (backup, system backup,
pull, restore): a refusal that a new request would cure is retried within the same run,
after the waits of ``domain.retry``, and the run fails only when the retries are spent or
the slot closes, its message saying so. Each attempt is the whole job again, with all its
checks: a data backup resumes from what the refused transfer received (its partial file is
kept, ``incremental.is_cut``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from appliance.domain.retry import RetryPolicy, is_retryable, next_retry
from appliance.errors import RemoteRefused
from appliance.guardian.ports import Clock

log = logging.getLogger(__name__)
R = TypeVar("R")


def retried(what: str, run: Callable[[], R], clock: Clock, policy: RetryPolicy, until: dt.datetime | None = None) -> R:
    """``run()``'s result, ``run`` being called again after each retryable refusal of the
    central server; a result with a ``retries`` field gets the number of retries (and its
    ``seconds``, when it has them, the whole run's time, the waits included). Raises
    the last refusal, its message saying why no retry follows, and every other error as
    ``run`` raised it."""
    failures = 0
    started = clock.monotonic()
    while True:
        try:
            result = run()
        except RemoteRefused as error:
            if not is_retryable(error.code, error.status, str(error)):
                raise
            failures += 1
            decision = next_retry(policy, failures, clock.now(), until)
            if decision.delay is None:
                log.error("%s en échec : %s ; %s", what, error, decision.reason)
                raise RemoteRefused(error.code, f"{error} ; {decision.reason}", error.status) from error
            log.info(
                "%s : refus temporaire du serveur distant (%s) ; nouvel essai (%d sur %d) dans %.0f s",
                what,
                error,
                failures + 1,
                policy.attempts,
                decision.delay,
            )
            clock.sleep(decision.delay)
            continue
        return _with_retries(result, failures, clock.monotonic() - started)


def _with_retries(result: R, failures: int, seconds: float) -> R:
    """``result`` with its ``retries`` field set, and its ``seconds`` the whole run's (the
    attempts and the waits), when it has those fields."""
    if not failures or not dataclasses.is_dataclass(result) or isinstance(result, type):
        return result
    fields = {field.name for field in dataclasses.fields(result)}
    if "retries" not in fields:
        return result
    changes: dict[str, float] = {"retries": failures}
    if "seconds" in fields:
        changes["seconds"] = seconds
    replaced: R = dataclasses.replace(result, **changes)
    return replaced
