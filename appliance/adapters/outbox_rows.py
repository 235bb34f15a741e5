"""The local server's outbox (``neocuma_control.outbox``) as the guardian reads and updates
it: the operations to replay, and each answer of the central server written back. The
guardian's account may only UPDATE the outcome columns (docs/design.md §10)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.adapters.mysql import query_all
from appliance.domain.ddl import quote_identifier
from appliance.domain.outbox import DONE, NOT_TAKEN, PENDING, Operation, OutboxEntry, Outcome, outbox_state
from appliance.errors import BadRequest, Unavailable

_STATES = (PENDING, DONE, NOT_TAKEN)


def read_outbox(connection: MySQLConnectionAbstract, states: Sequence[str], control: str) -> list[OutboxEntry]:
    """The operations in ``states``, in the order they were entered; raises BadRequest for
    an unknown state and Unavailable when the table cannot be read (or holds a row that is
    not an operation)."""
    unknown = [s for s in states if s not in _STATES]
    if unknown:
        raise BadRequest(f"état d'opération inconnu : {', '.join(unknown)} (états : {', '.join(_STATES)})")
    if not states:
        return []
    marks = ", ".join(["%s"] * len(states))
    rows = query_all(
        connection,
        "SELECT id, dossier_code, kind, payload, local_id, local_numero, user_login, created_at, state,"
        f" central_numero, reason, data_generation FROM {quote_identifier(control)}.outbox WHERE state IN ({marks}) ORDER BY seq",
        tuple(states),
    )
    entries: list[OutboxEntry] = []
    for row in rows:
        try:
            payload = json.loads(row[3])
            created = row[7].replace(tzinfo=dt.UTC)
            operation = Operation(
                str(row[0]), str(row[1]), str(row[2]), dict(payload), int(row[4]), str(row[5]), str(row[6]), created
            )
        except (ValueError, TypeError, AttributeError) as error:
            raise Unavailable(f"opération {row[0]} illisible dans la file des opérations : {error}") from error
        entries.append(OutboxEntry(operation, str(row[8]), row[9], row[10], int(row[11])))
    return entries


def write_outcome(connection: MySQLConnectionAbstract, outcome: Outcome, at: dt.datetime, control: str) -> None:
    """Record the central server's answer for one operation (autocommit: each answer is
    kept as it arrives, so a cut later loses none)."""
    query_all(
        connection,
        f"UPDATE {quote_identifier(control)}.outbox SET state = %s, central_id = %s, central_numero = %s,"
        " reason = %s, replayed_at = %s WHERE id = %s",
        (
            outbox_state(outcome),
            outcome.central_id,
            outcome.central_numero,
            outcome.reason,
            at.astimezone(dt.UTC).replace(tzinfo=None),
            outcome.id,
        ),
    )
    connection.commit()
