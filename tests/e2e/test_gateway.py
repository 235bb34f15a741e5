"""The one LAN address (issue 24, point 1) on the demo compose stack, as `make up` runs it:
in standby mode the gateway redirects to the central NeoCuma Web, path kept; after
`neocuma-guardian mode fallback` it serves the local NeoCuma Web within seconds, and after
`mode standby` it redirects again; its /healthz says which way it points all along. Runs on
a unique project name and free host ports, so a running `make up` stack is left alone."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.demo_stack import DemoStack, running_demo
from tests.support import containers

pytestmark = pytest.mark.e2e
SWITCH_SECONDS = 12  # checks every 2 s, three failures to leave the local server, mode cached 1 s


@pytest.fixture(scope="module")
def demo(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    containers.require_image(docker_client, f"neocuma/gateway:{containers.VERSION}")
    settings = {"NEOCUMA_DEMO_DOSSIERS": "3", "NEOCUMA_DEMO_YEARS": "1"}
    with running_demo(tmp_path_factory.mktemp("gateway"), "gw", settings) as running:
        yield running


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
    demo.wait_logged_in(120)
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
