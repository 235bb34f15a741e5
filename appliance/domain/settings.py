"""The "Paramétrages" of the guardian (manual §12.3.4): automatic backups and their hours,
synchronisation after them, and the retention of the offsite copies (issue 14; absent, the
configuration's NEOCUMA_OFFSITE_KEEP_*; never below RETENTION_FLOOR). Pure: parsing and
validation, every problem reported at once, and the changes between two versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from appliance.domain.centres import Slot
from appliance.domain.offsite import RETENTION_FLOOR, Retention
from appliance.domain.schedule import allowed_hours, check_hours, night_hour
from appliance.errors import BadRequest, ConfigError

NIGHTLY: Literal["nuit"] = "nuit"
EVERY_HOUR: Literal["toutes"] = "toutes"
Hours = tuple[int, ...] | Literal["nuit", "toutes"]


@dataclass(frozen=True)
class Settings:
    backups_enabled: bool = True
    # "nuit": one run a night (the default); "toutes": every hour of the centre's parity;
    # or the chosen UTC hours.
    hours: Hours = NIGHTLY
    sync_after: bool = True
    offsite: Retention | None = None  # None: the configuration's

    def effective_hours(self, slot: Slot) -> list[int]:
        if isinstance(self.hours, tuple):
            return list(self.hours)
        return [night_hour(slot)] if self.hours == NIGHTLY else allowed_hours(slot)

    def describe_hours(self) -> str:
        """The hours as the settings document writes them."""
        return self.hours if isinstance(self.hours, str) else ", ".join(f"{h:02d}" for h in self.hours)

    def as_document(self) -> dict[str, Any]:
        return {
            "sauvegardes": {
                "automatiques": self.backups_enabled,
                "heures": self.hours if isinstance(self.hours, str) else list(self.hours),
            },
            "synchronisations": {"apres_sauvegarde": self.sync_after},
        } | ({} if self.offsite is None else {"hors_site": retention_document(self.offsite)})


RETENTION_KEYS = ("quotidiennes", "hebdomadaires", "mensuelles")  # [hors_site]'s, the console's fields


def retention_document(retention: Retention) -> dict[str, int]:
    """``[hors_site]`` as the settings document writes it."""
    return dict(zip(RETENTION_KEYS, (retention.daily, retention.weekly, retention.monthly), strict=True))


_SECTIONS = {
    "sauvegardes": {"automatiques", "heures"},
    "synchronisations": {"apres_sauvegarde"},
    "hors_site": set(RETENTION_KEYS),
}


def parse_settings(document: dict[str, Any], slot: Slot | None = None, strict: bool = False) -> Settings:
    """Settings from their document (TOML or JSON); raises ConfigError listing every problem.
    With ``slot``, hours outside the centre's slot are refused with the allowed windows.
    ``strict`` (values being set): offsite counts below RETENTION_FLOOR are refused; else
    (values read back, perhaps written before the floor existed) they are raised to it."""
    problems: list[str] = []
    for section, body in document.items():
        if section not in _SECTIONS:
            problems.append(f"section inconnue [{section}]")
        elif not isinstance(body, dict):
            problems.append(f"[{section}] doit être une table")
        else:
            problems += [f"réglage inconnu {section}.{key}" for key in body if key not in _SECTIONS[section]]
    backups = document.get("sauvegardes", {}) if isinstance(document.get("sauvegardes"), dict) else {}
    syncs = document.get("synchronisations", {}) if isinstance(document.get("synchronisations"), dict) else {}
    enabled, sync_after = backups.get("automatiques", True), syncs.get("apres_sauvegarde", True)
    for name, value in (("sauvegardes.automatiques", enabled), ("synchronisations.apres_sauvegarde", sync_after)):
        if not isinstance(value, bool):
            problems.append(f"{name} doit valoir true ou false, pas {value!r}")
    raw_hours = backups.get("heures", NIGHTLY)
    hours: Hours = NIGHTLY if raw_hours == NIGHTLY else EVERY_HOUR
    if raw_hours not in (NIGHTLY, EVERY_HOUR):
        if not isinstance(raw_hours, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) and 0 <= h <= 23 for h in raw_hours
        ):
            problems.append(
                f'sauvegardes.heures doit être "nuit", "toutes" ou une liste d\'heures UTC de 0 à 23, pas {raw_hours!r}'
            )
        else:
            hours = tuple(sorted(set(raw_hours)))
            if slot is not None:
                try:
                    check_hours(slot, hours)
                except BadRequest as error:
                    problems.append(f"sauvegardes.heures : {error}")
    offsite = _retention(document.get("hors_site"), problems, strict)
    if problems:
        raise ConfigError(problems)
    return Settings(bool(enabled), hours, bool(sync_after), offsite)


def _retention(section: object, problems: list[str], strict: bool) -> Retention | None:
    """``[hors_site]``: how many daily, weekly and monthly copies to keep (all three), none
    below the floor."""
    if not isinstance(section, dict):
        return None
    floor = retention_document(RETENTION_FLOOR)
    counts = []
    for key in RETENTION_KEYS:
        value = section.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            problems.append(f"hors_site.{key} doit être un nombre de copies de 0 à 10000, pas {value!r}")
            continue
        if value < floor[key] and strict:
            problems.append(
                f"hors_site.{key} doit garder au moins {floor[key]} copies (plancher de la rétention hors site,"
                f" docs/offsite.md), pas {value}"
            )
        counts.append(max(value, floor[key]))
    if len(counts) < len(RETENTION_KEYS):
        return None
    return Retention(*counts)


def settings_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two settings documents, one ``section.key : old → new`` each,
    in the documents' order (for the guardian's log)."""
    changes = []
    for section in dict.fromkeys([*before, *after]):
        old, new = before.get(section) or {}, after.get(section) or {}
        for key in dict.fromkeys([*old, *new]):
            if old.get(key) != new.get(key):
                changes.append(f"{section}.{key} : {_shown(old.get(key))} → {_shown(new.get(key))}")
    return changes


def _shown(value: object) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(f"{hour:02d}" for hour in value) or "aucune"
    return str(value)
