"""The SSH endpoint for guardians (port 2222), with paramiko's server mode.

Password login as a NeoCuma user, checked against the live generation's user table. A user
whose profile is not *responsable départemental* authenticates but every request of the
session is refused with the profile needed (``forbidden_profile``), so both the guardian and
a person with OpenSSH see why. Failed logins are logged (login and address, never the
password) and slowed down, more for repeated failures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko

from appliance.adapters.backup_writer import ClientStarter, ExportRequest, stream_export
from appliance.adapters.changes_writer import ChangesRequest, stream_changes
from appliance.domain.passwords import dummy_hash, verify_password
from appliance.domain.protocol import ProtocolError, Request, parse_request
from appliance.domain.schema import GUARDIAN_PROFILE, PROFILE_LABELS
from appliance.errors import ApplianceError, TryAgain, Unavailable
from appliance.server import requests
from appliance.server.importer import Importer
from appliance.server.metrics import ServerMetrics
from appliance.server.replay import replay_operation
from appliance.server.ssh_changes import read_held_document
from appliance.server.ssh_import import handle_import
from appliance.server.ssh_replay import handle_replay
from appliance.server.store import Store, User
from appliance.server.systemfiles import SystemFiles
from appliance.web.throttle import FailedLogins, login_key, ssh_delay

log = logging.getLogger(__name__)


@dataclass
class SshContext:
    """What every connection needs; built once by the server's wiring."""

    store: Store
    client: ClientStarter
    system_files: SystemFiles
    server_name: str
    role: str
    zip_level: int
    transfer_timeout: int
    now: Callable[[], dt.datetime]
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    importer: Importer | None = None
    max_import_bytes: int = 512 * 1024 * 1024
    export_max_rate: int = 0


class SessionInterface(paramiko.ServerInterface):
    def __init__(self, context: SshContext, failures: FailedLogins, peer: str) -> None:
        self.context = context
        self.failures = failures
        self.peer = peer
        self.user: User | None = None

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        try:
            with self.context.store.request() as view:
                user = view.find_user(username) if view.live.schema else None
        except ApplianceError as error:
            log.error("login of %r from %s: the user table cannot be read: %s", username, self.peer, error)
            return paramiko.AUTH_FAILED
        ok = verify_password(password, user.password_hash if user else dummy_hash())
        if user is None or not ok or not user.active:
            reason = "unknown user" if user is None else ("wrong password" if not ok else "inactive user")
            keys = (login_key(username), f"peer:{self.peer.rsplit(':', 1)[0]}")
            self.failures.record(*keys)
            log.warning("ssh login failed for %r from %s: %s", username[:64], self.peer, reason)
            time.sleep(ssh_delay(self.failures.count(*keys)))  # this connection's own thread
            return paramiko.AUTH_FAILED
        self.failures.clear(login_key(username))
        self.user = user
        if user.profile != GUARDIAN_PROFILE:
            log.warning(
                "ssh login of %s from %s refused for guardian use: profile %s", user.login, self.peer, user.profile
            )
        else:
            log.info("ssh login of %s from %s", user.login, self.peer)
        return paramiko.AUTH_SUCCESSFUL

    def _allowed(self) -> bool:
        return self.user is not None and self.user.profile == GUARDIAN_PROFILE

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return self._accept(channel, b"")

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return self._accept(channel, command)

    def _accept(self, channel: paramiko.Channel, command: bytes) -> bool:
        """Start the request's worker. Paramiko answers the exec request only after this
        returns, so the worker must not close the channel before then: a client that sees
        the close first reports "Channel closed." instead of the refusal it was sent."""
        accepted = _Acceptance()
        self._spawn(channel, command, accepted)
        accepted.mark()
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if not self._allowed():
            log.warning(
                "sftp refused for %s: profile %s",
                self.user.login if self.user else "?",
                self.user.profile if self.user else "?",
            )
            return False
        return bool(super().check_channel_subsystem_request(channel, name))

    def _spawn(self, channel: paramiko.Channel, command: bytes, accepted: _Acceptance) -> None:
        thread = threading.Thread(target=self._run, args=(channel, command, accepted), name="ssh-request", daemon=True)
        thread.start()

    def _run(self, channel: paramiko.Channel, command: bytes, accepted: _Acceptance) -> None:
        status = 0
        started = time.monotonic()
        name, result = "unparsed", "ok"
        login = self.user.login if self.user else "?"
        try:
            channel.settimeout(self.context.transfer_timeout)
            request = parse_request(command) if command else _no_shell()
            if request.command != "protocol" and not self._allowed():
                assert self.user is not None
                label = PROFILE_LABELS.get(self.user.profile, self.user.profile)
                raise ProtocolError(
                    "forbidden_profile",
                    f"le compte {self.user.login} a le profil « {label} »; NeoCuma Server Guardian "
                    f"exige le profil « {PROFILE_LABELS[GUARDIAN_PROFILE]} »",
                )
            name = request.command
            self._dispatch(channel, request)
            log.info("ssh %s: %s done in %.2f s", login, request.command, time.monotonic() - started)
        except ProtocolError as error:
            result = error.code
            status = error.exit_status
            log.warning("ssh %s: request refused (%s): %s", login, error.code, error.message)
            _send_error(channel, error.line())
        except Unavailable as error:
            result = "unavailable"
            refusal = ProtocolError("unavailable", str(error), retryable=isinstance(error, TryAgain))
            status = refusal.exit_status
            if refusal.retryable:  # normal use (a user wrote as the export began): the client asks again
                log.warning("ssh %s: unavailable, retryable: %s", login, error)
            else:
                log.error("ssh %s: unavailable: %s", login, error)
            # One printable line, like every refusal: the message may quote a database error.
            _send_error(channel, refusal.line())
        except (OSError, EOFError, paramiko.SSHException) as error:
            result = "connection_lost"
            status = 1
            log.warning("ssh %s: connection lost during the request: %s", login, error)
        except Exception:
            result = "internal"
            status = 1
            log.exception("ssh %s: internal error", login)
            _send_error(channel, "error internal: erreur interne du serveur, voir son journal\n")
        finally:
            self.context.metrics.ssh_requests.labels(name, result).inc()
            if name in ("export", "export-changes"):
                self.context.metrics.exports.labels(result).inc()
            if name == "import":
                self.context.metrics.imports.labels(result).inc()
            try:
                channel.send_exit_status(status)
                channel.shutdown_write()
                _close_after_acceptance(channel, accepted)
            except Exception:  # noqa: BLE001, S110 - the client may be gone already: nothing left to tell it
                pass

    def _dispatch(self, channel: paramiko.Channel, request: Request) -> None:
        context = self.context
        if request.command == "protocol":
            _send_json(channel, requests.protocol_reply(context.server_name, context.role))
            return
        assert self.user is not None
        if request.command == "time":
            _send_json(channel, requests.time_reply(context.now()))
            return
        if request.command == "import":
            if context.importer is None:
                raise ProtocolError("bad_request", "ce serveur n'accepte pas de restauration")
            reply = handle_import(
                channel,
                self.user,
                request.dossiers[0],
                context.store,
                context.importer,
                self.failures,
                context.max_import_bytes,
                context.metrics,
            )
            _send_json(channel, reply)
            return
        if request.command == "replay":
            pool, role = context.store.pool, context.role
            handle_replay(
                channel, self.user, role, lambda user, operation: replay_operation(pool, role, user, operation)
            )
            return
        # The guardian's revisions are read before a database connection is taken.
        held = read_held_document(channel) if request.command == "export-changes" else None
        with context.store.request() as view:
            if view.live.schema is None:
                raise ProtocolError("unavailable", "ce serveur n'a encore aucune donnée synchronisée")
            if request.command == "whoami":
                _send_json(
                    channel, requests.whoami_reply(view, self.user, context.server_name, context.role, context.now())
                )
                return
            if request.command == "dossiers":
                _send_json(channel, requests.dossiers_reply(view, self.user))
                return
            if request.command == "revisions":
                _send_json(channel, requests.revisions_reply(view, self.user))
                return
            if request.command == "prerestores":
                mine = {d.code for d in view.dossiers_for(self.user.id)}
                wanted = request.dossiers[0] if request.dossiers else None
                if wanted is not None and wanted not in mine:
                    raise ProtocolError("outside_rights", f"dossier hors de vos droits ou inconnu : {wanted}")
                copies = context.importer.copies.copies(wanted) if context.importer else []
                _send_json(channel, {"copies": [c.as_json() for c in copies if c.dossier in mine]})
                return
            resolved: ExportRequest | ChangesRequest = (
                requests.resolve_changes(view, self.user, held, context.server_name, context.role)
                if held is not None
                else requests.resolve_export(view, self.user, request.dossiers, context.server_name, context.role)
            )
        self._stream(channel, resolved)

    def _stream(self, channel: paramiko.Channel, resolved: ExportRequest | ChangesRequest) -> None:
        """Write the export or the delta into the channel as the database client sends it."""
        context = self.context
        assert self.user is not None
        writer = io.BufferedWriter(_ChannelWriter(channel, context.export_max_rate), buffer_size=64 * 1024)
        if isinstance(resolved, ChangesRequest):
            try:
                delta = stream_changes(resolved, context.client, writer, context.zip_level, context.now)
            except TryAgain:
                # The members written whole reach the guardian, which resumes from them when it
                # asks again; the zip still has no manifest and cannot verify.
                with contextlib.suppress(Exception):
                    writer.flush()
                raise
            writer.flush()
            context.metrics.export_bytes.inc(delta.uncompressed_bytes)
            log.info(
                "export-changes for %s: %d dossiers in rights, %d included, %d removed, %d rows,"
                " %.1f MB of TSV in %.1f s",
                self.user.login,
                delta.dossiers,
                delta.included,
                delta.removed,
                delta.rows,
                delta.uncompressed_bytes / 1e6,
                delta.seconds,
            )
            return
        summary = stream_export(resolved, context.client, writer, context.zip_level, context.now)
        writer.flush()
        context.metrics.export_bytes.inc(summary.uncompressed_bytes)
        log.info(
            "export for %s: %d dossiers, %d rows, %.1f MB of TSV in %.1f s",
            self.user.login,
            summary.dossiers,
            summary.rows,
            summary.uncompressed_bytes / 1e6,
            summary.seconds,
        )


def _no_shell() -> Request:
    raise ProtocolError(
        "bad_request",
        "ce serveur n'offre pas de shell; commandes : protocol, v1 whoami, v1 dossiers, v1 revisions, v1 export, v1 export-changes, v1 time, v1 replay",
    )


class _ChannelWriter(io.RawIOBase):
    """Writes into the SSH channel, at most ``max_rate`` bytes per second when set (a central
    server shared by many centres may cap what one export takes)."""

    def __init__(self, channel: paramiko.Channel, max_rate: int = 0) -> None:
        self.channel = channel
        self.max_rate = max_rate
        self.started = time.monotonic()
        self.sent = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        payload = bytes(data)
        self.channel.sendall(payload)
        self.sent += len(payload)
        if self.max_rate:
            ahead = self.sent / self.max_rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        return len(payload)


def _send_json(channel: paramiko.Channel, data: dict[str, Any]) -> None:
    channel.sendall((json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8"))


def _send_error(channel: paramiko.Channel, line: str) -> None:
    with contextlib.suppress(Exception):
        channel.sendall_stderr(line.encode("utf-8"))


CLOSE_GRACE_SECONDS = 0.2


class _Acceptance:
    """When the transport thread accepted an exec request (``_accept`` returning)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.at = 0.0

    def mark(self) -> None:
        self.at = time.monotonic()
        self.event.set()


def _close_after_acceptance(channel: paramiko.Channel, accepted: _Acceptance) -> None:
    """Close ``channel`` once paramiko has had time to send its answer to the exec request.
    The answer leaves the transport thread right after ``_accept`` returns; nothing signals
    that it left, so a fast request (a refusal, ``v1 time``) waits until the grace has
    passed since the acceptance. Data, exit status and EOF are already sent: clients that
    read them are not delayed, only the close is."""
    accepted.event.wait(10)
    remaining = CLOSE_GRACE_SECONDS - (time.monotonic() - accepted.at)
    if remaining > 0:
        time.sleep(remaining)
    channel.close()
