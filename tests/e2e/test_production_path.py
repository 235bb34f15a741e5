"""A centre's host from nothing, as its IT manager would do it, following README.md and docs/
literally: a clean clone, a `.env` from the production example pointed at a central server
on a test network, offsite copies to an SFTP NAS as docs/offsite.md sets them up (`make
offsite-password`, the guardian's key, the NAS's host key pinned, the lines of `.env`), a
`docker-compose.override.yml` of the centre's own, `make up` to healthy, `login` with the
fingerprint, `make run` filling the local server and turning the offsite indicator green;
`docker compose stop` in the middle of a backup; an upgrade to a newer tree with `make up`,
keeping everything; going back to the previous version as docs/upgrade.md says; then the
host lost and recovered on a new one from the offsite repository and the offline secrets
alone, as docs/recovery.md says.

The clone is of the tree's last commit (uncommitted changes are not in it); the images get
a tag of this session (NEOCUMA_VERSION in make's environment, a test device: a centre's
host uses the tree's version), so the cold build is its own, and layers Docker already has
are reused. The steps depend on one another and run in the order of this file."""

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
from tests.support.offsite_targets import SFTP_IMAGE, SFTP_USER

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CENTRAL_ALIAS = "central-test"
FIRST, NEWER = f"{__version__}-cold{containers.SESSION}", f"{__version__}-upgrade{containers.SESSION}"
NEWER_VERSION = "99.0.0"
NAS_ALIAS = "nas"
SECRETS = "/run/neocuma-secrets/centre"
OVERRIDE_LABEL = "fr.centre-exemple.role"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Host:
    """The centre's host: a clone of the project with its .env, run by make and compose."""

    directory: Path
    project: str
    web_port: int
    client: Any
    version: str | None = None  # the images' tag of this session, in make's environment

    def env(self) -> dict[str, str]:
        # Only the .env of the clone configures the stack (make exports some NEOCUMA_*, and
        # the outer make's own variables must not reach the inner one).
        kept = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NEOCUMA_", "COMPOSE_", "DOCKER_BUILDKIT", "MAKE", "MFLAGS", "BASE_IMAGE"))
        }
        return {**kept, "NEOCUMA_VERSION": self.version} if self.version else kept

    def command(self, *args: str) -> list[str]:
        return [str(self.directory / "scripts" / "compose.sh"), "-p", self.project, *self.files(), *args]

    def files(self) -> list[str]:
        """What `make` passes: the production file and the centre's override when there is one."""
        override = self.directory / "docker-compose.override.yml"
        return ["-f", "docker-compose.yml", *(["-f", override.name] if override.exists() else [])]

    def _run(self, command: list[str], timeout: float, stdin: bytes | None) -> subprocess.CompletedProcess[str]:
        process = subprocess.run(
            command, cwd=self.directory, env=self.env(), input=stdin or b"", capture_output=True, timeout=timeout
        )
        return subprocess.CompletedProcess(
            process.args, process.returncode, process.stdout.decode(), process.stderr.decode()
        )

    def compose(self, *args: str, timeout: float = 900, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return self._run(self.command(*args), timeout, stdin)

    def make(self, *targets: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        return self._run(["make", *targets], timeout, None)

    def guardian(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "guardian", "neocuma-guardian", *args, stdin=stdin)

    def set_env(self, key: str, value: str | None) -> None:
        """Set ``key`` in .env, or remove it (None); a commented example line stays."""
        lines = [line for line in (self.directory / ".env").read_text().splitlines() if not line.startswith(f"{key}=")]
        (self.directory / ".env").write_text(
            "\n".join([*lines, *([f"{key}={value}"] if value is not None else [])]) + "\n"
        )

    def healthy(self) -> None:
        wait = subprocess.run(
            [str(self.directory / "scripts" / "wait-healthy.sh"), self.project, "300"], capture_output=True, text=True
        )
        assert wait.returncode == 0, wait.stdout + wait.stderr + self.compose("logs", "--tail=40").stdout

    def local_health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=10) as response:
            return dict(json.loads(response.read()))

    def connect(self, target: DockerContainer, alias: str) -> None:
        network = self.client.networks.get(f"{self.project}_wan")
        network.connect(target.get_wrapped_container().id, aliases=[alias])

    def disconnect(self, target: DockerContainer) -> None:
        """Before `down`: compose cannot remove a network another container is on."""
        with contextlib.suppress(Exception):  # never connected, or the network is gone
            self.client.networks.get(f"{self.project}_wan").disconnect(target.get_wrapped_container().id, force=True)

    def login(self, central: DockerContainer) -> str:
        fingerprint = containers.exec_checked(central, ["neocuma-server", "hostkey"]).strip()
        login = _ok(
            self.guardian(
                "login", "--user", "resp.fd12", "--accept-hostkey", fingerprint, stdin=USER_PASSWORD.encode() + b"\n"
            )
        )
        assert fingerprint in login and "Connecté : resp.fd12" in login
        return fingerprint

    def offsite_green(self) -> str:
        """The line of `check` once the monitor shows the offsite copy green."""

        def green() -> str | None:
            line = self.guardian("check").stdout
            return line if "offsite=1;" in line else None

        return str(containers.wait_for(green, 90, "the offsite indicator green in check"))


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


def _clone(target: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    for certificate in (ROOT / "docker" / "certs").glob("*.crt"):  # as `make certs` would
        shutil.copy(certificate, target / "docker" / "certs")


@pytest.fixture(scope="module")
def host(
    docker_client: Any, central: DockerContainer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Host, DockerContainer]]:
    """The centre's host, set up as docs/ say, and its NAS (OpenSSH's sftp) for the offsite
    copies, on a network of its own until the test joins it to the stack's."""
    directory = tmp_path_factory.mktemp("centre") / "neocuma"
    _clone(directory)
    web_port = _free_port()
    example = (directory / "config" / "production.env.example").read_text()
    (directory / ".env").write_text(example)
    running = Host(directory, f"neocumatest{containers.SESSION}prod", web_port, docker_client, FIRST)
    for key, value in {
        "COMPOSE_PROJECT_NAME": running.project,
        "NEOCUMA_REMOTE_HOST": CENTRAL_ALIAS,
        "NEOCUMA_REMOTE_PORT": "2222",
        "NEOCUMA_WEB_PORT": str(web_port),
        "NEOCUMA_CONSOLE_PORT": str(_free_port()),
        "NEOCUMA_LAN_PORT": str(_free_port()),
        "NEOCUMA_TRANSFER_TIMEOUT": "20",
        # docs/offsite.md, "SFTP", step 3: the lines of .env.
        "NEOCUMA_OFFSITE_REPOSITORY": f"sftp:{SFTP_USER}@{NAS_ALIAS}:/srv/restic/neocuma",
        "NEOCUMA_OFFSITE_PASSWORD_FILE": f"{SECRETS}/offsite-password",
        "NEOCUMA_OFFSITE_SFTP_KEY_FILE": f"{SECRETS}/offsite-ssh-key",
        "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": f"{SECRETS}/offsite-known-hosts",
    }.items():
        running.set_env(key, value)
    # docs/offsite.md: the password, then the guardian's key, in the secrets directory.
    created = _ok(running.make("offsite-password"))
    assert "HORS LIGNE" in created
    secrets = directory / "config" / "secrets"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "neocuma-guardian", "-f", "offsite-ssh-key"],
        cwd=secrets,
        check=True,
    )
    os.chown(secrets / "offsite-ssh-key", 10001, 10001)
    (secrets / "offsite-ssh-key").chmod(0o600)
    public = (secrets / "offsite-ssh-key.pub").read_text().strip()
    # docs/configuration.md, "A centre's own compose file": make passes it as compose would.
    (directory / "docker-compose.override.yml").write_text(
        f"services:\n  guardian:\n    labels:\n      {OVERRIDE_LABEL}: sauvegarde\n"
    )
    network = containers.new_network()
    nas = containers.container(SFTP_IMAGE, network, (NAS_ALIAS,)).with_env("AUTHORIZED_KEY", public).start()
    try:
        containers.wait_healthy(nas, 120)
        # The NAS's host key, as it shows it itself (docs/offsite.md, step 2).
        host_key = containers.exec_checked(nas, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).split()[:2]
        (secrets / "offsite-known-hosts").write_text(f"{NAS_ALIAS} {' '.join(host_key)}\n")
        (secrets / "offsite-known-hosts").chmod(0o644)
        yield running, nas
    finally:
        running.disconnect(central)
        running.disconnect(nas)
        down = running.compose("down", "-v", "--remove-orphans", timeout=300)
        assert down.returncode == 0, down.stderr
        nas.stop()
        network.remove()
        for tag in (FIRST, NEWER):
            for name in ("appliance", "mysql", "docker-proxy", "gateway"):
                with contextlib.suppress(Exception):  # an image that was never built
                    docker_client.images.remove(f"neocuma/{name}:{tag}", noprune=False)


def test_1_a_clean_clone_builds_and_starts_to_healthy_with_make_up_and_the_production_env(
    host: tuple[Host, DockerContainer],
) -> None:
    centre, nas = host
    started = time.monotonic()
    _ok(centre.make("up"))
    built = time.monotonic() - started
    services = _ok(centre.compose("ps", "--services")).split()
    assert sorted(services) == ["docker-proxy", "gateway", "guardian", "mysql", "neocuma"], "nothing of the demo"
    assert centre.local_health()["data_generation"] is None
    assert _ok(centre.guardian("--version")).strip() == f"neocuma-guardian {__version__}"
    guardian = centre.client.containers.get(_ok(centre.compose("ps", "-q", "guardian")).strip())
    assert guardian.labels.get(OVERRIDE_LABEL) == "sauvegarde", "make up read docker-compose.override.yml"
    readable = _ok(
        centre.compose("exec", "-T", "guardian", "sh", "-c", f"test -r {SECRETS}/offsite-password && echo oui")
    )
    assert readable.strip() == "oui", "the secrets directory is mounted and readable by the guardian"
    centre.connect(nas, NAS_ALIAS)
    print(f"cold make up (build and start to healthy): {built:.0f} s")


def test_2_login_shows_the_fingerprint_and_make_run_fills_the_local_server_and_copies_offsite(
    host: tuple[Host, DockerContainer], central: DockerContainer
) -> None:
    centre, _ = host
    centre.connect(central, CENTRAL_ALIAS)
    fingerprint = containers.exec_checked(central, ["neocuma-server", "hostkey"]).strip()
    unconfirmed = centre.guardian("login", "--user", "resp.fd12", stdin=USER_PASSWORD.encode() + b"\n")
    assert unconfirmed.returncode == 1 and fingerprint in unconfirmed.stdout and "non confirmée" in unconfirmed.stderr
    centre.login(central)
    # No scheduled run may start under the test (it could, at 02:00 UTC): off, and 02 kept.
    _ok(centre.guardian("settings", "set", "automatiques=non", "heures=2"))
    run = _ok(centre.make("run"))
    assert "Synchronisation : génération 1 en service" in run
    health = centre.local_health()
    assert health["data_generation"] == 1 and health["mode"] == "standby"
    offsite = json.loads(_ok(centre.guardian("status", "--json")))["offsite"]
    assert offsite["push"]["ok"] is True, offsite
    line = centre.offsite_green()
    assert "indicateurs verts" in line, line


def test_3_compose_stop_during_a_backup_lists_no_partial_file_and_holds_no_lock(host: tuple[Host, Any]) -> None:
    centre, _ = host
    before = json.loads(_ok(centre.guardian("backups", "--json")))["backups"]
    backup = subprocess.Popen(
        [*centre.command("exec", "-T", "guardian"), "neocuma-guardian", "backup", "--data", "--full"],
        cwd=centre.directory,
        env=centre.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    probe = "stat -c %s /var/lib/guardian/backups/data/.*.part 2>/dev/null || echo 0"
    containers.wait_for(
        lambda: int(_ok(centre.compose("exec", "-T", "guardian", "sh", "-c", probe)).split()[0]) > 0,
        60,
        "the backup is being written",
    )
    stopping = time.monotonic()
    _ok(centre.compose("stop", "guardian", timeout=120))
    stopped = time.monotonic() - stopping
    backup.wait(60)
    assert backup.returncode != 0, "the interrupted backup did not report success"
    _ok(centre.compose("start", "guardian"))
    centre.healthy()
    after = json.loads(_ok(centre.guardian("backups", "--json")))["backups"]
    assert after == before, "nothing half-written is listed"
    made = _ok(centre.guardian("backup", "--data"))  # the lock is free
    assert "Sauvegarde des données : data/" in made
    leftovers = _ok(centre.compose("exec", "-T", "guardian", "sh", "-c", "ls -a /var/lib/guardian/backups/data"))
    assert ".part" not in leftovers, "the next backup removed what the stopped one left"
    assert len(json.loads(_ok(centre.guardian("backups", "--json")))["backups"]) == len(before) + 1
    print(f"compose stop of the guardian during a backup: {stopped:.1f} s")


def _running_images(centre: Host) -> list[tuple[str, str]]:
    """(repository, tag) of the image each of the stack's containers was created from, as
    Docker records it (not `compose images`, whose table wraps with the terminal's width)."""
    running = centre.client.containers.list(filters={"label": f"com.docker.compose.project={centre.project}"})
    references = [str(container.attrs["Config"]["Image"]) for container in running]
    assert len(references) == 5, references
    return sorted((ref.rsplit(":", 1)[0], ref.rsplit(":", 1)[1]) for ref in references)


def test_4_an_upgrade_with_make_up_keeps_everything_and_the_next_run_succeeds(host: tuple[Host, Any]) -> None:
    centre, _ = host
    pinned = _ok(centre.guardian("hostkey", "show")).splitlines()[0]
    backups = json.loads(_ok(centre.guardian("backups", "--json")))["backups"]
    dossiers = json.loads(_ok(centre.guardian("dossiers", "--json")))
    init = centre.directory / "appliance" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{__version__}"', f'__version__ = "{NEWER_VERSION}"'))
    centre.version = NEWER
    _ok(centre.make("up"))
    assert _ok(centre.guardian("--version")).strip() == f"neocuma-guardian {NEWER_VERSION}"
    images = _running_images(centre)
    assert {tag for _, tag in images} == {NEWER}, f"the containers run the new images: {images}"
    assert _ok(centre.guardian("hostkey", "show")).splitlines()[0] == pinned, "the pinned key is kept"
    assert json.loads(_ok(centre.guardian("backups", "--json")))["backups"] == backups, "the backups are kept"
    assert json.loads(_ok(centre.guardian("dossiers", "--json"))) == dossiers, "login, baselines and data kept"
    settings = _ok(centre.guardian("settings"))
    assert "automatiques : non" in settings and "heures (UTC)             : 02" in settings, "Paramétrages kept"
    assert centre.local_health()["data_generation"] == 1, "the local server kept serving its generation"
    assert "génération 2 en service" in _ok(centre.guardian("run"))


def test_5_going_back_to_the_previous_version_as_docs_upgrade_says_runs_its_images_and_its_next_run_succeeds(
    host: tuple[Host, Any],
) -> None:
    """docs/upgrade.md, "Going back": the version the host came from pinned in .env, `make up`.
    make must run that version's images as they are, never rebuild that tag from this tree."""
    centre, _ = host
    first_image = centre.client.images.get(f"neocuma/appliance:{FIRST}").id
    centre.version = None  # from here on, only .env says which version runs
    centre.set_env("NEOCUMA_VERSION", FIRST)
    said = _ok(centre.make("up"))
    assert f"pins NEOCUMA_VERSION={FIRST}" in said and "none is rebuilt" in said, said
    assert centre.client.images.get(f"neocuma/appliance:{FIRST}").id == first_image, "the old tag was not rebuilt"
    assert _ok(centre.guardian("--version")).strip() == f"neocuma-guardian {__version__}"
    images = _running_images(centre)
    assert {tag for _, tag in images} == {FIRST}, f"the containers run the previous images: {images}"
    assert "génération 3 en service" in _ok(centre.make("run")), "it reads what the newer version wrote"


def test_6_a_lost_host_comes_back_on_a_new_one_from_the_offsite_repository_and_the_offline_secrets(
    host: tuple[Host, DockerContainer], central: DockerContainer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """docs/recovery.md, "The appliance's host is lost": what was kept off the host is .env
    and the secrets directory; the backups come back from the offsite repository, verified,
    and the local server is filled from one before the central server is asked anything."""
    centre, nas = host
    copies = json.loads(_ok(centre.guardian("offsite", "list", "--json")))["copies"]
    held = [c["name"] for c in copies if c["kind"] == "data"]
    assert held, "the runs were copied offsite"
    safe = tmp_path_factory.mktemp("offline")
    shutil.copy(centre.directory / ".env", safe / ".env")
    shutil.copytree(centre.directory / "config" / "secrets", safe / "secrets")
    # The host is lost: containers, volumes (backups, state, local database) and the tree.
    centre.disconnect(central)
    centre.disconnect(nas)
    _ok(centre.compose("down", "-v", "--remove-orphans", timeout=300))
    shutil.rmtree(centre.directory)
    # A new host, as docs/recovery.md says.
    centre.directory = tmp_path_factory.mktemp("new-host") / "neocuma"
    _clone(centre.directory)
    shutil.copy(safe / ".env", centre.directory / ".env")
    shutil.copytree(safe / "secrets", centre.directory / "config" / "secrets", dirs_exist_ok=True)
    for secret in (centre.directory / "config" / "secrets").glob("offsite-*"):  # chown, chmod as docs say
        os.chown(secret, 10001, 10001)
        if secret.name in ("offsite-password", "offsite-ssh-key"):
            secret.chmod(0o400)
    _ok(centre.make("up"))
    assert centre.local_health()["data_generation"] is None, "a new host starts empty"
    centre.connect(nas, NAS_ALIAS)
    centre.connect(central, CENTRAL_ALIAS)
    centre.login(central)
    _ok(centre.guardian("settings", "set", "automatiques=non", "heures=2"))
    listed = json.loads(_ok(centre.guardian("offsite", "list", "--json")))["copies"]
    assert [c["name"] for c in listed if c["kind"] == "data"] == held, (
        "the same repository, read with the same password"
    )
    newest = held[-1]
    assert json.loads(_ok(centre.guardian("offsite", "restore", newest, "--json"))) == {"restored": newest}
    synced = json.loads(_ok(centre.guardian("sync", "--backup", newest, "--json")))
    assert synced["backup"] == newest
    assert centre.local_health()["data_generation"] is not None, "the local server serves the offsite copy"
    run = _ok(centre.make("run"))
    assert "en service" in run
    made = json.loads(_ok(centre.guardian("backups", "--json")))["backups"]
    after = json.loads(_ok(centre.guardian("offsite", "list", "--json")))["copies"]
    # The same repository goes on: the run's backup joins it (retention keeps the newest
    # copy of a day, so on the same day it replaces the restored one).
    assert max(b["name"] for b in made) in {c["name"] for c in after if c["kind"] == "data"}
    assert "indicateurs verts" in centre.offsite_green()
