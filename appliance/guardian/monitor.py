"""The monitor: probes every part, evaluates the four indicators, logs and notifies each
change of colour, and keeps a snapshot (``status.json``) that the console, /metrics and
``neocuma-guardian check`` read."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections import Counter
from typing import Any

from appliance.adapters.state_files import JsonFile
from appliance.domain.backups import parse_backup_name
from appliance.domain.health import Facts, Indicator, evaluate
from appliance.errors import ApplianceError
from appliance.guardian import notify
from appliance.guardian.backup import list_backups
from appliance.guardian.context import Guardian
from appliance.guardian.dossiers import dossier_rows, local_dossiers, remote_dossiers
from appliance.guardian.settings_store import load_settings

log = logging.getLogger(__name__)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _parse(stamp: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(stamp, STAMP).replace(tzinfo=dt.UTC) if stamp else None


REFRESH_FILE = "refresh-requested"
CHANGING_COMMANDS = frozenset({"login", "hostkey", "backup", "sync", "run", "pull", "restore", "mode", "settings"})


def request_refresh(guardian: Guardian) -> None:
    """Ask the daemon's monitor (another process: the CLI runs through ``docker exec``) to
    evaluate the indicators now rather than at its next round, so ``check`` and the console
    reflect a manual run within seconds."""
    with contextlib.suppress(OSError):
        (guardian.state_dir / REFRESH_FILE).write_text(guardian.now().strftime(STAMP) + "\n")


def refresh_requested_at(guardian: Guardian) -> float:
    """The modification time of the last refresh request (0 when none)."""
    try:
        return (guardian.state_dir / REFRESH_FILE).stat().st_mtime
    except OSError:
        return 0.0


def watching_since(guardian: Guardian) -> dt.datetime:
    """When this guardian started watching (first start), kept in the state volume."""
    state = JsonFile(guardian.state_dir / "daemon.json")
    data = state.read()
    if "first_start" not in data:
        data["first_start"] = guardian.now().strftime(STAMP)
        state.write(data)
    return _parse(str(data["first_start"])) or guardian.now()


def _probe_remote(guardian: Guardian) -> tuple[bool, str | None, float | None, dict[str, int]]:
    try:
        with guardian.remote_session() as session:
            before = time.time()
            remote_time = float(session.json("v1 time")["epoch"])
            after = time.time()
            rows = dossier_rows(guardian, remote_dossiers(session), local_dossiers(guardian))
        states = Counter(row.state.state for row in rows)
        return True, None, remote_time - (before + after) / 2, dict(states)
    except ApplianceError as error:
        return False, str(error), None, {}


def _probe_local(guardian: Guardian) -> tuple[dict[str, Any] | None, str | None, bool | None]:
    web = guardian.local_web()
    try:
        health = web.healthz()
    except ApplianceError as error:
        return None, str(error), None
    if health.get("data_generation") is None:
        return health, None, None
    try:
        credentials = guardian.credentials()
        _generation, count = web.dossier_count(credentials.login, credentials.password)
        if count == 0:
            return health, "aucun dossier visible pour le compte du guardian", False
        return health, None, True
    except ApplianceError as error:
        return health, str(error), False


def collect_facts(guardian: Guardian) -> tuple[Facts, dict[str, Any]]:
    now = guardian.now()
    remote_ok, remote_error, skew, states = _probe_remote(guardian)
    health, local_error, app_ok = _probe_local(guardian)
    history = guardian.history().read()
    try:
        settings, _ = load_settings(guardian)
        enabled = settings.backups_enabled
    except ApplianceError:
        enabled = False
    backups = list_backups(guardian)
    newest = next((b.name for b in backups if parse_backup_name(b.name)), None)
    scheduled, synced = history.get("scheduled"), history.get("sync")
    facts = Facts(
        now=now,
        remote_ok=remote_ok,
        remote_error=remote_error,
        clock_skew=skew,
        skew_limit=float(guardian.config["monitor.skew_limit"]),
        backups_enabled=enabled,
        last_scheduled_ok=None if scheduled is None else bool(scheduled.get("ok")),
        last_scheduled_error=None if scheduled is None else scheduled.get("error"),
        last_backup_at=parse_backup_name(newest) if newest else None,
        backup_max_age=dt.timedelta(hours=int(guardian.config["monitor.max_backup_age_hours"])),
        watching_since=watching_since(guardian),
        local_health=health,
        local_error=local_error,
        local_app_ok=app_ok,
        last_sync_ok=None if synced is None else bool(synced.get("ok")),
        last_sync_error=None if synced is None else synced.get("error"),
        last_sync_backup=None if synced is None else synced.get("backup"),
        newest_backup=newest,
        mode=None if health is None else health.get("mode"),
    )
    extra = {"dossiers_by_state": states, "clock_skew": skew, "newest_backup": newest, "health": health}
    return facts, extra


def evaluate_and_record(guardian: Guardian) -> list[dict[str, Any]]:
    """Probe, evaluate, log and notify changes, save the snapshot; returns the indicators."""
    facts, extra = collect_facts(guardian)
    indicators = evaluate(facts)
    previous_file = JsonFile(guardian.state_dir / "indicators.json")
    previous = previous_file.read()
    now = facts.now.strftime(STAMP)
    current: dict[str, Any] = {}
    centre = ""
    with contextlib.suppress(ApplianceError):
        centre = guardian.credentials().centre
    for indicator in indicators:
        before = previous.get(indicator.name)
        if before is not None and bool(before["green"]) == indicator.green:
            since = str(before["since"])
        else:
            since = now
            _announce(guardian, indicator, before, indicators, centre, since)
        current[indicator.name] = {
            "green": indicator.green,
            "cause": indicator.cause,
            "since": since,
            "label": indicator.label,
        }
    previous_file.write(current)
    snapshot = {
        "at": now,
        "indicators": [dict(current[i.name], name=i.name) for i in indicators],
        "clock_skew": extra["clock_skew"],
        "dossiers_by_state": extra["dossiers_by_state"],
        "newest_backup": extra["newest_backup"],
        "mode": facts.mode,
        "data_generation": None if facts.local_health is None else facts.local_health.get("data_generation"),
    }
    JsonFile(guardian.state_dir / "status.json").write(snapshot)
    return list(snapshot["indicators"])


def _announce(
    guardian: Guardian,
    indicator: Indicator,
    before: dict[str, Any] | None,
    indicators: list[Indicator],
    centre: str,
    since: str,
) -> None:
    colour = "vert" if indicator.green else "ROUGE"
    if before is None:
        log.info("indicateur %s : état initial %s — %s", indicator.label, colour, indicator.cause)
        return
    if indicator.green:
        log.info("indicateur %s : ROUGE → vert — %s", indicator.label, indicator.cause)
    else:
        log.warning("indicateur %s : vert → ROUGE — %s", indicator.label, indicator.cause)
    notify.send_change(guardian.config, indicator, indicators, centre, since)
