"""Smoke test of docker-compose.yml itself: validates with and without the demo profile,
and the production services start to healthy from a .env made like the example, with
secrets created inside the stack. Runs on a unique project name and a free host port, so a
running `make up` stack is left alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import containers

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = [str(ROOT / "scripts" / "compose.sh")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def project(docker_client: object) -> Iterator[tuple[str, dict[str, str]]]:
    name = f"neocumatest{containers.SESSION}"
    env = dict(os.environ)
    for line in (ROOT / "config" / "production.env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    env.update(COMPOSE_PROJECT_NAME=name, NEOCUMA_WEB_PORT=str(_free_port()), NEOCUMA_VERSION=containers.VERSION)
    # `make` exports the demo's settings; a centre's host has none of them.
    env.update(
        NEOCUMA_GUARDIAN_ENV_FILE="config/guardian.env",
        NEOCUMA_DEMO_AUTOLOGIN="0",
        NEOCUMA_CONSOLE_PORT=str(_free_port()),
    )
    env.update(NEOCUMA_DEMO_SSH_PORT=str(_free_port()), NEOCUMA_DEMO_WEB_PORT=str(_free_port()))
    try:
        yield name, env
    finally:
        subprocess.run(
            [*COMPOSE, "--profile", "demo", "down", "-v", "--remove-orphans"], cwd=ROOT, env=env, capture_output=True
        )


def test_compose_file_is_valid_with_and_without_the_demo_profile(project: tuple[str, dict[str, str]]) -> None:
    _, env = project
    for extra in ([], ["--profile", "demo"]):
        result = subprocess.run([*COMPOSE, *extra, "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_production_services_start_healthy_without_make(project: tuple[str, dict[str, str]]) -> None:
    name, env = project
    up = subprocess.run([*COMPOSE, "up", "-d"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    wait = subprocess.run([str(ROOT / "scripts" / "wait-healthy.sh"), name, "300"], capture_output=True, text=True)
    assert wait.returncode == 0, wait.stderr + wait.stdout
    with urllib.request.urlopen(f"http://127.0.0.1:{env['NEOCUMA_WEB_PORT']}/healthz", timeout=10) as response:
        health = json.loads(response.read())
    assert health["role"] == "local" and health["data_generation"] is None and health["mode"] == "standby"
    running = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={name}",
            "--format",
            '{{.Label "com.docker.compose.service"}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(running) == ["docker-proxy", "guardian", "mysql", "neocuma"], (
        "no demo service starts, and none is needed"
    )
    status = subprocess.run(
        [*COMPOSE, "exec", "-T", "guardian", "neocuma-guardian", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert status.returncode == 1
    assert (
        "Serveur NeoCuma distant : injoignable ou refusé" in status.stdout and "neocuma-guardian login" in status.stdout
    )
    assert "Serveur NeoCuma local : en service, jamais synchronisé" in status.stdout
    mysql_id = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.compose.project={name}",
            "--filter",
            "label=com.docker.compose.service=mysql",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    listing = subprocess.run(
        [
            "docker",
            "exec",
            mysql_id,
            "stat",
            "-c",
            "%a %u %n",
            "/run/neocuma-secrets/mysql/root-password",
            "/run/neocuma-secrets/server/db-password",
            "/run/neocuma-secrets/guardian/db-password",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert listing[0].startswith("400 0 ")
    assert listing[1].startswith("400 10001 ") and listing[2].startswith("400 10001 ")
    grants = subprocess.run(
        [
            "docker",
            "exec",
            mysql_id,
            "mariadb",
            "-N",
            "-e",
            "SHOW GRANTS FOR neocuma_server; SHOW GRANTS FOR neocuma_guardian",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for forbidden in ("FILE", "SUPER", "GRANT OPTION", "ALL PRIVILEGES"):
        assert forbidden not in grants
    assert "`neocuma\\\\_g%`" in grants
