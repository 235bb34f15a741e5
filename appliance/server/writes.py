"""The write path of LAN users: entering a bon de travaux.

A write runs in one transaction that first takes a shared lock on the control row, so a
generation swap or a mode change waits for it (and it never writes into a generation that
was just swapped out); the server's role and mode decide whether writes are allowed at all;
the user's right on the dossier must be ``ecriture``; an *exporté* dossier is locked; the
dossier row is locked so writers of one dossier take turns; ids are allocated per dossier;
and the dossier's revision moves forward in the same transaction (docs/design.md §2). On a
local server (which takes writes only in fallback mode) the bon is also recorded as an
operation of the outbox in that transaction: no bon without its operation, no operation
without its bon (docs/design.md §10).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import ConnectionPool, query_all
from appliance.domain.bons import BonInput, bon_number, validate_bon
from appliance.domain.ddl import quote_identifier
from appliance.domain.outbox import bon_payload
from appliance.errors import NotFound, Refused, Unavailable
from appliance.server import dossier_data
from appliance.server.store import Live, RequestView, User

log = logging.getLogger(__name__)

STANDBY_MESSAGE = (
    "Le serveur local est en mode veille (lecture seule) : les saisies se font sur le serveur "
    "central, ou ici une fois le mode secours activé par le responsable."
)


@dataclass(frozen=True)
class WriteResult:
    dossier_code: str
    bon_id: int
    numero: str
    exercice_id: int
    revision: int
    operation: str | None = None  # the outbox operation's id (a local server's write)


@dataclass(frozen=True)
class Entered:
    """A bon inserted in the open transaction, before its commit."""

    result: WriteResult
    bon: BonInput
    live: Live


@contextlib.contextmanager
def rolled_back_on_error(connection: MySQLConnectionAbstract) -> Iterator[None]:
    """A write transaction: started here, committed by the block, rolled back when the block
    raises (the error goes on)."""
    try:
        connection.start_transaction()
        yield
    except BaseException:
        with contextlib.suppress(mysql.connector.Error):
            connection.rollback()
        raise


def writes_allowed(role: str, mode: str) -> bool:
    """The central server always takes writes; a local one only in fallback mode."""
    return role == "central" or mode == "fallback"


def enter_bon(
    pool: ConnectionPool,
    role: str,
    user: User,
    dossier_code: str,
    form: Mapping[str, object],
    control_schema: str = "neocuma_control",
) -> WriteResult:
    """Record a bon de travaux; raises Refused (mode, rights, exporté), NotFound, BonErrors
    (the form's problems), or Unavailable. Nothing is written unless everything passes."""
    with pool.acquire() as connection, rolled_back_on_error(connection):
        entered = enter_bon_in(connection, role, user, dossier_code, form, control_schema, user.login)
        result = entered.result
        if role != "central":
            result = _record_in_outbox(connection, control_schema, entered, user.login)
        connection.commit()
    log.info(
        "bon de travaux %s entered by %s in dossier %s (revision %d)%s",
        result.numero,
        user.login,
        dossier_code,
        result.revision,
        f", outbox operation {result.operation}" if result.operation else "",
    )
    return result


def enter_bon_in(
    connection: MySQLConnectionAbstract,
    role: str,
    user: User,
    dossier_code: str,
    form: Mapping[str, object],
    control_schema: str,
    author: str,
) -> Entered:
    """The checks and the insertion of ``enter_bon`` inside the caller's open transaction
    (``v1 replay`` runs the same path); ``author`` is written as the bon's ``saisi_par``.
    Raises as ``enter_bon`` does; the caller commits or rolls back."""
    rows = query_all(
        connection,
        f"SELECT data_generation, system_generation, mode FROM {quote_identifier(control_schema)}.live"
        " WHERE id = 1 LOCK IN SHARE MODE",
    )
    live = Live(rows[0][0], rows[0][1], str(rows[0][2]))
    if live.schema is None:
        raise Unavailable("ce serveur n'a encore aucune donnée synchronisée")
    if not writes_allowed(role, live.mode):
        raise Refused(STANDBY_MESSAGE)
    schema = quote_identifier(live.schema)
    found = query_all(
        connection,
        f"SELECT d.id, d.exporte, r.acces FROM {schema}.dossier d LEFT JOIN {schema}.droit_dossier r"
        " ON r.dossier_id = d.id AND r.utilisateur_id = %s WHERE d.code = %s FOR UPDATE",
        (user.id, dossier_code),
    )
    if not found or found[0][2] is None:
        raise NotFound(f"dossier {dossier_code} inconnu ou hors de vos droits")
    dossier_id, exporte, access = int(found[0][0]), bool(found[0][1]), str(found[0][2])
    if access != "ecriture":
        raise Refused(f"vous n'avez qu'un accès en lecture au dossier {dossier_code}")
    if exporte:
        raise Refused(f"le dossier {dossier_code} est exporté : il est verrouillé en écriture sur ce serveur")
    view = RequestView(connection, live, None)
    bon = validate_bon(
        form,
        dossier_data.members(view, dossier_id),
        dossier_data.activities(view, dossier_id),
        dossier_data.exercices(view, dossier_id),
    )
    return Entered(_insert_bon(connection, schema, dossier_id, dossier_code, bon, author), bon, live)


def _record_in_outbox(
    connection: MySQLConnectionAbstract, control_schema: str, entered: Entered, login: str
) -> WriteResult:
    """Insert the operation of the bon just entered; a failure here undoes the bon too."""
    result, bon = entered.result, entered.bon
    operation = str(uuid.uuid4())
    payload = bon_payload(bon.member.id, bon.activity.id, bon.day, str(bon.quantity))
    try:
        query_all(
            connection,
            f"INSERT INTO {quote_identifier(control_schema)}.outbox (id, dossier_code, kind, payload, local_id,"
            " local_numero, user_login, data_generation, created_at) VALUES (%s, %s, 'bon', %s, %s, %s, %s, %s, %s)",
            (
                operation,
                result.dossier_code,
                json.dumps(payload, sort_keys=True),
                result.bon_id,
                result.numero,
                login,
                entered.live.data_generation,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
            ),
        )
    except Unavailable as error:
        log.error("the outbox refused the operation of bon %s: %s", result.numero, error)
        raise Unavailable(
            "la saisie n'a pas pu être inscrite dans la file des opérations à renvoyer au serveur central"
            " (neocuma_control.outbox) : rien n'a été enregistré; prévenez le responsable"
        ) from error
    return WriteResult(
        result.dossier_code, result.bon_id, result.numero, result.exercice_id, result.revision, operation
    )


def _insert_bon(
    connection: MySQLConnectionAbstract, schema: str, dossier_id: int, dossier_code: str, bon: BonInput, login: str
) -> WriteResult:
    next_id = int(
        query_all(
            connection,
            f"SELECT COALESCE(MAX(id), 0) + 1 FROM {schema}.bon_travaux WHERE dossier_id = %s",
            (dossier_id,),
        )[0][0]
    )
    numero = bon_number(bon.exercice.id, next_id)
    query_all(
        connection,
        f"INSERT INTO {schema}.bon_travaux (dossier_id, id, exercice_id, numero, date, tiers_id, activite_id, quantite,"
        " montant, facture_id, saisi_par) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s)",
        (
            dossier_id,
            next_id,
            bon.exercice.id,
            numero,
            bon.day,
            bon.member.id,
            bon.activity.id,
            bon.quantity,
            bon.amount,
            login,
        ),
    )
    query_all(
        connection,
        f"UPDATE {schema}.dossier SET revision = revision + 1, modifie_le = UTC_TIMESTAMP() WHERE id = %s",
        (dossier_id,),
    )
    revision = int(query_all(connection, f"SELECT revision FROM {schema}.dossier WHERE id = %s", (dossier_id,))[0][0])
    return WriteResult(dossier_code, next_id, numero, bon.exercice.id, revision)
