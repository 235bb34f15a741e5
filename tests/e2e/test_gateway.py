"""The one LAN address (issue 24, point 1) on the demo compose stack, as `make up` runs it:
in standby mode the gateway redirects to the central NeoCuma Web, path kept; after
`neocuma-guardian mode fallback` it serves the local NeoCuma Web within seconds, and after
`mode standby` it redirects again; its /healthz says which way it points all along. Runs on
a unique project name and free host ports, so a running `make up` stack is left alone."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import containers

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FILES = ("docker-compose.yml", "docker-compose.demo.yml")
SWITCH_SECONDS = 12  # checks every 2 s, three failures to leave the local server, mode cached 1 s
HEALTH = ("/opt/neocuma/bin/python", "-m", "appliance.healthcheck", "http://127.0.0.1:8000/healthz")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DemoStack:
    """The demo's compose project, configured by its own .env file only."""

    def __init__(self, name: str, env_file: Path, lan_port: int, central_port: int) -> None:
        self.name = name
        self.env_file = env_file
        self.lan_port = lan_port
        self.central_url = f"http://127.0.0.1:{central_port}/"
        # The caller's NEOCUMA_* (make exports some) would override the .env file.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NEOCUMA_", "COMPOSE_"))}

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(ROOT / "scripts" / "compose.sh"), "--env-file", str(self.env_file), "-p", self.name]
        for name in FILES:
            command += ["-f", str(ROOT / name)]
        return subprocess.run([*command, *args], cwd=ROOT, env=self.env, capture_output=True, text=True)

    def guardian(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "guardian", "neocuma-guardian", *args)

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
        status, headers, body = self.get("/healthz")
        assert status == 200 and headers["content-type"] == "application/json", (status, headers, body)
        return dict(json.loads(body))

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


@pytest.fixture(scope="module")
def demo(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    containers.require_image(docker_client, f"neocuma/gateway:{containers.VERSION}")
    name = f"neocumatest{containers.SESSION}gw"
    lan_port, central_port = _free_port(), _free_port()
    settings = {
        "COMPOSE_PROJECT_NAME": name,
        "NEOCUMA_VERSION": containers.VERSION,
        "NEOCUMA_DEPLOYMENT": "demo",
        "NEOCUMA_LAN_PORT": str(lan_port),
        "NEOCUMA_LAN_BIND": "127.0.0.1",
        "NEOCUMA_WEB_PORT": str(_free_port()),
        "NEOCUMA_WEB_BIND": "127.0.0.1",
        "NEOCUMA_CONSOLE_PORT": str(_free_port()),
        "NEOCUMA_CONSOLE_BIND": "127.0.0.1",
        "NEOCUMA_DEMO_SSH_PORT": str(_free_port()),
        "NEOCUMA_DEMO_WEB_PORT": str(central_port),
        "NEOCUMA_CENTRAL_WEB_URL": f"http://127.0.0.1:{central_port}/",
        "NEOCUMA_DEMO_DOSSIERS": "3",
        "NEOCUMA_DEMO_YEARS": "1",
    }
    env_file = tmp_path_factory.mktemp("gateway") / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    running = DemoStack(name, env_file, lan_port, central_port)
    try:
        up = running.compose("up", "-d")
        assert up.returncode == 0, up.stderr
        wait = subprocess.run([str(ROOT / "scripts" / "wait-healthy.sh"), name, "300"], capture_output=True, text=True)
        assert wait.returncode == 0, wait.stderr + wait.stdout
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans")


def _wait_points_to(demo: DemoStack, way: str) -> float:
    started = time.monotonic()
    containers.wait_for(lambda: demo.points_to()["points_to"] == way, SWITCH_SECONDS, f"the gateway points to {way}")
    return time.monotonic() - started


def test_the_gateway_follows_the_local_servers_mode(demo: DemoStack) -> None:
    gateway = demo.container("gateway")
    inspected = json.loads(subprocess.run(["docker", "inspect", gateway], capture_output=True, check=True).stdout)[0]
    host = inspected["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"]) == (True, ["ALL"], ["no-new-privileges:true"])
    assert inspected["Config"]["User"] == "10001:10001" and "Binds" in host
    assert not any("docker.sock" in bind for bind in host["Binds"] or [])

    # Standby: a redirect to the central NeoCuma Web, path and query kept.
    assert demo.points_to() == {"points_to": "central", "url": demo.central_url}
    status, headers, _ = demo.get("/dossiers?annee=2026")
    assert (status, headers["location"]) == (302, f"{demo.central_url}dossiers?annee=2026")
    status, _, body = demo.get("/healthz", port=int(demo.central_url.rsplit(":", 1)[1].rstrip("/")))
    assert status == 200 and json.loads(body)["role"] == "central", "the redirect leads to the central server"

    # The guardian logs in by itself (demo) and synchronises: fallback mode needs data.
    containers.wait_for(
        lambda: '"logged_in": true' in demo.compose("exec", "-T", "guardian", *HEALTH).stdout,
        120,
        "the demo guardian logged in",
        interval=2,
    )
    synced = demo.guardian("run")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    switched = demo.guardian("mode", "fallback")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    seconds = _wait_points_to(demo, "local")
    print(f"gateway: local NeoCuma Web served {seconds:.1f} s after `mode fallback`")
    assert demo.points_to() == {"points_to": "local"}
    status, _, page = demo.get("/login")
    assert status == 200 and "neocuma-local (serveur local)" in page, page[:500]
    status, _, body = demo.get("/gateway/fallback")
    assert (status, body) == (200, "fallback\n")
    # NeoCuma Web counts (and logs) the client the gateway forwards, not the gateway itself.
    assert demo.failed_login("personne") == 401
    logs = demo.compose("logs", "--no-color", "neocuma").stdout
    seen = re.findall(r"connexion web refusée pour 'personne' depuis (\S+) :", logs)
    networks = inspected["NetworkSettings"]["Networks"].values()
    assert seen and seen[-1] not in {network["IPAddress"] for network in networks}, (seen, logs[-2000:])

    back = demo.guardian("mode", "standby")
    assert back.returncode == 0, back.stdout + back.stderr
    seconds = _wait_points_to(demo, "central")
    print(f"gateway: redirect to the central NeoCuma Web {seconds:.1f} s after `mode standby`")
    status, headers, _ = demo.get("/login")
    assert (status, headers["location"]) == (302, f"{demo.central_url}login")


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"NEOCUMA_CENTRAL_WEB_URL": "ftp://central.example.fr/"}, "must be an http:// or https:// address"),
        ({"NEOCUMA_CENTRAL_WEB_URL": 'https://central"; x'}, "holds a character a gateway address may not have"),
        ({"NEOCUMA_CENTRAL_WEB_URL": "https://central/?a=1"}, "holds a character a gateway address may not have"),
        ({"NEOCUMA_TLS_CERTIFICATE_PATH": "/etc/neocuma/tls/x.crt"}, "needs both NEOCUMA_TLS_CERTIFICATE_PATH"),
        (
            {"NEOCUMA_TLS_CERTIFICATE_PATH": "/nowhere.crt", "NEOCUMA_TLS_KEY_PATH": "/nowhere.key"},
            "cannot read /nowhere.crt as uid 10001",
        ),
    ],
)
def test_a_bad_setting_stops_the_gateway_with_its_name(docker_client: Any, settings: dict[str, str], said: str) -> None:
    image = f"neocuma/gateway:{containers.VERSION}"
    containers.require_image(docker_client, image)
    labels = [f"--label={key}={value}" for key, value in containers.LABELS.items()]
    variables = [f"--env={key}={value}" for key, value in settings.items()]
    run = subprocess.run(
        ["docker", "run", "--rm", *labels, *variables, image], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and said in run.stderr, (run.returncode, run.stdout, run.stderr)
