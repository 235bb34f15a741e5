"""The ``v1 export-changes`` request's input: the guardian's revisions, on stdin.

The document (``domain.changes``) is read until the client closes its side, at most
``MAX_HELD_DOCUMENT_BYTES`` and with the channel's stall timeout, before any data is read:
an oversized, stalled or malformed document is refused and nothing is exported.
"""

from __future__ import annotations

import paramiko

from appliance.domain.changes import MAX_HELD_DOCUMENT_BYTES, HeldDossier, parse_held_document
from appliance.domain.protocol import ProtocolError


def read_stdin(channel: paramiko.Channel, limit: int, what: str, consequence: str) -> bytes:
    """Read a request's input until the client closes its side: at most ``limit`` bytes and
    with the channel's stall timeout. Raises ProtocolError (``request_too_large``,
    ``transfer_failed``) naming ``what`` was incomplete and the ``consequence`` (nothing done)."""
    received = bytearray()
    while True:
        try:
            chunk: bytes = channel.recv(64 * 1024)
        except TimeoutError as error:
            raise ProtocolError(
                "transfer_failed", f"plus rien reçu du client : {what} incomplet, {consequence}"
            ) from error
        if not chunk:
            return bytes(received)
        received += chunk
        if len(received) > limit:
            raise ProtocolError("request_too_large", f"{what} de plus de {limit} octets : {consequence}")


def read_held_document(channel: paramiko.Channel, limit: int = MAX_HELD_DOCUMENT_BYTES) -> dict[str, HeldDossier]:
    """Read and parse the document on stdin; raises ProtocolError (``request_too_large``
    past ``limit`` bytes, ``transfer_failed`` on a stall, ``bad_request`` when malformed)."""
    received = read_stdin(channel, limit, "document des révisions", "aucune donnée n'a été exportée")
    if not received:
        raise ProtocolError(
            "bad_request",
            'le document des révisions est attendu sur l\'entrée : {"dossiers": {…}} (vide : {"dossiers": {}})',
        )
    return parse_held_document(received)
