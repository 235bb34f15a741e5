"""The central server's outages as the monitor sees them (``domain.outage`` decides): each
round's probe moves the outage kept in ``outage.json``; once it is declared, one alert by
email and webhook offering the switch to fallback mode, and, when the centre turned it on,
the automatic switch (the same mode change as ``neocuma-guardian mode fallback``), recorded
in the history and logged at WARNING (docs/guardian.md, "Detection and the switch to
fallback mode")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.domain.generations import FALLBACK
from appliance.domain.health import LABELS, REMOTE
from appliance.domain.moments import for_people
from appliance.domain.outage import (
    Outage,
    Serving,
    alert_due,
    automatic_switch_due,
    banner_shown,
    observe,
    outage_document,
    read_outage,
)
from appliance.errors import ApplianceError
from appliance.guardian.ports import LocalDatabase, Notifier
from appliance.guardian.state import OUTAGE, STATUS, GuardianState, parse_stamp, stamp
from appliance.guardian.watch.notify import render_mail

log = logging.getLogger(__name__)
AUTOMATIC = "automatic_fallback"  # the history's entry of the automatic switch


@dataclass(frozen=True)
class OutageWatch:
    state: GuardianState
    notifier: Notifier
    switch: Callable[[], object]  # the switch to fallback mode, under the guardian's lock
    window: dt.timedelta
    automatic_after: dt.timedelta | None  # None: no automatic switch
    console_url: str

    def round(self, now: dt.datetime, reachable: bool, cause: str, serving: Serving, centre: str) -> Outage:
        """Move the outage by one probe, alert and switch when due; returns the outage kept."""
        before = read_outage(self.state.document(OUTAGE))
        outage = observe(before, reachable, cause, now, self.window)
        if outage.declared and not before.declared:
            log.warning(
                "serveur distant déclaré injoignable : aucune réponse depuis %s — %s",
                for_people(outage.failing_since),
                cause,
            )
        elif before.declared and not outage.declared:
            log.info("serveur distant de nouveau joignable (injoignable depuis %s)", for_people(before.failing_since))
            if serving.mode == FALLBACK:
                self._link_back(before, now, centre)
        if alert_due(outage, serving):
            self._alert(outage, centre)
            outage = dataclasses.replace(outage, alerted_at=now)
        if automatic_switch_due(outage, serving, now, self.automatic_after):
            outage = self._switch(outage, now, centre)
        self.state.save_document(OUTAGE, outage_document(outage))
        return outage

    def _alert(self, outage: Outage, centre: str) -> None:
        automatic = None
        if self.automatic_after is not None and outage.declared_at is not None:
            automatic = outage.declared_at + self.automatic_after
        subject, body = render_mail(
            "remote_down.txt",
            centre=centre,
            failing_since=for_people(outage.failing_since),
            cause=outage.cause,
            automatic=None if automatic is None else for_people(automatic),
            console_url=self.console_url,
        )
        self.notifier.send(subject, body, self._payload("serveur_distant_injoignable", outage, centre, automatic))

    def _link_back(self, outage: Outage, now: dt.datetime, centre: str) -> None:
        """The link is back while the LAN works in fallback mode: tell people the return
        can be made (once, as the outage that ends was declared once)."""
        return_url = self.console_url.rstrip("/") + "/retour"
        subject, body = render_mail(
            "link_back.txt",
            centre=centre,
            failing_since=for_people(outage.failing_since),
            back_at=for_people(now),
            return_url=return_url,
        )
        payload = self._payload("serveur_distant_de_nouveau_joignable", outage, centre, None)
        payload.update(back_at=stamp(now), return_url=return_url)
        self.notifier.send(subject, body, payload)

    def _switch(self, outage: Outage, now: dt.datetime, centre: str) -> Outage:
        """The automatic switch; a refusal (the guardian's lock held by a sync, nothing to
        serve) is logged and recorded, and tried again at the next round."""
        facts = {"failing_since": stamp_or_none(outage.failing_since), "declared_at": stamp_or_none(outage.declared_at)}
        try:
            self.switch()
        except ApplianceError as error:
            log.warning("bascule automatique en mode secours non faite, nouvel essai au prochain contrôle : %s", error)
            self.state.record(AUTOMATIC, ok=False, error=str(error), **facts)
            return outage
        log.warning(
            "bascule automatique en mode secours : serveur distant injoignable depuis %s — %s",
            for_people(outage.failing_since),
            outage.cause,
        )
        self.state.record(AUTOMATIC, ok=True, **facts)
        switched = dataclasses.replace(outage, switched_at=now)
        subject, body = render_mail(
            "automatic_fallback.txt",
            centre=centre,
            failing_since=for_people(outage.failing_since),
            switched_at=for_people(now),
            cause=outage.cause,
            console_url=self.console_url,
        )
        self.notifier.send(subject, body, self._payload("bascule_automatique_mode_secours", switched, centre, None))
        return switched

    def _payload(self, event: str, outage: Outage, centre: str, automatic: dt.datetime | None) -> dict[str, Any]:
        """The webhook's document; ``indicator`` names the remote as the changes' documents do."""
        return {
            "event": event,
            "indicator": REMOTE,
            "label": LABELS[REMOTE],
            "cause": outage.cause,
            "failing_since": stamp_or_none(outage.failing_since),
            "declared_at": stamp_or_none(outage.declared_at),
            "switched_at": stamp_or_none(outage.switched_at),
            "automatic_switch_at": stamp_or_none(automatic),
            "centre": centre,
            "console_url": self.console_url,
        }


def stamp_or_none(moment: dt.datetime | None) -> str | None:
    return None if moment is None else stamp(moment)


@dataclass(frozen=True)
class FallbackBanner:
    """What the console's banner says while the local server is in fallback mode."""

    since: dt.datetime | None  # when the switch was recorded (None: not in the history)
    central_answers: bool | None  # the last probe reached the central server; None: no probe yet


def banners(state: GuardianState, database: LocalDatabase) -> tuple[Outage | None, FallbackBanner | None]:
    """The console's two banners, from one read of the local server's mode and of the
    outage: the declared outage while the switch to fallback mode is offered (standby mode,
    a generation to serve), and, in fallback mode, the way back to the central server.
    Neither while the local database does not answer (the switch would be refused anyway)."""
    try:
        live = database.live()
    except ApplianceError:
        return None, None
    try:
        outage = read_outage(state.document(OUTAGE))
    except ApplianceError:
        outage = Outage()
    offered = outage if banner_shown(outage, Serving(live.mode, live.data_generation)) else None
    return offered, _fallback_banner(state, live.mode, outage) if live.mode == FALLBACK else None


def _fallback_banner(state: GuardianState, mode: str, outage: Outage) -> FallbackBanner:
    """Since when the local server is in fallback mode, and whether the central server
    answers again: the last probe succeeded (no failing run of probes, the remote indicator
    green)."""
    switch = state.history().get("mode") or {}
    since = parse_stamp(switch.get("at")) if switch.get("mode") == mode else None
    failing = outage.failing_since is not None
    remote = next((i for i in state.document(STATUS).get("indicators") or [] if i.get("name") == REMOTE), None)
    answers = None if remote is None else bool(remote.get("green")) and not failing
    return FallbackBanner(since, False if failing else answers)
