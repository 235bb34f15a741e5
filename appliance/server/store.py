"""The NeoCuma server's view of its database: the control row and the read queries.

Every request opens a ``RequestView``: one connection, one read-only transaction with a
consistent snapshot, the control row read inside it. All the request's queries then run
against the generation that row named, so a request never mixes two generations even when a
swap commits in the middle of it (docs/design.md §3).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import ConnectionPool, query_all
from appliance.domain.ddl import generation_schema_name, quote_identifier
from appliance.domain.schema import DOSSIER_TABLES
from appliance.errors import Unavailable


@dataclass(frozen=True)
class Live:
    """The control row: what the server serves right now."""

    data_generation: int | None
    system_generation: int | None
    mode: str
    # When the row last changed (``changed_at``): in fallback mode, the moment the mode changed
    # to fallback, since a swap keeps it then (adapters/generations.py, switch_live).
    changed_at: dt.datetime | None = None

    @property
    def schema(self) -> str | None:
        if self.data_generation is None:
            return None
        return generation_schema_name(self.data_generation)


@dataclass(frozen=True)
class User:
    id: int
    login: str
    last_name: str
    first_name: str
    profile: str
    centre_code: str
    active: bool
    password_hash: str

    def __repr__(self) -> str:
        return f"User(id={self.id}, login={self.login!r}, profile={self.profile!r})"


@dataclass(frozen=True)
class DossierInfo:
    id: int
    code: str
    code_hcca: str | None
    name: str
    type: str
    principal: bool
    exporte: bool
    infocentre: bool
    revision: int
    access: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id_systeme": self.id,
            "code": self.code,
            "code_hcca": self.code_hcca,
            "nom": self.name,
            "type": self.type,
            "principal": self.principal,
            "exporte": self.exporte,
            "infocentre": self.infocentre,
            "revision": self.revision,
            "acces": self.access,
        }


class RequestView:
    """Queries of one request, all inside one snapshot of one generation."""

    def __init__(self, connection: MySQLConnectionAbstract, live: Live, schema_version: int | None) -> None:
        self.connection = connection
        self.live = live
        self.schema_version = schema_version

    def _schema(self) -> str:
        if self.live.schema is None:
            raise Unavailable("ce serveur n'a encore aucune donnée synchronisée")
        return quote_identifier(self.live.schema)

    def find_user(self, login: str) -> User | None:
        """The active or inactive user called ``login``, or None."""
        rows = query_all(
            self.connection,
            f"SELECT id, login, nom, prenom, profil, centre_code, actif, password_hash "
            f"FROM {self._schema()}.utilisateur WHERE login = %s",
            (login,),
        )
        if not rows:
            return None
        row = rows[0]
        return User(
            int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]), bool(row[6]), str(row[7])
        )

    def centre(self, code: str) -> tuple[str, str] | None:
        rows = query_all(self.connection, f"SELECT code, nom FROM {self._schema()}.centre WHERE code = %s", (code,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def dossiers_for(self, user_id: int) -> list[DossierInfo]:
        """The dossiers ``user_id`` has rights on, ordered by code."""
        rows = query_all(
            self.connection,
            f"SELECT d.id, d.code, d.code_hcca, d.nom, d.type, d.principal, d.exporte, d.infocentre,"
            f" d.revision, r.acces FROM {self._schema()}.droit_dossier r"
            f" JOIN {self._schema()}.dossier d ON d.id = r.dossier_id"
            f" WHERE r.utilisateur_id = %s ORDER BY d.code",
            (user_id,),
        )
        return [
            DossierInfo(
                int(r[0]),
                str(r[1]),
                r[2],
                str(r[3]),
                str(r[4]),
                bool(r[5]),
                bool(r[6]),
                bool(r[7]),
                int(r[8]),
                str(r[9]),
            )
            for r in rows
        ]

    def dossier_codes_exist(self, codes: Sequence[str]) -> set[str]:
        """Which of ``codes`` name a dossier on this server (whoever's it is)."""
        if not codes:
            return set()
        placeholders = ", ".join(["%s"] * len(codes))
        rows = query_all(
            self.connection, f"SELECT code FROM {self._schema()}.dossier WHERE code IN ({placeholders})", codes
        )
        return {str(row[0]) for row in rows}

    def row_counts(self, dossier_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Rows per table for each dossier of ``dossier_ids``."""
        counts: dict[int, dict[str, int]] = {d: {t.name: 0 for t in DOSSIER_TABLES} for d in dossier_ids}
        if not dossier_ids:
            return counts
        placeholders = ", ".join(["%s"] * len(dossier_ids))
        for table in DOSSIER_TABLES:
            rows = query_all(
                self.connection,
                f"SELECT dossier_id, COUNT(*) FROM {self._schema()}.{quote_identifier(table.name)}"
                f" WHERE dossier_id IN ({placeholders}) GROUP BY dossier_id",
                dossier_ids,
            )
            for dossier_id, count in rows:
                counts[int(dossier_id)][table.name] = int(count)
        return counts


class Store:
    """Opens request views on the server's database."""

    def __init__(self, pool: ConnectionPool, control_schema: str = "neocuma_control") -> None:
        self.pool = pool
        self.control_schema = quote_identifier(control_schema)

    @contextlib.contextmanager
    def request(self) -> Iterator[RequestView]:
        """A read-only snapshot for one request; raises Unavailable if MySQL is down."""
        with self.pool.acquire() as connection:
            try:
                connection.cmd_query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                connection.cmd_query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            except mysql.connector.Error as error:
                raise Unavailable(f"MySQL refused a transaction: {error.msg}") from error
            try:
                live = self._read_live(connection)
                version = self._schema_version(connection, live)
                yield RequestView(connection, live, version)
            finally:
                with contextlib.suppress(mysql.connector.Error):
                    connection.rollback()

    def live(self) -> Live:
        """The control row, outside any request."""
        with self.pool.acquire() as connection:
            return self._read_live(connection)

    def _read_live(self, connection: MySQLConnectionAbstract) -> Live:
        rows = query_all(
            connection,
            f"SELECT data_generation, system_generation, mode, UNIX_TIMESTAMP(changed_at)"
            f" FROM {self.control_schema}.live WHERE id = 1",
        )
        if not rows:
            raise Unavailable("the control row neocuma_control.live is missing")
        data, system, mode, changed = rows[0]
        # UNIX_TIMESTAMP reads the DATETIME in the session's time zone, as CURRENT_TIMESTAMP wrote it.
        changed_at = None if changed is None else dt.datetime.fromtimestamp(float(changed), dt.UTC)
        return Live(None if data is None else int(data), None if system is None else int(system), str(mode), changed_at)

    def _schema_version(self, connection: MySQLConnectionAbstract, live: Live) -> int | None:
        if live.schema is None:
            return None
        rows = query_all(connection, f"SELECT MAX(version) FROM {quote_identifier(live.schema)}.schema_info")
        return None if not rows or rows[0][0] is None else int(rows[0][0])
