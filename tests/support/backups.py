"""Small valid data backups and system.zip files built in memory, in the documented format
(docs/backup-format.md), for the unit tests' fakes: every member's size, sha256 and rows in
the manifest, every row of a dossier's table starting with its dossier's id."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.domain.backup_format import (
    LOAD_MEMBER,
    MANIFEST_MEMBER,
    SCHEMA_MEMBER,
    DossierEntry,
    Manifest,
    MemberDigest,
    centre_member,
    dossier_member,
    expected_scripts,
    parse_manifest,
)
from appliance.domain.delta_manifest import DeltaDossier, DeltaManifest
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, SCHEMA_VERSION


@dataclass(frozen=True)
class Dossier:
    id: int
    code: str
    revision: int
    name: str = ""
    rows: int = 2  # per dossier table

    @property
    def label(self) -> str:
        return self.name or f"CUMA {self.code}"


def _digest(data: bytes, rows: int | None) -> MemberDigest:
    return MemberDigest(hashlib.sha256(data).hexdigest(), len(data), rows)


def _dossier_row(dossier: Dossier, centre: str) -> bytes:
    fields = [str(dossier.id), centre, dossier.code, "\\N", dossier.label, "CUMA", "0", "0", "0", "1"]
    fields += [str(dossier.revision), "2026-01-01 00:00:00"]
    return ("\t".join(fields) + "\n").encode()


def backup_members(
    dossiers: Sequence[Dossier],
    login: str = "resp.fd12",
    centre: str = "FD12",
    created_at: str = "2026-11-28T12:00:00Z",
) -> dict[str, bytes]:
    """Every member of a backup of ``dossiers``, the manifest last."""
    members: dict[str, bytes] = {SCHEMA_MEMBER: b"", LOAD_MEMBER: b""}  # written below, zip order kept
    centre_digests: dict[str, MemberDigest] = {}
    for table in REFERENCE_TABLES + CENTRE_TABLES:
        if table.name == "dossier":
            data = b"".join(_dossier_row(d, centre) for d in dossiers)
        elif table.name == "centre":
            data = f"{centre}\tFDCUMA {centre}\t12\t\\N\n".encode()
        elif table.name == "utilisateur":
            # The responsable (id 1) and, per dossier, its comptable (id 1000 + the position).
            users = [f"1\t{login}"] + [f"{1000 + n}\tcompta{n}" for n in range(len(dossiers))]
            data = "".join(f"{user}\n" for user in users).encode()
        elif table.name == "droit_dossier":
            rights = [f"1\t{d.id}\tecriture" for d in dossiers]
            rights += [f"{1000 + n}\t{d.id}\tlecture" for n, d in enumerate(dossiers)]
            data = "".join(f"{right}\n" for right in rights).encode()
        else:
            data = f"1\t{table.name}\n".encode()
        members[centre_member(table)] = data
        centre_digests[table.name] = _digest(data, data.count(b"\n"))
    entries = []
    for dossier in dossiers:
        tables = {}
        for table in DOSSIER_TABLES:
            # The revision in the rows: a dossier written on the server changes content too.
            # As many fields as the table has columns, as a real export writes them.
            padding = "\tx" * (len(table.columns) - 4)
            data = b"".join(
                f"{dossier.id}\t{n}\t{table.name}\tr{dossier.revision}{padding}\n".encode() for n in range(dossier.rows)
            )
            members[dossier_member(dossier.code, table)] = data
            tables[table.name] = _digest(data, dossier.rows)
        entries.append(DossierEntry(dossier.id, dossier.code, dossier.revision, tables))
    # The scripts as the real writer makes them: a backup must hold exactly those.
    listed = Manifest(created_at, {}, SCHEMA_VERSION, {}, {}, {}, {}, entries)
    members.update(expected_scripts(listed))
    manifest = Manifest(
        created_at=created_at,
        server={"name": "fake", "role": "central", "data_generation": 1, "software": "tests"},
        schema_version=SCHEMA_VERSION,
        centre={"code": centre, "nom": f"FDCUMA {centre}"},
        user={"login": login, "profil": "responsable_departemental"},
        members={
            SCHEMA_MEMBER: _digest(members[SCHEMA_MEMBER], None),
            LOAD_MEMBER: _digest(members[LOAD_MEMBER], None),
        },
        centre_tables=centre_digests,
        dossiers=entries,
        tables={t.name: list(t.column_names) for t in REFERENCE_TABLES + CENTRE_TABLES + DOSSIER_TABLES},
    )
    members[MANIFEST_MEMBER] = manifest.to_json()
    return members


def zip_members(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def backup_zip(dossiers: Sequence[Dossier], login: str = "resp.fd12", centre: str = "FD12") -> bytes:
    """A valid data backup of ``dossiers``."""
    return zip_members(backup_members(dossiers, login, centre))


def system_files_manifest(files: dict[str, bytes]) -> bytes:
    """The server-written MANIFEST of ``files``."""
    lines = ["# neocuma-system-manifest 1", "# generation 1"]
    lines += [f"{hashlib.sha256(data).hexdigest()} {len(data)} {path}" for path, data in sorted(files.items())]
    return ("\n".join(lines) + "\n").encode()


def system_zip(files: dict[str, bytes]) -> bytes:
    """A valid system.zip of ``files``."""
    return zip_members({**files, "MANIFEST": system_files_manifest(files)})


def delta_members(full: dict[str, bytes], included: set[str], removed: list[str]) -> dict[str, bytes]:
    """The members of the delta (``v1 export-changes``) a server would send for the snapshot
    whose full backup is ``full``: the centre tables, the ``included`` dossiers' members."""
    manifest = parse_manifest(full[MANIFEST_MEMBER])
    members = {n: d for n, d in full.items() if n.startswith("centre/")}
    members |= {n: d for n, d in full.items() if n.split("/")[1:2] and n.split("/")[1] in included}
    delta = DeltaManifest(
        created_at=manifest.created_at,
        server=manifest.server,
        schema_version=manifest.schema_version,
        centre=manifest.centre,
        user=manifest.user,
        centre_tables=manifest.centre_tables,
        dossiers=[
            DeltaDossier(d.id, d.code, d.revision, d.tables if d.code in included else None) for d in manifest.dossiers
        ],
        removed=removed,
        tables=manifest.tables,
    )
    return {**members, MANIFEST_MEMBER: delta.to_json()}
