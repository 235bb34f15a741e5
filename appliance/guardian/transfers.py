"""Dossier transfers (manual §12.3.5): "Descendre vers serveur local" (pull) and "Remonter
vers serveur distant" (restore), with the safeguards of DESIGN §5."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mysql.connector

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.dossier_rows import load_table, replace_dossier_rows
from appliance.adapters.mysql import connect, query_all
from appliance.adapters.remote_ssh import RemoteSession
from appliance.domain.backup_format import centre_member, dossier_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import DOSSIER_TABLES, TABLES_BY_NAME
from appliance.domain.states import Baseline
from appliance.errors import BadRequest, Refused, Unavailable
from appliance.guardian.context import Guardian
from appliance.guardian.dossiers import live_schema, local_dossiers, local_work, remote_dossiers, save_local_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    dossiers: list[str]
    saved: list[str]


@dataclass(frozen=True)
class RestoreResult:
    dossier: str
    revision: int
    pre_restore_copy: str


def pull(guardian: Guardian, codes: list[str], overwrite_local: bool = False) -> PullResult:
    """Download ``codes`` from the remote into the local server, in one transaction (its users
    see all of them change at once, or none). Refuses dossiers with local work unless
    ``overwrite_local``, which first saves their local copy under ``backups/local/``."""
    schema = live_schema(guardian)
    if schema is None:
        raise Refused("le serveur local n'a encore aucune donnée : lancez d'abord une synchronisation")
    local = local_dossiers(guardian)
    busy = [code for code in local_work(guardian, local) if code in codes]
    if busy and not overwrite_local:
        raise Refused(
            f"dossier(s) modifié(s) localement : {', '.join(busy)}; la descente écraserait ce travail. "
            "Remontez-les d'abord, ou relancez avec --overwrite-local (une copie locale est alors gardée)"
        )
    saved = [str(save_local_copy(guardian, local[code], "avant-descente")) for code in busy]
    guardian.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pull-", dir=guardian.work_dir))
    try:
        archive = work / "pull.zip"
        guardian.report(step=f"descente de {', '.join(codes)}")
        with guardian.remote_session() as session:
            remote = remote_dossiers(session)
            unknown = [code for code in codes if code not in remote]
            if unknown:
                raise Refused(f"dossier(s) absent(s) du serveur distant ou hors de vos droits : {', '.join(unknown)}")
            with archive.open("wb") as sink:
                session.export(codes, sink)
        verified = verify_backup(archive)
        if sorted(d.code for d in verified.manifest.dossiers) != sorted(set(codes)):
            raise BadRequest("the remote sent other dossiers than those asked for")
        _extract(archive, codes, work / "x")
        checked = {code: (local[code].revision if code in local else None) for code in codes}
        _apply(guardian, schema, verified.manifest.dossiers, work / "x", checked)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    baselines = guardian.baselines()
    for entry in verified.manifest.dossiers:
        baselines[entry.code] = Baseline(entry.revision, entry.revision)
    guardian.save_baselines(baselines)
    log.info("pulled %s from the remote server", ", ".join(codes))
    return PullResult(sorted(codes), saved)


def _extract(archive: Path, codes: list[str], directory: Path) -> None:
    with zipfile.ZipFile(archive) as source:
        names = [dossier_member(code, table) for code in codes for table in DOSSIER_TABLES]
        names += [centre_member(TABLES_BY_NAME[name]) for name in ("centre", "dossier", "utilisateur", "droit_dossier")]
        for name in names:
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open(name) as member, target.open("wb") as sink:
                shutil.copyfileobj(member, sink, 1 << 20)


def _apply(
    guardian: Guardian, schema: str, entries: list[Any], directory: Path, checked: dict[str, int | None]
) -> None:
    """Replace the dossiers' rows in one transaction. ``checked`` holds each dossier's local
    revision when local work was looked for (None: not on the local server); a dossier whose
    revision moved since (a LAN user wrote during the download, in fallback) is refused."""
    connection = connect(guardian.database, local_infile_dir=str(directory))
    quoted = quote_identifier(schema)
    try:
        connection.cmd_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        connection.start_transaction()
        live = query_all(connection, "SELECT data_generation FROM neocuma_control.live WHERE id = 1 LOCK IN SHARE MODE")
        if f"neocuma_g{live[0][0]}" != schema:
            raise Unavailable("the live generation changed meanwhile; nothing was written, try again")
        _refuse_moved(connection, quoted, checked)
        cursor = connection.cursor()
        for entry in entries:
            cursor.execute(f"DELETE FROM {quoted}.droit_dossier WHERE dossier_id = %s", (entry.id,))
            replace_dossier_rows(cursor, schema, entry.id, entry, directory)
        for name, replace in (("centre", True), ("utilisateur", True), ("dossier", True), ("droit_dossier", False)):
            load_table(
                cursor, schema, TABLES_BY_NAME[name], directory / centre_member(TABLES_BY_NAME[name]), replace=replace
            )
        cursor.close()
        connection.commit()
    except mysql.connector.Error as error:
        raise Unavailable(f"the pull was rolled back: {error.msg}") from error
    finally:
        with contextlib.suppress(mysql.connector.Error):
            connection.rollback()
        connection.close()


def _refuse_moved(connection: Any, quoted: str, checked: dict[str, int | None]) -> None:
    codes = sorted(checked)
    marks = ", ".join(["%s"] * len(codes))
    rows = query_all(
        connection, f"SELECT code, revision FROM {quoted}.dossier WHERE code IN ({marks}) FOR UPDATE", codes
    )
    now = {str(code): int(revision) for code, revision in rows}
    moved = [code for code in codes if now.get(code) != checked[code]]
    if moved:
        raise Refused(
            f"dossier(s) modifié(s) localement pendant la descente : {', '.join(moved)}; rien n'a été écrit, "
            "remontez-les d'abord ou relancez la descente"
        )


def restore(guardian: Guardian, codes: list[str], password: str, overwrite_remote: bool = False) -> list[RestoreResult]:
    """Push ``codes`` from the local server to the remote, one import (one transaction on the
    server) each, after the server checked the password typed again. Refuses a dossier that
    also changed on the remote since its baseline unless ``overwrite_remote``."""
    local = local_dossiers(guardian)
    missing = [code for code in codes if code not in local]
    if missing:
        raise Refused(f"dossier(s) absent(s) du serveur local : {', '.join(missing)}")
    baselines = guardian.baselines()
    results = []
    with guardian.remote_session() as session:
        remote = remote_dossiers(session)
        unknown = [code for code in codes if code not in remote]
        if unknown:
            raise Refused(f"dossier(s) absent(s) du serveur distant ou hors de vos droits : {', '.join(unknown)}")
        changed = [
            code for code in codes if _changed_on_remote(code, remote[code].revision, local[code].revision, baselines)
        ]
        if changed and not overwrite_remote:
            raise Refused(
                f"dossier(s) modifié(s) aussi sur le serveur distant depuis la dernière synchronisation : {', '.join(changed)}; "
                "relancez avec --overwrite-remote pour écraser la version distante (le serveur en garde une copie)"
            )
        for number, code in enumerate(codes, start=1):
            guardian.report(step=f"remontée de {code}", dossiers=number - 1)
            results.append(_restore_one(guardian, session, local[code], password))
            baselines[code] = Baseline(results[-1].revision, local[code].revision)
            guardian.save_baselines(baselines)
    return results


def _changed_on_remote(code: str, remote_revision: int, local_revision: int, baselines: dict[str, Baseline]) -> bool:
    """Did the remote copy move since the local one was taken from it? Without a baseline
    (never synchronised here) only equal revisions prove it did not."""
    if code in baselines:
        return remote_revision != baselines[code].remote_revision
    return remote_revision != local_revision


def _restore_one(guardian: Guardian, session: RemoteSession, dossier: Any, password: str) -> RestoreResult:
    path = save_local_copy(guardian, dossier, "remontee")
    verify_backup(path)
    reply = session.import_dossier(dossier.code, password, path)
    log.info(
        "restored dossier %s to the remote: revision %s, pre-restore copy %s",
        dossier.code,
        reply["revision"],
        reply["copie_avant_restauration"],
    )
    return RestoreResult(dossier.code, int(reply["revision"]), str(reply["copie_avant_restauration"]))
