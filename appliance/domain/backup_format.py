"""The data backup format (docs/backup-format.md), version 1: member names, the manifest, and its checks.

A data backup is a zip holding, in this order:

- ``schema.sql``: the CREATE TABLE statements of a data generation;
- ``load.sql``: LOAD DATA LOCAL INFILE statements, so ``unzip`` + ``mariadb`` restore it;
- ``centre/<table>.tsv``: reference and centre-level rows (the user's centre, the exported
  dossiers, the users with rights on them and those rights only, the reference tables);
- ``dossiers/<code>/<table>.tsv``: each dossier's rows, table by table;
- ``manifest.json`` last, with the sha256, size and row count of every member.

TSV files use LOAD DATA's default format: fields separated by a tab, rows ended by a newline,
``\\N`` for NULL, and backslash escapes for backslash, tab, newline, carriage return and NUL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeGuard

from appliance.domain.ddl import generation_ddl, quote_identifier
from appliance.domain.json_layout import dump_lines
from appliance.domain.schema import CENTRE_TABLES, DOSSIER_TABLES, REFERENCE_TABLES, Table
from appliance.errors import BadRequest

FORMAT_NAME = "neocuma-data-backup"
FORMAT_VERSION = 1
CHANGES_FORMAT_NAME = "neocuma-data-changes"  # a delta: appliance/domain/delta_manifest.py
MANIFEST_MEMBER = "manifest.json"
SCHEMA_MEMBER = "schema.sql"
LOAD_MEMBER = "load.sql"
DOSSIER_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def valid_dossier_code(code: str) -> bool:
    """Whether ``code`` can name a dossier (and a directory of the backup)."""
    return bool(DOSSIER_CODE_PATTERN.fullmatch(code))  # match() let "120001\n" through


def centre_member(table: Table) -> str:
    return f"centre/{table.name}.tsv"


def dossier_member(code: str, table: Table) -> str:
    if not valid_dossier_code(code):
        raise ValueError(f"invalid dossier code {code!r}")
    return f"dossiers/{code}/{table.name}.tsv"


@dataclass(frozen=True)
class MemberDigest:
    """What a member must hold: its size, its sha256 and, for a TSV, its row count."""

    sha256: str
    size: int
    rows: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sha256": self.sha256, "size": self.size}
        if self.rows is not None:
            data["rows"] = self.rows
        return data


@dataclass(frozen=True)
class DossierEntry:
    id: int
    code: str
    revision: int
    tables: dict[str, MemberDigest]

    def rows(self) -> int:
        return sum(digest.rows or 0 for digest in self.tables.values())


@dataclass(frozen=True)
class Manifest:
    created_at: str
    server: dict[str, Any]
    schema_version: int
    centre: dict[str, str]
    user: dict[str, str]
    members: dict[str, MemberDigest]
    centre_tables: dict[str, MemberDigest]
    dossiers: list[DossierEntry]
    tables: dict[str, list[str]] = field(default_factory=dict)

    def all_members(self) -> dict[str, MemberDigest]:
        """Every member the manifest vouches for, by name (the manifest itself excluded)."""
        result = dict(self.members)
        for table in REFERENCE_TABLES + CENTRE_TABLES:
            if table.name in self.centre_tables:
                result[centre_member(table)] = self.centre_tables[table.name]
        for dossier in self.dossiers:
            for table in DOSSIER_TABLES:
                if table.name in dossier.tables:
                    result[dossier_member(dossier.code, table)] = dossier.tables[table.name]
        return result

    def to_json(self) -> bytes:
        data = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "server": self.server,
            "schema_version": self.schema_version,
            "centre": self.centre,
            "user": self.user,
            "tables": self.tables,
            "members": {name: digest.as_json() for name, digest in self.members.items()},
            "centre_tables": {name: digest.as_json() for name, digest in self.centre_tables.items()},
            "dossiers": [
                {
                    "id": dossier.id,
                    "code": dossier.code,
                    "revision": dossier.revision,
                    "tables": {name: digest.as_json() for name, digest in dossier.tables.items()},
                }
                for dossier in self.dossiers
            ],
        }
        return dump_lines(data)


Opener = Callable[[], BinaryIO]
"""Opens a fresh reader of a file's bytes (a backup on disk, in memory, being received)."""


@dataclass(frozen=True)
class VerifiedBackup:
    """A data backup whose structure and manifest were checked; ``opener`` reads its bytes
    (each call a new reader, so several threads may read it at once)."""

    name: str
    manifest: Manifest
    opener: Opener


def load_manifest_json(raw: bytes, format_name: str = FORMAT_NAME) -> dict[str, Any]:
    """The manifest's JSON object, checked for its size and its ``format`` and
    ``format_version``; raises BadRequest. A delta (``v1 export-changes``) is refused as a
    complete backup, and the reverse, by its format name."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BadRequest(f"manifest.json is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError as error:  # nested deeper than the parser goes: no manifest is
        raise BadRequest("manifest.json is nested too deeply to be a manifest") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"manifest.json is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadRequest("manifest.json is not a JSON object")
    if data.get("format") == CHANGES_FORMAT_NAME and format_name == FORMAT_NAME:
        raise BadRequest(
            f"manifest.json: format {CHANGES_FORMAT_NAME!r} is the delta of an export-changes, not a complete backup"
        )
    if data.get("format") != format_name:
        raise BadRequest(f"manifest.json: format is {data.get('format')!r}, expected {format_name!r}")
    if data.get("format_version") != FORMAT_VERSION:
        raise BadRequest(
            f"manifest.json: format_version {data.get('format_version')!r} is not supported (this software reads {FORMAT_VERSION})"
        )
    return data


def parse_centre_tables(data: dict[str, Any]) -> dict[str, MemberDigest]:
    """``centre_tables``: exactly the reference and centre tables of the data model."""
    known_centre = {t.name for t in REFERENCE_TABLES + CENTRE_TABLES}
    centre_tables = parse_digests(data.get("centre_tables"), "centre_tables", with_rows=True)
    missing = sorted(known_centre - set(centre_tables))
    extra = sorted(set(centre_tables) - known_centre)
    if missing or extra:
        raise BadRequest(
            f"manifest.json: centre tables differ from the data model (missing {missing}, unknown {extra})"
        )
    return centre_tables


def parse_dossier_identity(entry: object, seen: set[str]) -> tuple[dict[str, Any], int, str, int]:
    """A dossier entry's object, id, code and revision; ``seen`` collects the codes so a
    dossier listed twice is refused."""
    if not isinstance(entry, dict):
        raise BadRequest("manifest.json: a dossier entry is not an object")
    code = entry.get("code")
    if not isinstance(code, str) or not valid_dossier_code(code):
        raise BadRequest(f"manifest.json: invalid dossier code {code!r}")
    if code in seen:
        raise BadRequest(f"manifest.json: dossier {code} is listed twice")
    seen.add(code)
    dossier_id, revision = entry.get("id"), entry.get("revision")
    if not is_count(dossier_id) or not is_count(revision) or dossier_id < 1 or revision < 0:
        raise BadRequest(f"manifest.json: dossier {code} has an invalid id or revision")
    return entry, dossier_id, code, revision


_SHA256 = re.compile(r"[0-9a-f]{64}")
_DOSSIER_TABLE_NAMES = frozenset(t.name for t in DOSSIER_TABLES)


def parse_dossier_tables(entry: dict[str, Any], code: str) -> dict[str, MemberDigest]:
    """A dossier entry's ``tables``: exactly the dossier tables of the data model."""
    tables = parse_digests(entry.get("tables"), f"dossier {code}", with_rows=True)
    if tables.keys() != _DOSSIER_TABLE_NAMES:
        raise BadRequest(f"manifest.json: dossier {code} does not list exactly the dossier tables of the data model")
    return tables


def parse_header(data: dict[str, Any]) -> dict[str, Any]:
    """The fields every manifest of this format family carries, as Manifest's keywords:
    creation time, server, schema version, centre, user, columns and centre tables."""
    schema_version = data.get("schema_version")
    if not is_count(schema_version):
        raise BadRequest("manifest.json: 'schema_version' is not a number")
    created_at = data.get("created_at")
    if not isinstance(created_at, str):
        raise BadRequest("manifest.json: 'created_at' is missing")
    return {
        "created_at": created_at,
        "server": parse_mapping(data.get("server"), "server"),
        "schema_version": schema_version,
        "centre": parse_texts(data.get("centre"), "centre"),
        "user": parse_texts(data.get("user"), "user"),
        "centre_tables": parse_centre_tables(data),
        "tables": parse_column_lists(data.get("tables")),
    }


def parse_manifest(raw: bytes) -> Manifest:
    """Parse and check a manifest; raises BadRequest naming the first problem found."""
    data = load_manifest_json(raw)
    members = parse_digests(data.get("members"), "members", with_rows=False)
    for required in (SCHEMA_MEMBER, LOAD_MEMBER):
        if required not in members:
            raise BadRequest(f"manifest.json does not list {required}")
    raw_dossiers = data.get("dossiers")
    if not isinstance(raw_dossiers, list):
        raise BadRequest("manifest.json: 'dossiers' is not a list")
    header = parse_header(data)
    dossiers: list[DossierEntry] = []
    seen: set[str] = set()
    for raw_entry in raw_dossiers:
        entry, dossier_id, code, revision = parse_dossier_identity(raw_entry, seen)
        dossiers.append(DossierEntry(dossier_id, code, revision, parse_dossier_tables(entry, code)))
    return Manifest(members=members, dossiers=dossiers, **header)


def parse_texts(value: Any, where: str) -> dict[str, str]:
    """An object of texts (``centre``, ``user``): a number or a list there is no name."""
    result = {}
    for key, text in parse_mapping(value, where).items():
        if not isinstance(text, str):
            raise BadRequest(f"manifest.json: {where}.{str(key)[:40]} is not a text")
        result[str(key)] = text
    return result


def parse_mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"manifest.json: '{where}' is not an object")
    return value


def parse_digests(value: Any, where: str, with_rows: bool) -> dict[str, MemberDigest]:
    result: dict[str, MemberDigest] = {}
    for name, digest in parse_mapping(value, where).items():
        if not isinstance(digest, Mapping):
            raise BadRequest(f"manifest.json: {where}/{name} is not an object")
        sha, size, rows = digest.get("sha256"), digest.get("size"), digest.get("rows")
        if not isinstance(sha, str) or _SHA256.fullmatch(sha) is None:
            raise BadRequest(f"manifest.json: {where}/{name} has no valid sha256")
        if not is_count(size) or size < 0:
            raise BadRequest(f"manifest.json: {where}/{name} has no valid size")
        if with_rows and (not is_count(rows) or rows < 0):
            raise BadRequest(f"manifest.json: {where}/{name} has no valid row count")
        result[str(name)] = MemberDigest(sha, size, rows if with_rows else None)
    return result


def load_script(manifest_tables: list[tuple[str, Table]]) -> str:
    """The ``load.sql`` member: restores the backup into the current database with stock
    tools, run from the directory the zip was extracted into."""
    lines = [
        "-- Restore with stock tools:",
        "--   unzip BACKUP.zip -d restore && cd restore",
        "--   mariadb --local-infile=1 DATABASE < load.sql",
        "SET NAMES utf8mb4;",
        "SET SESSION foreign_key_checks = 0;",
        "SET SESSION unique_checks = 0;",
        "SOURCE schema.sql;",
    ]
    targets: dict[str, str] = {}  # one per table, not per member: 6,000 members, 20 tables
    for member, table in manifest_tables:
        target = targets.get(table.name)
        if target is None:
            columns = ", ".join(quote_identifier(name) for name in table.column_names)
            target = targets[table.name] = f"{quote_identifier(table.name)} CHARACTER SET utf8mb4 ({columns});"
        lines.append(f"LOAD DATA LOCAL INFILE '{member}' INTO TABLE {target}")
    return "\n".join(lines) + "\n"


def expected_scripts(manifest: Manifest) -> dict[str, bytes]:
    """``schema.sql`` and ``load.sql`` as this code writes them for ``manifest``'s members:
    both are deterministic, so a backup must hold exactly these (docs/backup-format.md). A
    remote that wrote others, with a ``\\!`` shell command or a ``LOAD DATA LOCAL`` of any
    file, would run them on the machine of whoever restores with stock tools."""
    members = [(centre_member(table), table) for table in REFERENCE_TABLES + CENTRE_TABLES]
    for dossier in manifest.dossiers:
        members += [(dossier_member(dossier.code, table), table) for table in DOSSIER_TABLES]
    return {
        SCHEMA_MEMBER: generation_ddl().script().encode("utf-8"),
        LOAD_MEMBER: load_script(members).encode("utf-8"),
    }


def parse_column_lists(value: object) -> dict[str, list[str]]:
    """``tables``: each table's column names; raises BadRequest when it is not that."""
    result = {}
    for table, columns in parse_mapping(value, "tables").items():
        if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
            raise BadRequest(f"manifest.json: the columns of table {str(table)[:40]!r} are not a list of names")
        result[str(table)] = list(columns)
    return result


def is_count(value: object) -> TypeGuard[int]:
    """A JSON integer: ``true`` is no number, though Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool)
