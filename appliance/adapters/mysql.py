"""MySQL/MariaDB access: a small blocking connection pool over mysql-connector-python (pure
Python driver: its C extension does not load on Debian bookworm, docs/architecture.md), and the
``mariadb`` command-line client for bulk streams, fed its password through a private
defaults file, never through argv or the environment."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mysql.connector
from mysql.connector.abstracts import MySQLConnectionAbstract

from appliance.errors import Unavailable

log = logging.getLogger(__name__)


class MysqlSettings(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...


@dataclass(frozen=True)
class MysqlAccount:
    """Where and as whom to connect; the password never shows in a repr."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)


def connect(
    settings: MysqlSettings, database: str | None = None, timeout: int = 10, local_infile_dir: str | None = None
) -> MySQLConnectionAbstract:
    """Open one connection (autocommit, utf8mb4); raises Unavailable naming host and cause.
    ``local_infile_dir`` allows LOAD DATA LOCAL INFILE from that directory only."""
    extra: dict[str, Any] = {"allow_local_infile": False}
    if local_infile_dir is not None:
        extra = {"allow_local_infile_in_path": local_infile_dir}
    try:
        connection = mysql.connector.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            database=database,
            use_pure=True,
            autocommit=True,
            charset="utf8mb4",
            collation="utf8mb4_unicode_ci",
            connection_timeout=timeout,
            **extra,
        )
    except mysql.connector.Error as error:
        raise Unavailable(
            f"impossible de se connecter à MySQL sur {settings.host}:{settings.port} "
            f"en tant que {settings.user} : {error.msg}"
        ) from error
    assert isinstance(connection, MySQLConnectionAbstract)
    no_delay(connection)
    return connection


def no_delay(connection: MySQLConnectionAbstract) -> bool:
    """Turn Nagle's algorithm off on ``connection``'s TCP socket; returns whether it did.

    The pure-Python driver leaves it on, and ends every ``LOAD DATA LOCAL INFILE`` with a
    small write (the file's last packet) then an empty packet: the second waits for the
    server's delayed ACK, about 40 ms per load. Measured on the local MySQL image, 300 rows:
    a DELETE, the LOAD DATA and SHOW WARNINGS took 44 ms with Nagle, 1.5 ms without
    (docs/performance.md). The driver has no option for it, so its socket is reached
    through its private ``_socket.sock``; a driver that moved it only loses the speed."""
    sock = getattr(getattr(connection, "_socket", None), "sock", None)
    if not isinstance(sock, socket.socket) or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return True


class ConnectionPool:
    """At most ``size`` connections; ``acquire`` waits up to ``wait`` seconds for one.

    A connection that raised during use is closed instead of being returned, and one idle
    for more than ``idle_check`` seconds is pinged before use, so a MySQL restart costs one
    reconnection, not a failed request. The check is short: a ``docker restart`` of MariaDB
    answers again within a second (0.7 s measured, tests/integration/test_mysql_restart.py),
    and a connection lent within 0.25 s of its return (a busy server's) cannot have seen one.
    """

    def __init__(self, settings: MysqlSettings, size: int = 8, wait: float = 10.0, idle_check: float = 0.25) -> None:
        self._settings = settings
        self._size = size
        self._wait = wait
        self._idle_check = idle_check
        self._idle: queue.LifoQueue[tuple[MySQLConnectionAbstract, float]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def acquire(self) -> Iterator[MySQLConnectionAbstract]:
        """Lend a connection for the ``with`` block; raises Unavailable when none comes."""
        if not self._slots.acquire(timeout=self._wait):
            raise Unavailable(f"aucune connexion MySQL libre après {self._wait:.0f} s ({self._size} utilisées)")
        connection: MySQLConnectionAbstract | None = None
        try:
            connection = self._take()
            yield connection
        except BaseException:
            if connection is not None:
                _close_quietly(connection)
            connection = None
            raise
        finally:
            if connection is not None:
                self._idle.put((connection, time.monotonic()))
            self._slots.release()

    def _take(self) -> MySQLConnectionAbstract:
        while True:
            try:
                connection, since = self._idle.get_nowait()
            except queue.Empty:
                return connect(self._settings)
            if time.monotonic() - since < self._idle_check:
                return connection
            try:
                connection.ping(reconnect=False)
                return connection
            except mysql.connector.Error:
                _close_quietly(connection)

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                connection, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            _close_quietly(connection)


def _close_quietly(connection: MySQLConnectionAbstract) -> None:
    with contextlib.suppress(Exception):
        connection.close()


def query_all(connection: MySQLConnectionAbstract, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` and return all rows; raises Unavailable with MySQL's message."""
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()
    except mysql.connector.Error as error:
        raise Unavailable(f"la requête MySQL a échoué : {error.msg}") from error
    return [tuple(row) for row in rows]


@dataclass
class ClientProcess:
    """A running ``mariadb`` client; close it with ``finish``."""

    process: subprocess.Popen[bytes]
    defaults_dir: str

    def finish(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait for the client; return its exit status and standard error (decoded)."""
        if self.process.stdin is not None and self.process.stdin.closed:
            self.process.stdin = None
        try:
            _, stderr = self.process.communicate(timeout=timeout)
        finally:
            _remove_tree(self.defaults_dir)
        return self.process.returncode, (stderr or b"").decode("utf-8", "replace").strip()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)
        _remove_tree(self.defaults_dir)


class MysqlClient:
    """Starts the stock ``mariadb`` client against one server."""

    def __init__(self, settings: MysqlSettings, executable: str = "mariadb") -> None:
        self._settings = settings
        self._executable = executable

    def start(
        self,
        extra_args: Sequence[str] = (),
        database: str | None = None,
        stdin: int | None = subprocess.PIPE,
        stdout: int | None = subprocess.PIPE,
        cwd: str | os.PathLike[str] | None = None,
    ) -> ClientProcess:
        """Start the client with ``extra_args``; its password is read from a 0600 file in a
        0700 directory removed when the client finishes."""
        directory = tempfile.mkdtemp(prefix="neocuma-client-")
        path = os.path.join(directory, "client.cnf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            password = self._settings.password.replace("\\", "\\\\").replace('"', '\\"')
            handle.write(
                "[client]\n"
                f"host={self._settings.host}\n"
                f"port={self._settings.port}\n"
                f"user={self._settings.user}\n"
                f'password="{password}"\n'
                "default-character-set=utf8mb4\n"
                "protocol=tcp\n"
            )
        args = [self._executable, f"--defaults-extra-file={path}", "--no-auto-rehash", *extra_args]
        if database:
            args.append(f"--database={database}")
        try:
            process = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=cwd)
        except OSError as error:
            _remove_tree(directory)
            raise Unavailable(f"impossible de démarrer le client {self._executable} : {error.strerror}") from error
        return ClientProcess(process, directory)


def _remove_tree(directory: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
