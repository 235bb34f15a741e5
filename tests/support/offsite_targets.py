"""Real servers for the offsite copies (docker/offsite-targets/, built by `make
test-images`): OpenSSH's sshd as the SFTP NAS, `rclone serve restic` as the REST server with
basic authentication, moto's standalone server as the S3-compatible store. Each is a
container of ours on a network of its own, which the guardian joins; the secrets the
guardian mounts (repository password, SSH key, known_hosts files, S3 secret) are written
into one directory here."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from tests.support import containers

SFTP_IMAGE = f"neocuma/offsite-sftp:{containers.VERSION}"
REST_IMAGE = f"neocuma/offsite-rest:{containers.VERSION}"
S3_IMAGE = f"neocuma/offsite-s3:{containers.VERSION}"
GUARDIAN_UID = 10001
INSIDE = "/run/neocuma-secrets"  # where the guardian mounts the secrets directory
NAS, REST, S3 = "nas", "restic-rest", "s3"  # the servers' names on their network
SFTP_USER = "sauvegarde"
REST_USER, REST_PASSWORD = "gardien", "Rest-Hors-Site-2026"
S3_KEY_ID, S3_SECRET = "NEOCUMAE2EKEYID", "s3-secret-e2e-ne-se-montre-jamais"
SMALL_DIR = "/srv/petit"  # on the NAS, a tmpfs of SMALL_BYTES: a full target
SMALL_BYTES = 64 * 1024


@dataclass
class Targets:
    network: Network
    sftp: DockerContainer
    rest: DockerContainer
    s3: DockerContainer
    secrets: Path  # mounted read-only at INSIDE in the guardian

    def secret(self, name: str) -> str:
        return f"{INSIDE}/{name}"


def _write(path: Path, text: str, mode: int = 0o644, owner: int | None = None) -> None:
    path.write_text(text)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)


def _keypair(directory: Path, name: str) -> str:
    """A new unencrypted ed25519 key pair ``directory/name`` and ``.pub``; the public line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(directory / name)],
        check=True,
        capture_output=True,
    )
    return (directory / f"{name}.pub").read_text().strip()


def _key_only(public_line: str) -> str:
    kind, key = public_line.split()[:2]
    return f"{kind} {key}"


@contextmanager
def offsite_targets(password: str) -> Iterator[Targets]:
    """The three servers, healthy, and the secrets directory: ``offsite-password`` (and a
    ``wrong-password``), the guardian's SSH key ``offsite-ssh-key`` (uid 10001, 0600, as a
    centre mounts it), ``offsite-known-hosts`` with the NAS's host key as ssh-keyscan
    would give it, ``other-known-hosts`` with another key under the NAS's name, and
    ``offsite-s3-secret``."""
    secrets = Path(tempfile.mkdtemp(prefix="neocuma-offsite-targets-"))
    secrets.chmod(0o755)
    network = containers.new_network()
    started: list[DockerContainer] = []
    try:
        _write(secrets / "offsite-password", password + "\n")
        _write(secrets / "wrong-password", "pas la phrase du dépôt\n")
        _write(secrets / "offsite-s3-secret", S3_SECRET + "\n")
        public = _keypair(secrets, "offsite-ssh-key")
        os.chown(secrets / "offsite-ssh-key", GUARDIAN_UID, GUARDIAN_UID)
        other = _keypair(secrets, "other-host-key")
        sftp = (
            containers.container(SFTP_IMAGE, network, (NAS,))
            .with_tmpfs_mount(SMALL_DIR, f"size={SMALL_BYTES}")
            .with_env("AUTHORIZED_KEY", public)
            .start()
        )
        started.append(sftp)
        rest = (
            containers.container(REST_IMAGE, network, (REST,))
            .with_command(["rclone", "serve", "restic", "--addr", ":8000", "/srv/restic"])
            .with_env("RCLONE_USER", REST_USER)  # rclone reads each flag from RCLONE_<FLAG> too
            .with_env("RCLONE_PASS", REST_PASSWORD)
            .start()
        )
        started.append(rest)
        s3 = containers.container(S3_IMAGE, network, (S3,)).start()
        started.append(s3)
        for target in started:
            containers.wait_healthy(target, 120)
        host_key = containers.exec_checked(sftp, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
        _write(secrets / "offsite-known-hosts", f"{NAS} {_key_only(host_key)}\n")
        _write(secrets / "other-known-hosts", f"{NAS} {_key_only(other)}\n")
        yield Targets(network, sftp, rest, s3, secrets)
    finally:
        for target in reversed(started):
            target.stop()
        network.remove()
        shutil.rmtree(secrets, ignore_errors=True)
