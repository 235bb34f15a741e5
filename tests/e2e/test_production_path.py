"""A centre's host from nothing, as its IT manager would do it: a clean clone, a `.env` from
the production example pointed at a central server on a test network, `docker compose
build` and `up -d` to healthy, `login` with the fingerprint, the first run filling the local
server; `docker compose stop` in the middle of a backup; then an upgrade to a newer tree,
rebuilt and restarted with `docker compose up -d`, keeping everything, and the next run.

The clone is of the tree's last commit (uncommitted changes are not in it); the images get
a tag of this session, so the cold build is its own, and layers Docker already has are
reused. The steps depend on one another and run in the order of this file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer

from appliance import __version__
from tests.e2e.conftest import USER_PASSWORD, mysql, server
from tests.support import containers

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CENTRAL_ALIAS = "central-test"
FIRST, NEWER = f"{__version__}-cold{containers.SESSION}", f"{__version__}-upgrade{containers.SESSION}"
NEWER_VERSION = "99.0.0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Host:
    """The centre's host: a clone of the project with its .env, run by compose alone."""

    directory: Path
    project: str
    web_port: int
    client: Any

    def env(self) -> dict[str, str]:
        # Only the .env of the clone configures the stack (make exports some NEOCUMA_*).
        return {k: v for k, v in os.environ.items() if not k.startswith(("NEOCUMA_", "COMPOSE_", "DOCKER_BUILDKIT"))}

    def command(self, *args: str) -> list[str]:
        return [str(self.directory / "scripts" / "compose.sh"), "-p", self.project, *args]

    def compose(self, *args: str, timeout: float = 900, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        process = subprocess.run(
            self.command(*args),
            cwd=self.directory,
            env=self.env(),
            input=stdin or b"",
            capture_output=True,
            timeout=timeout,
        )
        return subprocess.CompletedProcess(
            process.args, process.returncode, process.stdout.decode(), process.stderr.decode()
        )

    def guardian(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "guardian", "neocuma-guardian", *args, stdin=stdin)

    def set_env(self, key: str, value: str) -> None:
        lines = [line for line in (self.directory / ".env").read_text().splitlines() if not line.startswith(f"{key}=")]
        (self.directory / ".env").write_text("\n".join([*lines, f"{key}={value}"]) + "\n")

    def healthy(self) -> None:
        wait = subprocess.run(
            [str(self.directory / "scripts" / "wait-healthy.sh"), self.project, "300"], capture_output=True, text=True
        )
        assert wait.returncode == 0, wait.stdout + wait.stderr + self.compose("logs", "--tail=40").stdout

    def local_health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=10) as response:
            return dict(json.loads(response.read()))

    def connect_central(self, central: DockerContainer) -> None:
        network = self.client.networks.get(f"{self.project}_wan")
        network.connect(central.get_wrapped_container().id, aliases=[CENTRAL_ALIAS])

    def disconnect_central(self, central: DockerContainer) -> None:
        """Before `down`: compose cannot remove a network another container is on."""
        with contextlib.suppress(Exception):  # never connected, or the network is gone
            self.client.networks.get(f"{self.project}_wan").disconnect(central.get_wrapped_container().id, force=True)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def central(docker_client: Any) -> Iterator[DockerContainer]:
    """A central NeoCuma server, seeded, its exports slowed so a backup lasts seconds."""
    network = containers.new_network()
    database = mysql(network, "central-mysql", "central").start()
    started = [database]
    try:
        containers.wait_healthy(database, 180)
        remote = server(
            network,
            "central",
            "central",
            "central-mysql",
            NEOCUMA_SEED_ON_FIRST_START="1",
            NEOCUMA_DEPLOYMENT="demo",
            NEOCUMA_SEED_DOSSIERS="12",
            NEOCUMA_SEED_YEARS="2",
            NEOCUMA_SEED_PASSWORD=USER_PASSWORD,
            NEOCUMA_EXPORT_MAX_KBPS="256",
        ).start()
        started.append(remote)
        containers.wait_healthy(remote, 300)
        yield remote
    finally:
        for target in reversed(started):
            target.stop()
        network.remove()


@pytest.fixture(scope="module")
def host(docker_client: Any, central: DockerContainer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    directory = tmp_path_factory.mktemp("centre") / "neocuma"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(directory)], check=True)
    for certificate in (ROOT / "docker" / "certs").glob("*.crt"):  # as `make certs` would
        shutil.copy(certificate, directory / "docker" / "certs")
    web_port = _free_port()
    example = (directory / "config" / "production.env.example").read_text()
    (directory / ".env").write_text(example)
    running = Host(directory, f"neocumatest{containers.SESSION}prod", web_port, docker_client)
    for key, value in {
        "COMPOSE_PROJECT_NAME": running.project,
        "NEOCUMA_VERSION": FIRST,
        "NEOCUMA_REMOTE_HOST": CENTRAL_ALIAS,
        "NEOCUMA_REMOTE_PORT": "2222",
        "NEOCUMA_WEB_PORT": str(web_port),
        "NEOCUMA_CONSOLE_PORT": str(_free_port()),
        "NEOCUMA_TRANSFER_TIMEOUT": "20",
    }.items():
        running.set_env(key, value)
    try:
        yield running
    finally:
        running.disconnect_central(central)
        down = running.compose("down", "-v", "--remove-orphans", timeout=300)
        assert down.returncode == 0, down.stderr
        for tag in (FIRST, NEWER):
            for name in ("appliance", "mysql", "docker-proxy"):
                with contextlib.suppress(Exception):  # an image that was never built
                    docker_client.images.remove(f"neocuma/{name}:{tag}", noprune=False)


def test_1_a_clean_clone_builds_and_starts_to_healthy_with_the_production_env(host: Host) -> None:
    started = time.monotonic()
    _ok(host.compose("build"))
    built = time.monotonic() - started
    _ok(host.compose("up", "-d"))
    host.healthy()
    services = _ok(host.compose("ps", "--services")).split()
    assert sorted(services) == ["docker-proxy", "guardian", "mysql", "neocuma"], "nothing of the demo"
    assert host.local_health()["data_generation"] is None
    assert _ok(host.guardian("--version")).strip() == f"neocuma-guardian {__version__}"
    print(f"cold compose build: {built:.0f} s")


def test_2_login_shows_the_fingerprint_and_the_first_run_fills_the_local_server(
    host: Host, central: DockerContainer
) -> None:
    host.connect_central(central)
    fingerprint = containers.exec_checked(central, ["neocuma-server", "hostkey"]).strip()
    unconfirmed = host.guardian("login", "--user", "resp.fd12", stdin=USER_PASSWORD.encode() + b"\n")
    assert unconfirmed.returncode == 1 and fingerprint in unconfirmed.stdout and "non confirmée" in unconfirmed.stderr
    login = _ok(
        host.guardian(
            "login", "--user", "resp.fd12", "--accept-hostkey", fingerprint, stdin=USER_PASSWORD.encode() + b"\n"
        )
    )
    assert fingerprint in login and "Connecté : resp.fd12" in login
    # No scheduled run may start under the test (it could, at 02:00 UTC): off, and 02 kept.
    _ok(host.guardian("settings", "set", "automatiques=non", "heures=2"))
    run = _ok(host.guardian("run"))
    assert "Synchronisation : génération 1 en service" in run
    health = host.local_health()
    assert health["data_generation"] == 1 and health["mode"] == "standby"


def test_3_compose_stop_during_a_backup_lists_no_partial_file_and_holds_no_lock(host: Host) -> None:
    before = json.loads(_ok(host.guardian("backups", "--json")))["backups"]
    backup = subprocess.Popen(
        [*host.command("exec", "-T", "guardian"), "neocuma-guardian", "backup", "--data", "--full"],
        cwd=host.directory,
        env=host.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    probe = "stat -c %s /var/lib/guardian/backups/data/.*.part 2>/dev/null || echo 0"
    containers.wait_for(
        lambda: int(_ok(host.compose("exec", "-T", "guardian", "sh", "-c", probe)).split()[0]) > 0,
        60,
        "the backup is being written",
    )
    stopping = time.monotonic()
    _ok(host.compose("stop", "guardian", timeout=120))
    stopped = time.monotonic() - stopping
    backup.wait(60)
    assert backup.returncode != 0, "the interrupted backup did not report success"
    _ok(host.compose("start", "guardian"))
    host.healthy()
    after = json.loads(_ok(host.guardian("backups", "--json")))["backups"]
    assert after == before, "nothing half-written is listed"
    made = _ok(host.guardian("backup", "--data"))  # the lock is free
    assert "Sauvegarde des données : data/" in made
    leftovers = _ok(host.compose("exec", "-T", "guardian", "sh", "-c", "ls -a /var/lib/guardian/backups/data"))
    assert ".part" not in leftovers, "the next backup removed what the stopped one left"
    assert len(json.loads(_ok(host.guardian("backups", "--json")))["backups"]) == len(before) + 1
    print(f"compose stop of the guardian during a backup: {stopped:.1f} s")


def test_4_an_upgrade_keeps_everything_and_the_next_run_succeeds(host: Host) -> None:
    pinned = _ok(host.guardian("hostkey", "show")).splitlines()[0]
    backups = json.loads(_ok(host.guardian("backups", "--json")))["backups"]
    dossiers = json.loads(_ok(host.guardian("dossiers", "--json")))
    init = host.directory / "appliance" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{__version__}"', f'__version__ = "{NEWER_VERSION}"'))
    host.set_env("NEOCUMA_VERSION", NEWER)
    _ok(host.compose("build"))
    _ok(host.compose("up", "-d"))
    host.healthy()
    assert _ok(host.guardian("--version")).strip() == f"neocuma-guardian {NEWER_VERSION}"
    images = _ok(host.compose("images"))
    assert NEWER in images and FIRST not in images, "the containers run the new images"
    assert _ok(host.guardian("hostkey", "show")).splitlines()[0] == pinned, "the pinned key is kept"
    assert json.loads(_ok(host.guardian("backups", "--json")))["backups"] == backups, "the backups are kept"
    assert json.loads(_ok(host.guardian("dossiers", "--json"))) == dossiers, "login, baselines and data kept"
    settings = _ok(host.guardian("settings"))
    assert "automatiques : non" in settings and "heures (UTC)             : 02" in settings, "Paramétrages kept"
    assert host.local_health()["data_generation"] == 1, "the local server kept serving its generation"
    assert "génération 2 en service" in _ok(host.guardian("run"))
