"""What a cut transfer already brought, made usable by the next attempt (issue 13, item 4;
docs/backup-format.md, "Resuming a cut transfer").

A partial export or delta is walked with ``salvage.salvage_members``: the members that
arrived whole. Its ``centre/dossier.tsv`` (written before any dossier's members, from the
same snapshot) gives each dossier's ID système and revision. A dossier whose every table
arrived whole, every row of each starting with its ID système and carrying as many fields
as the table has columns, is **salvaged**: its members are measured (sha256, size, rows)
as a manifest would list them, and located in the partial file so that the assembly copies
their compressed bytes as they are, checking them again as they go by.

The next attempt sends the salvaged dossiers as held (``v1 export-changes``): the server
leaves out those it still has at the same ID système and revision, which are then copied
from the partial file. Whatever in a partial file cannot be trusted is simply not salvaged;
this module never raises for what the file holds.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

from appliance.adapters.backup_reader import MemberCheck
from appliance.adapters.raw_zip import read_span
from appliance.adapters.salvage import salvage_members
from appliance.domain.backup_format import DossierEntry, MemberDigest, Opener, centre_member, dossier_member
from appliance.domain.salvage import Salvage, Salvaged
from appliance.domain.schema import DOSSIER_TABLES, TABLES_BY_NAME
from appliance.domain.tables import Table
from appliance.errors import BadRequest

_DOSSIER = TABLES_BY_NAME["dossier"]
DOSSIER_ROWS = centre_member(_DOSSIER)
_INFLATED = 4 << 20
MAX_DOSSIER_ROWS_BYTES = 64 << 20  # centre/dossier.tsv is read whole: a few hundred bytes per dossier


def salvage(name: str, opener: Opener) -> Salvage:
    """The whole dossiers of the partial file ``opener`` reads; an empty Salvage when
    nothing in it can be used (unreadable, cut before the dossier list...)."""
    try:
        with opener() as handle:
            members = {member.name: member for member in salvage_members(handle)}
            listed = members.get(DOSSIER_ROWS)
            if listed is None or listed.size > MAX_DOSSIER_ROWS_BYTES:
                return Salvage(name, opener)
            revisions = _dossier_rows(b"".join(_inflated(handle, listed)))
            dossiers: dict[str, DossierEntry] = {}
            for code, (dossier_id, revision) in revisions.items():
                entry = _measured(handle, members, code, dossier_id, revision)
                if entry is not None:
                    dossiers[code] = entry
    except OSError:
        return Salvage(name, opener)
    locations = {dossier_member(code, t): members[dossier_member(code, t)] for code in dossiers for t in DOSSIER_TABLES}
    return Salvage(name, opener, dossiers, locations)


def raw_blocks(handle: BinaryIO, location: Salvaged) -> Iterator[bytes]:
    """The compressed bytes of a salvaged member, read from the partial file in blocks;
    raises BadRequest when the file has become shorter."""
    truncated = f"{location.name} : le fichier interrompu a été tronqué depuis son examen"
    return read_span(handle, location.data_offset, location.compressed, truncated)


def _inflated(handle: BinaryIO, location: Salvaged) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15) if location.method else None
    for block in raw_blocks(handle, location):
        if inflater is None:
            yield block
            continue
        pending = block
        while pending:
            yield inflater.decompress(pending, _INFLATED)
            pending = inflater.unconsumed_tail
    if inflater is not None:
        yield inflater.flush()


def _dossier_rows(content: bytes) -> dict[str, tuple[int, int]]:
    """code -> (ID système, revision) of each row of ``centre/dossier.tsv`` that reads
    plainly (a code with an escape in it is left out)."""
    columns = _DOSSIER.column_names
    at_id, at_code, at_revision = columns.index("id"), columns.index("code"), columns.index("revision")
    found: dict[str, tuple[int, int]] = {}
    for line in content.split(b"\n"):
        fields = line.split(b"\t")
        if len(fields) != len(columns) or b"\\" in fields[at_code]:
            continue
        try:
            code = fields[at_code].decode("utf-8")
            found[code] = (int(fields[at_id]), int(fields[at_revision]))
        except ValueError:
            continue
    return found


def _measured(
    handle: BinaryIO, members: dict[str, Salvaged], code: str, dossier_id: int, revision: int
) -> DossierEntry | None:
    tables: dict[str, MemberDigest] = {}
    for table in DOSSIER_TABLES:
        location = members.get(dossier_member(code, table))
        if location is None:
            return None
        digest = _measure(handle, location, table, dossier_id)
        if digest is None:
            return None
        tables[table.name] = digest
    return DossierEntry(dossier_id, code, revision, tables)


def _measure(handle: BinaryIO, location: Salvaged, table: Table, dossier_id: int) -> MemberDigest | None:
    """The member's digest, or None when a row is another dossier's or has another number
    of fields than the table has columns (tabs inside values are escaped)."""
    check = MemberCheck(location.name, MemberDigest("", 0), dossier_id)
    tabs = 0
    try:
        for data in _inflated(handle, location):
            check.update(data)
            tabs += data.count(b"\t")
        digest = check.measured()
    except (BadRequest, zlib.error):
        return None
    if digest.size != location.size or tabs != (digest.rows or 0) * (len(table.columns) - 1):
        return None
    return digest
