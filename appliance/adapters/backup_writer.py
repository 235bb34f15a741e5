"""Streamed data export: a set of dossiers as a zip in the backup format (docs/backup-format.md).

The rows come from one ``mariadb`` client session holding one consistent snapshot: MariaDB
itself escapes every value into LOAD DATA's TSV format, so Python never parses a row. The
client's output is split into zip members at marker lines (a NUL byte, which escaped data
can never contain), hashed and counted on the way, and written to the output stream as it
arrives: memory stays flat whatever the size. ``manifest.json`` is written last.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from appliance import __version__
from appliance.adapters.member_stream import (
    ClientStarter,
    dossier_revisions,
    marker,
    run_client,
    select_tsv,
    snapshot_script,
    write_whole,
    write_zip,
)
from appliance.domain.backup_format import (
    LOAD_MEMBER,
    MANIFEST_MEMBER,
    SCHEMA_MEMBER,
    DossierEntry,
    Manifest,
    MemberDigest,
    centre_member,
    dossier_member,
    load_script,
)
from appliance.domain.ddl import generation_ddl, quote_identifier
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, SCHEMA_VERSION, Table
from appliance.domain.sqltext import literal
from appliance.errors import Unavailable

log = logging.getLogger(__name__)
__all__ = ["ClientStarter", "ExportRequest", "ExportSummary", "export_members", "select_tsv", "stream_export"]


@dataclass(frozen=True)
class ExportRequest:
    """What to export: already checked against the user's rights by the caller."""

    schema: str
    data_generation: int
    centre_code: str
    centre_name: str
    user_login: str
    user_profile: str
    dossiers: list[tuple[int, str]]  # (id, code), ordered by code
    server_name: str
    server_role: str


@dataclass(frozen=True)
class ExportSummary:
    dossiers: int
    rows: int
    uncompressed_bytes: int
    seconds: float


def centre_members(request: ExportRequest) -> list[tuple[str, Table, str]]:
    """The reference and centre tables' members, with the WHERE clause selecting each: the
    centre, the dossiers of ``request``, the users with rights on them and those rights."""
    ids = ", ".join(str(dossier_id) for dossier_id, _ in request.dossiers) or "NULL"
    centre_where = {
        "centre": f"`code` = {literal(request.centre_code)}",
        "dossier": f"`id` IN ({ids})",
        "utilisateur": f"`id` IN (SELECT `utilisateur_id` FROM {quote_identifier(request.schema)}.`droit_dossier` WHERE `dossier_id` IN ({ids}))",
        "droit_dossier": f"`dossier_id` IN ({ids})",
    }
    members = [(centre_member(t), t, "1 = 1") for t in REFERENCE_TABLES]
    members += [(centre_member(t), t, centre_where[t.name]) for t in CENTRE_TABLES]
    return members


def export_members(request: ExportRequest) -> list[tuple[str, Table, str]]:
    """Every TSV member of the export, in zip order, with the WHERE clause selecting it."""
    members = centre_members(request)
    for dossier_id, code in request.dossiers:
        members += [(dossier_member(code, t), t, f"`dossier_id` = {dossier_id}") for t in DOSSIER_TABLES]
    return members


def export_script(request: ExportRequest) -> str:
    """The SQL the client runs: one read-only snapshot, a marker before each member."""
    statements: list[str] = []
    for member, table, where in export_members(request):
        statements.append(marker(member))
        statements.append(select_tsv(table, request.schema, where))
    return snapshot_script(statements)


def stream_export(
    request: ExportRequest,
    client: ClientStarter,
    output: IO[bytes],
    zip_level: int = 1,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> ExportSummary:
    """Write the export of ``request`` to ``output`` as a zip; raises Unavailable if the
    database client fails (the zip is then left without its manifest and cannot verify)."""
    started = time.monotonic()
    created_at = now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return write_zip(
        output, zip_level, lambda archive: _write_export(request, client, archive, output, created_at, started)
    )


def manifest_header(request: ExportRequest, created_at: str) -> dict[str, Any]:
    """The manifest fields that describe the export rather than its members."""
    return {
        "created_at": created_at,
        "server": {
            "name": request.server_name,
            "role": request.server_role,
            "data_generation": request.data_generation,
            "software": f"neocuma-server {__version__}",
        },
        "schema_version": SCHEMA_VERSION,
        "centre": {"code": request.centre_code, "nom": request.centre_name},
        "user": {"login": request.user_login, "profil": request.user_profile},
        "tables": {t.name: list(t.column_names) for t in REFERENCE_TABLES + CENTRE_TABLES + DOSSIER_TABLES},
    }


def _write_export(
    request: ExportRequest,
    client: ClientStarter,
    archive: zipfile.ZipFile,
    output: IO[bytes],
    created_at: str,
    started: float,
) -> ExportSummary:
    members = export_members(request)
    top: dict[str, MemberDigest] = {
        SCHEMA_MEMBER: write_whole(archive, SCHEMA_MEMBER, generation_ddl().script().encode("utf-8")),
        LOAD_MEMBER: write_whole(
            archive, LOAD_MEMBER, load_script([(member, table) for member, table, _ in members]).encode("utf-8")
        ),
    }
    digests, dossier_rows = run_client(client, export_script(request), archive, {m for m, _, _ in members})
    revisions = dossier_revisions(dossier_rows)
    missing = [code for dossier_id, code in request.dossiers if dossier_id not in revisions]
    if missing:
        raise Unavailable(f"dossiers vanished during the export: {', '.join(missing)}")
    manifest = Manifest(
        members=top,
        centre_tables={t.name: digests[centre_member(t)] for t in REFERENCE_TABLES + CENTRE_TABLES},
        dossiers=[
            DossierEntry(
                dossier_id,
                code,
                revisions[dossier_id],
                {t.name: digests[dossier_member(code, t)] for t in DOSSIER_TABLES},
            )
            for dossier_id, code in request.dossiers
        ],
        **manifest_header(request, created_at),
    )
    write_whole(archive, MANIFEST_MEMBER, manifest.to_json())
    archive.close()
    output.flush()
    return ExportSummary(
        dossiers=len(request.dossiers),
        rows=sum(d.rows or 0 for d in digests.values()),
        uncompressed_bytes=sum(d.size for d in digests.values()),
        seconds=time.monotonic() - started,
    )
