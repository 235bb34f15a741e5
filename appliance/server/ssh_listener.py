"""The SSH endpoint's listener: accepts connections on the port and serves each in a
paramiko transport thread (the sessions themselves are ``ssh.SessionInterface``). Logged-in
sessions count against ``max_sessions``; connections not logged in yet are counted apart,
at most a few per address, and closed if they do not log in within the deadline, so idle
connections can never lock the centres out (docs/protocol.md)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import paramiko

from appliance.server.sftp import ReadOnlySftpServer
from appliance.server.ssh import SessionInterface, SshContext
from appliance.web.throttle import FailedLogins

log = logging.getLogger(__name__)

AUTH_DEADLINE_SECONDS = 30.0
MAX_PENDING_PER_ADDRESS = 8  # connections of one address not logged in yet
MAX_PENDING = 64


class SshServer:
    """Accepts connections on ``port`` and serves each in paramiko transport threads."""

    def __init__(
        self,
        context: SshContext,
        host_key: paramiko.PKey,
        port: int,
        max_sessions: int,
        bind: str = "0.0.0.0",  # noqa: S104 - inside its container; compose decides what is published
        auth_deadline: float = AUTH_DEADLINE_SECONDS,
    ) -> None:
        self.context = context
        self.host_key = host_key
        self.max_sessions = max_sessions
        self.auth_deadline = auth_deadline
        self.failures = FailedLogins()
        # Authenticated sessions count against max_sessions; connections not yet logged in
        # are counted apart, per address, and closed after auth_deadline (docs/protocol.md).
        self._transports: set[paramiko.Transport] = set()
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((bind, port))
        self._socket.listen(64)
        self._socket.settimeout(1.0)
        self.port = self._socket.getsockname()[1]

    def serve_forever(self) -> None:
        log.info("ssh endpoint listening on port %d", self.port)
        while not self._stopping.is_set():
            try:
                connection, address = self._socket.accept()
            except TimeoutError:
                self._reap()
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                raise
            self._reap()
            host = address[0]
            with self._lock:
                busy = len(self._transports) >= self.max_sessions
                crowded = (
                    self._pending.get(host, 0) >= MAX_PENDING_PER_ADDRESS or sum(self._pending.values()) >= MAX_PENDING
                )
                if not busy and not crowded:
                    self._pending[host] = self._pending.get(host, 0) + 1
            if busy or crowded:
                why = f"{self.max_sessions} sessions already open" if busy else "too many connections not logged in"
                log.warning("ssh: refusing %s:%d, %s", host, address[1], why)
                connection.close()
                continue
            threading.Thread(
                target=self._serve_connection,
                args=(connection, host, f"{host}:{address[1]}"),
                name="ssh-handshake",
                daemon=True,
            ).start()

    def _serve_connection(self, connection: socket.socket, host: str, peer: str) -> None:
        try:
            transport = self._start_transport(connection, peer)
            if transport is not None:
                self._await_login(transport, peer)
        finally:
            with self._lock:
                left = self._pending.get(host, 1) - 1
                if left > 0:
                    self._pending[host] = left
                else:
                    self._pending.pop(host, None)

    def _await_login(self, transport: paramiko.Transport, peer: str) -> None:
        """Keep ``transport`` once it is logged in; close it if it is not within the deadline."""
        deadline = time.monotonic() + self.auth_deadline
        while transport.is_active() and not transport.is_authenticated() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not transport.is_authenticated():
            if transport.is_active():
                log.info("ssh: %s closed, not logged in within %.0f s", peer, self.auth_deadline)
            transport.close()
            return
        with self._lock:
            self._transports.add(transport)

    def _start_transport(self, connection: socket.socket, peer: str) -> paramiko.Transport | None:
        try:
            transport = paramiko.Transport(connection)
            transport.local_version = "SSH-2.0-NeoCumaServer"
            transport.add_server_key(self.host_key)
            transport.banner_timeout = 30
            transport.handshake_timeout = 30
            transport.auth_timeout = 60
            transport.set_subsystem_handler(
                "sftp", paramiko.SFTPServer, ReadOnlySftpServer, self.context.store, self.context.system_files
            )
            transport.start_server(server=SessionInterface(self.context, self.failures, peer))
        except (paramiko.SSHException, EOFError, OSError) as error:
            log.info("ssh: handshake with %s failed: %s", peer, error)
            connection.close()
            return None
        return transport

    def _reap(self) -> None:
        with self._lock:
            self._transports = {t for t in self._transports if t.is_active()}

    def stop(self) -> None:
        self._stopping.set()
        self._socket.close()
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()
