"""What a pull may write besides the pulled dossiers' own tables (pure): the centre-scope
rows of a backup of those dossiers, and nothing else. A pull loads ``centre``,
``utilisateur`` and ``dossier`` with REPLACE: a row of another dossier there would reset
that dossier's revision (and hide the fallback work done on it), a user without a right on
the pulled dossiers would replace a local account, a right on another dossier would grant
it. The manifest's own counts are checked as well."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from appliance.domain.backup_format import Manifest
from appliance.domain.schema import TABLES_BY_NAME
from appliance.errors import BadRequest

_CODE = TABLES_BY_NAME["dossier"].column_names.index("code")
_REVISION = TABLES_BY_NAME["dossier"].column_names.index("revision")


def _rows(data: bytes) -> list[list[bytes]]:
    """TSV rows in LOAD DATA's format (tabs and newlines inside values are escaped)."""
    return [line.split(b"\t") for line in data.split(b"\n") if line]


def check_pull_scope(manifest: Manifest, centre_members: Mapping[str, bytes]) -> None:
    """Raise BadRequest naming the first centre-scope row that is not the pulled dossiers'.
    ``centre_members`` holds the ``centre``, ``dossier``, ``utilisateur`` and
    ``droit_dossier`` TSV members by table name."""
    ids = {str(entry.id).encode() for entry in manifest.dossiers}
    centre_code = str(manifest.centre.get("code", "")).encode()
    dossiers = _rows(centre_members["dossier"])
    _expect(dossiers, [str(e.id).encode() for e in manifest.dossiers], 0, "dossier", "id")
    listed = {str(e.id).encode(): (e.code.encode(), str(e.revision).encode()) for e in manifest.dossiers}
    for row in dossiers:
        if len(row) < 2 or row[1] != centre_code:
            raise BadRequest(
                f"descente refusée : le dossier {row[0][:20]!r} n'est pas du centre {centre_code.decode()}"
            )
        # The manifest's revisions become the baselines: a row saying otherwise would hide
        # local work done later (or invent some).
        if len(row) <= _REVISION or (row[_CODE], row[_REVISION]) != listed[row[0]]:
            raise BadRequest(
                f"descente refusée : la ligne du dossier {row[0][:20]!r} n'a pas le code et la révision du manifeste"
            )
    centres = _rows(centre_members["centre"])
    if [row[0] for row in centres] != [centre_code]:
        raise BadRequest(f"descente refusée : centre.tsv doit tenir le seul centre {centre_code.decode()}")
    rights = _rows(centre_members["droit_dossier"])
    for row in rights:
        if len(row) < 2 or row[1] not in ids:
            raise BadRequest(
                f"descente refusée : droit_dossier.tsv donne un droit sur un autre dossier ({row[1][:20] if len(row) > 1 else b''!r})"
            )
    holders = {row[0] for row in rights}
    for row in _rows(centre_members["utilisateur"]):
        if row[0] not in holders:
            raise BadRequest(
                f"descente refusée : utilisateur.tsv tient l'utilisateur {row[0][:20]!r}, sans droit sur les dossiers descendus"
            )
    for name, data in centre_members.items():
        digest = manifest.centre_tables.get(name)
        if digest is not None and digest.rows is not None and len(_rows(data)) != digest.rows:
            raise BadRequest(
                f"descente refusée : {name}.tsv tient {len(_rows(data))} lignes, le manifeste {digest.rows}"
            )


def _expect(rows: list[list[bytes]], wanted: Sequence[bytes], column: int, table: str, what: str) -> None:
    found = sorted(row[column] for row in rows if len(row) > column)
    if found != sorted(wanted) or len(found) != len(rows):
        extra = sorted(set(found) - set(wanted))
        raise BadRequest(
            f"descente refusée : {table}.tsv ne tient pas exactement les dossiers descendus"
            f" ({what} en trop : {b', '.join(extra[:5]).decode('utf-8', 'replace') or 'aucun'})"
        )
