"""The manifest of a delta, the reply to ``v1 export-changes`` (docs/backup-format.md).

A delta is a zip of the data backup's family: ``centre/<table>.tsv`` whole, then
``dossiers/<code>/<table>.tsv`` of the *included* dossiers only, then ``manifest.json``.
Its format is ``neocuma-data-changes``, so no reader of complete backups takes it for one
(``backup_format.load_manifest_json`` refuses it by name). It holds no ``schema.sql`` nor
``load.sql``: it does not restore alone; a complete backup assembled from it gets the
scripts ``backup_format.expected_scripts`` writes.

The manifest lists **every** dossier in the user's rights (id, code, revision, whether its
members are included, and their digests when they are), and the dossiers the guardian
listed that left the rights or were deleted (``removed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.domain.backup_format import (
    CHANGES_FORMAT_NAME,
    FORMAT_VERSION,
    MemberDigest,
    Opener,
    centre_member,
    dossier_member,
    load_manifest_json,
    parse_dossier_identity,
    parse_dossier_tables,
    parse_header,
    valid_dossier_code,
)
from appliance.domain.json_layout import dump_lines
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.errors import BadRequest


@dataclass(frozen=True)
class DeltaDossier:
    """A dossier in rights; ``tables`` is None when its members are left out (the guardian
    holds it at this revision already)."""

    id: int
    code: str
    revision: int
    tables: dict[str, MemberDigest] | None

    @property
    def included(self) -> bool:
        return self.tables is not None


@dataclass(frozen=True)
class DeltaManifest:
    created_at: str
    server: dict[str, Any]
    schema_version: int
    centre: dict[str, str]
    user: dict[str, str]
    centre_tables: dict[str, MemberDigest]
    dossiers: list[DeltaDossier]
    removed: list[str] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)

    def included(self) -> list[DeltaDossier]:
        return [d for d in self.dossiers if d.tables is not None]

    def all_members(self) -> dict[str, MemberDigest]:
        """Every member the delta holds, by name (the manifest itself excluded)."""
        result = {centre_member(t): self.centre_tables[t.name] for t in REFERENCE_TABLES + CENTRE_TABLES}
        for dossier in self.dossiers:
            if dossier.tables is not None:
                for table in DOSSIER_TABLES:
                    result[dossier_member(dossier.code, table)] = dossier.tables[table.name]
        return result

    def to_json(self) -> bytes:
        data = {
            "format": CHANGES_FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "server": self.server,
            "schema_version": self.schema_version,
            "centre": self.centre,
            "user": self.user,
            "tables": self.tables,
            "centre_tables": {name: digest.as_json() for name, digest in self.centre_tables.items()},
            "dossiers": [_dossier_json(dossier) for dossier in self.dossiers],
            "removed": self.removed,
        }
        return dump_lines(data)


@dataclass(frozen=True)
class VerifiedDelta:
    """A delta whose every member was checked against its manifest
    (``adapters/delta_reader.verify_delta``); ``opener`` reads its bytes."""

    name: str
    manifest: DeltaManifest
    opener: Opener


def _dossier_json(dossier: DeltaDossier) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": dossier.id,
        "code": dossier.code,
        "revision": dossier.revision,
        "included": dossier.included,
    }
    if dossier.tables is not None:
        data["tables"] = {name: digest.as_json() for name, digest in dossier.tables.items()}
    return data


def parse_delta_manifest(raw: bytes) -> DeltaManifest:
    """Parse and check a delta's manifest; raises BadRequest naming the first problem."""
    data = load_manifest_json(raw, CHANGES_FORMAT_NAME)
    raw_dossiers = data.get("dossiers")
    if not isinstance(raw_dossiers, list):
        raise BadRequest("manifest.json: 'dossiers' is not a list")
    header = parse_header(data)
    dossiers: list[DeltaDossier] = []
    seen: set[str] = set()
    for raw_entry in raw_dossiers:
        entry, dossier_id, code, revision = parse_dossier_identity(raw_entry, seen)
        included = entry.get("included")
        if not isinstance(included, bool):
            raise BadRequest(f"manifest.json: dossier {code} does not say whether it is included")
        if not included and "tables" in entry:
            raise BadRequest(f"manifest.json: dossier {code} is not included but lists tables")
        tables = parse_dossier_tables(entry, code) if included else None
        dossiers.append(DeltaDossier(dossier_id, code, revision, tables))
    removed = data.get("removed")
    if not isinstance(removed, list) or not all(isinstance(c, str) and valid_dossier_code(c) for c in removed):
        raise BadRequest("manifest.json: 'removed' is not a list of dossier codes")
    if set(removed) & seen:
        raise BadRequest("manifest.json: a dossier is listed both in rights and removed")
    return DeltaManifest(dossiers=dossiers, removed=list(removed), **header)
