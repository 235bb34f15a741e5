"""Loading a verified data backup into a new generation schema of the local MySQL.

The members are extracted (their sha256 checked again on the way) into a work directory,
then the backup's own ``load.sql`` runs in one ``mariadb --local-infile`` session — the same
script a person uses to restore with stock tools — and finally every table's row count,
per dossier, is compared with the manifest. LOAD DATA needs no Python per row and streams
from disk, so memory stays flat whatever the size.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.backup_reader import VerifiedBackup
from appliance.adapters.mysql import MysqlClient, query_all
from appliance.domain.backup_format import LOAD_MEMBER
from appliance.domain.ddl import quote_identifier
from appliance.domain.schema import DOSSIER_TABLES, SCHEMA_VERSION
from appliance.errors import BadRequest, Unavailable

log = logging.getLogger(__name__)
_BLOCK = 1 << 20


@dataclass(frozen=True)
class LoadReport:
    rows: int
    bytes: int
    extract_seconds: float
    load_seconds: float
    check_seconds: float


def extract_verified(backup: VerifiedBackup, directory: Path) -> int:
    """Extract every member the manifest lists into ``directory``, checking each sha256
    again as it is written; returns the bytes written."""
    listed = backup.manifest.all_members()
    total = 0
    with zipfile.ZipFile(backup.path) as archive:
        for name, digest in listed.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            sha = hashlib.sha256()
            with archive.open(name) as source, target.open("wb") as sink:
                while block := source.read(_BLOCK):
                    sha.update(block)
                    sink.write(block)
                    total += len(block)
            if sha.hexdigest() != digest.sha256:
                raise BadRequest(f"{backup.path.name}: {name} changed since it was verified")
    return total


def load_generation(
    backup: VerifiedBackup, client: MysqlClient, connection: MySQLConnectionAbstract, schema: str, work_dir: Path
) -> LoadReport:
    """Fill the empty schema ``schema`` from ``backup``; raises BadRequest (the backup does not
    match what was loaded) or Unavailable (MySQL failed). The caller drops the schema on error."""
    if backup.manifest.schema_version != SCHEMA_VERSION:
        raise BadRequest(
            f"{backup.path.name} has schema version {backup.manifest.schema_version}; this guardian loads version {SCHEMA_VERSION}"
        )
    directory = work_dir / f"load-{schema}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    try:
        started = time.monotonic()
        size = extract_verified(backup, directory)
        extracted = time.monotonic()
        process = client.start(
            ["--batch", "--local-infile=1"], database=schema, stdout=subprocess.DEVNULL, cwd=directory
        )
        assert process.process.stdin is not None
        try:
            with (directory / LOAD_MEMBER).open("rb") as script:
                shutil.copyfileobj(script, process.process.stdin)
            process.process.stdin.close()
        except BrokenPipeError:
            pass
        status, stderr = process.finish(timeout=6 * 3600)
        if status != 0:
            raise Unavailable(f"loading {backup.path.name} into {schema} failed: {stderr}")
        loaded = time.monotonic()
        rows = check_counts(backup, connection, schema)
        return LoadReport(rows, size, extracted - started, loaded - extracted, time.monotonic() - loaded)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def check_counts(backup: VerifiedBackup, connection: MySQLConnectionAbstract, schema: str) -> int:
    """Compare every table's rows (per dossier for dossier tables) with the manifest."""
    manifest = backup.manifest
    quoted = quote_identifier(schema)
    total = 0
    for name, digest in manifest.centre_tables.items():
        count = int(query_all(connection, f"SELECT COUNT(*) FROM {quoted}.{quote_identifier(name)}")[0][0])
        if count != digest.rows:
            raise BadRequest(f"{name}: {count} rows loaded, the manifest says {digest.rows}")
        total += count
    expected = {d.id: d for d in manifest.dossiers}
    for table in DOSSIER_TABLES:
        counts = {
            int(dossier_id): int(count)
            for dossier_id, count in query_all(
                connection,
                f"SELECT dossier_id, COUNT(*) FROM {quoted}.{quote_identifier(table.name)} GROUP BY dossier_id",
            )
        }
        for dossier_id, entry in expected.items():
            want = entry.tables[table.name].rows
            if counts.pop(dossier_id, 0) != want:
                raise BadRequest(f"{table.name}: dossier {entry.code} has other rows than the manifest's {want}")
            total += want or 0
        if counts:
            raise BadRequest(f"{table.name}: rows of dossiers the manifest does not list ({sorted(counts)[:3]})")
    return total
