"""The ``v1 replay`` request: the operations of a local server's outbox, on stdin.

The whole batch (JSON lines) is read until the client closes its side, with a size limit and
the channel's stall timeout, and parsed before anything is applied: a malformed batch is
refused whole. Then each operation is applied in its own transaction and its answer line is
sent at once, so a client cut off in the middle keeps the answers it received and sends the
batch again: what was applied answers "already applied" (docs/protocol.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import paramiko

from appliance.domain.outbox import ALREADY_APPLIED, APPLIED, MAX_REPLAY_BYTES, REFUSED, Operation, Outcome, parse_batch
from appliance.domain.protocol import ProtocolError
from appliance.server.ssh_changes import read_stdin
from appliance.server.store import User

log = logging.getLogger(__name__)
Apply = Callable[[User, Operation], Outcome]


def read_batch(channel: paramiko.Channel, limit: int = MAX_REPLAY_BYTES) -> list[Operation]:
    """Read and parse the batch on stdin; raises ProtocolError (``request_too_large``,
    ``transfer_failed`` on a stall, ``bad_request``) before any operation is applied."""
    return parse_batch(read_stdin(channel, limit, "lot", "rien n'a été appliqué"))


def handle_replay(channel: paramiko.Channel, user: User, role: str, apply: Apply) -> None:
    """Run one replay request: an answer line per operation as it is applied, then a
    summary line; stops at the first operation whose answer can no longer be sent."""
    if role != "central":
        raise ProtocolError("bad_request", "seul le serveur central rejoue des opérations")
    operations = read_batch(channel)
    counts = {APPLIED: 0, ALREADY_APPLIED: 0, REFUSED: 0}
    for operation in operations:
        transport = channel.get_transport()
        if channel.closed or transport is None or not transport.is_active():
            log.warning(
                "replay for %s: the client left; %d operations not tried", user.login, _left(operations, counts)
            )
            return
        outcome = apply(user, operation)
        counts[outcome.status] += 1
        _send_line(channel, outcome.as_json())
    log.info(
        "replay for %s: %d operations, %d applied, %d already applied, %d refused",
        user.login,
        len(operations),
        counts[APPLIED],
        counts[ALREADY_APPLIED],
        counts[REFUSED],
    )
    _send_line(
        channel,
        {
            "fin": True,
            "operations": len(operations),
            "appliquees": counts[APPLIED],
            "deja_appliquees": counts[ALREADY_APPLIED],
            "refusees": counts[REFUSED],
        },
    )


def _left(operations: list[Operation], counts: dict[str, int]) -> int:
    return len(operations) - sum(counts.values())


def _send_line(channel: paramiko.Channel, data: dict[str, object]) -> None:
    channel.sendall((json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8"))
