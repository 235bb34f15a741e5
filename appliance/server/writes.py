"""The write path of LAN users: entering a bon de travaux.

A write runs in one transaction that first takes a shared lock on the control row, so a
generation swap or a mode change waits for it (and it never writes into a generation that
was just swapped out); the server's role and mode decide whether writes are allowed at all;
the user's right on the dossier must be ``ecriture``; an *exporté* dossier is locked; the
dossier row is locked so writers of one dossier take turns; ids are allocated per dossier;
and the dossier's revision moves forward in the same transaction (docs/design.md §2).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import ConnectionPool, query_all
from appliance.domain.bons import BonInput, bon_number, validate_bon
from appliance.domain.ddl import quote_identifier
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
    with pool.acquire() as connection:
        try:
            connection.start_transaction()
            result = _enter_bon(connection, role, user, dossier_code, form, control_schema)
            connection.commit()
        except BaseException:
            with contextlib.suppress(mysql.connector.Error):
                connection.rollback()
            raise
    log.info(
        "bon de travaux %s entered by %s in dossier %s (revision %d)",
        result.numero,
        user.login,
        dossier_code,
        result.revision,
    )
    return result


def _enter_bon(
    connection: MySQLConnectionAbstract,
    role: str,
    user: User,
    dossier_code: str,
    form: Mapping[str, object],
    control_schema: str,
) -> WriteResult:
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
    return _insert_bon(connection, schema, dossier_id, dossier_code, bon, user.login)


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
