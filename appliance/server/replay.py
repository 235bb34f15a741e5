"""Applying one replayed operation on the central server (``v1 replay``, docs/protocol.md).

Each operation runs in its own transaction through the web form's path (``enter_bon_in``:
mode, rights of the logged-in user, exporté, the form's rules, the exercice, the dossier's
next bon id) and records its id in ``neocuma_control.replayed`` in that same transaction, so
an operation sent again, after a cut or by a second return, answers "already applied" with
the number it got the first time and adds nothing.
"""

from __future__ import annotations

import logging

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import ConnectionPool, query_all
from appliance.domain.bons import BonErrors
from appliance.domain.ddl import quote_identifier
from appliance.domain.outbox import APPLIED, REFUSED, Applied, Operation, Outcome, replayed_before
from appliance.errors import NotFound, Refused, Unavailable
from appliance.server.store import User
from appliance.server.writes import enter_bon_in, rolled_back_on_error

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 1062
_DEADLOCK = 1213
_ATTEMPTS = 3


def replay_operation(
    pool: ConnectionPool, role: str, user: User, operation: Operation, control_schema: str = "neocuma_control"
) -> Outcome:
    """Apply ``operation`` once, or answer that it was applied, or refuse it with its reason
    in French; raises Unavailable when the database cannot be used (nothing applied)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _in_transaction(pool, role, user, operation, control_schema)
        except Unavailable as error:
            # The same operation sent twice at once: the loser's insert of its id meets the
            # winner's row (or a deadlock); read again, it answers "already applied". A bon
            # entered meanwhile on the dossier can take the id read: read again, the next one.
            cause = error.__cause__
            errno = getattr(cause, "errno", None)
            if attempt == _ATTEMPTS or errno not in (_DUPLICATE_KEY, _DEADLOCK):
                raise
    raise AssertionError("unreachable")


def _in_transaction(pool: ConnectionPool, role: str, user: User, operation: Operation, control: str) -> Outcome:
    with pool.acquire() as connection, rolled_back_on_error(connection):
        outcome = _replay(connection, role, user, operation, control)
        if outcome.status == APPLIED:
            connection.commit()
        else:
            connection.rollback()
    log.info(
        "replay of operation %s (%s %s in %s) by %s: %s%s",
        operation.id,
        operation.kind,
        operation.local_numero,
        operation.dossier,
        user.login,
        outcome.status,
        f", {outcome.central_numero}" if outcome.central_numero else f": {outcome.reason}",
    )
    return outcome


def _replay(connection: MySQLConnectionAbstract, role: str, user: User, operation: Operation, control: str) -> Outcome:
    table = f"{quote_identifier(control)}.replayed"
    # A locking read: a plain one would fix the transaction's snapshot before the dossier
    # row is locked, and the dossier's next bon id would be read from that older snapshot.
    rows = query_all(
        connection,
        f"SELECT digest, dossier_code, bon_id, numero FROM {table} WHERE operation_id = %s LOCK IN SHARE MODE",
        (operation.id,),
    )
    recorded = Applied(str(rows[0][0]), str(rows[0][1]), int(rows[0][2]), str(rows[0][3])) if rows else None
    before = replayed_before(operation, recorded)
    if before is not None:
        return before
    try:
        entered = enter_bon_in(connection, role, user, operation.dossier, operation.payload, control, operation.user)
    except BonErrors as error:
        return Outcome(operation.id, REFUSED, operation.local_numero, reason=f"bon de travaux invalide : {error}")
    except (Refused, NotFound) as error:
        return Outcome(operation.id, REFUSED, operation.local_numero, reason=str(error))
    result = entered.result
    query_all(
        connection,
        f"INSERT INTO {table} (operation_id, digest, dossier_code, bon_id, numero, local_numero, replayed_by,"
        " applied_at) VALUES (%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3))",
        (
            operation.id,
            operation.digest,
            operation.dossier,
            result.bon_id,
            result.numero,
            operation.local_numero,
            user.login,
        ),
    )
    return Outcome(operation.id, APPLIED, operation.local_numero, result.bon_id, result.numero)
