"""``neocuma-guardian check``: one line for Nagios, Centreon or Icinga, as their plugins
write it, and the matching exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""

from __future__ import annotations

import datetime as dt

from appliance.adapters.state_files import JsonFile
from appliance.domain.health import ORDER
from appliance.errors import ApplianceError
from appliance.guardian.context import Guardian
from appliance.guardian.monitor import _parse

STATUS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_SHORT = {"serveur_distant": "remote", "sauvegardes": "backups", "serveur_local": "local", "synchronisation": "sync"}


def check(guardian: Guardian) -> tuple[int, str]:
    try:
        status = JsonFile(guardian.state_dir / "status.json").read()
    except ApplianceError as error:
        return 3, f"NEOCUMA GUARDIAN UNKNOWN - état illisible : {error}"
    at = _parse(status.get("at"))
    if at is None:
        return 3, "NEOCUMA GUARDIAN UNKNOWN - aucun état : le démon du guardian tourne-t-il ?"
    now = guardian.now()
    age = (now - at).total_seconds()
    interval = int(guardian.config["monitor.interval"])
    indicators = {entry["name"]: entry for entry in status.get("indicators", [])}
    newest = status.get("newest_backup")
    backup_age = None
    if newest:
        moment = dt.datetime.strptime(newest, "%Y-%m-%dT%H-%M-%SZ.zip").replace(tzinfo=dt.UTC)
        backup_age = (now - moment).total_seconds()
    skew = status.get("clock_skew")
    perf = [f"{_SHORT[name]}={1 if indicators.get(name, {}).get('green') else 0};;;0;1" for name in ORDER]
    if skew is not None:
        perf.append(f"clock_skew={skew:.1f}s;;;")
    if backup_age is not None:
        perf.append(f"backup_age={backup_age:.0f}s;;{int(guardian.config['monitor.max_backup_age_hours']) * 3600};0;")
    perfdata = " ".join(perf)
    if age > 3 * interval + 120:
        return 3, f"NEOCUMA GUARDIAN UNKNOWN - état vieux de {age:.0f} s : le démon est-il arrêté ? | {perfdata}"
    reds = [entry for name in ORDER if (entry := indicators.get(name)) and not entry["green"]]
    if reds:
        text = "; ".join(f"{entry['label']} : {entry['cause']}" for entry in reds)
        return 2, f"NEOCUMA GUARDIAN CRITICAL - {text} | {perfdata}"
    limit = int(guardian.config["monitor.max_backup_age_hours"]) * 3600
    warnings = []
    if backup_age is not None and backup_age > 0.75 * limit:
        warnings.append(f"dernière sauvegarde vieille de {backup_age / 3600:.0f} h")
    if skew is not None and abs(skew) > float(guardian.config["monitor.skew_limit"]) / 2:
        warnings.append(f"horloge décalée de {skew:+.0f} s")
    if warnings:
        return 1, f"NEOCUMA GUARDIAN WARNING - {'; '.join(warnings)} | {perfdata}"
    return 0, f"NEOCUMA GUARDIAN OK - {len(indicators)}/4 indicateurs verts | {perfdata}"
