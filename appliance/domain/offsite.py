"""Offsite copies in a restic repository (issue 14; docs/offsite.md): which repositories
the guardian takes, how a copy is named in the repository, what retention asks restic
for, and which backups still have to be pushed. Pure: ``adapters/restic.py`` runs restic.

Each copy is one restic snapshot of the *unpacked* members of one verified backup, tagged
with its kind and its file name, dated by the backup's own date: unchanged dossiers are
the same files from one day to the next, so restic stores them once (a zip pushed whole
differs everywhere, its members' headers carrying the day's date).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from appliance.domain.backups import FALLBACK_SAVE, parse_backup_name
from appliance.domain.moments import parse_moment
from appliance.errors import BadRequest

DATA = "data"
SYSTEM = "system"
LOCAL = "local"  # the saves of fallback work (backups/local/…-secours.zip), never forgotten
KINDS = (DATA, SYSTEM, LOCAL)
APPLIANCE_TAG = "neocuma"
_NAME_TAG = "fichier="
_KIND_TAG = "type="
# What restic takes, and what a centre has: a mounted disk, a NAS or another site over SFTP,
# object storage, a restic REST server (docs/offsite.md, "Repositories").
_SCHEMES = {"sftp": "SFTP", "s3": "S3", "rest": "REST"}
_BACKUP_NAME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.zip|system\.zip")
# A save of fallback work; a dossier's code made of other characters (a comma would split a
# restic tag) is not pushed.
_LOCAL_NAME = re.compile(rf"(\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}-\d{{2}}-\d{{2}}Z)-[0-9A-Za-z_.-]+-{FALLBACK_SAVE}\.zip")


def repository_kind(repository: str) -> str:
    """``local``, ``sftp``, ``s3`` or ``rest``; raises BadRequest naming what is wrong."""
    if repository.startswith("/"):
        return "local"
    scheme, colon, rest = repository.partition(":")
    if colon and scheme in _SCHEMES and rest:
        return scheme
    raise BadRequest(
        f"dépôt hors site {shown(repository)[:80]!r} : attendu un chemin absolu (/mnt/disque/depot), "
        "sftp:utilisateur@hôte:/chemin, s3:https://hôte/seau ou rest:https://hôte:8000/"
    )


def shown(repository: str) -> str:
    """The repository's address for messages and logs: a ``user:password@`` in a URL (a REST
    server's) masked."""
    return re.sub(r"(://)[^/@]*:[^/@]*@", r"\1***@", repository)


@dataclass(frozen=True)
class Retention:
    """How many daily, weekly and monthly copies ``restic forget`` keeps, per kind."""

    daily: int = 30
    weekly: int = 12
    monthly: int = 12

    def __post_init__(self) -> None:
        for label, value in (
            ("quotidiennes", self.daily),
            ("hebdomadaires", self.weekly),
            ("mensuelles", self.monthly),
        ):
            if not 0 <= value <= 10_000:
                raise BadRequest(f"copies hors site {label} à garder : {value}, attendu de 0 à 10000")
        if self.daily + self.weekly + self.monthly == 0:
            raise BadRequest("copies hors site : la rétention garderait zéro copie")

    def forget_arguments(self, kind: str) -> list[str]:
        """The arguments of ``restic forget`` for the copies of ``kind``."""
        return [
            "--tag",
            f"{APPLIANCE_TAG},{_KIND_TAG}{kind}",
            "--group-by",
            "host",  # not by tags: each copy's name is a tag of its own
            "--keep-daily",
            str(self.daily),
            "--keep-weekly",
            str(self.weekly),
            "--keep-monthly",
            str(self.monthly),
        ]


RETENTION_FLOOR = Retention(daily=7, weekly=4, monthly=3)
"""The fewest copies of each rank a centre's retention may keep (docs/offsite.md,
"Retention"): a week of days, a month of weeks, a quarter of months. Whatever is typed in
the Paramétrages or the configuration, a push never forgets more than that."""


def shortens(current: Retention, proposed: Retention) -> bool:
    """Whether ``proposed`` keeps fewer copies of any rank than ``current`` (the next
    ``restic forget`` would then drop copies ``current`` keeps)."""
    return proposed.daily < current.daily or proposed.weekly < current.weekly or proposed.monthly < current.monthly


@dataclass(frozen=True)
class OffsiteCopy:
    """A snapshot the guardian pushed: the backup it holds and when that backup was made."""

    snapshot: str  # restic's snapshot id
    kind: str
    name: str  # the backup's file name in data/, or system.zip
    made: dt.datetime
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushSummary:
    """What one push stored."""

    snapshot: str  # restic's short id of the snapshot (the start of OffsiteCopy.snapshot)
    files: int
    added: int  # bytes of new data after deduplication, before restic compresses them
    processed: int  # bytes read from the unpacked backup


def copy_tags(kind: str, name: str) -> list[str]:
    """The tags of the snapshot holding backup ``name``; raises BadRequest for a name that
    is not a backup's."""
    pattern = _LOCAL_NAME if kind == LOCAL else _BACKUP_NAME
    if kind not in KINDS or not pattern.fullmatch(name):
        raise BadRequest(f"{name[:80]!r} n'est pas le nom d'une sauvegarde ({kind})")
    return [APPLIANCE_TAG, f"{_KIND_TAG}{kind}", f"{_NAME_TAG}{name}"]


def parse_snapshots(raw: bytes) -> list[OffsiteCopy]:
    """The guardian's copies among what ``restic snapshots --json`` printed, oldest first;
    snapshots without the appliance's tags (made by hand) are left out. Raises BadRequest
    when the output is not restic's."""
    try:
        listed = json.loads(raw or b"[]")
    except ValueError as error:
        raise BadRequest(f"la liste des instantanés de restic n'est pas du JSON : {error}") from error
    if not isinstance(listed, list):
        raise BadRequest("la liste des instantanés de restic n'est pas une liste")
    copies = []
    for entry in listed:
        copy = _copy(entry)
        if copy is not None:
            copies.append(copy)
    return sorted(copies, key=lambda c: (c.made, c.snapshot))


def _copy(entry: object) -> OffsiteCopy | None:
    if not isinstance(entry, dict):
        raise BadRequest("un instantané de restic n'est pas un objet JSON")
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or APPLIANCE_TAG not in tags:
        return None
    kind = next((t[len(_KIND_TAG) :] for t in tags if isinstance(t, str) and t.startswith(_KIND_TAG)), None)
    name = next((t[len(_NAME_TAG) :] for t in tags if isinstance(t, str) and t.startswith(_NAME_TAG)), None)
    made = parse_moment(_seconds(entry.get("time")))
    snapshot = entry.get("id")
    if kind not in KINDS or name is None or made is None or not isinstance(snapshot, str):
        return None
    paths = tuple(str(p) for p in entry.get("paths") or [])
    return OffsiteCopy(snapshot, kind, name, made, paths)


def _seconds(value: object) -> object:
    """restic's time (``2026-12-02T02:00:00.123456789Z`` or with an offset) as UTC to the second."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def to_push(local: Iterable[str], copies: Sequence[OffsiteCopy], kind: str = DATA) -> list[str]:
    """The backups of ``local`` (names in data/) made after the newest copy of ``kind``,
    oldest first: what a failed push left is pushed by the next run, and a backup that
    retention forgot (an earlier one of the same day) is not pushed again."""
    last = newest(copies, kind)
    dated = []
    for name in set(local):
        made = parse_backup_name(name)
        if made is not None and (last is None or made > last.made):
            dated.append((made, name))
    return [name for _, name in sorted(dated)]


def local_to_push(local: Iterable[str], copies: Sequence[OffsiteCopy]) -> list[tuple[str, dt.datetime]]:
    """The saves of fallback work among ``local`` (names in backups/local/) that the
    repository holds no copy of, with the moment their name says, oldest first. Every save
    is pushed (they are not forgotten: one per dossier and per save, a daily retention
    would keep one dossier's)."""
    held = {copy.name for copy in copies if copy.kind == LOCAL}
    due = []
    for name in set(local) - held:
        match = _LOCAL_NAME.fullmatch(name)
        made = parse_backup_name(f"{match.group(1)}.zip") if match else None
        if made is not None:
            due.append((made, name))
    return [(name, made) for made, name in sorted(due)]


def newest(copies: Sequence[OffsiteCopy], kind: str = DATA) -> OffsiteCopy | None:
    found = [c for c in copies if c.kind == kind]
    return max(found, key=lambda c: c.made) if found else None


def check_part(share: object) -> int | None:
    """K of the ``"K/N"`` a check recorded (None for anything else)."""
    number = share.partition("/")[0] if isinstance(share, str) else ""
    return int(number) if number.isdigit() else None


def next_part(last_ok: bool | None, last_part: int | None, parts: int) -> int:
    """The part (1 to ``parts``) a check reads after the last one: the same again when it
    failed, else the next, turning so that ``parts`` checks read everything."""
    if last_part is None or not 1 <= last_part <= parts:
        return 1
    return last_part if last_ok is False else last_part % parts + 1


def next_check_part(
    last_at: dt.datetime | None,
    last_ok: bool | None,
    last_part: int | None,
    now: dt.datetime,
    every_hours: int,
    parts: int,
) -> int | None:
    """The part the next scheduled ``restic check`` reads, or None when none is due: checks
    come ``every_hours`` apart (0: never), and a failed one is tried again at the next run."""
    if every_hours <= 0 or parts < 1:
        return None
    due = last_at is None or last_ok is False or now - last_at >= dt.timedelta(hours=every_hours)
    return next_part(last_ok, last_part, parts) if due else None
