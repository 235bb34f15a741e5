"""Accounting centres and their backup slots (manual §12.3.4), as data read from config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.errors import ConfigError

PARITIES = ("even", "odd")


@dataclass(frozen=True)
class Slot:
    """A window of minutes [start, end) inside every even or every odd UTC hour."""

    parity: str
    start: int
    end: int

    def describe(self) -> str:
        hour = "heure paire" if self.parity == "even" else "heure impaire"
        return f"{hour} de :{self.start:02d} à :{self.end:02d}"


@dataclass(frozen=True)
class Centre:
    code: str
    name: str
    departement: str | None
    slot: Slot


def parse_centres(data: dict[str, Any]) -> list[Centre]:
    """Build the centres from the parsed ``centres.toml``; raises ConfigError listing every
    problem (unknown keys, bad slots, duplicate codes) at once."""
    problems: list[str] = []
    entries = data.get("centre")
    unknown_top = sorted(set(data) - {"centre"})
    if unknown_top:
        problems.append(f"clés inconnues au premier niveau : {', '.join(unknown_top)}")
    if not isinstance(entries, list) or not entries:
        raise ConfigError([*problems, "aucune entrée [[centre]]"])
    centres: list[Centre] = []
    seen: set[str] = set()
    allowed = {"code", "name", "departement", "parity", "start", "end"}
    for index, entry in enumerate(entries, start=1):
        where = f"centre #{index}"
        if not isinstance(entry, dict):
            problems.append(f"{where} : ce n'est pas une table")
            continue
        unknown = sorted(set(entry) - allowed)
        if unknown:
            problems.append(f"{where} : clés inconnues {', '.join(unknown)}")
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            problems.append(f"{where} : 'code' doit être un texte non vide")
            continue
        where = f"centre {code}"
        if code in seen:
            problems.append(f"{where} : défini deux fois")
        seen.add(code)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where} : 'name' doit être un texte non vide")
        departement = entry.get("departement")
        if departement is not None and not isinstance(departement, str):
            problems.append(f"{where} : 'departement' doit être un texte")
        parity, start, end = entry.get("parity"), entry.get("start"), entry.get("end")
        if parity not in PARITIES:
            problems.append(f"{where} : 'parity' doit valoir 'even' ou 'odd', pas {parity!r}")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= 60:
            problems.append(f"{where} : le créneau doit vérifier 0 <= start < end <= 60 (start {start!r}, end {end!r})")
        if not problems:
            centres.append(
                Centre(code, str(name), departement, Slot(str(parity), int(start), int(end)))  # type: ignore[arg-type]
            )
    if problems:
        raise ConfigError(problems)
    return centres
