"""The guardian's SSH client to a NeoCuma server (paramiko), with the host key pinned.

The server's key is compared with the pinned one before the password is sent: an unknown key
asks for ``login``/``hostkey accept``, a changed key is refused loudly with both fingerprints.
Every read has a stall timeout: a transfer that receives nothing for that long fails, it
never hangs. Refusals from the server (``error <code>: <message>``) become RemoteRefused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import paramiko

from appliance.domain.backup_format import Opener
from appliance.errors import HostKeyChanged, HostKeyUnknown, Refused, RemoteRefused, Unavailable

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 16 * 1024 * 1024  # a JSON reply (dossiers of a centre: a few hundred KB)
MAX_STDERR_BYTES = 64 * 1024
_BLOCK = 1 << 20


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class KnownHosts:
    """Pinned host keys, in OpenSSH's known_hosts format."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _entry(self, host: str, port: int) -> str:
        return host if port == 22 else f"[{host}]:{port}"

    def pinned(self, host: str, port: int) -> paramiko.PKey | None:
        if not self.path.exists():
            return None
        keys = paramiko.HostKeys(str(self.path))
        found = keys.lookup(self._entry(host, port))
        if not found:
            return None
        return next(iter(found.values()))

    def pin(self, host: str, port: int, key: paramiko.PKey) -> None:
        from appliance.adapters.state_files import atomic_write

        line = f"{self._entry(host, port)} {key.get_name()} {key.get_base64()}\n"
        atomic_write(self.path, line.encode("ascii"), mode=0o600)


def _parse_error(stderr: bytes, status: int) -> RemoteRefused:
    text = stderr.decode("utf-8", "replace").strip()
    if text.startswith("error ") and ":" in text:
        code, _, message = text[6:].partition(":")
        return RemoteRefused(code.strip(), message.strip(), status)
    return RemoteRefused("unknown", text or f"code de sortie {status}", status)


class RemoteSession:
    """One authenticated SSH connection; close it (or use ``with``)."""

    def __init__(self, transport: paramiko.Transport, stall_timeout: float) -> None:
        self.transport = transport
        self.stall_timeout = stall_timeout

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @contextlib.contextmanager
    def _bounded(self, what: str) -> Iterator[None]:
        """Paramiko waits without a timeout for the answer to an exec or subsystem request:
        if none comes within the stall timeout (a link cut without a reset, a server stuck),
        close the connection, which releases the wait, and say so."""
        fired = threading.Event()

        def give_up() -> None:
            fired.set()
            self.transport.close()

        watchdog = threading.Timer(self.stall_timeout, give_up)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield
        except (paramiko.SSHException, OSError, EOFError) as error:
            if fired.is_set():
                raise Unavailable(
                    f"pas de réponse du serveur distant à {what} en {self.stall_timeout:g} s : requête abandonnée"
                ) from error
            raise Unavailable(f"le serveur distant ne répond pas : {error}") from error
        finally:
            watchdog.cancel()

    def _channel(self, command: str) -> paramiko.Channel:
        try:
            channel = self.transport.open_session(timeout=self.stall_timeout)
            channel.settimeout(self.stall_timeout)
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise Unavailable(f"le serveur distant ne répond pas : {error}") from error
        with self._bounded(repr(command)):
            channel.exec_command(command)
        return channel

    def _finish(self, channel: paramiko.Channel) -> None:
        stderr = b""
        try:
            while chunk := channel.recv_stderr(65536):
                # An error line is short: keep its beginning, drain the rest unread.
                stderr = (stderr + chunk)[:MAX_STDERR_BYTES]
            # recv_exit_status() would wait for ever; the status follows the output at once.
            if not channel.status_event.wait(self.stall_timeout):
                raise TimeoutError(f"aucun code de sortie en {self.stall_timeout:.0f} s")
            status = channel.recv_exit_status()
        except (TimeoutError, OSError) as error:
            raise Unavailable(f"le serveur distant a cessé de répondre : {error}") from error
        finally:
            channel.close()
        if status != 0:
            raise _parse_error(stderr, status)

    def _read_into(self, channel: paramiko.Channel, sink: Sink, limit: int | None = None) -> int:
        """Copy the channel's output into ``sink``; a write error (a full disk) propagates
        as the OSError it is, network errors become Unavailable, and more than ``limit``
        bytes (for a reply that must be small) is the remote's failure."""
        size = 0
        while True:
            try:
                chunk = channel.recv(_BLOCK)
            except TimeoutError as error:
                channel.close()
                raise Unavailable(
                    f"rien n'a été reçu du serveur distant depuis {self.stall_timeout:.0f} s après {size} octets : "
                    "transfert abandonné"
                ) from error
            except OSError as error:
                channel.close()
                raise Unavailable(
                    f"la connexion au serveur distant a été perdue après {size} octets : {error}"
                ) from error
            if not chunk:
                return size
            if limit is not None and size + len(chunk) > limit:
                channel.close()
                raise Unavailable(
                    f"le serveur distant a envoyé plus de {limit} octets pour une réponse courte : abandonné"
                )
            try:
                sink.write(chunk)
            except OSError:
                channel.close()
                raise
            size += len(chunk)

    def json(self, command: str) -> dict[str, Any]:
        """Run a metadata command (``v1 whoami`` …) and parse its JSON answer."""
        import io

        channel = self._channel(command)
        buffer = io.BytesIO()
        self._read_into(channel, buffer, MAX_REPLY_BYTES)
        self._finish(channel)
        try:
            data = json.loads(buffer.getvalue())
        except (ValueError, RecursionError) as error:
            raise Unavailable(f"le serveur distant a répondu à {command!r} par autre chose que du JSON") from error
        if not isinstance(data, dict):
            raise Unavailable(f"le serveur distant a répondu à {command!r} par un document inattendu")
        return data

    def export(self, codes: Sequence[str], sink: Sink) -> int:
        """Stream ``v1 export`` into ``sink``; returns its size. Raises Unavailable when the
        transfer stalls or is cut, RemoteRefused when the server refuses."""
        channel = self._channel(" ".join(("v1", "export", *codes)))
        size = self._read_into(channel, sink)
        self._finish(channel)
        return size

    def export_changes(self, document: bytes, sink: Sink) -> int:
        """Stream ``v1 export-changes`` into ``sink``, the guardian's revisions (``document``)
        sent on stdin first; returns the delta's size. Raises as ``export``."""
        channel = self._channel("v1 export-changes")
        try:
            channel.sendall(document)
            channel.shutdown_write()
        except (TimeoutError, OSError) as error:
            log.info("envoi des révisions interrompu : %s", error)  # the server's reason, if any, wins
        size = self._read_into(channel, sink)
        self._finish(channel)
        return size

    def import_dossier(self, code: str, password: str, backup: Opener) -> dict[str, Any]:
        """Send ``v1 import CODE``: the password typed again, then the backup."""
        import io

        channel = self._channel(f"v1 import {code}")
        try:
            channel.sendall(password.encode("utf-8") + b"\n")
            with backup() as source:
                while block := source.read(_BLOCK):
                    channel.sendall(block)
            channel.shutdown_write()
        except (TimeoutError, OSError) as error:
            # The server may have refused early and closed its side: its reason wins.
            log.info("envoi de %s interrompu : %s", code, error)
        buffer = io.BytesIO()
        self._read_into(channel, buffer, MAX_REPLY_BYTES)
        self._finish(channel)
        try:
            reply = json.loads(buffer.getvalue())
        except (ValueError, RecursionError) as error:
            raise Unavailable(
                f"le serveur distant a répondu à l'import de {code} par autre chose que du JSON"
            ) from error
        if not isinstance(reply, dict):
            raise Unavailable(f"le serveur distant a répondu à l'import de {code} par un document inattendu")
        return reply

    def replay(self, batch: bytes, on_line: Callable[[bytes], None]) -> None:
        """Send ``v1 replay`` with ``batch`` on stdin and hand each answer line to
        ``on_line`` as it arrives, so the answers received before a cut are kept. Raises
        Unavailable (stall, cut, a line over the limit) or RemoteRefused (a refused batch)."""
        channel = self._channel("v1 replay")
        try:
            channel.sendall(batch)
            channel.shutdown_write()
        except (TimeoutError, OSError) as error:
            log.info("envoi des opérations interrompu : %s", error)  # the server's reason, if any, wins
        pending = bytearray()

        class _Lines:
            def write(self, data: bytes, /) -> int:
                pending.extend(data)
                while (end := pending.find(b"\n")) >= 0:
                    line = bytes(pending[:end])
                    del pending[: end + 1]
                    on_line(line)
                if len(pending) > MAX_REPLY_BYTES:
                    raise Unavailable("le serveur distant a envoyé une ligne de réponse trop longue : abandonné")
                return len(data)

        try:
            self._read_into(channel, _Lines())
        except BaseException:
            channel.close()
            raise
        self._finish(channel)

    def sftp(self) -> paramiko.SFTPClient:
        with self._bounded("la demande du sous-système SFTP"):
            client = paramiko.SFTPClient.from_transport(self.transport)
        if client is None:
            raise Unavailable("le serveur distant a refusé le sous-système SFTP")
        client.get_channel().settimeout(self.stall_timeout)
        return client


class RemoteClient:
    def __init__(self, host: str, port: int, known_hosts: KnownHosts, timeout: float) -> None:
        self.host = host
        self.port = port
        self.known_hosts = known_hosts
        self.timeout = timeout

    def _transport(self) -> paramiko.Transport:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as error:
            raise Unavailable(f"le serveur distant {self.host}:{self.port} est injoignable : {error}") from error
        try:
            transport = paramiko.Transport(sock)
            transport.banner_timeout = self.timeout
            transport.handshake_timeout = self.timeout
            transport.auth_timeout = self.timeout
            transport.start_client(timeout=self.timeout)
            # A keepalive every third of the stall timeout: an idle session across a NAT or
            # firewall that forgets quiet connections stays open, and a dead link shows.
            transport.set_keepalive(max(1, int(self.timeout / 3)))
        except (paramiko.SSHException, OSError, EOFError) as error:
            sock.close()
            raise Unavailable(f"échec de la négociation SSH avec {self.host}:{self.port} : {error}") from error
        return transport

    def presented_key(self) -> paramiko.PKey:
        """The key the server presents (no authentication)."""
        transport = self._transport()
        try:
            return transport.get_remote_server_key()
        finally:
            transport.close()

    def session(self, login: str, password: str) -> RemoteSession:
        """An authenticated session; raises HostKeyUnknown/HostKeyChanged before sending the
        password, Refused for refused credentials, Unavailable when unreachable."""
        pinned = self.known_hosts.pinned(self.host, self.port)
        transport = self._transport()
        try:
            presented = transport.get_remote_server_key()
            if pinned is None:
                raise HostKeyUnknown(
                    f"aucune clé d'hôte épinglée pour {self.host}:{self.port} ; le serveur présente "
                    f"{fingerprint(presented)} : vérifiez-la et lancez `neocuma-guardian login` ou "
                    "`neocuma-guardian hostkey accept SHA256:…`"
                )
            if presented.asbytes() != pinned.asbytes():
                log.error(
                    "CLÉ D'HÔTE CHANGÉE pour %s:%d : épinglée %s, présentée %s",
                    self.host,
                    self.port,
                    fingerprint(pinned),
                    fingerprint(presented),
                )
                raise HostKeyChanged(
                    f"la clé d'hôte de {self.host}:{self.port} a CHANGÉ : épinglée {fingerprint(pinned)}, "
                    f"présentée {fingerprint(presented)}. Rien n'a été envoyé. Si le changement est attendu, "
                    "vérifiez-le avec l'administrateur du serveur, puis lancez "
                    "`neocuma-guardian hostkey accept <nouvelle empreinte>`"
                )
            try:
                transport.auth_password(login, password)
            except paramiko.AuthenticationException as error:
                raise Refused(
                    f"le serveur distant a refusé l'identification de {login} : utilisateur ou mot de passe incorrect"
                ) from error
            except (paramiko.SSHException, OSError) as error:
                raise Unavailable(f"l'identification auprès de {self.host}:{self.port} a échoué : {error}") from error
        except BaseException:
            transport.close()
            raise
        return RemoteSession(transport, self.timeout)
