"""The guardian's parts, built from its configuration (the one wiring place of the guardian).

Services receive a ``Guardian`` and use its adapters: the remote server (SSH, host key
pinned), the local MySQL (the guardian's restricted account), the local server (HTTP and its
container through the Docker proxy), the state volume and the backups volume.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.adapters.local_server import LocalContainer, LocalWeb
from appliance.adapters.mysql import ConnectionPool, MysqlClient
from appliance.adapters.remote_ssh import KnownHosts, RemoteClient, RemoteSession
from appliance.adapters.state_files import JsonFile, exclusive_lock
from appliance.domain.states import Baseline
from appliance.errors import Refused
from appliance.guardian.config import GuardianConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseAccount:
    host: str
    port: int
    user: str
    password: str

    def __repr__(self) -> str:
        return f"DatabaseAccount(host={self.host!r}, port={self.port}, user={self.user!r})"


@dataclass(frozen=True)
class Credentials:
    """The remote login kept for unattended runs (state volume, mode 0600)."""

    login: str
    password: str
    centre: str
    profile: str

    def __repr__(self) -> str:
        return f"Credentials(login={self.login!r}, centre={self.centre!r})"


@dataclass
class Guardian:
    config: GuardianConfig
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    progress: Any = None  # guardian.progress.Progress in the daemon, None in the CLI
    _pool: ConnectionPool | None = None

    def report(self, step: str | None = None, bytes_done: int | None = None, dossiers: int | None = None) -> None:
        """Tell the console how the running job is going (nothing outside the daemon)."""
        if self.progress is not None:
            self.progress.update(step, bytes_done, dossiers)

    # Paths ---------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    @property
    def data_dir(self) -> Path:
        return self.config.backups_dir / "data"

    @property
    def system_zip(self) -> Path:
        return self.config.backups_dir / "system.zip"

    @property
    def local_copies_dir(self) -> Path:
        return self.config.backups_dir / "local"

    @property
    def work_dir(self) -> Path:
        return self.config.backups_dir / ".work"

    @property
    def system_dir(self) -> Path:
        return Path(self.config["local.system_dir"])

    # State ---------------------------------------------------------------------------
    def lock(self, what: str) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self.state_dir / "lock", what)

    def history(self) -> JsonFile:
        return JsonFile(self.state_dir / "history.json")

    def record(self, job: str, **facts: Any) -> None:
        """Remember the outcome of a job (for status and the next runs)."""
        history = self.history()
        data = history.read()
        data[job] = dict(facts, at=self.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        history.write(data)

    def credentials(self) -> Credentials:
        data = JsonFile(self.state_dir / "credentials.json").read()
        if not data.get("login") or not data.get("password"):
            raise Refused(
                "the guardian is not logged in to the remote server: run `neocuma-guardian login` (make login)"
            )
        return Credentials(
            str(data["login"]), str(data["password"]), str(data.get("centre", "")), str(data.get("profile", ""))
        )

    def store_credentials(self, credentials: Credentials) -> None:
        JsonFile(self.state_dir / "credentials.json").write(
            {
                "login": credentials.login,
                "password": credentials.password,
                "centre": credentials.centre,
                "profile": credentials.profile,
            }
        )

    def baselines(self) -> dict[str, Baseline]:
        data = JsonFile(self.state_dir / "baselines.json").read()
        return {code: Baseline(int(v["remote"]), int(v["local"])) for code, v in data.items()}

    def save_baselines(self, baselines: dict[str, Baseline]) -> None:
        JsonFile(self.state_dir / "baselines.json").write(
            {code: {"remote": b.remote_revision, "local": b.local_revision} for code, b in sorted(baselines.items())}
        )

    # Adapters ------------------------------------------------------------------------
    @property
    def known_hosts(self) -> KnownHosts:
        return KnownHosts(self.state_dir / "known_hosts")

    def remote(self) -> RemoteClient:
        return RemoteClient(
            self.config["remote.host"],
            self.config["remote.port"],
            self.known_hosts,
            float(self.config["remote.transfer_timeout"]),
        )

    def remote_session(self) -> RemoteSession:
        credentials = self.credentials()
        return self.remote().session(credentials.login, credentials.password)

    @property
    def database(self) -> DatabaseAccount:
        return DatabaseAccount(
            self.config["local.db_host"],
            self.config["local.db_port"],
            self.config["local.db_user"],
            self.config["local.db_password"],
        )

    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(self.database, size=4)
        return self._pool

    def mysql_client(self) -> MysqlClient:
        return MysqlClient(self.database)

    def local_web(self) -> LocalWeb:
        return LocalWeb(self.config["local.server_url"])

    def local_container(self) -> LocalContainer:
        return LocalContainer(self.config["local.docker_url"], self.config["local.server_service"])

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self.pool().acquire() as connection:
            yield connection
