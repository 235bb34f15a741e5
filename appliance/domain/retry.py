"""When a job that talks to the central server asks again within the same run (issue 29).

Some refusals are cured by a new request: the central server marks them with the exit
status ``protocol.RETRYABLE_EXIT_STATUS`` (docs/protocol.md, "Errors"). A server from before
that flag sends the one such refusal it knows with the status of ``unavailable``; it is
recognised by its code and the beginning of its message. Everything else is not retried
here: a cut link or a full disk waits for the next run, which resumes from what arrived.

The waits double from ``first_delay`` up to ``longest_delay``; a run stops asking after
``attempts`` attempts in all, and a scheduled run also when the next attempt would start
after its slot's end. Pure: ``now`` and the slot's end are passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.domain.protocol import RETRYABLE_EXIT_STATUS

# The beginnings of the messages of the retryable refusals a server without the flag sends.
KNOWN_RETRYABLE = ("dossier(s) modifié(s) pendant le début de l'export",)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first one included
    first_delay: float = 5.0  # seconds before the first retry
    longest_delay: float = 60.0


@dataclass(frozen=True)
class RetryDecision:
    """``delay``: seconds to wait before the next attempt; None: give up, ``reason`` (French) says why."""

    delay: float | None
    reason: str = ""


def is_retryable(code: str, status: int, message: str) -> bool:
    """Whether a refusal (its protocol code, the request's exit status and its message)
    would be cured by a new request."""
    if status == RETRYABLE_EXIT_STATUS:
        return True
    return code == "unavailable" and message.startswith(KNOWN_RETRYABLE)


def retry_delay(policy: RetryPolicy, retry: int) -> float:
    """The wait before retry number ``retry`` (1 for the first): doubling, at most ``longest_delay``."""
    return float(min(policy.longest_delay, policy.first_delay * 2 ** max(0, retry - 1)))


def next_retry(policy: RetryPolicy, failures: int, now: dt.datetime, until: dt.datetime | None) -> RetryDecision:
    """After ``failures`` failed attempts at ``now``: wait and try again, or give up when
    ``attempts`` are spent or the next attempt would start at or after ``until`` (the end
    of a scheduled run's slot; None for a run started by hand)."""
    tried = f"abandon après {failures} essai{'s' if failures > 1 else ''}"
    if failures >= policy.attempts:
        return RetryDecision(None, tried)
    delay = retry_delay(policy, failures)
    if until is not None and now + dt.timedelta(seconds=delay) >= until:
        return RetryDecision(None, f"{tried} : le créneau se termine à {until.strftime('%H:%M')} UTC")
    return RetryDecision(delay)
