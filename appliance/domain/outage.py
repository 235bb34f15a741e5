"""Declaring the central server down, and the automatic switch to fallback mode (pure;
docs/guardian.md, "Detection and the switch to fallback mode").

The monitor probes the central server every round. The first failed probe of a run opens an
outage; once the failures have lasted the detection window, the outage is declared: one
alert, a banner in the console offering the switch, and (when the centre turned it on) the
automatic switch some time later. A successful probe closes the outage. What is kept from one
round to the next is an ``Outage``; ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STANDBY = "standby"
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Outage:
    """The current run of failed probes; every moment None while the remote answers."""

    failing_since: dt.datetime | None = None  # the first failed probe of the run
    declared_at: dt.datetime | None = None  # when the window elapsed: the remote is down
    alerted_at: dt.datetime | None = None  # when people were told (once per outage)
    switched_at: dt.datetime | None = None  # when the automatic switch was made (once per outage)
    cause: str = ""  # the last failed probe's error

    @property
    def declared(self) -> bool:
        """Whether the failures have lasted the detection window: the remote is down."""
        return self.declared_at is not None


@dataclass(frozen=True)
class Serving:
    """What the local server could do right now, as the last probe saw it."""

    mode: str | None  # None: the local server did not answer
    data_generation: int | None

    @property
    def could_take_over(self) -> bool:
        """In standby mode with a generation to serve: switching to fallback makes sense."""
        return self.mode == STANDBY and self.data_generation is not None


def observe(outage: Outage, reachable: bool, cause: str, now: dt.datetime, window: dt.timedelta) -> Outage:
    """The outage after one probe: a success closes it; a failure opens it (its first
    failure) or, once failures have lasted ``window``, declares it."""
    if reachable:
        return Outage()
    since = outage.failing_since or now
    declared = outage.declared_at
    if declared is None and now - since >= window:
        declared = now
    return Outage(since, declared, outage.alerted_at, outage.switched_at, cause)


def alert_due(outage: Outage, serving: Serving) -> bool:
    """Tell people once per outage, when it is declared and the local server could take
    over (in fallback mode already, or with nothing to serve, there is nothing to offer)."""
    return outage.declared and outage.alerted_at is None and serving.could_take_over


def banner_shown(outage: Outage, serving: Serving) -> bool:
    """The console's banner offering the switch: while the declared outage lasts and the
    local server could take over."""
    return outage.declared and serving.could_take_over


def automatic_switch_due(outage: Outage, serving: Serving, now: dt.datetime, after: dt.timedelta | None) -> bool:
    """Whether the guardian switches to fallback mode by itself now: only when the centre
    turned it on (``after`` not None), ``after`` past the declaration, once per outage, and
    only when the local server could take over (a generation to serve, standby mode). The
    guardian's lock is taken by the switch itself: a sync swapping makes it wait a round."""
    if after is None or outage.declared_at is None or outage.switched_at is not None:
        return False
    return serving.could_take_over and now - outage.declared_at >= after


def automatic_after(seconds: int) -> dt.timedelta | None:
    """The setting NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS as a delay; 0 turns it off."""
    return None if seconds <= 0 else dt.timedelta(seconds=seconds)


def outage_document(outage: Outage) -> dict[str, Any]:
    """The outage as the state volume keeps it (``outage.json``)."""
    return {
        "failing_since": _stamp(outage.failing_since),
        "declared_at": _stamp(outage.declared_at),
        "alerted_at": _stamp(outage.alerted_at),
        "switched_at": _stamp(outage.switched_at),
        "cause": outage.cause,
    }


def read_outage(document: Mapping[str, Any]) -> Outage:
    """The outage ``outage_document`` wrote; anything unreadable counts as none."""
    cause = document.get("cause")
    return Outage(
        _parse(document.get("failing_since")),
        _parse(document.get("declared_at")),
        _parse(document.get("alerted_at")),
        _parse(document.get("switched_at")),
        cause if isinstance(cause, str) else "",
    )


def _stamp(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).strftime(_STAMP)


def _parse(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.strptime(text, _STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
