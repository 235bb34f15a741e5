"""The monitor: probes every part, evaluates the indicators (``domain.health``), logs
and notifies each change (people hear when a part fails and when it stops failing), and keeps a snapshot (``status.json``) that the console,
/metrics and ``neocuma-guardian check`` read."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from appliance.domain.backups import parse_backup_name
from appliance.domain.dossiers import dossier_rows
from appliance.domain.health import FAILED, NEUTRAL, OK, Facts, Indicator, OffsiteFacts, State, evaluate, saved_state
from appliance.domain.outage import Serving
from appliance.errors import ApplianceError, Unavailable
from appliance.guardian.jobs.listing import newest_backup
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import BackupsStore, CentralServer, Clock, LocalDatabase, LocalServer, Notifier
from appliance.guardian.settings_store import SettingsStore
from appliance.guardian.state import INDICATORS, OFFSITE, STATUS, GuardianState, parse_stamp, stamp
from appliance.guardian.watch.notify import send_change
from appliance.guardian.watch.outage import OutageWatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    skew_limit: float
    backup_max_age: dt.timedelta


@dataclass(frozen=True)
class Monitor:
    central: CentralServer
    local: LocalServer
    database: LocalDatabase
    backups: BackupsStore
    state: GuardianState
    settings: SettingsStore
    notifier: Notifier
    clock: Clock
    thresholds: Thresholds
    console_url: str
    offsite: str | None = None  # the offsite repository as messages show it; None: none configured
    outage: OutageWatch | None = None  # None: outages are not watched (the unit tests of the indicators)

    def _probe_remote(self) -> tuple[bool, str | None, float | None, dict[str, int], bool]:
        """The remote's answer and clock; the dossiers' states when the local database can
        be read too (a local database down is the local indicator's cause, never the remote's);
        whether a failure was the link's (Unavailable: no answer; a refusal, such as not logged
        in or a changed host key, is no outage)."""
        try:
            with stored_session(self.central, self.state) as session:
                before = self.clock.now().timestamp()
                remote_time = session.clock()
                after = self.clock.now().timestamp()
                remote = session.dossiers()
        except ApplianceError as error:
            return False, str(error), None, {}, isinstance(error, Unavailable)
        skew = remote_time - (before + after) / 2
        try:
            rows = dossier_rows(remote, self.database.dossiers(), self.state.baselines())
        except ApplianceError as error:
            log.debug("dossier states not counted: %s", error)
            return True, None, skew, {}, False
        return True, None, skew, dict(Counter(row.state.state for row in rows)), False

    def _probe_local(self) -> tuple[dict[str, Any] | None, str | None, bool | None]:
        try:
            health = self.local.healthz()
        except ApplianceError as error:
            return None, str(error), None
        if health.get("data_generation") is None:
            return health, None, None
        try:
            credentials = self.state.credentials()
            _generation, count = self.local.dossier_count(credentials.login)
            if count == 0:
                return health, "aucun dossier visible pour le compte du guardian", False
            return health, None, True
        except ApplianceError as error:
            return health, str(error), False

    def collect_facts(self) -> tuple[Facts, dict[str, Any]]:
        """What the indicators are evaluated from; a part that cannot be read says why."""
        now = self.clock.now()
        remote_ok, remote_error, skew, states, unreachable = self._probe_remote()
        health, local_error, app_ok = self._probe_local()
        history = self.state.history()
        try:
            settings = self.settings.load()[0]
            enabled, sync_after = settings.backups_enabled, settings.sync_after
        except ApplianceError:
            enabled, sync_after = False, False
        newest = newest_backup(self.backups)
        scheduled, synced = history.get("scheduled"), history.get("sync")
        facts = Facts(
            now=now,
            remote_ok=remote_ok,
            remote_error=remote_error,
            clock_skew=skew,
            skew_limit=self.thresholds.skew_limit,
            backups_enabled=enabled,
            sync_after=sync_after,
            last_scheduled_ok=None if scheduled is None else bool(scheduled.get("ok")),
            last_scheduled_error=None if scheduled is None else scheduled.get("error"),
            last_backup_at=parse_backup_name(newest) if newest else None,
            backup_max_age=self.thresholds.backup_max_age,
            watching_since=self.state.watching_since(),
            local_health=health,
            local_error=local_error,
            local_app_ok=app_ok,
            last_sync_ok=None if synced is None else bool(synced.get("ok")),
            last_sync_error=None if synced is None else synced.get("error"),
            last_sync_backup=None if synced is None else synced.get("backup"),
            newest_backup=newest,
            mode=None if health is None else health.get("mode"),
            offsite=self._offsite_facts(history),
        )
        extra = {"dossiers_by_state": states, "clock_skew": skew, "newest_backup": newest, "unreachable": unreachable}
        return facts, extra

    def _offsite_facts(self, history: dict[str, Any]) -> OffsiteFacts | None:
        """From the history of the pushes and checks: the monitor never asks the repository
        itself (it may be far, and each restic call costs a round trip or more)."""
        if self.offsite is None:
            return None
        pushed, checked = history.get("offsite"), history.get("offsite_check")
        try:
            held = self.state.document(OFFSITE)
        except ApplianceError:
            held = {}
        last_success = None if pushed is None else parse_stamp(pushed.get("last_success"))
        return OffsiteFacts(
            repository=self.offsite,
            last_ok=None if pushed is None else bool(pushed.get("ok")),
            last_error=None if pushed is None else pushed.get("error"),
            last_success_at=last_success,
            copies=held.get("copies") if isinstance(held.get("copies"), int) else None,
            size=held.get("size") if isinstance(held.get("size"), int) else None,
            check_ok=None if checked is None else bool(checked.get("ok")),
            check_error=None if checked is None else checked.get("error"),
        )

    def evaluate_and_record(self) -> list[dict[str, Any]]:
        """Probe, evaluate, log and notify changes, save the snapshot; returns the indicators."""
        facts, extra = self.collect_facts()
        indicators = evaluate(facts)
        previous = self.state.document(INDICATORS)
        now = stamp(facts.now)
        current: dict[str, Any] = {}
        try:
            centre = self.state.credentials().centre
        except ApplianceError:
            centre = ""
        for indicator in indicators:
            before = previous.get(indicator.name)
            if before is not None and saved_state(before) == indicator.state:
                since = str(before["since"])
            else:
                since = now
                self._announce(indicator, before, indicators, centre, since)
            current[indicator.name] = {
                "state": indicator.state,
                "green": indicator.green,
                "failed": indicator.failed,
                "cause": indicator.cause,
                "since": since,
                "label": indicator.label,
            }
        self.state.save_document(INDICATORS, current)
        snapshot = {
            "at": now,
            "indicators": [dict(current[i.name], name=i.name) for i in indicators],
            "clock_skew": extra["clock_skew"],
            "dossiers_by_state": extra["dossiers_by_state"],
            "newest_backup": extra["newest_backup"],
            "mode": facts.mode,
            "data_generation": None if facts.local_health is None else facts.local_health.get("data_generation"),
            "offsite": _offsite_snapshot(facts.offsite),
        }
        self.state.save_document(STATUS, snapshot)
        if self.outage is not None:
            serving = Serving(facts.mode, snapshot["data_generation"])
            self.outage.round(facts.now, not extra["unreachable"], facts.remote_error or "", serving, centre)
        return list(snapshot["indicators"])

    def _announce(
        self, indicator: Indicator, before: dict[str, Any] | None, indicators: list[Indicator], centre: str, since: str
    ) -> None:
        """Log each change of state; notify people when a part fails or stops failing."""
        if before is None:
            log.info("indicateur %s : état initial %s — %s", indicator.label, _word(indicator.state), indicator.cause)
            return
        previous = saved_state(before)
        change = f"indicateur {indicator.label} : {_word(previous)} → {_word(indicator.state)} — {indicator.cause}"
        if indicator.failed:
            log.warning("%s", change)
        else:
            log.info("%s", change)
        if indicator.failed or previous == FAILED:
            send_change(self.notifier, indicator, indicators, centre, since, self.console_url)


def _word(state: State) -> str:
    return {OK: "vert", NEUTRAL: "neutre", FAILED: "ROUGE"}[state]


def _offsite_snapshot(offsite: OffsiteFacts | None) -> dict[str, Any] | None:
    """The offsite copy's figures for check and /metrics (None: none configured)."""
    if offsite is None:
        return None
    last = offsite.last_success_at
    return {
        "repository": offsite.repository,
        "last_success": None if last is None else stamp(last),  # readers measure the age when they read
        "copies": offsite.copies,
        "size": offsite.size,
    }
