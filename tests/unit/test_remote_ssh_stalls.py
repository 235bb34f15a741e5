"""The guardian's SSH client never hangs on a server that stops answering: paramiko waits
without a timeout for the answer to an exec request, so a link cut at that moment (no reset)
froze the monitor for good. A loopback paramiko server that never answers shows the request
abandoned after the stall timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from appliance.adapters.remote_ssh import KnownHosts, RemoteClient
from appliance.errors import Unavailable


class _Mute(paramiko.ServerInterface):
    """Accepts the login and the channel, then never answers the exec request."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.release.wait(30)
        return False


@contextlib.contextmanager
def _server(interface: paramiko.ServerInterface) -> Iterator[tuple[int, paramiko.PKey]]:
    """A loopback paramiko server for one connection, answering as ``interface`` does."""
    key = paramiko.RSAKey.generate(1024)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        connection, _ = listener.accept()
        transport = paramiko.Transport(connection)
        transport.add_server_key(key)
        transports.append(transport)
        transport.start_server(server=interface)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], key
    finally:
        for transport in transports:
            transport.close()
        listener.close()


@pytest.fixture()
def mute_server() -> Iterator[tuple[int, paramiko.PKey]]:
    release = threading.Event()
    with _server(_Mute(release)) as served:
        yield served
        release.set()


def test_a_request_the_server_never_answers_is_abandoned_after_the_stall_timeout(
    mute_server: tuple[int, paramiko.PKey], tmp_path: Path
) -> None:
    port, key = mute_server
    known = KnownHosts(tmp_path / "known_hosts")
    known.pin("127.0.0.1", port, key)
    client = RemoteClient("127.0.0.1", port, known, timeout=0.3)
    session = client.session("resp.fd12", "x")
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"pas de réponse du serveur distant à 'v1 whoami' en 0\.3 s"):
        session.json("v1 whoami")
    assert time.monotonic() - started < 5
    session.close()


class _Flood(_Mute):
    """Answers an exec request with more bytes than any reply should hold."""

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def flood() -> None:
            try:
                for _ in range(64):
                    channel.sendall(b"[" * 65536)
                channel.send_exit_status(0)
            except (OSError, EOFError):
                pass  # the client hung up, as it should

        threading.Thread(target=flood, daemon=True).start()
        return True


def test_a_reply_larger_than_a_reply_can_be_is_refused_not_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appliance.adapters.remote_ssh as remote_ssh

    monkeypatch.setattr(remote_ssh, "MAX_REPLY_BYTES", 1024 * 1024)
    with _server(_Flood(threading.Event())) as (port, key):
        known = KnownHosts(tmp_path / "known_hosts")
        known.pin("127.0.0.1", port, key)
        session = RemoteClient("127.0.0.1", port, known, timeout=5).session("resp.fd12", "x")
        try:
            with pytest.raises(Unavailable, match="plus de 1048576 octets pour une réponse courte"):
                session.json("v1 dossiers")
        finally:
            session.close()


class _Stream(_Mute):
    """Answers an exec request with a long reply, sent as fast as it goes."""

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        def stream() -> None:
            time.sleep(0.2)  # the answer to the exec request goes first
            try:
                for _ in range(400):
                    channel.sendall(b" " * 65536)
                channel.send_exit_status(0)
            except (OSError, EOFError):
                pass

        threading.Thread(target=stream, daemon=True).start()
        return True


def _relay(target: int, forward: int) -> tuple[int, threading.Event]:
    """A TCP relay to ``target`` that forwards ``forward`` bytes from the server, then
    silently stops forwarding anything, without closing: packets that vanish (issue 12,
    finding 6). Returns its port and an event that ends it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, budget: list[int] | None) -> None:
        source.settimeout(0.1)
        while not done.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if budget is not None:
                if budget[0] <= 0:
                    continue  # swallowed: the link went silent
                budget[0] -= len(data)
            try:
                sink.sendall(data)
            except OSError:
                return

    def serve() -> None:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pump, args=(client, server, None), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, [forward]), daemon=True).start()
        done.wait(30)
        client.close()
        server.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], done


def test_a_link_that_silently_drops_mid_transfer_fails_within_the_stall_timeout(tmp_path: Path) -> None:
    with _server(_Stream(threading.Event())) as (server_port, key):
        port, done = _relay(server_port, forward=400_000)
        known = KnownHosts(tmp_path / "known_hosts")
        known.pin("127.0.0.1", port, key)
        session = RemoteClient("127.0.0.1", port, known, timeout=0.5).session("resp.fd12", "x")
        started = time.monotonic()
        try:
            with pytest.raises(Unavailable, match=r"rien n'a été reçu du serveur distant depuis 0 s après \d+ octets"):
                session.json("v1 export")
            assert time.monotonic() - started < 5, "abandoned after the stall timeout, not hung"
        finally:
            done.set()
            session.close()
