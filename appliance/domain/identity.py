"""Who the guardian is on the central server: the answer to ``v1 whoami``, the login kept
for unattended runs, and OpenSSH fingerprints of host keys. Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from appliance.errors import Refused


@dataclass(frozen=True)
class WhoAmI:
    """The central server's view of a login: profile, centre and dossiers in rights."""

    login: str
    profile: str
    centre: str
    dossiers: int


@dataclass(frozen=True)
class Credentials:
    """The remote login kept for unattended runs (state volume, mode 0600)."""

    login: str
    password: str
    centre: str
    profile: str

    def __repr__(self) -> str:
        return f"Credentials(login={self.login!r}, centre={self.centre!r})"


def fingerprint_of_blob(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob, as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def fingerprint_of_line(line: str) -> str:
    """The fingerprint of an OpenSSH public-key line (``ssh-ed25519 AAAA… [comment]``);
    raises Refused when the line is not one."""
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise Refused("the host public-key file is not an OpenSSH public key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as error:
        raise Refused(f"the host public-key file cannot be read: {error}") from error
    return fingerprint_of_blob(blob)
