"""What a cut transfer already brought (issue 13, item 4; docs/backup-format.md, "Resuming
a cut transfer"): the members of a partial zip that arrived whole (``adapters/salvage.py``
finds them) and the dossiers they make up (``adapters/resume.py`` measures them), as plain
data the backup job and the assembly pass around."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from appliance.domain.backup_format import DossierEntry, Opener, dossier_member
from appliance.domain.schema import DOSSIER_TABLES


@dataclass(frozen=True)
class Salvaged:
    """A member that arrived whole: its name, compression, CRC-32 and sizes as checked,
    and where its compressed bytes start in the partial file."""

    name: str
    method: int
    crc: int
    compressed: int
    size: int
    data_offset: int


@dataclass(frozen=True)
class Salvage:
    """The dossiers of the partial file ``name`` that arrived whole, measured, and where
    each of their members lies in it."""

    name: str
    opener: Opener
    dossiers: dict[str, DossierEntry] = field(default_factory=dict)
    locations: dict[str, Salvaged] = field(default_factory=dict)

    def bytes_salvaged(self) -> int:
        """The compressed bytes of the salvaged dossiers' members."""
        return sum(
            self.locations[dossier_member(code, table)].compressed for code in self.dossiers for table in DOSSIER_TABLES
        )


KEEP_PARTIALS = 3  # partial files kept for resuming, newest first


def partials_to_keep(
    found: Mapping[str, dt.datetime], now: dt.datetime, max_age: dt.timedelta, keep: int = KEEP_PARTIALS
) -> tuple[list[str], list[str]]:
    """Of the partial files ``found`` (name -> last written), those to resume from, newest
    first, and those to delete: older than ``max_age``, or beyond the ``keep`` newest."""
    newest_first = sorted(found, key=lambda name: found[name], reverse=True)
    kept = [name for name in newest_first[:keep] if now - found[name] <= max_age]
    return kept, [name for name in newest_first if name not in kept]
