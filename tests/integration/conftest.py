"""Integration tier: our MariaDB image in a container, the server's code in-process (SSH
endpoint on a free port, the web app through Flask's client), OpenSSH as the client."""

from __future__ import annotations

import contextlib
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appliance.configuration import load_server
from appliance.domain.centres import parse_centres
from appliance.server.hostkey import load_or_create_host_key
from appliance.server.importer import Importer
from appliance.server.seed.generator import GeneratorOptions
from appliance.server.seed.loader import seed_generation
from appliance.server.ssh import SshContext
from appliance.server.ssh_listener import SshServer
from appliance.server.store import Store
from appliance.server.systemfiles import SystemFiles
from appliance.server.wiring import build
from tests.support import containers, oracle
from tests.support.openssh import OpenSsh, known_hosts_line

ROOT_PASSWORD = "root-test-password"
SERVER_PASSWORD = "server-test-password"
USER_PASSWORD = "Integration-2026"
CONFIG = Path(__file__).resolve().parents[2] / "config" / "centres.toml"


@dataclass(frozen=True)
class Db:
    host: str
    port: int
    user: str
    password: str


@dataclass
class Central:
    root: Db
    server: Db
    store: Store
    system_files: SystemFiles
    ssh: OpenSsh
    ssh_port: int
    schema: str
    context: SshContext
    importer: Importer

    def root_connection(self) -> Any:
        return oracle.connect(self.root.host, self.root.port, self.root.user, self.root.password)


@pytest.fixture(scope="session")
def mariadb(docker_client: Any) -> Iterator[Db]:
    target = containers.container(containers.MYSQL_IMAGE).with_exposed_ports(3306)
    target = target.with_envs(
        MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE="central", NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD
    )
    target.start()
    try:
        containers.wait_healthy(target, 180)
        yield Db("127.0.0.1", int(target.get_exposed_port(3306)), "root", ROOT_PASSWORD)
    finally:
        target.stop()


@pytest.fixture(scope="session")
def central(mariadb: Db, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """The central server as its own wiring builds it from its configuration, with its SSH
    endpoint on a free port."""
    state = tmp_path_factory.mktemp("central")
    config = load_server(
        {
            "NEOCUMA_ROLE": "central",
            "NEOCUMA_SERVER_NAME": "integration",
            "NEOCUMA_DB_HOST": mariadb.host,
            "NEOCUMA_DB_PORT": str(mariadb.port),
            "NEOCUMA_DB_PASSWORD": SERVER_PASSWORD,
            "NEOCUMA_STATE_DIR": str(state),
            "NEOCUMA_PUBLIC_DIR": str(state / "public"),
            "NEOCUMA_TRANSFER_TIMEOUT": "30",
        }
    )
    parts = build(config, pool_size=8)
    server_db = Db(mariadb.host, mariadb.port, "neocuma_server", SERVER_PASSWORD)
    centres = {c.code: c for c in parse_centres(tomllib.loads(CONFIG.read_text()))}
    options = GeneratorOptions(centres=(centres["FD12"], centres["FD24"]), dossiers=8, years=2, password=USER_PASSWORD)
    result = seed_generation(parts.pool, parts.client, config.paths.system_dir, options, "integration")
    assert parts.importer is not None
    host_key = load_or_create_host_key(state, state / "public")
    server = SshServer(parts.ssh, host_key, port=0, max_sessions=16, bind="127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    known_hosts = state / "known_hosts"
    public = (state / "public" / "ssh_host_ed25519_key.pub").read_text()
    known_hosts.write_text(known_hosts_line("127.0.0.1", server.port, public))
    try:
        yield Central(
            root=mariadb,
            server=server_db,
            store=parts.store,
            system_files=parts.system_files,
            ssh=OpenSsh("127.0.0.1", server.port, known_hosts),
            ssh_port=server.port,
            schema=f"neocuma_g{result.generation}",
            context=parts.ssh,
            importer=parts.importer,
        )
    finally:
        server.stop()
        parts.pool.close()


@pytest.fixture()
def unchanged(central: Central) -> Iterator[None]:
    """The whole live schema, row for row, is the same after the test as before it."""
    connection = central.root_connection()
    before = oracle.whole_schema_oracle(connection, central.schema)
    yield
    assert oracle.whole_schema_oracle(connection, central.schema) == before
    connection.close()


@pytest.fixture()
def local_grants(central: Central) -> Iterator[None]:
    """The grant a local server's account has and the central one lacks (mysql-init/20-accounts.sh):
    INSERT on the outbox, so the central role's test database serves a local server in fallback."""
    connection = central.root_connection()
    oracle.query(connection, f"GRANT INSERT ON neocuma_control.outbox TO '{central.server.user}'@'%'")
    yield
    oracle.query(connection, f"REVOKE INSERT ON neocuma_control.outbox FROM '{central.server.user}'@'%'")
    connection.close()


LOCAL_ROOT_PASSWORD = "local-root-password"
LOCAL_GUARDIAN_PASSWORD = "guardian-test-password"


@contextlib.contextmanager
def local_mysql_started(**environment: str) -> Iterator[tuple[Db, Db]]:
    """A second MariaDB as a centre's local one, our image with ``environment`` added:
    (root, the guardian's account)."""
    target = containers.container(containers.MYSQL_IMAGE).with_exposed_ports(3306)
    target = target.with_envs(
        MYSQL_ROOT_PASSWORD=LOCAL_ROOT_PASSWORD,
        NEOCUMA_ROLE="local",
        NEOCUMA_GUARDIAN_DB_PASSWORD=LOCAL_GUARDIAN_PASSWORD,
        **environment,
    )
    target.start()
    try:
        containers.wait_healthy(target, 180)
        port = int(target.get_exposed_port(3306))
        yield (
            Db("127.0.0.1", port, "root", LOCAL_ROOT_PASSWORD),
            Db("127.0.0.1", port, "neocuma_guardian", LOCAL_GUARDIAN_PASSWORD),
        )
    finally:
        target.stop()
