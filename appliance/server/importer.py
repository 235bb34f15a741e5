"""Dossier import: what a restore to the central server lands on (docs/design.md §4).

The backup is verified in full before anything is written (zip structure, safe names,
manifest, every member's size, sha256 and rows, every row belonging to the dossier); it must
hold exactly the dossier named by the request, with the same ID système and schema version;
the server keeps a pre-restore copy of the dossier; then, in one transaction, the dossier's
rows are replaced, counted and checked, and its revision moves forward. Rows of every other
dossier are never touched: every statement is bounded by ``dossier_id``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.backup_reader import open_zip, verify_backup
from appliance.adapters.backup_writer import ClientStarter, ExportRequest, stream_export
from appliance.adapters.dossier_rows import replace_dossier_rows
from appliance.adapters.mysql import MysqlSettings, connect, query_all
from appliance.domain.backup_format import DossierEntry, VerifiedBackup, dossier_member
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import DOSSIER_TABLES
from appliance.errors import BadRequest, Refused, Unavailable
from appliance.server.prerestore import PreRestoreStore
from appliance.server.store import Store

log = logging.getLogger(__name__)
# One dossier's backup: the top members, the centre tables and the dossier's own tables.
IMPORT_MAX_ENTRIES = 256


@dataclass(frozen=True)
class ImportResult:
    dossier: str
    revision_before: int
    revision: int
    rows: int
    pre_restore_copy: str

    def as_json(self) -> dict[str, object]:
        return {
            "dossier": self.dossier,
            "revision_avant": self.revision_before,
            "revision": self.revision,
            "lignes": self.rows,
            "copie_avant_restauration": self.pre_restore_copy,
        }


@dataclass(frozen=True)
class _Target:
    id: int
    code: str
    centre_code: str
    centre_name: str
    schema: str
    generation: int
    schema_version: int | None


class Importer:
    def __init__(
        self,
        database: MysqlSettings,
        store: Store,
        client: ClientStarter,
        copies: PreRestoreStore,
        work_dir: Path,
        server_name: str,
        role: str,
        now: Callable[[], dt.datetime],
        max_unpacked: int | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self.client = client
        self.copies = copies
        self.work_dir = work_dir
        self.server_name = server_name
        self.role = role
        self.now = now
        self.max_unpacked = max_unpacked

    def import_dossier(self, code: str, backup_path: Path, requested_by: str) -> ImportResult:
        """Replace dossier ``code`` with the backup at ``backup_path``; raises BadRequest
        (the backup), Refused (exporté) or Unavailable; nothing is changed unless it returns."""
        verified = verify_backup(backup_path, self.max_unpacked, max_entries=IMPORT_MAX_ENTRIES)
        target = self._target(code)
        entry = _check_manifest(verified, target)
        copy, copied_revision = self._pre_restore_copy(target, requested_by)
        extract_dir = Path(tempfile.mkdtemp(prefix="import-", dir=self.work_dir))
        try:
            _extract_dossier(verified, code, extract_dir)
            before, after = self._replace(target, extract_dir, verified, copied_revision)
        finally:
            shutil.rmtree(extract_dir, ignore_errors=True)
        self.copies.prune(self.now())
        rows = entry.rows()
        log.info(
            "import of dossier %s by %s: %d rows, revision %d -> %d, pre-restore copy %s",
            code,
            requested_by,
            rows,
            before,
            after,
            copy,
        )
        return ImportResult(code, before, after, rows, copy)

    def _target(self, code: str) -> _Target:
        with self.store.request() as view:
            if view.live.schema is None or view.live.data_generation is None:
                raise Unavailable("ce serveur n'a encore aucune donnée")
            rows = query_all(
                view.connection,
                f"SELECT d.id, d.code, d.exporte, d.centre_code, c.nom FROM {quote_identifier(view.live.schema)}.dossier d"
                f" LEFT JOIN {quote_identifier(view.live.schema)}.centre c ON c.code = d.centre_code WHERE d.code = %s",
                (code,),
            )
            if not rows:
                raise BadRequest(f"dossier {code} inconnu sur ce serveur")
            if rows[0][2]:
                raise Refused(f"le dossier {code} est exporté : il ne peut pas être restauré tant qu'il l'est")
            return _Target(
                int(rows[0][0]),
                code,
                str(rows[0][3]),
                str(rows[0][4] or rows[0][3]),
                view.live.schema,
                view.live.data_generation,
                view.schema_version,
            )

    def _pre_restore_copy(self, target: _Target, requested_by: str) -> tuple[str, int]:
        """Save the dossier as it is now; return the copy's name and the revision it holds."""
        with self.store.request() as view:
            revision = int(
                query_all(
                    view.connection,
                    f"SELECT revision FROM {quote_identifier(target.schema)}.dossier WHERE id = %s",
                    (target.id,),
                )[0][0]
            )
        path = self.copies.new_path(target.code, revision, self.now())
        temporary = path.with_suffix(".part")
        request = ExportRequest(
            schema=target.schema,
            data_generation=target.generation,
            centre_code=target.centre_code,
            centre_name=target.centre_name,
            user_login=requested_by,
            user_profile="pre-restore",
            dossiers=[(target.id, target.code)],
            server_name=self.server_name,
            server_role=self.role,
        )
        with temporary.open("wb") as handle:
            stream_export(request, self.client, handle, zip_level=6, now=self.now)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
        return f"{target.code}/{path.name}", revision

    def _replace(
        self, target: _Target, directory: Path, verified: VerifiedBackup, copied_revision: int
    ) -> tuple[int, int]:
        connection = connect(self.database, local_infile_dir=str(directory))
        try:
            connection.cmd_query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            connection.start_transaction()
            result = self._replace_in_transaction(connection, target, directory, verified, copied_revision)
            connection.commit()
            return result
        except mysql.connector.Error as error:
            raise Unavailable(
                f"l'import du dossier {target.code} a échoué et a été annulé, rien n'a été modifié ({error.msg}) :"
                " relancez la restauration"
            ) from error
        finally:
            with contextlib.suppress(mysql.connector.Error):
                connection.rollback()  # a no-op after a commit
            connection.close()

    def _replace_in_transaction(
        self,
        connection: MySQLConnectionAbstract,
        target: _Target,
        directory: Path,
        verified: VerifiedBackup,
        copied_revision: int,
    ) -> tuple[int, int]:
        schema = quote_identifier(target.schema)
        live = query_all(connection, "SELECT data_generation FROM neocuma_control.live WHERE id = 1 LOCK IN SHARE MODE")
        if live[0][0] != target.generation:
            raise Unavailable(
                "la génération en service a changé pendant l'import ; rien n'a été écrit, relancez la restauration"
            )
        locked = query_all(
            connection, f"SELECT revision, exporte FROM {schema}.dossier WHERE id = %s FOR UPDATE", (target.id,)
        )
        before, exporte = int(locked[0][0]), bool(locked[0][1])
        if exporte:
            raise Refused(f"le dossier {target.code} est exporté : il ne peut pas être restauré tant qu'il l'est")
        if before != copied_revision:
            # Someone wrote to the dossier after the pre-restore copy was taken: the copy
            # would not hold that work, so the restore must not overwrite it.
            raise Unavailable(
                f"le dossier {target.code} a été modifié pendant la restauration (révision {copied_revision} -> {before}) ;"
                " rien n'a été écrit, relancez la restauration"
            )
        (entry,) = verified.manifest.dossiers
        cursor = connection.cursor()
        try:
            replace_dossier_rows(cursor, target.schema, target.id, entry, directory)
            # The server's own revision moves forward by one: the client's is never trusted
            # (a value near 2^64 would block every later write to the dossier).
            after = before + 1
            cursor.execute(
                f"UPDATE {schema}.dossier SET revision = %s, modifie_le = UTC_TIMESTAMP() WHERE id = %s",
                (after, target.id),
            )
        finally:
            cursor.close()
        return before, after


def _check_manifest(verified: VerifiedBackup, target: _Target) -> DossierEntry:
    manifest = verified.manifest
    if len(manifest.dossiers) != 1:
        raise BadRequest(f"the backup holds {len(manifest.dossiers)} dossiers; an import takes exactly one")
    (entry,) = manifest.dossiers
    if entry.code != target.code:
        raise BadRequest(f"the backup holds dossier {entry.code}, not {target.code} named in the request")
    if entry.id != target.id:
        raise BadRequest(f"dossier {target.code} has ID système {target.id} here but {entry.id} in the backup")
    if target.schema_version is not None and manifest.schema_version != target.schema_version:
        raise BadRequest(
            f"the backup has schema version {manifest.schema_version}, this server {target.schema_version}"
        )
    return entry


def _extract_dossier(verified: VerifiedBackup, code: str, directory: Path) -> None:
    with open_zip(verified.opener, verified.name) as archive:
        for table in DOSSIER_TABLES:
            name = dossier_member(code, table)
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
