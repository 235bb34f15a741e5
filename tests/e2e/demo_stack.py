"""The demo compose stack (docker-compose.yml + docker-compose.demo.yml) as `make up` runs it,
on a unique project name and free host ports, configured by its own .env file only, so a
running `make up` stack is left alone. The gateway's and the fallback day's end-to-end tests
and bench/fallback_day.py run it.

With ``database_ports``, a test-only override file also publishes both MariaDB servers (the
local one and the demo central one) on 127.0.0.1: the oracles read them with
mysql-connector, never through our code. The central server's link is cut the way a
centre's internet link drops: its container leaves the `wan` network it shares with the
guardian (its own network to its MariaDB, and its published web port, stay)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import containers, oracle
from tests.support.http import WebClient

ROOT = Path(__file__).resolve().parents[2]
FILES = ("docker-compose.yml", "docker-compose.demo.yml")
# config/demo.env: every account the demo central server generates shares this password.
DEMO_PASSWORD = "Demo-FD12-2026"
DEMO_LOGIN = "resp.fd12"
HEALTH = ("/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8000/healthz")
ROOT_PASSWORD_FILE = "/run/neocuma-secrets/mysql/root-password"
_DATABASE_PORTS = """services:
  mysql:
    ports: ["127.0.0.1:{local}:3306"]
  remote-mysql:
    ports: ["127.0.0.1:{central}:3306"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DemoStack:
    """The demo's compose project, configured by its own .env file only."""

    def __init__(
        self,
        name: str,
        env_file: Path,
        lan_port: int,
        central_port: int,
        extra_files: tuple[Path, ...] = (),
        database_ports: tuple[int, int] | None = None,
    ) -> None:
        self.name = name
        self.env_file = env_file
        self.lan_port = lan_port
        self.central_url = f"http://127.0.0.1:{central_port}/"
        self.extra_files = extra_files
        self.database_ports = database_ports  # (local, central) when published
        # The caller's NEOCUMA_* (make exports some) would override the .env file.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NEOCUMA_", "COMPOSE_"))}

    def setting(self, key: str) -> str:
        """A value of the stack's .env file."""
        for line in self.env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            if name == key:
                return value
        raise KeyError(key)

    def compose(self, *args: str, stdin: str | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        command = [str(ROOT / "scripts" / "compose.sh"), "--env-file", str(self.env_file), "-p", self.name]
        for name in FILES:
            command += ["-f", str(ROOT / name)]
        for extra in self.extra_files:
            command += ["-f", str(extra)]
        return subprocess.run(
            [*command, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, input=stdin, timeout=timeout
        )

    def guardian(self, *args: str, stdin: str | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """``neocuma-guardian ARGS`` in the guardian's container, as `make` runs it."""
        return self.compose("exec", "-T", "guardian", "neocuma-guardian", *args, stdin=stdin, timeout=timeout)

    def guardian_file(self, path: str) -> str | None:
        """A file of the guardian's container (its state volume, say); None when absent."""
        read = self.compose("exec", "-T", "guardian", "cat", path)
        return read.stdout if read.returncode == 0 else None

    def wait_logged_in(self, timeout: float = 180) -> None:
        """The demo guardian logs in by itself (NEOCUMA_DEMO_AUTOLOGIN) once it is up."""
        containers.wait_for(
            lambda: '"logged_in": true' in self.compose("exec", "-T", "guardian", *HEALTH).stdout,
            timeout,
            "the demo guardian logged in",
            interval=2,
        )

    def get(self, path: str, port: int | None = None) -> tuple[int, dict[str, str], str]:
        """One GET, redirects not followed: status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", port or self.lan_port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        finally:
            connection.close()

    def failed_login(self, login: str) -> int:
        """A login with a wrong password through the LAN address: its status."""
        connection = http.client.HTTPConnection("127.0.0.1", self.lan_port, timeout=10)
        try:
            connection.request("GET", "/login")
            response = connection.getresponse()
            page = response.read().decode()
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token and cookie, page[:300]
            form = urllib.parse.urlencode({"csrf": token.group(1), "login": login, "password": "faux"})
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            connection.request("POST", "/login", body=form, headers=headers)
            answer = connection.getresponse()
            answer.read()
            return answer.status
        finally:
            connection.close()

    def points_to(self) -> dict[str, Any]:
        """The gateway's /healthz: which way the LAN address points."""
        status, headers, body = self.get("/healthz")
        assert status == 200 and headers["content-type"] == "application/json", (status, headers, body)
        return dict(json.loads(body))

    def lan_web(self) -> WebClient:
        """A browser on the LAN address (the gateway)."""
        return WebClient(f"http://127.0.0.1:{self.lan_port}")

    def central_web(self) -> WebClient:
        """A browser outside the LAN, on the demo central server's published web port."""
        return WebClient(self.central_url)

    def container(self, service: str) -> str:
        return subprocess.run(
            [
                "docker",
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={self.name}",
                "--filter",
                f"label=com.docker.compose.service={service}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def network(self, short: str) -> str:
        """The compose network ``short`` (``wan``, ``local``) of this project: its full name."""
        project = f"label=com.docker.compose.project={self.name}"
        names = subprocess.run(
            ["docker", "network", "ls", "--filter", project, "--format", "{{.Name}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        found = [name for name in names if name.endswith(f"_{short}")]
        assert len(found) == 1, (short, names)
        return found[0]

    def cut_central(self) -> None:
        """The central server off the network it shares with the guardian (the link drops)."""
        subprocess.run(
            ["docker", "network", "disconnect", self.network("wan"), self.container("remote-neocuma")],
            check=True,
            capture_output=True,
        )

    def reconnect_central(self) -> None:
        """The central server back on that network, under the name the guardian dials."""
        subprocess.run(
            [
                "docker",
                "network",
                "connect",
                "--alias",
                "remote-neocuma",
                self.network("wan"),
                self.container("remote-neocuma"),
            ],
            check=True,
            capture_output=True,
        )

    def root_password(self, service: str) -> str:
        """The MariaDB root password the stack generated in ``service``'s secrets volume."""
        read = self.compose("exec", "-T", service, "cat", ROOT_PASSWORD_FILE)
        assert read.returncode == 0, read.stderr
        return read.stdout.strip()

    def database(self, side: str) -> Any:
        """A mysql-connector connection as root to the ``local`` or ``central`` MariaDB."""
        assert self.database_ports is not None, "started without database_ports"
        local, central = self.database_ports
        service, port = ("mysql", local) if side == "local" else ("remote-mysql", central)
        return oracle.connect("127.0.0.1", port, "root", self.root_password(service))


@contextmanager
def running_demo(
    directory: Path, suffix: str, settings: dict[str, str], database_ports: bool = False
) -> Iterator[DemoStack]:
    """The demo stack up and healthy, with ``settings`` over the defaults below (unique
    project name, every port free and on 127.0.0.1); taken down with its volumes after."""
    name = f"neocumatest{containers.SESSION}{suffix}"
    lan_port, central_port = free_port(), free_port()
    values = {
        "COMPOSE_PROJECT_NAME": name,
        "NEOCUMA_VERSION": containers.VERSION,
        "NEOCUMA_DEPLOYMENT": "demo",
        "NEOCUMA_LAN_PORT": str(lan_port),
        "NEOCUMA_LAN_BIND": "127.0.0.1",
        "NEOCUMA_WEB_PORT": str(free_port()),
        "NEOCUMA_WEB_BIND": "127.0.0.1",
        "NEOCUMA_CONSOLE_PORT": str(free_port()),
        "NEOCUMA_CONSOLE_BIND": "127.0.0.1",
        "NEOCUMA_DEMO_SSH_PORT": str(free_port()),
        "NEOCUMA_DEMO_WEB_PORT": str(central_port),
        "NEOCUMA_CENTRAL_WEB_URL": f"http://127.0.0.1:{central_port}/",
        **settings,
    }
    env_file = directory / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    extra: tuple[Path, ...] = ()
    ports = None
    if database_ports:
        ports = (free_port(), free_port())
        override = directory / "docker-compose.database-ports.yml"
        override.write_text(_DATABASE_PORTS.format(local=ports[0], central=ports[1]))
        extra = (override,)
    running = DemoStack(name, env_file, lan_port, central_port, extra, ports)
    try:
        up = running.compose("up", "-d")
        assert up.returncode == 0, up.stderr
        wait = subprocess.run([str(ROOT / "scripts" / "wait-healthy.sh"), name, "600"], capture_output=True, text=True)
        assert wait.returncode == 0, wait.stderr + wait.stdout
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans")
