"""``neocuma-guardian check``: one line for Nagios, Centreon or Icinga, as their plugins
write it, and the matching exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), from the
monitor's last snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.domain.backups import parse_backup_name
from appliance.domain.health import ORDER
from appliance.errors import ApplianceError
from appliance.guardian.ports import Clock
from appliance.guardian.state import STATUS, GuardianState, parse_stamp

STATUS_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_SHORT = {"serveur_distant": "remote", "sauvegardes": "backups", "serveur_local": "local", "synchronisation": "sync"}


@dataclass(frozen=True)
class CheckLimits:
    monitor_interval: float
    max_backup_age: dt.timedelta
    skew_limit: float


def check(state: GuardianState, clock: Clock, limits: CheckLimits) -> tuple[int, str]:
    """The exit status and the line; a snapshot older than three rounds is UNKNOWN (the
    daemon may be stopped)."""
    try:
        status = state.document(STATUS)
    except ApplianceError as error:
        return 3, f"NEOCUMA GUARDIAN UNKNOWN - état illisible : {error}"
    at = parse_stamp(status.get("at"))
    if at is None:
        return 3, "NEOCUMA GUARDIAN UNKNOWN - aucun état : le démon du guardian tourne-t-il ?"
    now = clock.now()
    age = (now - at).total_seconds()
    indicators = {entry["name"]: entry for entry in status.get("indicators", [])}
    newest = status.get("newest_backup")
    moment = parse_backup_name(newest) if isinstance(newest, str) else None
    backup_age = (now - moment).total_seconds() if moment is not None else None
    skew = status.get("clock_skew")
    limit = limits.max_backup_age.total_seconds()
    perf = [f"{_SHORT[name]}={1 if indicators.get(name, {}).get('green') else 0};;;0;1" for name in ORDER]
    if skew is not None:
        perf.append(f"clock_skew={skew:.1f}s;;;")
    if backup_age is not None:
        perf.append(f"backup_age={backup_age:.0f}s;;{limit:.0f};0;")
    perfdata = " ".join(perf)
    if age > 3 * limits.monitor_interval + 120:
        return 3, f"NEOCUMA GUARDIAN UNKNOWN - état vieux de {age:.0f} s : le démon est-il arrêté ? | {perfdata}"
    reds = [entry for name in ORDER if (entry := indicators.get(name)) and not entry["green"]]
    if reds:
        text = "; ".join(f"{entry['label']} : {entry['cause']}" for entry in reds)
        return 2, f"NEOCUMA GUARDIAN CRITICAL - {text} | {perfdata}"
    warnings = []
    if backup_age is not None and backup_age > 0.75 * limit:
        warnings.append(f"dernière sauvegarde vieille de {backup_age / 3600:.0f} h")
    if skew is not None and abs(skew) > limits.skew_limit / 2:
        warnings.append(f"horloge décalée de {skew:+.0f} s")
    if warnings:
        return 1, f"NEOCUMA GUARDIAN WARNING - {'; '.join(warnings)} | {perfdata}"
    return 0, f"NEOCUMA GUARDIAN OK - {len(indicators)}/4 indicateurs verts | {perfdata}"
