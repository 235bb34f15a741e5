"""Streamed delta: the reply to ``v1 export-changes`` (docs/protocol.md, docs/backup-format.md).

One ``mariadb`` session, one consistent snapshot, as for a full export (``member_stream``):
the centre-scope tables whole, then the members of every dossier in rights that the
guardian does not hold as it is now, then ``manifest.json``. Which dossiers those are is
decided *inside that snapshot*: for a dossier the guardian holds with the same ID système,
the marker and the rows of each member are selected only if the dossier's revision differs
from the guardian's, so a write committed after the rights were read cannot leave a dossier
listed at a revision its members are not. Once the stream has ended, the choice is made
again in Python (``domain.changes.choose_changes``) from the revisions the snapshot's
``centre/dossier.tsv`` holds, and the members the database sent must be exactly those.

A held dossier whose revision, read with the rights just before the snapshot, is the
guardian's is not asked for at all (``candidates``): with 1 % of 300 dossiers changed that
leaves 60 statements instead of 6,000. A write committed between that read and the snapshot
is still caught, by the check above: the export then fails, naming the dossier, with a
refusal marked retryable (``TryAgain``), and the guardian asks again within the same run,
resuming from what it received (``guardian/jobs/retrying.py``).
"""

from __future__ import annotations

import datetime as dt
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO

from appliance.adapters.backup_writer import ExportRequest, centre_members, manifest_header
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
from appliance.domain.backup_format import MANIFEST_MEMBER, centre_member, dossier_member
from appliance.domain.changes import ChangeSet, CurrentDossier, HeldDossier, choose_changes
from appliance.domain.ddl import quote_identifier
from appliance.domain.delta_manifest import DeltaDossier, DeltaManifest
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES
from appliance.errors import TryAgain, Unavailable


@dataclass(frozen=True)
class ChangesRequest:
    """Every dossier in rights (``export.dossiers``) and what the guardian holds."""

    export: ExportRequest
    held: Mapping[str, HeldDossier] = field(default_factory=dict)
    # The held dossiers whose revision differed when the rights were read (None: all of them).
    candidates: frozenset[str] | None = None


@dataclass(frozen=True)
class ChangesSummary:
    dossiers: int
    included: int
    removed: int
    rows: int
    uncompressed_bytes: int
    seconds: float


def _changed_source(schema: str, dossier_id: int, revision: int) -> str:
    """``FROM … WHERE …`` finding the dossier's row when its revision is not ``revision``."""
    return f"FROM {quote_identifier(schema)}.`dossier` WHERE `id` = {dossier_id} AND `revision` <> {revision}"


def changes_script(request: ChangesRequest) -> str:
    """The SQL the client runs: the centre tables, then each dossier's members,
    conditioned on its revision in the snapshot when the guardian holds it."""
    export = request.export
    statements: list[str] = []
    for member, table, where in centre_members(export):
        statements += [marker(member), select_tsv(table, export.schema, where)]
    for dossier_id, code in export.dossiers:
        held = request.held.get(code)
        unchanged = request.candidates is not None and code not in request.candidates
        if held is not None and held.id == dossier_id and unchanged:
            continue  # unchanged when the rights were read; the check after the stream is exact
        for table in DOSSIER_TABLES:
            member = dossier_member(code, table)
            where = f"`dossier_id` = {dossier_id}"
            if held is None or held.id != dossier_id:
                statements += [marker(member), select_tsv(table, export.schema, where)]
                continue
            source = _changed_source(export.schema, dossier_id, held.revision)
            # The dossier's row is a constant of the join: an unchanged dossier's tables are not read.
            where += f" AND `dossier_id` IN (SELECT `id` {source})"
            statements += [marker(member, source), select_tsv(table, export.schema, where)]
    return snapshot_script(statements)


def stream_changes(
    request: ChangesRequest,
    client: ClientStarter,
    output: IO[bytes],
    zip_level: int = 1,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> ChangesSummary:
    """Write the delta of ``request`` to ``output`` as a zip; raises Unavailable if the
    database client fails (the zip is then left without its manifest and cannot verify)."""
    started = time.monotonic()
    created_at = now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return write_zip(output, zip_level, lambda archive: _write(request, client, archive, output, created_at, started))


def _write(
    request: ChangesRequest,
    client: ClientStarter,
    archive: zipfile.ZipFile,
    output: IO[bytes],
    created_at: str,
    started: float,
) -> ChangesSummary:
    export = request.export
    expected = {member for member, _, _ in centre_members(export)}
    expected |= {dossier_member(code, t) for _, code in export.dossiers for t in DOSSIER_TABLES}
    digests, dossier_rows = run_client(client, changes_script(request), archive, expected)
    revisions = dossier_revisions(dossier_rows)
    missing = [code for dossier_id, code in export.dossiers if dossier_id not in revisions]
    if missing:
        raise Unavailable(f"dossiers vanished during the export: {', '.join(missing)}")
    current = [CurrentDossier(dossier_id, code, revisions[dossier_id]) for dossier_id, code in export.dossiers]
    change = choose_changes(request.held, current)
    _check_members_sent(change, set(digests), [code for _, code in export.dossiers])
    included = set(change.included)
    manifest = DeltaManifest(
        centre_tables={t.name: digests[centre_member(t)] for t in REFERENCE_TABLES + CENTRE_TABLES},
        dossiers=[
            DeltaDossier(
                d.id,
                d.code,
                d.revision,
                {t.name: digests[dossier_member(d.code, t)] for t in DOSSIER_TABLES} if d.code in included else None,
            )
            for d in current
        ],
        removed=list(change.removed),
        **manifest_header(export, created_at),
    )
    write_whole(archive, MANIFEST_MEMBER, manifest.to_json())
    archive.close()
    output.flush()
    return ChangesSummary(
        dossiers=len(current),
        included=len(change.included),
        removed=len(change.removed),
        rows=sum(d.rows or 0 for d in digests.values()),
        uncompressed_bytes=sum(d.size for d in digests.values()),
        seconds=time.monotonic() - started,
    )


def _check_members_sent(change: ChangeSet, sent: set[str], codes: list[str]) -> None:
    """The database sent every member of the included dossiers and none of the others;
    raises TryAgain otherwise (a delta that would list a revision its rows are not): the
    next request reads the rights, and so the candidates, anew."""
    included = set(change.included)
    wrong = [
        code for code in codes if any((dossier_member(code, t) in sent) != (code in included) for t in DOSSIER_TABLES)
    ]
    if wrong:
        raise TryAgain(
            f"dossier(s) modifié(s) pendant le début de l'export, redemandez les changements : {', '.join(wrong[:5])}"
        )
