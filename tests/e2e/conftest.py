"""End-to-end tier: our images as containers on a private network, like the compose stack
(a demo central server and a local server), reached only through published random ports."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer

from tests.support import containers, oracle
from tests.support.openssh import OpenSsh, known_hosts_line

ROOT_PASSWORD = "e2e-root"
SERVER_PASSWORD = "e2e-server"
USER_PASSWORD = "E2e-Demo-2026"


@dataclass
class Stack:
    remote_mysql: DockerContainer
    remote: DockerContainer
    local_mysql: DockerContainer
    local: DockerContainer
    ssh: OpenSsh

    def port(self, target: DockerContainer, port: int) -> int:
        return int(target.get_exposed_port(port))

    def healthz(self, target: DockerContainer) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port(target, 8080)}/healthz", timeout=10) as response:
            return dict(json.loads(response.read()))

    def remote_root(self) -> Any:
        return oracle.connect("127.0.0.1", self.port(self.remote_mysql, 3306), "root", ROOT_PASSWORD)


def mysql(network: Any, alias: str, role: str) -> DockerContainer:
    return (
        containers.container(containers.MYSQL_IMAGE, network, (alias,))
        .with_exposed_ports(3306)
        .with_envs(MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE=role, NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD)
    )


def server(network: Any, alias: str, role: str, database: str, **env: str) -> DockerContainer:
    return (
        containers.container(containers.APPLIANCE_IMAGE, network, (alias,))
        .with_exposed_ports(2222, 8080)
        .with_command(["neocuma-server", "serve"])
        .with_envs(
            NEOCUMA_ROLE=role,
            NEOCUMA_DB_HOST=database,
            NEOCUMA_DB_PASSWORD=SERVER_PASSWORD,
            NEOCUMA_SERVER_NAME=alias,
            **env,
        )
    )


@pytest.fixture(scope="session")
def stack(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    network = containers.new_network()
    started: list[DockerContainer] = []
    try:
        remote_mysql = mysql(network, "remote-mysql", "central").start()
        local_mysql = mysql(network, "mysql", "local").start()
        started += [remote_mysql, local_mysql]
        containers.wait_healthy(remote_mysql, 180)
        remote = server(
            network,
            "remote-neocuma",
            "central",
            "remote-mysql",
            NEOCUMA_SEED_ON_FIRST_START="1",
            NEOCUMA_DEPLOYMENT="demo",
            NEOCUMA_SEED_DOSSIERS="12",
            NEOCUMA_SEED_YEARS="2",
            NEOCUMA_SEED_PASSWORD=USER_PASSWORD,
            NEOCUMA_PUBLIC_DIR="/var/lib/neocuma-public",
        ).start()
        started.append(remote)
        containers.wait_healthy(local_mysql, 180)
        local = server(network, "neocuma", "local", "mysql").start()
        started.append(local)
        containers.wait_healthy(remote, 300)
        containers.wait_healthy(local, 300)
        public = containers.exec_checked(remote, ["cat", "/var/lib/neocuma-public/ssh_host_ed25519_key.pub"])
        known_hosts = tmp_path_factory.mktemp("e2e") / "known_hosts"
        ssh_port = int(remote.get_exposed_port(2222))
        known_hosts.write_text(known_hosts_line("127.0.0.1", ssh_port, public))
        yield Stack(remote_mysql, remote, local_mysql, local, OpenSsh("127.0.0.1", ssh_port, Path(known_hosts)))
    finally:
        for target in reversed(started):
            target.stop()
        network.remove()
