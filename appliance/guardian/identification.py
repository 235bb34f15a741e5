"""Identification (manual §12.3.1): pinning the remote's host key and logging in as a
responsable départemental. Unattended runs need the password later: it is kept in the
state volume (mode 0600, the guardian's user only, never logged); see docs/guardian.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters.remote_ssh import HostKeyChanged, fingerprint, public_key_from_line
from appliance.errors import Refused
from appliance.guardian.context import Credentials, Guardian

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    login: str
    profile: str
    centre: str
    dossiers: int


def presented_fingerprint(guardian: Guardian) -> str:
    return fingerprint(guardian.remote().presented_key())


def pinned_fingerprint(guardian: Guardian) -> str | None:
    key = guardian.known_hosts.pinned(guardian.config["remote.host"], guardian.config["remote.port"])
    return fingerprint(key) if key is not None else None


def accept_host_key(guardian: Guardian, expected: str) -> str:
    """Pin the key the remote presents if its fingerprint is ``expected``; raises Refused."""
    key = guardian.remote().presented_key()
    actual = fingerprint(key)
    if actual != expected.strip():
        raise Refused(f"the remote presents {actual}, not {expected}: nothing was pinned")
    previous = pinned_fingerprint(guardian)
    guardian.known_hosts.pin(guardian.config["remote.host"], guardian.config["remote.port"], key)
    log.warning(
        "host key of %s:%s pinned: %s (was %s)",
        guardian.config["remote.host"],
        guardian.config["remote.port"],
        actual,
        previous,
    )
    return actual


def login(guardian: Guardian, user: str, password: str) -> LoginResult:
    """Check the credentials with the server (which refuses other profiles with its reason)
    and keep them for unattended runs. The host key must be pinned already."""
    with guardian.remote().session(user, password) as session:
        whoami = session.json("v1 whoami")
    result = LoginResult(
        str(whoami["user"]["login"]),
        str(whoami["user"]["profil"]),
        str(whoami["centre"]["code"]),
        len(whoami["dossiers"]),
    )
    guardian.store_credentials(Credentials(result.login, password, result.centre, result.profile))
    guardian.record("login", login=result.login, centre=result.centre)
    log.info(
        "logged in to the remote server as %s (%s, centre %s, %d dossiers)",
        result.login,
        result.profile,
        result.centre,
        result.dossiers,
    )
    return result


def demo_autologin(guardian: Guardian) -> LoginResult | None:
    """Demo only: pin the key the demo remote published and log in with the demo account,
    so `make up` leaves the guardian ready. Does nothing when already logged in."""
    config = guardian.config
    if not config["demo.autologin"]:
        return None
    try:
        guardian.credentials()
        return None
    except Refused:
        pass
    key_file = Path(config["remote.host_key_file"])
    if not config["remote.host_key_file"] or not key_file.exists():
        raise Refused(f"demo autologin: the remote's public key file {key_file} is missing")
    published = public_key_from_line(key_file.read_text(encoding="utf-8"))
    presented = guardian.remote().presented_key()
    if published.asbytes() != presented.asbytes():
        raise HostKeyChanged(
            f"demo autologin: the remote presents {fingerprint(presented)} but published {fingerprint(published)}"
        )
    pinned = pinned_fingerprint(guardian)
    if pinned is not None and pinned != fingerprint(presented):
        raise HostKeyChanged(
            f"demo autologin: a different key ({pinned}) is pinned; run `neocuma-guardian hostkey accept` to change it"
        )
    guardian.known_hosts.pin(config["remote.host"], config["remote.port"], presented)
    return login(guardian, config["demo.user"], config["demo.password"])
