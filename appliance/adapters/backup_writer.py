"""Streamed data export: a set of dossiers as a zip in the backup format (docs/backup-format.md).

The rows come from one ``mariadb`` client session holding one consistent snapshot: MariaDB
itself escapes every value into LOAD DATA's TSV format, so Python never parses a row. The
client's output is split into zip members at marker lines (a NUL byte, which escaped data
can never contain), hashed and counted on the way, and written to the output stream as it
arrives: memory stays flat whatever the size. ``manifest.json`` is written last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import stat
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Protocol

from appliance import __version__
from appliance.adapters.mysql import ClientProcess
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
from appliance.domain.schema import (
    CENTRE_TABLES,
    DOSSIER_TABLES,
    REFERENCE_TABLES,
    SCHEMA_VERSION,
    TABLES_BY_NAME,
    Column,
    Table,
)
from appliance.domain.sqltext import literal
from appliance.errors import ApplianceError, Unavailable

log = logging.getLogger(__name__)

MARKER = b"\x00"
_CHUNK = 256 * 1024
_DOSSIER_COLUMNS = TABLES_BY_NAME["dossier"].column_names


class ClientStarter(Protocol):
    def start(self, extra_args: list[str]) -> ClientProcess: ...


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


def _escaped(column: Column) -> str:
    name = quote_identifier(column.name)
    if not column.is_text:
        return f"IFNULL({name}, '\\\\N')"
    value = name
    for raw, escaped in (("\\\\", "\\\\\\\\"), ("\\t", "\\\\t"), ("\\n", "\\\\n"), ("\\r", "\\\\r"), ("\\0", "\\\\0")):
        value = f"REPLACE({value}, '{raw}', '{escaped}')"
    return f"IFNULL({value}, '\\\\N')"


def select_tsv(table: Table, schema: str, where: str) -> str:
    """A SELECT returning each row of ``table`` as one escaped TSV line, in key order."""
    fields = ", ".join(_escaped(column) for column in table.columns)
    order = ", ".join(quote_identifier(name) for name in table.primary_key)
    return (
        f"SELECT CONCAT_WS('\\t', {fields}) FROM {quote_identifier(schema)}.{quote_identifier(table.name)}"
        f" WHERE {where} ORDER BY {order};"
    )


def _marker(member: str) -> str:
    return f"SELECT CONCAT(CHAR(0), {literal(member)});"


def export_members(request: ExportRequest) -> list[tuple[str, Table, str]]:
    """Every TSV member of the export, in zip order, with the WHERE clause selecting it."""
    ids = ", ".join(str(dossier_id) for dossier_id, _ in request.dossiers) or "NULL"
    centre_where = {
        "centre": f"`code` = {literal(request.centre_code)}",
        "dossier": f"`id` IN ({ids})",
        "utilisateur": f"`id` IN (SELECT `utilisateur_id` FROM {quote_identifier(request.schema)}.`droit_dossier` WHERE `dossier_id` IN ({ids}))",
        "droit_dossier": f"`dossier_id` IN ({ids})",
    }
    members = [(centre_member(t), t, "1 = 1") for t in REFERENCE_TABLES]
    members += [(centre_member(t), t, centre_where[t.name]) for t in CENTRE_TABLES]
    for dossier_id, code in request.dossiers:
        members += [(dossier_member(code, t), t, f"`dossier_id` = {dossier_id}") for t in DOSSIER_TABLES]
    return members


def export_script(request: ExportRequest) -> str:
    """The SQL the client runs: one read-only snapshot, a marker before each member."""
    parts = [
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;",
    ]
    for member, table, where in export_members(request):
        parts.append(_marker(member))
        parts.append(select_tsv(table, request.schema, where))
    parts.append("COMMIT;")
    parts.append(_marker("end"))
    return "\n".join(parts) + "\n"


class _MemberWriter:
    """The zip member being written, with its running sha256, size and row count."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self.handle = archive.open(_entry(name, archive), "w", force_zip64=True)
        self.sha = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        if data:
            self.handle.write(data)
            self.sha.update(data)
            self.size += len(data)
            self.rows += data.count(b"\n")

    def close(self) -> MemberDigest:
        self.handle.close()
        return MemberDigest(self.sha.hexdigest(), self.size, self.rows)


def _entry(name: str, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """A member dated now (UTC), readable by everyone once extracted."""
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = archive.compression
    # ZipFile.open() only applies the archive's level to members it names itself.
    info._compresslevel = archive.compresslevel  # type: ignore[attr-defined]
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _write_whole(archive: zipfile.ZipFile, name: str, data: bytes) -> MemberDigest:
    with archive.open(_entry(name, archive), "w") as handle:
        handle.write(data)
    return MemberDigest(hashlib.sha256(data).hexdigest(), len(data))


def _revisions(dossier_tsv: bytes) -> dict[int, int]:
    """Revision of each dossier, read from the exported ``dossier`` rows (same snapshot)."""
    id_index, revision_index = _DOSSIER_COLUMNS.index("id"), _DOSSIER_COLUMNS.index("revision")
    result: dict[int, int] = {}
    for line in dossier_tsv.splitlines():
        fields = line.split(b"\t")
        result[int(fields[id_index])] = int(fields[revision_index])
    return result


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
    guarded = _AbortableOutput(output)
    archive = zipfile.ZipFile(guarded, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=zip_level)  # type: ignore[call-overload]
    try:
        return _write_export(request, client, archive, output, created_at, started)
    except BaseException:
        # Never finish a failed export into a valid-looking zip: no central directory, no manifest.
        guarded.aborted = True
        with contextlib.suppress(Exception):
            archive.close()
        raise


class _AbortableOutput:
    """Passes writes through until aborted; then every write fails, so a failed export is
    never completed into a zip that opens."""

    def __init__(self, output: IO[bytes]) -> None:
        self.output = output
        self.aborted = False

    def write(self, data: bytes) -> int:
        if self.aborted:
            raise OSError("export aborted")
        return self.output.write(data)

    def flush(self) -> None:
        if not self.aborted:
            self.output.flush()


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
        SCHEMA_MEMBER: _write_whole(archive, SCHEMA_MEMBER, generation_ddl().script().encode("utf-8")),
        LOAD_MEMBER: _write_whole(
            archive, LOAD_MEMBER, load_script([(member, table) for member, table, _ in members]).encode("utf-8")
        ),
    }
    process = client.start(["--batch", "--raw", "--skip-column-names", "--quick"])
    digests: dict[str, MemberDigest] = {}
    dossier_rows = io.BytesIO()
    try:
        assert process.process.stdin is not None and process.process.stdout is not None
        feeder = threading.Thread(
            target=_feed_script, args=(process.process.stdin, export_script(request).encode("utf-8")), daemon=True
        )
        feeder.start()  # the script can be larger than a pipe: feed it while reading the output
        ended = _demultiplex(process.process.stdout, archive, digests, dossier_rows, {m for m, _, _ in members})
        status, stderr = process.finish(timeout=60)
    except BaseException:
        process.kill()
        raise
    if status != 0 or not ended:
        raise Unavailable(f"the database export failed: {stderr or 'the client stopped early'}")
    revisions = _revisions(dossier_rows.getvalue())
    manifest = Manifest(
        created_at=created_at,
        server={
            "name": request.server_name,
            "role": request.server_role,
            "data_generation": request.data_generation,
            "software": f"neocuma-server {__version__}",
        },
        schema_version=SCHEMA_VERSION,
        centre={"code": request.centre_code, "nom": request.centre_name},
        user={"login": request.user_login, "profil": request.user_profile},
        members=top,
        centre_tables={t.name: digests[centre_member(t)] for t in REFERENCE_TABLES + CENTRE_TABLES},
        dossiers=[
            DossierEntry(
                dossier_id,
                code,
                revisions.get(dossier_id, 0),
                {t.name: digests[dossier_member(code, t)] for t in DOSSIER_TABLES},
            )
            for dossier_id, code in request.dossiers
        ],
        tables={t.name: list(t.column_names) for t in REFERENCE_TABLES + CENTRE_TABLES + DOSSIER_TABLES},
    )
    missing = [code for dossier_id, code in request.dossiers if dossier_id not in revisions]
    if missing:
        raise Unavailable(f"dossiers vanished during the export: {', '.join(missing)}")
    _write_whole(archive, MANIFEST_MEMBER, manifest.to_json())
    archive.close()
    output.flush()
    return ExportSummary(
        dossiers=len(request.dossiers),
        rows=sum(d.rows or 0 for d in digests.values()),
        uncompressed_bytes=sum(d.size for d in digests.values()),
        seconds=time.monotonic() - started,
    )


def _feed_script(stdin: IO[bytes], script: bytes) -> None:
    try:
        stdin.write(script)
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the client stopped early; its exit status tells why


def _demultiplex(
    stream: IO[bytes],
    archive: zipfile.ZipFile,
    digests: dict[str, MemberDigest],
    dossier_rows: io.BytesIO,
    expected: set[str],
) -> bool:
    """Split the client's output into members; True when the end marker was seen."""
    holder: list[_MemberWriter] = []
    try:
        return _split(stream, archive, digests, dossier_rows, expected, holder)
    except BaseException:
        for writer in holder:
            with contextlib.suppress(Exception):
                writer.handle.close()
        raise


def _split(
    stream: IO[bytes],
    archive: zipfile.ZipFile,
    digests: dict[str, MemberDigest],
    dossier_rows: io.BytesIO,
    expected: set[str],
    holder: list[_MemberWriter],
) -> bool:
    current: _MemberWriter | None = None
    pending = b""
    dossier_member_name = centre_member(TABLES_BY_NAME["dossier"])
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        buffer = pending + chunk
        pending = b""
        while buffer:
            position = buffer.find(MARKER)
            if position < 0:
                _feed(current, buffer, dossier_rows, dossier_member_name)
                break
            _feed(current, buffer[:position], dossier_rows, dossier_member_name)
            end = buffer.find(b"\n", position)
            if end < 0:
                pending = buffer[position:]
                break
            name = buffer[position + 1 : end].decode("utf-8")
            buffer = buffer[end + 1 :]
            if current is not None:
                holder.clear()
                digests[current.name] = current.close()
                current = None
            if name == "end":
                return True
            if name not in expected:
                raise ApplianceError(f"unexpected export member {name!r}")
            current = _MemberWriter(archive, name)
            holder.append(current)
    if current is not None:
        holder.clear()
        digests[current.name] = current.close()
    return False


def _feed(current: _MemberWriter | None, data: bytes, dossier_rows: io.BytesIO, dossier_member_name: str) -> None:
    if not data:
        return
    if current is None:
        raise ApplianceError("the export stream holds data before its first marker")
    current.write(data)
    if current.name == dossier_member_name:
        dossier_rows.write(data)
