"""A backup of one dossier taken out of a dated data backup (``restore --from-backup``): the
dossier's members copied as they are, the centre tables narrowed to that dossier (its row,
its rights and the users who hold them; the centre and the reference tables whole),
``load.sql`` for those members, and a new manifest, so the result is a backup of the
documented format that verifies on its own and that the central server's import takes."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import stat
import time
import zipfile
from collections.abc import Callable
from typing import IO, BinaryIO

from appliance.adapters.backup_reader import open_zip
from appliance.domain.backup_format import (
    LOAD_MEMBER,
    MANIFEST_MEMBER,
    SCHEMA_MEMBER,
    Manifest,
    MemberDigest,
    VerifiedBackup,
    centre_member,
    dossier_member,
    load_script,
)
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, TABLES_BY_NAME
from appliance.errors import Refused

_BLOCK = 1 << 20


class _Digesting:
    """Writes a member while counting what a manifest says of it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)
        self.rows += data.count(b"\n")

    def digest(self, with_rows: bool = True) -> MemberDigest:
        return MemberDigest(self.sha.hexdigest(), self.size, self.rows if with_rows else None)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _keep(table: str, dossier_id: int, users: set[bytes]) -> Callable[[list[bytes]], bool]:
    """Which rows of a centre table stay in a backup of dossier ``dossier_id``."""
    ident = str(dossier_id).encode()
    if table == "dossier":
        return lambda fields: fields[0] == ident
    if table == "droit_dossier":
        return lambda fields: fields[1] == ident
    if table == "utilisateur":
        return lambda fields: fields[0] in users
    return lambda fields: True


def write_dossier_subset(backup: VerifiedBackup, code: str, sink: BinaryIO, now: dt.datetime) -> None:
    """Write into ``sink`` a backup of dossier ``code`` out of ``backup`` (verified by the
    caller); raises Refused when the backup does not hold that dossier."""
    entry = next((d for d in backup.manifest.dossiers if d.code == code), None)
    if entry is None:
        raise Refused(f"la sauvegarde {backup.name} ne contient pas le dossier {code}")
    users: set[bytes] = set()
    with open_zip(backup.opener, backup.name) as source, zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as target:
        rights = source.read(centre_member(TABLES_BY_NAME["droit_dossier"]))
        for line in rights.splitlines():
            fields = line.split(b"\t")
            if len(fields) > 1 and fields[1] == str(entry.id).encode():
                users.add(fields[0])
        members = [(centre_member(t), t) for t in REFERENCE_TABLES + CENTRE_TABLES]
        members += [(dossier_member(code, t), t) for t in DOSSIER_TABLES]
        top: dict[str, MemberDigest] = {}
        for name, data in (
            (SCHEMA_MEMBER, source.read(SCHEMA_MEMBER)),
            (LOAD_MEMBER, load_script(members).encode("utf-8")),
        ):
            with target.open(_info(name), "w") as handle:
                writer = _Digesting(handle)
                writer.write(data)
            top[name] = writer.digest(with_rows=False)
        centre: dict[str, MemberDigest] = {}
        for table in REFERENCE_TABLES + CENTRE_TABLES:
            keep = _keep(table.name, entry.id, users)
            with source.open(centre_member(table)) as member, target.open(_info(centre_member(table)), "w") as handle:
                writer = _Digesting(handle)
                for line in member:
                    if keep(line.rstrip(b"\n").split(b"\t")):
                        writer.write(line)
            centre[table.name] = writer.digest()
        for table in DOSSIER_TABLES:
            name = dossier_member(code, table)
            with source.open(name) as member, target.open(_info(name), "w", force_zip64=True) as handle:
                shutil.copyfileobj(member, handle, _BLOCK)
        manifest = Manifest(
            created_at=now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            server=dict(backup.manifest.server),
            schema_version=backup.manifest.schema_version,
            centre=dict(backup.manifest.centre),
            user=dict(backup.manifest.user),
            members=top,
            centre_tables=centre,
            dossiers=[entry],
            tables=dict(backup.manifest.tables),
        )
        with target.open(_info(MANIFEST_MEMBER), "w") as handle:
            handle.write(manifest.to_json())
