"""The whole appliance as containers, like the compose stack: a central server (seeded a bit
larger and rate-limited, so transfers last long enough to be cut), the local MySQL and
server, the Docker proxy and the guardian, on a LAN network and a WAN network that the tests
can cut."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from tests.support import containers, oracle
from tests.support.http import WebClient

ROOT = Path(__file__).resolve().parents[2]
ROOT_PASSWORD = "e2e-root"
SERVER_PASSWORD = "e2e-server"
GUARDIAN_DB_PASSWORD = "e2e-guardian"
CHECK_TOKEN = "e2e-check-account-token-0123456789"
USER_PASSWORD = "E2e-Guardian-2026"
PROJECT = f"neocumatest-appliance-{containers.SESSION}"
GUARDIAN_HEALTH = {
    "test": ["CMD", "/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8000/healthz"],
    "interval": 2_000_000_000,
    "timeout": 5_000_000_000,
    "retries": 3,
    "start_period": 60_000_000_000,
}


def new_volume(client: docker.DockerClient) -> str:
    name = f"neocumatest-{containers.SESSION}-{uuid.uuid4().hex[:8]}"
    client.volumes.create(name, labels=dict(containers.LABELS))
    return name


@dataclass
class Appliance:
    client: docker.DockerClient
    lan: Network
    wan: Network
    remote_mysql: DockerContainer
    remote: DockerContainer
    local_mysql: DockerContainer
    local: DockerContainer
    proxy: DockerContainer
    guardian: DockerContainer
    volumes: dict[str, str] = field(default_factory=dict)
    tools: DockerContainer | None = None

    def cli(self, *args: str, stdin: bytes | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``neocuma-guardian ARGS`` inside the guardian container, like `make` runs it."""
        process = subprocess.run(
            ["docker", "exec", "-i", self.guardian.get_wrapped_container().id, "neocuma-guardian", *args],
            input=stdin or b"",
            capture_output=True,
            timeout=timeout,
        )
        return subprocess.CompletedProcess(
            process.args, process.returncode, process.stdout.decode(), process.stderr.decode()
        )

    def run_in_guardian(self, *command: str) -> str:
        return containers.exec_checked(self.guardian, list(command))

    def remote_root(self) -> Any:
        return oracle.connect("127.0.0.1", int(self.remote_mysql.get_exposed_port(3306)), "root", ROOT_PASSWORD)

    def local_root(self) -> Any:
        return oracle.connect("127.0.0.1", int(self.local_mysql.get_exposed_port(3306)), "root", ROOT_PASSWORD)

    def local_web(self) -> WebClient:
        return WebClient(f"http://127.0.0.1:{self.local.get_exposed_port(8080)}")

    def remote_web(self) -> WebClient:
        return WebClient(f"http://127.0.0.1:{self.remote.get_exposed_port(8080)}")

    def cut_link(self) -> None:
        self.client.networks.get(self.wan.name).disconnect(self.guardian.get_wrapped_container().id, force=True)

    def restore_link(self) -> None:
        self.client.networks.get(self.wan.name).connect(self.guardian.get_wrapped_container().id)

    def guardian_logs(self, lines: int = 300) -> str:
        return containers.logs_of(self.guardian, lines)


def _guardian(appliance_volumes: dict[str, str], lan: Network) -> DockerContainer:
    return (
        containers.container(
            containers.APPLIANCE_IMAGE,
            lan,
            ("guardian",),
            labels={"com.docker.compose.project": PROJECT, "com.docker.compose.service": "guardian"},
            healthcheck=GUARDIAN_HEALTH,
        )
        .with_command(["neocuma-guardian", "serve"])
        .with_exposed_ports(8000)
        .with_envs(
            NEOCUMA_REMOTE_HOST="remote-neocuma",
            NEOCUMA_REMOTE_PORT="2222",
            NEOCUMA_REMOTE_HOSTKEY_FILE="/var/lib/guardian/remote-hostkey/ssh_host_ed25519_key.pub",
            NEOCUMA_DEMO_AUTOLOGIN="1",
            NEOCUMA_DEPLOYMENT="demo",
            NEOCUMA_USER="resp.fd12",
            NEOCUMA_PASSWORD=USER_PASSWORD,
            NEOCUMA_DB_HOST="mysql",
            NEOCUMA_DB_PASSWORD=GUARDIAN_DB_PASSWORD,
            NEOCUMA_LOCAL_URL="http://neocuma:8080",
            NEOCUMA_LOCAL_CHECK_TOKEN=CHECK_TOKEN,
            NEOCUMA_DOCKER_URL="tcp://docker-proxy:2375",
            NEOCUMA_TRANSFER_TIMEOUT="10",
            NEOCUMA_HEALTH_TIMEOUT="60",
            NEOCUMA_BACKUPS_KEEP="5",
        )
        .with_volume_mapping(appliance_volumes["system"], "/var/lib/neocuma/system", "rw")
        .with_volume_mapping(appliance_volumes["hostkey"], "/var/lib/guardian/remote-hostkey", "ro")
        .with_volume_mapping(appliance_volumes["state"], "/var/lib/guardian/state", "rw")
        .with_volume_mapping(appliance_volumes["backups"], "/var/lib/guardian/backups", "rw")
    )


@contextmanager
def running_appliance(
    client: docker.DockerClient,
    dossiers: int = 40,
    years: int = 4,
    export_kbps: int = 2048,
    centres: str = "FD12,FD24,FD47",
    guardian_env: dict[str, str] | None = None,
    guardian_files: dict[str, str] | None = None,
    with_tools: bool = False,
    automatic_backups: bool = False,
) -> Iterator[Appliance]:
    """The whole appliance on fresh networks and volumes. Automatic backups are off unless
    asked for: a run scheduled in FD12's slot (even hours, :00-:10) would otherwise take the
    guardian's lock, or switch generations, under a test that happens to run then. When
    asked for, they run every hour of the slot (the shipped settings run one a night, at an
    hour a test cannot wait for): the test moves the slot to the moment it wants."""
    guardian_env = dict(guardian_env or {})
    guardian_files = dict(guardian_files or {})
    settings = Path(tempfile.mkdtemp(prefix="neocuma-settings-"))
    seed = (ROOT / "config" / "guardian-settings.toml").read_text()
    assert "automatiques = true" in seed and 'heures = "nuit"' in seed
    if automatic_backups:
        seed = seed.replace('heures = "nuit"', 'heures = "toutes"')
    else:
        seed = seed.replace("automatiques = true", "automatiques = false")
    (settings / "guardian-settings.toml").write_text(seed)
    (settings / "guardian-settings.toml").chmod(0o644)
    settings.chmod(0o755)
    guardian_files[str(settings)] = "/etc/neocuma/test-settings"
    guardian_env["NEOCUMA_SETTINGS_SEED"] = "/etc/neocuma/test-settings/guardian-settings.toml"
    lan, wan = containers.new_network(), containers.new_network()
    volumes = {name: new_volume(client) for name in ("system", "hostkey", "state", "backups", "remote_system")}
    started: list[DockerContainer] = []
    try:
        remote_mysql = (
            containers.container(containers.MYSQL_IMAGE, wan, ("remote-mysql",))
            .with_exposed_ports(3306)
            .with_envs(
                MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE="central", NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD
            )
            .start()
        )
        local_mysql = (
            containers.container(containers.MYSQL_IMAGE, lan, ("mysql",))
            .with_exposed_ports(3306)
            .with_envs(
                MYSQL_ROOT_PASSWORD=ROOT_PASSWORD,
                NEOCUMA_ROLE="local",
                NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD,
                NEOCUMA_GUARDIAN_DB_PASSWORD=GUARDIAN_DB_PASSWORD,
            )
            .start()
        )
        started += [remote_mysql, local_mysql]
        proxy = (
            # Its compose project label tells it which local server it may signal.
            containers.container(
                containers.PROXY_IMAGE, lan, ("docker-proxy",), labels={"com.docker.compose.project": PROJECT}
            )
            .with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "ro")
            .start()
        )
        started.append(proxy)
        containers.wait_healthy(remote_mysql, 180)
        remote = (
            containers.container(containers.APPLIANCE_IMAGE, wan, ("remote-neocuma",))
            .with_exposed_ports(2222, 8080)
            .with_command(["neocuma-server", "serve"])
            .with_envs(
                NEOCUMA_ROLE="central",
                NEOCUMA_DB_HOST="remote-mysql",
                NEOCUMA_DB_PASSWORD=SERVER_PASSWORD,
                NEOCUMA_SERVER_NAME="central",
                NEOCUMA_SEED_ON_FIRST_START="1",
                NEOCUMA_DEPLOYMENT="demo",
                NEOCUMA_SEED_DOSSIERS=str(dossiers),
                NEOCUMA_SEED_YEARS=str(years),
                NEOCUMA_SEED_CENTRES=centres,
                NEOCUMA_SEED_PASSWORD=USER_PASSWORD,
                NEOCUMA_PUBLIC_DIR="/var/lib/neocuma-public",
                NEOCUMA_EXPORT_MAX_KBPS=str(export_kbps),
            )
            .with_volume_mapping(volumes["hostkey"], "/var/lib/neocuma-public", "rw")
            .start()
        )
        started.append(remote)
        containers.wait_healthy(local_mysql, 180)
        local = (
            containers.container(
                containers.APPLIANCE_IMAGE,
                lan,
                ("neocuma",),
                labels={"com.docker.compose.project": PROJECT, "com.docker.compose.service": "neocuma"},
            )
            # The name compose v1 would give it: the one the Docker proxy lets SIGHUP reach.
            .with_name(f"{PROJECT}_neocuma_1")
            .with_exposed_ports(2222, 8080)
            .with_command(["neocuma-server", "serve"])
            .with_envs(
                NEOCUMA_ROLE="local",
                NEOCUMA_DB_HOST="mysql",
                NEOCUMA_DB_PASSWORD=SERVER_PASSWORD,
                NEOCUMA_SERVER_NAME="local",
                NEOCUMA_CHECK_TOKEN=CHECK_TOKEN,
            )
            .with_volume_mapping(volumes["system"], "/var/lib/neocuma/system", "rw")
            .start()
        )
        started.append(local)
        for target in (remote, local, proxy):
            containers.wait_healthy(target, 300)
        if with_tools:
            tools = containers.container(containers.TOOLS_IMAGE, lan, ("test-tools",)).start()
            started.append(tools)
            containers.wait_healthy(tools, 120)
        guardian = _guardian(volumes, lan).with_envs(**guardian_env)
        for host, inside in guardian_files.items():
            guardian = guardian.with_volume_mapping(host, inside, "ro")
        guardian = guardian.start()
        started.append(guardian)
        client.networks.get(wan.name).connect(guardian.get_wrapped_container().id)
        containers.wait_healthy(guardian, 120)
        appliance = Appliance(
            client,
            lan,
            wan,
            remote_mysql,
            remote,
            local_mysql,
            local,
            proxy,
            guardian,
            volumes,
            tools if with_tools else None,
        )
        containers.wait_for(
            lambda: (
                '"logged_in": true'
                in appliance.run_in_guardian(
                    "/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8000/healthz"
                )
            ),
            90,
            "the guardian logged in with the demo account",
        )
        yield appliance
    finally:
        for target in reversed(started):
            target.stop()
        for network in (lan, wan):
            network.remove()
        for name in volumes.values():
            client.volumes.get(name).remove(force=True)
        shutil.rmtree(settings, ignore_errors=True)
