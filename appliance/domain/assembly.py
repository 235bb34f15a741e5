"""Assembling a complete data backup from the previous verified backup and a delta
(docs/backup-format.md, "Assembling a complete backup from a delta").

The result is the backup a full export of the delta's snapshot would be: the same members in
the same order, the same manifest but its ``created_at``. This module only decides which
member comes from where and writes the complete manifest; it does no I/O
(``adapters/backup_assembly.py`` copies the bytes).

- the centre tables come from the delta (it holds them whole);
- the members of a dossier the delta includes come from the delta;
- the members of a dossier the delta lists without its members come from what a cut
  transfer salvaged (``adapters/resume.py``), newest first, or else from the previous
  backup: whichever holds that dossier with the same code, ID système and revision;
- ``schema.sql`` and ``load.sql`` are written by ``expected_scripts`` for the schema version
  and the members; ``manifest.json`` last.

Dossiers the delta names as removed, or that are simply not in its list, are left out.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from appliance.domain.backup_format import (
    LOAD_MEMBER,
    SCHEMA_MEMBER,
    DossierEntry,
    Manifest,
    MemberDigest,
    centre_member,
    dossier_member,
    expected_scripts,
)
from appliance.domain.changes import HeldDossier
from appliance.domain.delta_manifest import DeltaManifest
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, SCHEMA_VERSION
from appliance.errors import BadRequest


class Origin(enum.Enum):
    """Where an assembled member's bytes come from."""

    WRITTEN = "written"  # schema.sql and load.sql, by expected_scripts
    DELTA = "delta"
    PREVIOUS = "previous"
    SALVAGED = "salvaged"  # from the partial file of a cut transfer


@dataclass(frozen=True)
class PlannedMember:
    """One member of the assembled zip: its name, where it comes from, what it must hold,
    and for a dossier's table the ID système every row must start with."""

    name: str
    origin: Origin
    digest: MemberDigest
    dossier_id: int | None = None
    part: int = 0  # for SALVAGED: which salvage (their order as given)


@dataclass(frozen=True)
class AssemblyPlan:
    """The members in zip order (``manifest.json`` excluded: it is written last), the
    scripts' contents and the complete manifest."""

    members: list[PlannedMember]
    scripts: dict[str, bytes]
    manifest: Manifest

    def from_origin(self, origin: Origin) -> list[PlannedMember]:
        return [member for member in self.members if member.origin is origin]

    def dossiers_from(self, origin: Origin) -> list[str]:
        """The codes of the dossiers whose members come from ``origin``, in manifest order."""
        codes = {m.name.split("/")[1] for m in self.from_origin(origin) if m.name.startswith("dossiers/")}
        return [dossier.code for dossier in self.manifest.dossiers if dossier.code in codes]


@dataclass(frozen=True)
class AssembledSummary:
    """What an assembled backup holds and where its dossiers came from."""

    name: str
    manifest: Manifest
    from_delta: list[str]
    from_previous: list[str]
    removed: list[str]
    size: int
    seconds: float
    from_salvage: list[str] = dataclasses.field(default_factory=list)

    @property
    def dossiers(self) -> int:
        return len(self.manifest.dossiers)


def plan_assembly(
    previous: Manifest | None, delta: DeltaManifest, salvaged: Sequence[Mapping[str, DossierEntry]] = ()
) -> AssemblyPlan:
    """The plan of the complete backup of ``delta``'s snapshot; raises BadRequest (in
    French, naming the problem) when neither what was salvaged nor the previous backup can
    supply an unchanged dossier."""
    if previous is not None:
        _check_compatible(previous, delta)
    if salvaged and delta.schema_version != SCHEMA_VERSION:
        raise BadRequest(
            f"les changements sont de la version de schéma {delta.schema_version}, le transfert interrompu"
            f" a été lu selon la version {SCHEMA_VERSION}"
        )
    held = {dossier.code: dossier for dossier in previous.dossiers} if previous is not None else {}
    dossiers: list[DossierEntry] = []
    origins: dict[str, tuple[Origin, int]] = {}
    for dossier in delta.dossiers:
        if dossier.tables is not None:
            dossiers.append(DossierEntry(dossier.id, dossier.code, dossier.revision, dict(dossier.tables)))
            origins[dossier.code] = (Origin.DELTA, 0)
            continue
        found = _salvaged(salvaged, dossier.code, dossier.id, dossier.revision)
        if found is not None:
            dossiers.append(found[0])
            origins[dossier.code] = (Origin.SALVAGED, found[1])
            continue
        kept = held.get(dossier.code)
        if kept is None:
            raise BadRequest(
                f"le dossier {dossier.code} est inchangé selon le serveur mais absent de la sauvegarde précédente"
            )
        if kept.id != dossier.id or kept.revision != dossier.revision:
            raise BadRequest(
                f"le dossier {dossier.code} est inchangé selon le serveur (ID système {dossier.id}, révision"
                f" {dossier.revision}) mais la sauvegarde précédente le tient avec l'ID système {kept.id}"
                f" et la révision {kept.revision}"
            )
        dossiers.append(DossierEntry(kept.id, kept.code, kept.revision, dict(kept.tables)))
        origins[dossier.code] = (Origin.PREVIOUS, 0)
    manifest = Manifest(
        created_at=delta.created_at,
        server=dict(delta.server),
        schema_version=delta.schema_version,
        centre=dict(delta.centre),
        user=dict(delta.user),
        members={},
        centre_tables=dict(delta.centre_tables),
        dossiers=dossiers,
        tables={name: list(columns) for name, columns in delta.tables.items()},
    )
    scripts = expected_scripts(manifest)
    manifest = dataclasses.replace(
        manifest,
        members={name: MemberDigest(hashlib.sha256(data).hexdigest(), len(data)) for name, data in scripts.items()},
    )
    return AssemblyPlan(_members(manifest, origins), scripts, manifest)


def _salvaged(
    salvaged: Sequence[Mapping[str, DossierEntry]], code: str, dossier_id: int, revision: int
) -> tuple[DossierEntry, int] | None:
    """The first salvage holding ``code`` at that ID système and revision, and its index."""
    for part, dossiers in enumerate(salvaged):
        entry = dossiers.get(code)
        if entry is not None and entry.id == dossier_id and entry.revision == revision:
            return DossierEntry(entry.id, entry.code, entry.revision, dict(entry.tables)), part
    return None


def held_dossiers(previous: Manifest | None, salvaged: Sequence[Mapping[str, DossierEntry]]) -> dict[str, HeldDossier]:
    """code -> (ID système, revision) of every dossier the guardian can supply: the previous
    backup's, overridden by what was salvaged (the first salvage given wins)."""
    held = {d.code: HeldDossier(d.id, d.revision) for d in previous.dossiers} if previous is not None else {}
    for dossiers in reversed(salvaged):
        held.update({code: HeldDossier(entry.id, entry.revision) for code, entry in dossiers.items()})
    return held


def _members(manifest: Manifest, origins: dict[str, tuple[Origin, int]]) -> list[PlannedMember]:
    """Every member in the order a full export writes them."""
    members = [PlannedMember(name, Origin.WRITTEN, manifest.members[name]) for name in (SCHEMA_MEMBER, LOAD_MEMBER)]
    for table in REFERENCE_TABLES + CENTRE_TABLES:
        members.append(PlannedMember(centre_member(table), Origin.DELTA, manifest.centre_tables[table.name]))
    for dossier in manifest.dossiers:
        for table in DOSSIER_TABLES:
            members.append(
                PlannedMember(
                    dossier_member(dossier.code, table),
                    origins[dossier.code][0],
                    dossier.tables[table.name],
                    dossier.id,
                    origins[dossier.code][1],
                )
            )
    return members


def _check_compatible(previous: Manifest, delta: DeltaManifest) -> None:
    """The previous backup must be of the same schema version, columns, centre and user."""
    if previous.schema_version != delta.schema_version:
        raise BadRequest(
            f"la sauvegarde précédente est de la version de schéma {previous.schema_version}, les changements"
            f" de la version {delta.schema_version} : une sauvegarde complète est nécessaire"
        )
    if previous.tables != delta.tables:
        raise BadRequest("les colonnes des tables de la sauvegarde précédente diffèrent de celles des changements")
    if previous.centre.get("code") != delta.centre.get("code"):
        raise BadRequest(
            f"la sauvegarde précédente est du centre {previous.centre.get('code')!r}, les changements du centre"
            f" {delta.centre.get('code')!r}"
        )
    if previous.user.get("login") != delta.user.get("login"):
        raise BadRequest(
            f"la sauvegarde précédente a été prise par {previous.user.get('login')!r}, les changements par"
            f" {delta.user.get('login')!r}"
        )
