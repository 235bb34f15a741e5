"""The server's SSH host key: made on first start, kept in the server's volume, its public
part published where a guardian can pin it (docs/design.md §8)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.adapters.remote_ssh import fingerprint

log = logging.getLogger(__name__)

KEY_NAME = "ssh_host_ed25519_key"


def load_or_create_host_key(state_dir: Path, public_dir: Path | None) -> paramiko.PKey:
    """Load the host key from ``state_dir``, creating it (mode 0600) on first start, and
    write its public part to ``state_dir`` and, if given, ``public_dir``."""
    ssh_dir = state_dir / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    private_path = ssh_dir / KEY_NAME
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        temporary = private_path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, private_path)
        log.info("created SSH host key %s", private_path)
    host_key = paramiko.Ed25519Key(filename=str(private_path))
    public_line = f"{host_key.get_name()} {host_key.get_base64()}\n"
    targets = [ssh_dir / f"{KEY_NAME}.pub"]
    if public_dir is not None:
        public_dir.mkdir(parents=True, exist_ok=True)
        targets.append(public_dir / f"{KEY_NAME}.pub")
    for target in targets:
        if not target.exists() or target.read_text(encoding="utf-8") != public_line:
            temporary = target.with_suffix(".tmp")
            temporary.write_text(public_line, encoding="utf-8")
            os.chmod(temporary, 0o644)
            os.rename(temporary, target)
    log.info("SSH host key fingerprint %s", fingerprint(host_key))
    return host_key
