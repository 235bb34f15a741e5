"""Both lists of dossiers side by side with their states (manual §12.3.5, DESIGN §3), and
local copies of dossiers saved before anything overwrites local work."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.adapters import generations
from appliance.adapters.backup_writer import ExportRequest, stream_export
from appliance.adapters.mysql import query_all
from appliance.adapters.remote_ssh import RemoteSession
from appliance.adapters.state_files import fsync_directory
from appliance.domain.ddl import generation_schema_name, quote_identifier
from appliance.domain.states import DossierState, dossier_state
from appliance.errors import Refused
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalDossier:
    id: int
    code: str
    name: str
    revision: int


@dataclass(frozen=True)
class RemoteDossier:
    code: str
    name: str
    revision: int
    exporte: bool


@dataclass(frozen=True)
class DossierRow:
    code: str
    name: str
    state: DossierState
    remote_revision: int | None
    local_revision: int | None
    exporte: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "state": self.state.state,
            "remote_revision": self.remote_revision,
            "local_revision": self.local_revision,
            "exporte": self.exporte,
        }


def live_schema(guardian: Guardian) -> str | None:
    with guardian.connection() as connection:
        data, _, _ = generations.live_generations(connection)
    return None if data is None else generation_schema_name(data)


def local_dossiers(guardian: Guardian) -> dict[str, LocalDossier]:
    """The dossiers of the local server's live generation (none before the first sync)."""
    schema = live_schema(guardian)
    if schema is None:
        return {}
    with guardian.connection() as connection:
        return read_local_dossiers(connection, schema)


def read_local_dossiers(connection: Any, schema: str) -> dict[str, LocalDossier]:
    """The dossiers of generation schema ``schema``, read on ``connection`` (so inside the
    caller's transaction when it has one)."""
    rows = query_all(
        connection, f"SELECT id, code, nom, revision FROM {quote_identifier(schema)}.dossier ORDER BY code"
    )
    return {str(r[1]): LocalDossier(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows}


def remote_dossiers(session: RemoteSession) -> dict[str, RemoteDossier]:
    answer = session.json("v1 dossiers")
    return {
        str(d["code"]): RemoteDossier(str(d["code"]), str(d["nom"]), int(d["revision"]), bool(d["exporte"]))
        for d in answer.get("dossiers", [])
    }


def dossier_rows(
    guardian: Guardian, remote: dict[str, RemoteDossier], local: dict[str, LocalDossier]
) -> list[DossierRow]:
    """Every dossier of either side, by code, with its state against its baseline."""
    baselines = guardian.baselines()
    rows = []
    for code in sorted(set(remote) | set(local)):
        r, loc = remote.get(code), local.get(code)
        state = dossier_state(
            r.revision if r else None, loc.revision if loc else None, baselines.get(code), r.exporte if r else False
        )
        name = r.name if r is not None else loc.name if loc is not None else code
        rows.append(
            DossierRow(
                code,
                name,
                state,
                r.revision if r else None,
                loc.revision if loc else None,
                r.exporte if r else False,
            )
        )
    return rows


def local_work(guardian: Guardian, local: dict[str, LocalDossier]) -> list[str]:
    """Dossiers changed locally since their baseline; needs no link to the remote."""
    baselines = guardian.baselines()
    return sorted(
        code for code, d in local.items() if code not in baselines or d.revision != baselines[code].local_revision
    )


def save_local_copy(guardian: Guardian, dossier: LocalDossier, reason: str) -> Path:
    """Export one dossier of the local live generation into ``backups/local/`` (the backup
    format, restorable with stock tools) before it is overwritten; returns the file."""
    schema = live_schema(guardian)
    if schema is None:
        raise Refused("le serveur local n'a aucune donnée")
    with guardian.connection() as connection:
        data, _, _ = generations.live_generations(connection)
        centre = query_all(
            connection,
            f"SELECT d.centre_code, c.nom FROM {quote_identifier(schema)}.dossier d LEFT JOIN {quote_identifier(schema)}.centre c"
            " ON c.code = d.centre_code WHERE d.id = %s",
            (dossier.id,),
        )[0]
    stamp = guardian.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    guardian.local_copies_dir.mkdir(parents=True, exist_ok=True)
    path = guardian.local_copies_dir / f"{stamp}-{dossier.code}-{reason}.zip"
    temporary = path.with_name(f".{path.name}.part")
    request = ExportRequest(
        schema=schema,
        data_generation=data or 0,
        centre_code=str(centre[0]),
        centre_name=str(centre[1] or centre[0]),
        user_login=guardian.credentials().login,
        user_profile="local-copy",
        dossiers=[(dossier.id, dossier.code)],
        server_name="neocuma-local",
        server_role="local",
    )
    with temporary.open("wb") as handle:
        stream_export(request, guardian.mysql_client(), handle, zip_level=6, now=guardian.now)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, path)
    fsync_directory(path.parent)
    log.info("saved the local copy of dossier %s to %s", dossier.code, path)
    return path
