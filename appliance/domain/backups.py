"""Data backup names, choosing the backup a sync loads, and retention (pure)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.errors import Refused

NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z\.zip$")
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def backup_name(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH-MM-SSZ.zip`` in UTC, with no colon (centres copy these to SMB shares)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ.zip")


def parse_backup_name(name: str) -> dt.datetime | None:
    """The UTC moment a backup name encodes, or None if the name is not one."""
    match = NAME.match(name)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class StoredFile:
    """A file of the backups volume: its name, size and modification time."""

    name: str
    size: int
    modified: dt.datetime


def newest(names: Sequence[str]) -> str | None:
    """The newest data backup by the date in its name: the one rule for "newest" (sync,
    listing, status, retention); misnamed files are never backups."""
    dated = [(moment, name) for name in names if (moment := parse_backup_name(name)) is not None]
    return max(dated)[1] if dated else None


def choose_backup(names: Sequence[str], now: dt.datetime, requested: str | None = None) -> str:
    """The backup a sync loads: ``requested`` if given, else the newest of ``data/`` by the
    date in its name (a file's modification time says nothing: an old backup copied back is
    still old). Raises Refused naming the file when the newest is dated in the future (after
    the clock went back): a sync never silently falls back to an older backup."""
    if requested is not None:
        if "/" in requested or requested.startswith("."):
            raise Refused(f"--backup attend un nom de fichier de data/, pas {requested!r}")
        if requested not in names:
            raise Refused(f"la sauvegarde {requested} n'existe pas dans data/")
        if parse_backup_name(requested) is None:
            raise Refused(f"{requested} n'est pas nommé AAAA-MM-JJTHH-MM-SSZ.zip")
        return requested
    chosen = newest(names)
    if chosen is None:
        raise Refused("aucune sauvegarde de données dans data/ : lancez d'abord une sauvegarde")
    moment = parse_backup_name(chosen)
    assert moment is not None
    if moment > now + FUTURE_TOLERANCE:
        raise Refused(
            f"la sauvegarde la plus récente, {chosen}, est datée dans le futur (l'horloge a-t-elle reculé ?) : "
            "synchronisation refusée"
        )
    return chosen


@dataclass(frozen=True)
class Retention:
    """Data backups older than ``days`` are deleted, but the ``minimum`` newest stay whatever
    their age (a centre whose link was down for a month still has its last backups)."""

    days: int
    minimum: int


def to_prune(verified: Sequence[str], now: dt.datetime, retention: Retention, protect: str | None = None) -> list[str]:
    """Backups to delete, the oldest first: those older than the retention's days beyond the
    ``minimum`` newest (by the date in their names). Never the newest, nor ``protect`` (the
    backup just made, even when a clock that went back dated it before older ones); a name
    dated in the future counts as new, never as old."""
    if retention.minimum < 1 or retention.days < 1:
        raise ValueError("at least one data backup, and one day of them, are always kept")
    dated = sorted((moment, name) for name in verified if (moment := parse_backup_name(name)) is not None)
    limit = now - dt.timedelta(days=retention.days)
    candidates = dated[: max(0, len(dated) - retention.minimum)]
    return [name for moment, name in candidates if moment < limit and name != protect]


# Why a local copy was made: before a pull replaced the dossier, before the local server went
# back to standby (fallback work), before a restore sent it to the central server, and the
# periodic saves of fallback work (jobs/fallback_saves.py).
BEFORE_PULL, BEFORE_STANDBY, RESTORE = "avant-descente", "avant-veille", "remontee"
FALLBACK_SAVE = "secours"
LOCAL_COPY = re.compile(
    rf"^(\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}-\d{{2}}-\d{{2}}Z)-(.+)-"
    rf"({BEFORE_PULL}|{BEFORE_STANDBY}|{RESTORE}|{FALLBACK_SAVE})\.zip$"
)


def local_copies_to_prune(names: Sequence[str], now: dt.datetime, days: int) -> list[str]:
    """Local copies (``backups/local/<UTC time>-<code>-<reason>.zip``) older than ``days``,
    except the newest copy of each dossier, kept whatever its age (it may be the only trace of
    local work that a pull replaced). Files not named so are never touched."""
    if days < 1:
        raise ValueError("local copies are kept one day at least")
    newest: dict[str, tuple[dt.datetime, str]] = {}
    dated: list[tuple[dt.datetime, str, str]] = []
    for name in names:
        match = LOCAL_COPY.match(name)
        moment = parse_backup_name(f"{match.group(1)}.zip") if match else None
        if match is None or moment is None:
            continue
        code = match.group(2)
        dated.append((moment, code, name))
        if code not in newest or (moment, name) > newest[code]:
            newest[code] = (moment, name)
    limit = now - dt.timedelta(days=days)
    keep = {name for _, name in newest.values()}
    return [name for moment, _, name in sorted(dated) if moment < limit and name not in keep]
