"""What changed since the guardian's last backup (``v1 export-changes``, docs/protocol.md).

The guardian sends, on stdin, the dossiers its last verified backup holds::

    {"dossiers": {"120001": {"id": 100001, "revision": 17}, ...}}

The server compares them with the dossiers in the user's rights. A dossier is *unchanged*
when the guardian holds it with the same code, the same ID système and the same revision;
its members are then left out of the reply. Every other dossier in rights is *included*
(a new one, a moved revision, an ID système that changed under the same code). A dossier
the guardian holds that is no longer in rights, or no longer exists, is *removed*. This
module only parses and decides: it does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.protocol import MAX_DOSSIERS_PER_REQUEST, ProtocolError

MAX_HELD_DOCUMENT_BYTES = 256 * 1024
"""Bound of the document on stdin: 2,000 dossiers take about 120 KB written compactly."""
MAX_NUMBER = 2**64 - 1  # revisions are BIGINT UNSIGNED, IDs système INT UNSIGNED


@dataclass(frozen=True)
class HeldDossier:
    """A dossier as the guardian's last backup holds it."""

    id: int
    revision: int


@dataclass(frozen=True)
class CurrentDossier:
    """A dossier in the user's rights as the server's snapshot holds it."""

    id: int
    code: str
    revision: int


@dataclass(frozen=True)
class ChangeSet:
    """The decision: codes of the dossiers whose members the reply holds, of those it
    leaves out, and of those the guardian holds that left the rights; each ordered by code."""

    included: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def unchanged(held: HeldDossier | None, current: CurrentDossier) -> bool:
    """Whether the guardian already holds ``current`` as it is now."""
    return held is not None and held.id == current.id and held.revision == current.revision


def choose_changes(held: Mapping[str, HeldDossier], current: Iterable[CurrentDossier]) -> ChangeSet:
    """Split the dossiers in rights (``current``) into included and unchanged, and name the
    held dossiers that are not among them."""
    dossiers = sorted(current, key=lambda d: d.code)
    codes = {d.code for d in dossiers}
    return ChangeSet(
        included=tuple(d.code for d in dossiers if not unchanged(held.get(d.code), d)),
        unchanged=tuple(d.code for d in dossiers if unchanged(held.get(d.code), d)),
        removed=tuple(sorted(code for code in held if code not in codes)),
    )


def held_document(held: Mapping[str, HeldDossier]) -> bytes:
    """The document a guardian sends (compact JSON, ordered by code)."""
    body = {code: {"id": held[code].id, "revision": held[code].revision} for code in sorted(held)}
    return json.dumps({"dossiers": body}, separators=(",", ":")).encode("utf-8")


def _bad(message: str) -> ProtocolError:
    return ProtocolError("bad_request", f"document des révisions invalide : {message}")


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_NUMBER


def parse_held_document(raw: bytes) -> dict[str, HeldDossier]:
    """Parse the guardian's document; raises ProtocolError (``request_too_large`` past
    MAX_HELD_DOCUMENT_BYTES or MAX_DOSSIERS_PER_REQUEST dossiers, else ``bad_request``)
    naming what is wrong, in French."""
    if len(raw) > MAX_HELD_DOCUMENT_BYTES:
        raise ProtocolError(
            "request_too_large",
            f"document des révisions de plus de {MAX_HELD_DOCUMENT_BYTES} octets : aucune donnée n'a été exportée",
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _bad("ce n'est pas du texte UTF-8") from error
    except RecursionError as error:
        raise _bad("imbrication trop profonde") from error
    except json.JSONDecodeError as error:
        raise _bad(f"JSON illisible (ligne {error.lineno}, colonne {error.colno})") from error
    if not isinstance(data, dict) or set(data) != {"dossiers"} or not isinstance(data["dossiers"], dict):
        raise _bad('un objet {"dossiers": {"<code>": {"id": …, "revision": …}}} est attendu')
    entries = data["dossiers"]
    if len(entries) > MAX_DOSSIERS_PER_REQUEST:
        raise ProtocolError(
            "request_too_large", f"{len(entries)} dossiers envoyés, la limite est {MAX_DOSSIERS_PER_REQUEST}"
        )
    held: dict[str, HeldDossier] = {}
    for code, entry in entries.items():
        if not valid_dossier_code(code):
            raise _bad(f"code de dossier invalide : {code[:40]!r}")
        if not isinstance(entry, dict) or set(entry) != {"id", "revision"}:
            raise _bad(f"le dossier {code} doit porter exactement « id » et « revision »")
        if not _number(entry["id"]) or not _number(entry["revision"]):
            raise _bad(f"le dossier {code} a un id ou une révision qui n'est pas un entier positif")
        held[code] = HeldDossier(entry["id"], entry["revision"])
    return held
