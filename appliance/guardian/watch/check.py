"""``neocuma-guardian check``: one line for Nagios, Centreon or Icinga, written as the Nagios
plugin guidelines say, from the monitor's last snapshot: ``NEOCUMA GUARDIAN <STATUS> - text
| perfdata``, with perfdata ``label=value[UOM];warn;crit;min;max``, and the matching exit
status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Thresholds for the newest backup's age and
the clock skew come from the configuration or from ``-w``/``-c``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.domain.backups import parse_backup_name
from appliance.domain.health import BACKUPS, FAILED, NEUTRAL, OFFSITE, ORDER, saved_state
from appliance.domain.health import OK as GREEN
from appliance.errors import ApplianceError
from appliance.guardian.ports import Clock
from appliance.guardian.state import STATUS, GuardianState, parse_stamp

STATUS_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
OK, WARNING, CRITICAL, UNKNOWN = range(4)
PREFIX = "NEOCUMA GUARDIAN"
_SHORT = {
    "serveur_distant": "remote",
    "sauvegardes": "backups",
    "serveur_local": "local",
    "synchronisation": "sync",
    "copie_hors_site": "offsite",
}


@dataclass(frozen=True)
class CheckLimits:
    """Thresholds: the backup's age (seconds) and the clock skew (seconds, either way)."""

    monitor_interval: float
    max_backup_age: dt.timedelta
    skew_limit: float
    backup_warning: float | None = None  # default: 3/4 of max_backup_age
    skew_warning: float | None = None  # default: half skew_limit

    @property
    def age_warning(self) -> float:
        return self.backup_warning if self.backup_warning is not None else 0.75 * self.age_critical

    @property
    def age_critical(self) -> float:
        return self.max_backup_age.total_seconds()

    @property
    def skew_warn(self) -> float:
        return self.skew_warning if self.skew_warning is not None else self.skew_limit / 2


def parse_thresholds(text: str) -> tuple[float | None, float | None]:
    """``-w``/``-c`` as ``AGE[,SKEW]``: the backup's age in hours, the clock skew in seconds
    (either may be empty); raises ValueError naming what is wrong."""
    age, _, skew = text.partition(",")
    values: list[float | None] = []
    for raw, what in ((age, "l'âge de la sauvegarde (heures)"), (skew, "l'écart d'horloge (secondes)")):
        if not raw.strip():
            values.append(None)
            continue
        try:
            value = float(raw)
        except ValueError as error:
            raise ValueError(f"{what} doit être un nombre, pas {raw!r}") from error
        if value < 0:
            raise ValueError(f"{what} ne doit pas être négatif, pas {raw!r}")
        values.append(value)
    return values[0] * 3600 if values[0] is not None else None, values[1]


def line(status: int, text: str, perfdata: str = "") -> tuple[int, str]:
    """A plugin line with its status."""
    return status, f"{PREFIX} {STATUS_NAMES[status]} - {text}" + (f" | {perfdata}" if perfdata else "")


def _age(label: str, seconds: float, limits: CheckLimits) -> str:
    """An age's perfdata: never below its minimum 0 (a clock set back), the age thresholds."""
    return f"{label}={max(0.0, seconds):.0f}s;{limits.age_warning:.0f};{limits.age_critical:.0f};0;"


def check(state: GuardianState, clock: Clock, limits: CheckLimits) -> tuple[int, str]:
    """The exit status and the line; a snapshot older than three rounds is UNKNOWN (the
    daemon may be stopped)."""
    try:
        status = state.document(STATUS)
    except ApplianceError as error:
        return line(UNKNOWN, f"état illisible : {error}")
    at = parse_stamp(status.get("at"))
    if at is None:
        return line(UNKNOWN, "aucun état : le démon du guardian tourne-t-il ?")
    now = clock.now()
    age = (now - at).total_seconds()
    indicators = {entry["name"]: entry for entry in status.get("indicators", [])}
    newest = status.get("newest_backup")
    moment = parse_backup_name(newest) if isinstance(newest, str) else None
    backup_age = (now - moment).total_seconds() if moment is not None else None
    skew = status.get("clock_skew")
    states = {name: saved_state(entry) for name, entry in indicators.items()}
    # 1 unless the part failed: a neutral indicator (a state the centre chose) is no alarm.
    # The offsite indicator, which the snapshot of an older version lacks, is left out then.
    shown = [name for name in ORDER if name in states or name != OFFSITE]
    perf = [f"{_SHORT[name]}={0 if states.get(name, FAILED) == FAILED else 1};;;0;1" for name in shown]
    if skew is not None:
        # A skew goes either way: a bare "60" would mean 0..60 and put any negative skew
        # outside it, so the ranges are symmetric ("-60:60", the guidelines' start:end).
        warn, crit = limits.skew_warn, limits.skew_limit
        perf.append(f"clock_skew={round(skew, 1) + 0.0:.1f}s;{-warn:g}:{warn:g};{-crit:g}:{crit:g};;")
    if backup_age is not None:
        perf.append(_age("backup_age", backup_age, limits))
    offsite = status.get("offsite") or {}
    copied = parse_stamp(offsite.get("last_success"))
    if copied is not None:  # measured now, not when the monitor last wrote its snapshot
        perf.append(_age("offsite_age", (now - copied).total_seconds(), limits))
    if offsite.get("size") is not None:
        perf.append(f"offsite_size={offsite['size']}B;;;0;")
    perfdata = " ".join(perf)
    if age > 3 * limits.monitor_interval + 120:
        return line(UNKNOWN, f"état vieux de {age:.0f} s : le démon est-il arrêté ?", perfdata)
    reds = [entry for name in ORDER if (entry := indicators.get(name)) and states[name] == FAILED]
    critical = [f"{entry['label']} : {entry['cause']}" for entry in reds]
    # With automatic backups off (neutral), an old backup is the centre's choice, not an alarm.
    if states.get(BACKUPS) == NEUTRAL:
        backup_age = None
    if backup_age is not None and backup_age > limits.age_critical and not reds:
        critical.append(f"dernière sauvegarde vieille de {backup_age / 3600:.0f} h")
    if skew is not None and abs(skew) > limits.skew_limit and not reds:
        critical.append(f"horloge décalée de {skew:+.0f} s")
    if critical:
        return line(CRITICAL, "; ".join(critical), perfdata)
    warnings = []
    if backup_age is not None and backup_age > limits.age_warning:
        warnings.append(f"dernière sauvegarde vieille de {backup_age / 3600:.0f} h")
    if skew is not None and abs(skew) > limits.skew_warn:
        warnings.append(f"horloge décalée de {skew:+.0f} s")
    if warnings:
        return line(WARNING, "; ".join(warnings), perfdata)
    greens = sum(1 for state in states.values() if state == GREEN)
    neutral = [
        f"{entry['label']} : {entry['cause']}"
        for name in ORDER
        if (entry := indicators.get(name)) and states[name] == NEUTRAL
    ]
    return line(OK, "; ".join([f"{greens}/{len(shown)} indicateurs verts", *neutral]), perfdata)
