"""What the SSH endpoint answers, request by request, on top of a ``RequestView``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from appliance import __version__
from appliance.adapters.backup_writer import ExportRequest
from appliance.adapters.changes_writer import ChangesRequest
from appliance.domain.changes import HeldDossier
from appliance.domain.protocol import PROTOCOL_NAME, SUPPORTED_VERSIONS, ProtocolError
from appliance.server.store import DossierInfo, RequestView, User

log = logging.getLogger(__name__)


def protocol_reply(server_name: str, role: str) -> dict[str, Any]:
    return {
        "protocol": PROTOCOL_NAME,
        "versions": list(SUPPORTED_VERSIONS),
        "server": server_name,
        "role": role,
        "software": f"neocuma-server {__version__}",
    }


def whoami_reply(view: RequestView, user: User, server_name: str, role: str, now: dt.datetime) -> dict[str, Any]:
    centre = view.centre(user.centre_code)
    dossiers = view.dossiers_for(user.id)
    return {
        "server": {
            "name": server_name,
            "role": role,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_generation": view.live.data_generation,
            "schema_version": view.schema_version,
        },
        "user": {"login": user.login, "nom": user.last_name, "prenom": user.first_name, "profil": user.profile},
        "centre": {"code": user.centre_code, "nom": centre[1] if centre else None},
        "dossiers": [dossier.code for dossier in dossiers],
    }


def dossiers_reply(view: RequestView, user: User) -> dict[str, Any]:
    dossiers = view.dossiers_for(user.id)
    counts = view.row_counts([d.id for d in dossiers])
    return {
        "data_generation": view.live.data_generation,
        "dossiers": [dict(d.as_json(), lignes=counts[d.id]) for d in dossiers],
    }


def revisions_reply(view: RequestView, user: User) -> dict[str, Any]:
    """``v1 dossiers`` without the row counts, which cost the database a count of every row
    in rights (about 1 s for 4.5 M rows): what the guardian's monitor asks every minute."""
    return {
        "data_generation": view.live.data_generation,
        "dossiers": [d.as_json() for d in view.dossiers_for(user.id)],
    }


def time_reply(now: dt.datetime) -> dict[str, Any]:
    return {"utc": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "epoch": now.timestamp()}


def resolve_export(
    view: RequestView,
    user: User,
    codes: tuple[str, ...],
    server_name: str,
    role: str,
    rights: list[DossierInfo] | None = None,
) -> ExportRequest:
    """Check a requested export against the user's rights (``rights`` when the caller read
    them already); raises ProtocolError refusing the whole request if any dossier is
    unknown or outside them."""
    mine: dict[str, DossierInfo] = {d.code: d for d in (view.dossiers_for(user.id) if rights is None else rights)}
    wanted = list(codes) if codes else sorted(mine)
    outside = [code for code in wanted if code not in mine]
    if outside:
        existing = view.dossier_codes_exist(outside)
        refused = [code for code in outside if code in existing]
        if refused:
            log.warning("export refused for %s: dossiers outside rights: %s", user.login, ", ".join(refused))
            raise ProtocolError(
                "outside_rights",
                f"dossier(s) hors de vos droits : {', '.join(refused)}; aucune donnée n'a été exportée",
            )
        log.warning("export refused for %s: unknown dossiers: %s", user.login, ", ".join(outside))
        raise ProtocolError("unknown_dossier", f"dossier(s) inconnu(s) sur ce serveur : {', '.join(outside)}")
    centre = view.centre(user.centre_code)
    assert view.live.schema is not None and view.live.data_generation is not None
    return ExportRequest(
        schema=view.live.schema,
        data_generation=view.live.data_generation,
        centre_code=user.centre_code,
        centre_name=centre[1] if centre else user.centre_code,
        user_login=user.login,
        user_profile=user.profile,
        dossiers=[(mine[code].id, code) for code in sorted(wanted)],
        server_name=server_name,
        server_role=role,
    )


def resolve_changes(
    view: RequestView, user: User, held: Mapping[str, HeldDossier], server_name: str, role: str
) -> ChangesRequest:
    """The delta of every dossier in the user's rights against what the guardian holds. A
    held dossier outside the rights or unknown here is no refusal: the delta names it removed."""
    rights = view.dossiers_for(user.id)
    now = {d.code: HeldDossier(d.id, d.revision) for d in rights}
    export = resolve_export(view, user, (), server_name, role, rights)
    mine = {code for _, code in export.dossiers}
    gone = sorted(code for code in held if code not in mine)
    if gone:
        log.info("export-changes for %s: held dossiers no longer in rights: %s", user.login, ", ".join(gone[:20]))
    candidates = frozenset(code for code in mine if held.get(code) != now.get(code))
    return ChangesRequest(export, dict(held), candidates)
