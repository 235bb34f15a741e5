"""The guardian's SSH client (paramiko, host key pinned) against the real SSH endpoint."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import paramiko
import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.remote_ssh import (
    HostKeyChanged,
    HostKeyUnknown,
    KnownHosts,
    RemoteClient,
    RemoteRefused,
    fingerprint,
)
from appliance.errors import Refused
from tests.integration.conftest import USER_PASSWORD, Central

pytestmark = pytest.mark.integration


def _client(central: Central, tmp_path: Path, pin: paramiko.PKey | None = None) -> RemoteClient:
    known = KnownHosts(tmp_path / "known_hosts")
    client = RemoteClient("127.0.0.1", central.ssh_port, known, timeout=10)
    if pin is not None:
        known.pin("127.0.0.1", central.ssh_port, pin)
    return client


def test_an_unknown_or_changed_key_is_refused_before_the_password_is_sent(
    central: Central, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    unknown = _client(central, tmp_path)
    presented = unknown.presented_key()
    with pytest.raises(HostKeyUnknown, match=re.escape(fingerprint(presented))):
        unknown.session("resp.fd12", USER_PASSWORD)
    other = paramiko.Ed25519Key.from_private_key(io.StringIO(_OTHER_KEY))
    changed = _client(central, tmp_path / "b", pin=other)
    with pytest.raises(HostKeyChanged) as caught:
        changed.session("resp.fd12", USER_PASSWORD)
    assert fingerprint(other) in str(caught.value) and fingerprint(presented) in str(caught.value)
    assert "ssh login of resp.fd12" not in caplog.text, "the password never left the guardian"


def test_export_streams_a_backup_that_verifies(central: Central, tmp_path: Path) -> None:
    client = _client(central, tmp_path)
    client.known_hosts.pin("127.0.0.1", central.ssh_port, client.presented_key())
    target = tmp_path / "backup.zip"
    with client.session("resp.fd12", USER_PASSWORD) as session, target.open("wb") as sink:
        size = session.export([], sink)
    assert size == target.stat().st_size > 0
    assert len(verify_backup(target).manifest.dossiers) >= 5
    with pytest.raises(Refused, match="a refusé l'identification"):
        client.session("resp.fd12", "wrong")


def test_import_through_the_client_and_a_wrong_password_typed_again(central: Central, tmp_path: Path) -> None:
    client = _client(central, tmp_path)
    client.known_hosts.pin("127.0.0.1", central.ssh_port, client.presented_key())
    backup = tmp_path / "one.zip"
    with client.session("resp.fd12", USER_PASSWORD) as session:
        code = next(
            d["code"] for d in session.json("v1 dossiers")["dossiers"] if not d["exporte"] and d["type"] == "CUMA"
        )
        with backup.open("wb") as sink:
            session.export([code], sink)
        with pytest.raises(RemoteRefused) as caught:
            session.import_dossier(code, "wrong", lambda: backup.open("rb"))
        assert caught.value.code == "wrong_password"
        # The password line travels alone, before the first block of the zip.
        reply = session.import_dossier(code, USER_PASSWORD, lambda: backup.open("rb"))
    assert reply["dossier"] == code and reply["copie_avant_restauration"].startswith(f"{code}/")


_OTHER_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACABZYIylJzHtIbxjbg5pafSFZNMU6LiKgKsoOVHtlQP5wAAAJihN2hzoTdo
cwAAAAtzc2gtZWQyNTUxOQAAACABZYIylJzHtIbxjbg5pafSFZNMU6LiKgKsoOVHtlQP5w
AAAEBBAXT9tuBpxF58IJRZ6ZROEAxksryhVUtnZLpZ0XtWOQFlgjKUnMe0hvGNuDmlp9IV
k0xTouIqAqyg5Ue2VA/nAAAAEXRlc3RAbmVvY3VtYS50ZXN0AQIDBA==
-----END OPENSSH PRIVATE KEY-----
"""


def test_a_refusal_sent_at_once_always_reaches_the_client_as_the_refusal(central: Central, tmp_path: Path) -> None:
    """The server refuses another profile without any I/O; its reply and the channel's close
    must never overtake the exec request's acceptance (the client then saw only "Channel
    closed." instead of the refusal: 79 of 300, and 3 of 150 in another run, before the fix)."""
    client = _client(central, tmp_path)
    client.known_hosts.pin("127.0.0.1", central.ssh_port, client.presented_key())
    outcomes: dict[str, int] = {}
    with client.session("compta.fd12", USER_PASSWORD) as session:
        for _ in range(300):
            try:
                session.json("v1 whoami")
                outcomes["answered"] = outcomes.get("answered", 0) + 1
            except RemoteRefused as error:
                assert "responsable départemental" in str(error)
                outcomes["refused"] = outcomes.get("refused", 0) + 1
            except Exception as error:  # noqa: BLE001 - counted: the assertion below names them
                outcomes[str(error)] = outcomes.get(str(error), 0) + 1
    assert outcomes == {"refused": 300}


def test_the_central_server_port_turns_every_answer_into_domain_values(central: Central, tmp_path: Path) -> None:
    """The adapter the guardian's jobs use: pin by fingerprint, who-am-I, dossiers, clock,
    system files over SFTP, an export and an import, through the real endpoint."""
    import hashlib
    import time

    from appliance.adapters.central import SshCentralServer
    from appliance.domain.system_manifest import parse_system_manifest

    server = SshCentralServer("127.0.0.1", central.ssh_port, tmp_path / "known_hosts", 10)
    presented = server.presented_fingerprint()
    assert server.pinned_fingerprint() is None
    with pytest.raises(Refused, match="rien n'a été épinglé"):
        server.pin("SHA256:not-this-one")
    assert server.pin(presented) == presented == server.pinned_fingerprint()
    with server.session("resp.fd12", USER_PASSWORD) as session:
        whoami = session.whoami()
        assert (whoami.login, whoami.profile, whoami.centre) == ("resp.fd12", "responsable_departemental", "FD12")
        dossiers = session.dossiers()
        assert len(dossiers) == whoami.dossiers and abs(session.clock() - time.time()) < 60
        entries = parse_system_manifest(session.system_manifest().decode())
        with session.system_file(entries[0].path) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == entries[0].sha256
        code = next(c for c, d in dossiers.items() if not d.exporte and c.startswith("12"))
        target = tmp_path / "one.zip"
        with target.open("wb") as sink:
            session.export([code], sink)
        reply = session.import_dossier(code, USER_PASSWORD, lambda: target.open("rb"))
        assert reply.revision > dossiers[code].revision and reply.pre_restore_copy.startswith(f"{code}/")
    with server.session("compta.fd12", USER_PASSWORD) as other, pytest.raises(RemoteRefused):
        other.whoami()


def test_revisions_are_the_dossiers_reply_without_its_row_counts(central: Central, tmp_path: Path) -> None:
    """``v1 revisions`` (what the guardian's monitor asks every minute) answers what
    ``v1 dossiers`` does but the counts of every row, which are the database's work."""
    client = _client(central, tmp_path)
    client.known_hosts.pin("127.0.0.1", central.ssh_port, client.presented_key())
    with client.session("resp.fd12", USER_PASSWORD) as session:
        full = session.json("v1 dossiers")
        light = session.json("v1 revisions")
        with pytest.raises(RemoteRefused, match="ne prend pas d'argument"):
            session.json("v1 revisions 120001")
    assert full["dossiers"] and all(d.pop("lignes") for d in full["dossiers"])
    assert light == full
