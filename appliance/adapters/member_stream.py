"""The machinery of a streamed export: one ``mariadb`` client session, its marked output split
into zip members (docs/architecture.md, "Export and loading").

The client runs one script in one read-only transaction with a consistent snapshot. A marker
line (a NUL byte, which escaped data can never contain, then the member's name) precedes each
member's rows; Python splits the stream at the markers, writing each member into the zip as
it arrives and hashing and counting it on the way, so memory stays flat whatever the size. A
failed export is never finished into a zip that opens (``write_zip``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import stat
import threading
import time
import zipfile
from collections.abc import Callable
from typing import IO, Protocol, TypeVar

from appliance.adapters.mysql import ClientProcess
from appliance.domain.backup_format import MemberDigest, centre_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import TABLES_BY_NAME, Column, Table
from appliance.domain.sqltext import literal
from appliance.errors import ApplianceError, Unavailable

MARKER = b"\x00"
_CHUNK = 256 * 1024
_DOSSIER_COLUMNS = TABLES_BY_NAME["dossier"].column_names
DOSSIER_ROWS_MEMBER = centre_member(TABLES_BY_NAME["dossier"])
T = TypeVar("T")


class ClientStarter(Protocol):
    def start(self, extra_args: list[str]) -> ClientProcess: ...


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


def marker(member: str, source: str = "") -> str:
    """The SELECT printing ``member``'s marker line; with ``source`` (``FROM … WHERE …``) it
    prints it only when that finds a row, in the same snapshot as the member's rows."""
    return f"SELECT CONCAT(CHAR(0), {literal(member)}){' ' + source if source else ''};"


def snapshot_script(statements: list[str]) -> str:
    """``statements`` inside one read-only transaction with a consistent snapshot, then the
    end marker."""
    parts = [
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;",
        *statements,
        "COMMIT;",
        marker("end"),
    ]
    return "\n".join(parts) + "\n"


def dossier_revisions(dossier_tsv: bytes) -> dict[int, int]:
    """Revision of each dossier, read from the exported ``dossier`` rows (same snapshot)."""
    id_index, revision_index = _DOSSIER_COLUMNS.index("id"), _DOSSIER_COLUMNS.index("revision")
    result: dict[int, int] = {}
    for line in dossier_tsv.splitlines():
        fields = line.split(b"\t")
        result[int(fields[id_index])] = int(fields[revision_index])
    return result


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


def write_whole(archive: zipfile.ZipFile, name: str, data: bytes) -> MemberDigest:
    """Write a member held in memory (a script, the manifest)."""
    with archive.open(_entry(name, archive), "w") as handle:
        handle.write(data)
    return MemberDigest(hashlib.sha256(data).hexdigest(), len(data))


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


def write_zip(output: IO[bytes], zip_level: int, body: Callable[[zipfile.ZipFile], T]) -> T:
    """Run ``body`` on a zip written to ``output``; ``body`` closes the zip once its
    manifest is written. If it raises, the zip is never finished: no central directory."""
    guarded = _AbortableOutput(output)
    archive = zipfile.ZipFile(guarded, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=zip_level)  # type: ignore[call-overload]
    try:
        return body(archive)
    except BaseException:
        guarded.aborted = True
        with contextlib.suppress(Exception):
            archive.close()
        raise


def run_client(
    client: ClientStarter, script: str, archive: zipfile.ZipFile, expected: set[str]
) -> tuple[dict[str, MemberDigest], bytes]:
    """Run ``script`` in one client session and write each member it marks (one of
    ``expected``) into ``archive``; returns the digests of the members written and the rows
    of ``centre/dossier.tsv``. Raises Unavailable when the client fails or stops early."""
    process = client.start(["--batch", "--raw", "--skip-column-names", "--quick"])
    digests: dict[str, MemberDigest] = {}
    dossier_rows = io.BytesIO()
    try:
        assert process.process.stdin is not None and process.process.stdout is not None
        feeder = threading.Thread(
            target=_feed_script, args=(process.process.stdin, script.encode("utf-8")), daemon=True
        )
        feeder.start()  # the script can be larger than a pipe: feed it while reading the output
        ended = _demultiplex(process.process.stdout, archive, digests, dossier_rows, expected)
        status, stderr = process.finish(timeout=60)
    except BaseException:
        process.kill()
        raise
    if status != 0 or not ended:
        raise Unavailable(f"the database export failed: {stderr or 'the client stopped early'}")
    return digests, dossier_rows.getvalue()


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
    dossier_member_name = DOSSIER_ROWS_MEMBER
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
