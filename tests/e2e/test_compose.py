"""docker-compose.yml as a centre runs it: valid alone and with the demo file; the
production services start to healthy without make from a .env made from the example, with
secrets created inside the stack, NeoCuma Web and the console over HTTPS only and published
on 127.0.0.1 only; and every setting a centre may put in .env reaches its
container (`config show` there says it came from the environment). Runs on a unique project
name and free host ports, so a running `make up` stack is left alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.adapters.local_server import pinned_context
from tests.support import containers
from tests.support.tls import self_signed

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# A value of each .env setting, none of them its default: `config show` must show them all.
CENTRE_SETTINGS = {
    "NEOCUMA_REMOTE_HOST": "central.example.fr",
    "NEOCUMA_REMOTE_PORT": "2200",
    "NEOCUMA_TRANSFER_TIMEOUT": "61",
    "NEOCUMA_HEALTH_TIMEOUT": "121",
    "NEOCUMA_BACKUPS_KEEP": "13",
    "NEOCUMA_BACKUPS_KEEP_DAYS": "15",
    "NEOCUMA_LOCAL_COPIES_KEEP_DAYS": "31",
    "NEOCUMA_CONSOLE_URL": "http://guardian.centre.example.fr:8000/",
    "NEOCUMA_MONITOR_INTERVAL": "61",
    "NEOCUMA_CLOCK_SKEW_LIMIT": "119",
    "NEOCUMA_MAX_BACKUP_AGE_HOURS": "27",
    "NEOCUMA_CONSOLE_SECURE_COOKIES": "true",
    "NEOCUMA_SMTP_HOST": "smtp.example.fr",
    "NEOCUMA_SMTP_PORT": "2525",
    "NEOCUMA_SMTP_STARTTLS": "true",
    "NEOCUMA_SMTP_USER": "guardian",
    # A file the guardian can read inside its container stands for the mounted secret.
    "NEOCUMA_SMTP_PASSWORD_FILE": "/run/neocuma-secrets/guardian/db-password",
    "NEOCUMA_MAIL_FROM": "guardian@centre.example.fr",
    "NEOCUMA_MAIL_TO": "it@centre.example.fr",
    "NEOCUMA_WEBHOOK_URL": "https://hooks.example.fr/neocuma",
    "NEOCUMA_LOG_LEVEL": "DEBUG",
}


MASKED = {"NEOCUMA_WEBHOOK_URL"}  # a URL that may hold a token
# HTTPS with the certificates made for the test, published on the loopback only.
TLS_SETTINGS = {
    "NEOCUMA_TLS_CERTIFICATE_PATH": "/etc/neocuma/tls/neocuma.centre.example.crt",
    "NEOCUMA_TLS_KEY_PATH": "/etc/neocuma/tls/neocuma.centre.example.key",
    "NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH": "/etc/neocuma/tls/guardian.centre.example.crt",
    "NEOCUMA_CONSOLE_TLS_KEY_PATH": "/etc/neocuma/tls/guardian.centre.example.key",
    "NEOCUMA_WEB_BIND": "127.0.0.1",
    "NEOCUMA_CONSOLE_BIND": "127.0.0.1",
    "NEOCUMA_LAN_BIND": "127.0.0.1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    """A compose project of this tree, configured by its own .env file only."""

    def __init__(self, name: str, env_file: Path, ports: dict[str, str], tls: Path) -> None:
        self.name = name
        self.env_file = env_file
        self.web_port = ports["NEOCUMA_WEB_PORT"]
        self.console_port = ports["NEOCUMA_CONSOLE_PORT"]
        self.lan_port = ports["NEOCUMA_LAN_PORT"]
        self.tls = tls
        # The caller's NEOCUMA_* (make exports some) would override the .env file.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NEOCUMA_", "COMPOSE_"))}

    def compose(self, *args: str, files: tuple[str, ...] = ("docker-compose.yml",)) -> subprocess.CompletedProcess[str]:
        command = [str(ROOT / "scripts" / "compose.sh"), "--env-file", str(self.env_file), "-p", self.name]
        for name in files:
            command += ["-f", str(ROOT / name)]
        return subprocess.run([*command, *args], cwd=ROOT, env=self.env, capture_output=True, text=True)

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", service, *command)


@pytest.fixture(scope="module")
def stack(docker_client: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    name = f"neocumatest{containers.SESSION}"
    example = (ROOT / "config" / "production.env.example").read_text()
    ports = {
        "NEOCUMA_WEB_PORT": str(_free_port()),
        "NEOCUMA_CONSOLE_PORT": str(_free_port()),
        "NEOCUMA_LAN_PORT": str(_free_port()),
        "NEOCUMA_DEMO_SSH_PORT": str(_free_port()),
        "NEOCUMA_DEMO_WEB_PORT": str(_free_port()),
    }
    tls = tmp_path_factory.mktemp("tls")
    for host in ("neocuma.centre.example", "guardian.centre.example"):
        for path in self_signed(tls, host):
            path.chmod(0o644)  # the containers' user (uid 10001) reads them; a centre would chgrp 10001
    tls.chmod(0o755)
    extra = {
        "COMPOSE_PROJECT_NAME": name,
        "NEOCUMA_VERSION": containers.VERSION,
        "NEOCUMA_TLS_DIR": str(tls),
        **ports,
        **CENTRE_SETTINGS,
        **TLS_SETTINGS,
    }
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text(example + "\n" + "".join(f"{key}={value}\n" for key, value in extra.items()))
    running = Stack(name, env_file, ports, tls)
    try:
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans", files=("docker-compose.yml", "docker-compose.demo.yml"))


def test_compose_files_are_valid_alone_and_with_the_demo(stack: Stack) -> None:
    for files in (("docker-compose.yml",), ("docker-compose.yml", "docker-compose.demo.yml")):
        result = stack.compose("config", "-q", files=files)
        assert result.returncode == 0, result.stderr


def test_production_services_start_healthy_without_make(stack: Stack) -> None:
    name = stack.name
    up = stack.compose("up", "-d")
    assert up.returncode == 0, up.stderr
    wait = subprocess.run([str(ROOT / "scripts" / "wait-healthy.sh"), name, "300"], capture_output=True, text=True)
    assert wait.returncode == 0, wait.stderr + wait.stdout
    web_certificate = stack.tls / "neocuma.centre.example.crt"
    with urllib.request.urlopen(
        f"https://127.0.0.1:{stack.web_port}/healthz", timeout=10, context=pinned_context(web_certificate)
    ) as response:
        health = json.loads(response.read())
    assert health["role"] == "local" and health["data_generation"] is None and health["mode"] == "standby"
    console = pinned_context(stack.tls / "guardian.centre.example.crt")
    with urllib.request.urlopen(f"https://127.0.0.1:{stack.console_port}/login", timeout=10, context=console) as page:
        assert page.status == 200 and "; Secure" in page.headers.get("Set-Cookie", "")
    # The LAN address (the gateway) serves NeoCuma Web's certificate; no central address is set.
    with urllib.request.urlopen(
        f"https://127.0.0.1:{stack.lan_port}/healthz", timeout=10, context=pinned_context(web_certificate)
    ) as response:
        assert json.loads(response.read())["points_to"] == "none"
    for port in (stack.web_port, stack.console_port, stack.lan_port):
        with pytest.raises(OSError):  # HTTPS only: a plain request is refused (urllib's errors are OSErrors)
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
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
    assert sorted(running) == ["docker-proxy", "gateway", "guardian", "mysql", "neocuma"], (
        "no demo service starts, and none is needed"
    )
    status = stack.exec("guardian", "neocuma-guardian", "status")
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
            "/run/neocuma-secrets/check/token",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert listing[0].startswith("400 0 ")
    assert listing[1].startswith("400 10001 ") and listing[2].startswith("400 10001 ")
    assert listing[3].startswith("400 10001 "), "the check account's token"
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


def test_every_setting_of_the_dotenv_file_reaches_its_program(stack: Stack) -> None:
    shown = stack.exec("guardian", "neocuma-guardian", "config", "show")
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.startswith("NEOCUMA_")}
    for name, value in CENTRE_SETTINGS.items():
        if name == "NEOCUMA_LOG_LEVEL":
            continue
        setting = name.removesuffix("_FILE")
        line = lines[setting]
        if name.endswith("_FILE"):
            assert "********" in line and f"({name})" in line, line
        elif name in MASKED:
            assert "********" in line and value not in line and f"environment {name}" in line, line
        else:
            shown_value = {"true": "True"}.get(value, value)
            assert shown_value in line and f"environment {name}" in line, line
    assert "NEOCUMA_DEPLOYMENT" in lines and "'production'" in lines["NEOCUMA_DEPLOYMENT"]
    for name in ("NEOCUMA_CONSOLE_TLS_CERTIFICATE_PATH", "NEOCUMA_CONSOLE_TLS_KEY_PATH"):
        assert TLS_SETTINGS[name] in lines[name], lines[name]
    local_tls = lines["NEOCUMA_LOCAL_TLS_CERTIFICATE_PATH"]
    assert TLS_SETTINGS["NEOCUMA_TLS_CERTIFICATE_PATH"] in local_tls, "the guardian trusts NeoCuma Web's certificate"
    assert "variable inconnue" not in shown.stderr, shown.stderr
    server = stack.exec("neocuma", "neocuma-server", "config", "show")
    assert server.returncode == 0, server.stderr
    level = next(line for line in server.stdout.splitlines() if line.startswith("NEOCUMA_LOG_LEVEL"))
    assert "'DEBUG'" in level and "environment NEOCUMA_LOG_LEVEL" in level
    certificate = next(line for line in server.stdout.splitlines() if line.startswith("NEOCUMA_TLS_CERTIFICATE_PATH"))
    assert TLS_SETTINGS["NEOCUMA_TLS_CERTIFICATE_PATH"] in certificate
    for service, port in (("neocuma", "8080"), ("guardian", "8000"), ("gateway", "8081")):
        published = stack.compose("port", service, port)
        assert published.returncode == 0 and published.stdout.strip().startswith("127.0.0.1:"), published


def test_the_demo_is_refused_against_a_production_dotenv(stack: Stack) -> None:
    """The demo's guardian, started with this production .env, refuses to start and says why."""
    result = stack.compose(
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "guardian",
        "neocuma-guardian",
        "config",
        "validate",
        files=("docker-compose.yml", "docker-compose.demo.yml"),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NEOCUMA_DEMO_AUTOLOGIN est réservé à la démo" in result.stderr


def test_the_monitoring_plugin_finds_the_guardian_by_its_compose_labels(stack: Stack) -> None:
    plugin = str(ROOT / "scripts" / "check_guardian.sh")
    found = subprocess.run([plugin, "-p", stack.name, "-w", "20,60"], capture_output=True, text=True, env=stack.env)
    assert found.stdout.startswith("NEOCUMA GUARDIAN ") and len(found.stdout.strip().splitlines()) == 1, found
    assert found.returncode in (2, 3), "not logged in: the remote is red (or no state yet)"
    missing = subprocess.run([plugin, "-p", "noproject"], capture_output=True, text=True, env=stack.env)
    assert missing.returncode == 3 and missing.stdout.startswith("NEOCUMA GUARDIAN UNKNOWN - no running guardian")
