"""Offsite copies into real servers (docs/offsite.md, "Targets"), through the whole appliance
from our images: an OpenSSH SFTP server (Debian's openssh-server, host key pinned from a
known_hosts file), a restic REST server (Debian's rclone, `rclone serve restic` with basic
authentication) and an S3-compatible server (moto's standalone server from PyPI: no S3
server is packaged for Debian bookworm), each a container of docker/offsite-targets/.

The guardian starts configured for the SFTP NAS, as a centre would configure it (env and
mounted secret files); the REST and S3 repositories are given to single CLI commands with
``docker exec -e``, which the guardian's configuration reads the same way, so one
appliance serves the module. Each target gets push, dedupe (the second push adds little),
forget (one copy per day is kept), check (every pack read) and restore. Then the faults,
each reported by the failing CLI command in French and recorded as a failed job, with every
file of data/ unchanged: a wrong repository password, an unreachable target (the NAS cut
from the network), an unknown host key, a full target (the NAS's repository on a small
tmpfs) and a corrupted pack (`offsite check` reads it)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.appliance import Appliance, running_appliance
from tests.support import containers
from tests.support.offsite_targets import (
    NAS,
    REST,
    REST_PASSWORD,
    REST_USER,
    S3,
    S3_KEY_ID,
    S3_SECRET,
    SFTP_USER,
    SMALL_BYTES,
    SMALL_DIR,
    Targets,
    offsite_targets,
)

pytestmark = pytest.mark.e2e
PASSWORD = "phrase du dépôt hors site, gardée hors ligne"
DATA = "/var/lib/guardian/backups/data"
SFTP_REPOSITORY = f"sftp:{SFTP_USER}@{NAS}:/srv/restic/neocuma"
REST_REPOSITORY = f"rest:http://{REST_USER}:{REST_PASSWORD}@{REST}:8000/neocuma/"
S3_REPOSITORY = f"s3:http://{S3}:5000/neocuma-hors-site"


@dataclass
class Setup:
    appliance: Appliance
    targets: Targets
    repositories: dict[str, dict[str, str]]  # per target, the env a command is given


@pytest.fixture(scope="module")
def setup(docker_client: Any) -> Iterator[Setup]:
    with offsite_targets(PASSWORD) as targets:
        env = {
            "NEOCUMA_OFFSITE_REPOSITORY": SFTP_REPOSITORY,
            "NEOCUMA_OFFSITE_PASSWORD_FILE": targets.secret("offsite-password"),
            "NEOCUMA_OFFSITE_SFTP_KEY_FILE": targets.secret("offsite-ssh-key"),
            "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": targets.secret("offsite-known-hosts"),
            "NEOCUMA_OFFSITE_CHECK_EVERY_HOURS": "0",  # checks only when a test asks for one
        }
        with running_appliance(
            docker_client,
            dossiers=8,
            years=2,
            centres="FD12",
            export_kbps=65536,  # nothing here is cut mid-transfer
            guardian_env=env,
            guardian_files={str(targets.secrets): "/run/neocuma-secrets"},
        ) as appliance:
            docker_client.networks.get(targets.network.name).connect(appliance.guardian.get_wrapped_container().id)
            repositories = {
                "sftp": {},  # the guardian's own configuration
                "rest": {"NEOCUMA_OFFSITE_REPOSITORY": REST_REPOSITORY},
                "s3": {
                    "NEOCUMA_OFFSITE_REPOSITORY": S3_REPOSITORY,
                    "NEOCUMA_OFFSITE_S3_ACCESS_KEY_ID": S3_KEY_ID,
                    "NEOCUMA_OFFSITE_S3_SECRET_ACCESS_KEY_FILE": targets.secret("offsite-s3-secret"),
                },
            }
            setup = Setup(appliance, targets, repositories)
            # A first backup without any repository: each target's first push is then its own.
            ok_json(setup, {"NEOCUMA_OFFSITE_REPOSITORY": ""}, "backup", "--data")
            yield setup


def cli(setup: Setup, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``neocuma-guardian ARGS`` in the guardian, with ``env`` added to its environment."""
    options = [f"--env={name}={value}" for name, value in env.items()]
    guardian = setup.appliance.guardian.get_wrapped_container().id
    done = subprocess.run(
        ["docker", "exec", *options, guardian, "neocuma-guardian", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for secret in (REST_PASSWORD, S3_SECRET, PASSWORD):
        assert secret not in done.stdout + done.stderr, f"a secret is shown by {args}"
    return done


def ok_json(setup: Setup, env: dict[str, str], *args: str) -> Any:
    done = cli(setup, env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def history(setup: Setup, job: str) -> dict[str, Any]:
    """The job's last outcome, as `status --json` shows it."""
    done = cli(setup, {}, "status", "--json")
    return dict(json.loads(done.stdout)["history"][job])


def recorded(setup: Setup, job: str) -> dict[str, Any]:
    """The same from the state file: faster, for the steps that go well."""
    return dict(json.loads(setup.appliance.run_in_guardian("cat", "/var/lib/guardian/state/history.json"))[job])


def local_backups(setup: Setup) -> list[str]:
    return sorted(n for n in setup.appliance.run_in_guardian("ls", DATA).split() if n.endswith("Z.zip"))


def data_digests(setup: Setup) -> dict[str, str]:
    """sha256 of every file of data/ (indexes included)."""
    listing = setup.appliance.run_in_guardian("sh", "-c", f"cd {DATA} && sha256sum -- * .[!.]* 2>/dev/null || true")
    digests = dict(reversed(line.split(maxsplit=1)) for line in listing.splitlines() if line.strip())
    assert any(name.endswith(".zip") for name in digests), listing
    return digests


def manifest_digest(setup: Setup, name: str) -> str:
    return setup.appliance.run_in_guardian("sh", "-c", f"unzip -p {DATA}/{name} manifest.json | sha256sum")


def newest_of_each_day(names: list[str]) -> list[str]:
    days: dict[str, str] = {}
    for name in sorted(names):
        days[name[:10]] = name
    return sorted(days.values())


@pytest.mark.parametrize("target", ["sftp", "rest", "s3"])
def test_push_dedupe_forget_check_and_restore(setup: Setup, target: str) -> None:
    env = setup.repositories[target]
    # The first push creates the repository and pushes every backup of data/.
    local = local_backups(setup)
    first = ok_json(setup, env, "offsite", "push")
    assert first["created"] is True and first["pushed"] == local and first["transferred"] > 100_000, first
    # A backup of the same dossiers is pushed by the backup itself, and adds little.
    second_name = ok_json(setup, env, "backup", "--data")["data"]["name"]
    second = recorded(setup, "offsite")
    assert second["ok"] is True and second["transferred"] < first["transferred"] / 10, (second, first)
    # restic forget kept the newest copy of each day (the retention's daily copies).
    copies = ok_json(setup, env, "offsite", "list")["copies"]
    data = [c["name"] for c in copies if c["kind"] == "data"]
    assert data == newest_of_each_day([*local, second_name]) and data[-1] == second_name, data
    # restic check reads every pack (one part of one) and finds the repository sound.
    checked = ok_json(setup, {**env, "NEOCUMA_OFFSITE_CHECK_PARTS": "1"}, "offsite", "check")
    assert checked["part"] == "1/1" and recorded(setup, "offsite_check")["ok"] is True, checked
    # The newest backup comes back from the repository: the same backup.
    before = manifest_digest(setup, second_name)
    setup.appliance.run_in_guardian("rm", f"{DATA}/{second_name}")
    assert ok_json(setup, env, "offsite", "restore", second_name) == {"restored": second_name}
    assert manifest_digest(setup, second_name) == before
    if target == "rest":  # the REST server wants its user:password, which never shows
        assert first["repository"] == f"rest:http://***@{REST}:8000/neocuma/"
        asked = "import urllib.request as u\ntry: u.urlopen('http://%s:8000/neocuma/config')\nexcept Exception as e: print(e)"
        assert "401" in setup.appliance.run_in_guardian("python3", "-c", asked % REST)


def _fails(setup: Setup, env: dict[str, str], job: str, said: str, *args: str) -> str:
    """The command fails with ``said`` in its French message, the job records the failure
    with the same message, and data/ is untouched."""
    before = data_digests(setup)
    done = cli(setup, env, *args)
    assert done.returncode != 0 and said in done.stderr, (done.returncode, done.stdout, done.stderr)
    recorded = history(setup, job)
    assert recorded["ok"] is False and said in recorded["error"] and recorded["error"] in done.stderr, recorded
    assert data_digests(setup) == before
    return done.stderr


def test_a_wrong_repository_password_is_reported(setup: Setup) -> None:
    env = {**setup.repositories["rest"], "NEOCUMA_OFFSITE_PASSWORD_FILE": setup.targets.secret("wrong-password")}
    said = _fails(setup, env, "offsite", "mot de passe refusé", "offsite", "push")
    assert f"rest:http://***@{REST}:8000/neocuma/" in said


def test_a_wrong_rest_login_is_reported_as_such_and_creates_nothing(setup: Setup) -> None:
    """restic answers a refused login with "Is there a repository…?": the guardian must not
    take it for a missing repository and try to create one."""
    wrong = f"rest:http://{REST_USER}:not-the-login@{REST}:8000/elsewhere/"
    env = {**setup.repositories["rest"], "NEOCUMA_OFFSITE_REPOSITORY": wrong}
    said = _fails(setup, env, "offsite", "identifiants refusés par le serveur (HTTP 401)", "offsite", "push")
    assert "not-the-login" not in said


def test_an_unreachable_nas_is_reported_and_the_next_push_catches_up(setup: Setup) -> None:
    copies = ok_json(setup, {}, "offsite", "list")["copies"]
    newest = max(c["name"] for c in copies if c["kind"] == "data")
    missing = [name for name in local_backups(setup) if name > newest]
    assert missing, "the REST and S3 tests made backups the NAS has not had"
    network = setup.appliance.client.networks.get(setup.targets.network.name)
    network.disconnect(setup.targets.sftp.get_wrapped_container().id)
    try:
        said = _fails(setup, {}, "offsite", "injoignable", "offsite", "push")
        assert SFTP_REPOSITORY in said
    finally:
        network.connect(setup.targets.sftp.get_wrapped_container().id, aliases=[NAS])
    assert ok_json(setup, {}, "offsite", "push")["pushed"] == missing


def test_an_unknown_host_key_fails_the_push_before_anything_is_sent(setup: Setup) -> None:
    stored = containers.exec_checked(setup.targets.sftp, ["find", "/srv/restic", "-type", "f"])
    env = {"NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE": setup.targets.secret("other-known-hosts")}
    said = _fails(setup, env, "offsite", "la clé d'hôte du serveur SFTP a changé", "offsite", "push")
    assert "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE" in said
    assert containers.exec_checked(setup.targets.sftp, ["find", "/srv/restic", "-type", "f"]) == stored


def test_a_full_nas_is_reported(setup: Setup) -> None:
    sizes = setup.appliance.run_in_guardian("sh", "-c", f"stat -c %s {DATA}/*Z.zip")
    assert min(int(size) for size in sizes.split()) > 2 * SMALL_BYTES, "a backup would fit the small target"
    env = {"NEOCUMA_OFFSITE_REPOSITORY": f"sftp:{SFTP_USER}@{NAS}:{SMALL_DIR}/neocuma"}
    _fails(setup, env, "offsite", "le serveur SFTP refuse d'écrire, sans doute plein", "offsite", "push")


def test_a_corrupted_pack_is_found_by_the_check(setup: Setup) -> None:
    rest = setup.targets.rest
    pack = containers.exec_checked(rest, ["sh", "-c", "ls -S /srv/restic/neocuma/data/*/* | head -1"]).strip()
    containers.exec_checked(
        rest, ["sh", "-c", f"printf 'octets abimes sur le serveur' | dd of={pack} bs=1 seek=64 conv=notrunc"]
    )
    env = {**setup.repositories["rest"], "NEOCUMA_OFFSITE_CHECK_PARTS": "1"}
    said = _fails(
        setup, env, "offsite_check", "endommagé : restic check a échoué, il y a trouvé des erreurs", "offsite", "check"
    )
    assert "Pack ID does not match" in said, said  # restic's own words name the pack
