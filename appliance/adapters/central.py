"""The central NeoCuma server as the guardian's jobs see it (the CentralServer port): the
SSH client of ``remote_ssh`` with the host key pinned in the state volume, and each
protocol answer (docs/protocol.md) turned into a domain value; an answer that does not
have the documented shape becomes Unavailable naming the command."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from appliance.adapters.remote_ssh import KnownHosts, RemoteClient, RemoteSession, Sink, fingerprint
from appliance.domain.backup_format import Opener
from appliance.domain.changes import HeldDossier, held_document
from appliance.domain.dossiers import ImportReply, RemoteDossier
from appliance.domain.identity import WhoAmI
from appliance.domain.outbox import Operation, Outcome, parse_outcome
from appliance.errors import Refused, RemoteRefused, Unavailable

MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def _shape_error(command: str, error: Exception) -> Unavailable:
    return Unavailable(f"le serveur distant a répondu à {command!r} par un document inattendu ({error!r})")


class SshCentralSession:
    """One authenticated SSH connection to the central server."""

    def __init__(self, session: RemoteSession) -> None:
        self._session = session
        self.stall_timeout = session.stall_timeout

    def __enter__(self) -> SshCentralSession:
        return self

    def __exit__(self, *exc: object) -> None:
        sftp = getattr(self, "_sftp_client", None)
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        self._session.close()

    def whoami(self) -> WhoAmI:
        answer = self._session.json("v1 whoami")
        try:
            return WhoAmI(
                str(answer["user"]["login"]),
                str(answer["user"]["profil"]),
                str(answer["centre"]["code"]),
                len(answer["dossiers"]),
            )
        except (KeyError, TypeError) as error:
            raise _shape_error("v1 whoami", error) from error

    def dossiers(self) -> dict[str, RemoteDossier]:
        """The dossiers in rights and their revisions: ``v1 revisions``, which spares the
        server counting every row; ``v1 dossiers`` from a server that does not know it."""
        command = "v1 revisions"
        try:
            answer = self._session.json(command)
        except RemoteRefused as error:
            if error.code != "bad_request":
                raise
            command = "v1 dossiers"
            answer = self._session.json(command)
        try:
            return {
                str(d["code"]): RemoteDossier(str(d["code"]), str(d["nom"]), int(d["revision"]), bool(d["exporte"]))
                for d in answer.get("dossiers", [])
            }
        except (KeyError, TypeError, ValueError) as error:
            raise _shape_error(command, error) from error

    def clock(self) -> float:
        answer = self._session.json("v1 time")
        try:
            return float(answer["epoch"])
        except (KeyError, TypeError, ValueError) as error:
            raise _shape_error("v1 time", error) from error

    def export(self, codes: Sequence[str], sink: Sink) -> int:
        return self._session.export(codes, sink)

    def export_changes(self, held: Mapping[str, HeldDossier], sink: Sink) -> int:
        """The delta against the dossiers the guardian holds (``v1 export-changes``), streamed
        into ``sink``; verify it with ``adapters.delta_reader.verify_delta``."""
        return self._session.export_changes(held_document(held), sink)

    def import_dossier(self, code: str, password: str, backup: Opener) -> ImportReply:
        answer = self._session.import_dossier(code, password, backup)
        try:
            return ImportReply(int(answer["revision"]), str(answer["copie_avant_restauration"]))
        except (KeyError, TypeError, ValueError) as error:
            raise _shape_error(f"v1 import {code}", error) from error

    def replay(self, operations: Sequence[Operation], record: Callable[[Outcome], None]) -> list[Outcome]:
        """Send the operations with ``v1 replay``; ``record`` gets each answer, checked
        against what was sent, as it arrives. Raises Unavailable when an answer is malformed
        or the answers stop before the server's last line (the rest: send them again)."""
        sent = {operation.id: operation for operation in operations}
        outcomes: list[Outcome] = []
        finished: list[dict[str, Any]] = []

        def on_line(line: bytes) -> None:
            if finished:
                raise Unavailable("le serveur distant a répondu à 'v1 replay' après sa dernière ligne")
            try:
                if line.startswith(b'{"fin"'):
                    finished.append(json.loads(line))
                    return
                outcome = parse_outcome(line, sent)
            except (ValueError, RecursionError) as error:
                raise _shape_error("v1 replay", error) from error
            outcomes.append(outcome)
            record(outcome)

        self._session.replay(b"".join(operation.line() for operation in operations), on_line)
        if not finished or len(outcomes) != len(operations):
            raise Unavailable(
                f"rejeu interrompu : {len(outcomes)} réponse(s) pour {len(operations)} opération(s); "
                "les autres restent en attente, relancez le rejeu"
            )
        return outcomes

    def system_manifest(self) -> bytes:
        with self.system_file("MANIFEST") as handle:
            return handle.read(MAX_MANIFEST_BYTES)

    @contextlib.contextmanager
    def system_file(self, path: str) -> Iterator[BinaryIO]:
        sftp = self._sftp()
        with sftp.open(path, "rb") as handle:
            handle.prefetch()
            yield cast(BinaryIO, handle)

    def _sftp(self) -> Any:
        if not hasattr(self, "_sftp_client"):
            self._sftp_client = self._session.sftp()
        return self._sftp_client


class SshCentralServer:
    """The CentralServer port over SSH; ``known_hosts`` is the pinned key's file."""

    def __init__(self, host: str, port: int, known_hosts: Path, timeout: float) -> None:
        self.address = f"{host}:{port}"
        self.host = host
        self.port = port
        self.known_hosts = KnownHosts(known_hosts)
        self.client = RemoteClient(host, port, self.known_hosts, timeout)

    def session(self, login: str, password: str) -> SshCentralSession:
        return SshCentralSession(self.client.session(login, password))

    def presented_fingerprint(self) -> str:
        return fingerprint(self.client.presented_key())

    def pinned_fingerprint(self) -> str | None:
        key = self.known_hosts.pinned(self.host, self.port)
        return fingerprint(key) if key is not None else None

    def pin(self, expected: str) -> str:
        key = self.client.presented_key()
        actual = fingerprint(key)
        if actual != expected.strip():
            raise Refused(f"le serveur distant présente {actual}, pas {expected} : rien n'a été épinglé")
        self.known_hosts.pin(self.host, self.port, key)
        return actual
