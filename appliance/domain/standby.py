"""The incremental synchronisation's decisions (docs/design.md §3, "The standby generation").
Pure: the adapters read the facts and apply the plan.

The local MySQL keeps two data generations: the live one and the *standby*, the one that was
live before. Each generation records what it holds (``guardian_content``: per dossier its ID
système, revision and a digest of its members' sha256, from the manifest it was loaded or
refreshed from). A synchronisation brings the standby up to date with the new backup by
replacing the rows of the dossiers whose content differs, and the centre and reference
tables whole, then renames its tables into the next generation and swaps as a full one does.

A dossier is unchanged when the record holds it with the backup's ID système and digest, and
the standby's ``dossier`` row still has the recorded revision (a local write in fallback
mode, or a pull, moves it: the rows are then replaced). A standby dossier the backup no
longer lists, or lists under another ID système, has its rows deleted.

A changed dossier whose record also holds each table's sha256 and rows (``tables``), with
the same ID système and no local write since, has only the tables that differ replaced: a
bon de travaux changes ``bon_travaux``, not the 19 other tables. Without that (a new
dossier, another ID système, a local write, a record written before it held tables) every
table of the dossier is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.domain.backup_format import DossierEntry, Manifest
from appliance.domain.run_facts import KINDS, count_text, with_time_and_reason
from appliance.domain.schema import DOSSIER_TABLES

INCREMENTAL, FULL = "incremental", "full"
MOST = 0.5  # beyond this share of dossiers to replace, the parallel full load is faster


def dossier_digest(entry: DossierEntry) -> str:
    """One digest of a dossier's content: its members' sha256 and rows, in table order."""
    digest = hashlib.sha256()
    for table in DOSSIER_TABLES:
        member = entry.tables[table.name]
        digest.update(f"{table.name}\t{member.sha256}\t{member.rows}\n".encode())
    return digest.hexdigest()


def table_tokens(entry: DossierEntry) -> dict[str, str]:
    """Each dossier table's ``sha256:rows`` as a generation's record keeps them."""
    return {
        table.name: f"{entry.tables[table.name].sha256}:{entry.tables[table.name].rows}" for table in DOSSIER_TABLES
    }


@dataclass(frozen=True)
class HeldContent:
    """A dossier as a generation's record holds it; ``tables`` (``table_tokens``) is empty
    for a record written before it held them."""

    id: int
    revision: int
    digest: str
    tables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StandbyContent:
    """What a generation holds: its record (``dossiers``, the backup it was last brought to,
    when it was last built in full, its schema version) and, read from its ``dossier``
    table now, each dossier's (ID système, revision) by code (``current``)."""

    generation: int
    backup: str
    built_at: dt.datetime
    schema_version: int
    dossiers: dict[str, HeldContent]
    current: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class StandbyPlan:
    """Codes of the backup's dossiers whose rows are replaced and of those kept, and the IDs
    système of the standby's dossiers whose rows are deleted (gone from the backup, or
    listed under another ID)."""

    replace: tuple[str, ...]
    unchanged: tuple[str, ...]
    delete: tuple[int, ...]
    # Replaced dossiers of which only these tables are replaced; the others: every table.
    partial: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def replaced_in(self, table: str) -> list[str]:
        """The codes of the replaced dossiers whose ``table`` rows are replaced."""
        return [code for code in self.replace if code not in self.partial or table in self.partial[code]]


def plan_standby(content: StandbyContent, manifest: Manifest) -> StandbyPlan:
    replace: list[str] = []
    unchanged: list[str] = []
    partial: dict[str, tuple[str, ...]] = {}
    for entry in manifest.dossiers:
        held = content.dossiers.get(entry.code)
        now = content.current.get(entry.code)
        if held is None or held.id != entry.id or now != (held.id, held.revision):
            replace.append(entry.code)  # new, renumbered or written locally: every table
        elif held.digest == dossier_digest(entry):
            unchanged.append(entry.code)
        else:
            replace.append(entry.code)
            if held.tables.keys() >= _TABLE_NAMES:
                tokens = table_tokens(entry)
                partial[entry.code] = tuple(name for name, token in tokens.items() if held.tables[name] != token)
    wanted = {entry.code: entry.id for entry in manifest.dossiers}
    delete = {identifier for code, (identifier, _) in content.current.items() if wanted.get(code) != identifier}
    delete |= {held.id for code, held in content.dossiers.items() if wanted.get(code) != held.id}
    return StandbyPlan(tuple(sorted(replace)), tuple(sorted(unchanged)), tuple(sorted(delete)), partial)


_TABLE_NAMES = frozenset(table.name for table in DOSSIER_TABLES)


@dataclass(frozen=True)
class SyncMode:
    kind: str  # INCREMENTAL or FULL
    reason: str  # in French
    plan: StandbyPlan | None = None  # with the standby generation it applies to
    standby: int | None = None

    @property
    def incremental(self) -> bool:
        return self.kind == INCREMENTAL


def choose_sync_mode(
    *,
    requested_full: bool,
    standby: int | None,
    content: StandbyContent | None,
    manifest: Manifest,
    now: dt.datetime,
    full_every: dt.timedelta,
) -> SyncMode:
    """Whether the synchronisation refreshes the standby generation ``standby`` (whose
    record is ``content``) or loads a new generation in full, and why."""
    if requested_full:
        return SyncMode(FULL, "synchronisation complète demandée")
    if full_every <= dt.timedelta(0):
        return SyncMode(FULL, "synchronisations incrémentales désactivées (NEOCUMA_SYNC_FULL_EVERY_DAYS = 0)")
    if standby is None:
        return SyncMode(FULL, "aucune génération de réserve (première synchronisation, ou la précédente a été annulée)")
    if content is None:
        return SyncMode(FULL, f"la génération de réserve {standby} n'a pas d'inventaire de son contenu")
    if content.schema_version != manifest.schema_version:
        return SyncMode(
            FULL,
            f"la génération de réserve {standby} est au schéma {content.schema_version},"
            f" la sauvegarde au schéma {manifest.schema_version}",
        )
    age = now - content.built_at
    if age < -dt.timedelta(hours=1):
        return SyncMode(FULL, f"la génération de réserve {standby} est datée dans le futur : horloge à vérifier")
    if age >= full_every:
        return SyncMode(
            FULL, f"reconstruction complète périodique (génération de réserve construite il y a {age.days} jour(s))"
        )
    plan = plan_standby(content, manifest)
    if manifest.dossiers and len(plan.replace) > MOST * len(manifest.dossiers):
        return SyncMode(
            FULL,
            f"{len(plan.replace)} dossiers sur {len(manifest.dossiers)} ont changé : le chargement complet est plus rapide",
        )
    return SyncMode(INCREMENTAL, f"génération de réserve {standby} mise à jour depuis {content.backup}", plan, standby)


def describe_sync_run(facts: Mapping[str, Any]) -> str:
    """What a synchronisation loaded, in French, from its recorded facts (``status``, the
    console, the CLI): its kind, the dossiers reloaded, whether the system files were
    installed, its time and why it was of that kind. Facts recorded before incremental
    synchronisations say nothing."""
    words = KINDS.get(str(facts.get("mode")))
    if words is None:
        return ""
    changed, dossiers = count_text(facts.get("changed")), count_text(facts.get("dossiers"))
    parts = [f"{words} : {changed} dossier(s) rechargé(s) sur {dossiers}"]
    installed = facts.get("system_installed")
    if installed is True:
        parts.append("fichiers système installés")
    elif installed is False and facts.get("system_generation") is not None:
        parts.append("fichiers système inchangés")
    return with_time_and_reason(parts, facts)
