"""Verifying a delta, the reply to ``v1 export-changes`` (docs/backup-format.md), in full.

The same checks as a complete backup's (``backup_reader``), on what a delta holds: a zip
with safe member names only, regular files, a ``manifest.json`` of format
``neocuma-data-changes``; members exactly the centre tables and the tables of the dossiers
the manifest marks included; each member's declared size, then, streamed, its size, sha256
and row count, and every row of a dossier's table belonging to that dossier.
"""

from __future__ import annotations

from appliance.adapters.backup_reader import (
    MAX_ENTRIES,
    ZIP_ERRORS,
    MemberCheck,
    Source,
    check_structure,
    open_zip,
    opener_of,
)
from appliance.domain.backup_format import dossier_member
from appliance.domain.delta_manifest import VerifiedDelta, parse_delta_manifest
from appliance.domain.schema import DOSSIER_TABLES
from appliance.errors import BadRequest

_BLOCK = 1 << 20
__all__ = ["VerifiedDelta", "verify_delta"]


def verify_delta(
    source: Source, max_unpacked: int | None = None, name: str | None = None, max_entries: int = MAX_ENTRIES
) -> VerifiedDelta:
    """Verify the delta ``source`` reads in full; raises BadRequest naming the first problem."""
    opener, default_name = opener_of(source)
    label = name or default_name
    with open_zip(opener, label, max_entries) as archive:
        manifest = check_structure(archive, parse_delta_manifest, max_unpacked, "delta")
        owners = {dossier_member(d.code, t): d.id for d in manifest.included() for t in DOSSIER_TABLES}
        for member, digest in manifest.all_members().items():
            check = MemberCheck(member, digest, owners.get(member))
            try:
                with archive.open(member) as handle:
                    while block := handle.read(_BLOCK):
                        check.update(block)
            except ZIP_ERRORS as error:
                raise BadRequest(f"{member} cannot be read: {error}") from error
            check.finish()
    return VerifiedDelta(label, manifest, opener)
