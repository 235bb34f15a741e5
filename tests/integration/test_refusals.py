"""Bad inputs over SSH, shown with OpenSSH's own client: each gets a clear error, the
server logs it, and nothing in the database changes."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import pytest

from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import containers, oracle

pytestmark = pytest.mark.integration


def _outside_rights_code(central: Central) -> str:
    connection = central.root_connection()
    rows = oracle.query(
        connection, f"SELECT code FROM `{central.schema}`.dossier WHERE centre_code = 'FD12' AND type = 'Societe'"
    )
    connection.close()
    return str(rows[0][0])


def test_wrong_password_is_refused_logged_and_slowed(
    central: Central, unchanged: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    for _ in range(3):
        result = central.ssh.ssh("resp.fd12", "not-the-password", "v1 whoami")
        assert result.returncode == 255
        assert b"Permission denied" in result.stderr
    # 0.5 s, then 1 s, then 2 s of delay: repeated failures cost more and more.
    assert time.monotonic() - started >= 3.0
    assert "ssh login failed for 'resp.fd12'" in caplog.text and "wrong password" in caplog.text
    assert "not-the-password" not in caplog.text
    assert central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 time").returncode == 0


def test_unknown_user_is_refused(central: Central, caplog: pytest.LogCaptureFixture) -> None:
    result = central.ssh.ssh("nobody", "x", "v1 whoami")
    assert result.returncode == 255
    assert "unknown user" in caplog.text


@pytest.mark.parametrize("login", ["compta.fd12", "info.fd12", "compta1.fd12"])
def test_other_profiles_are_refused_with_the_profile_needed(
    central: Central, unchanged: None, login: str, caplog: pytest.LogCaptureFixture
) -> None:
    for command in ("v1 whoami", "v1 export"):
        result = central.ssh.ssh(login, USER_PASSWORD, command)
        assert result.returncode == 5
        assert result.stdout == b""
        assert b"error forbidden_profile:" in result.stderr
        assert "responsable départemental".encode() in result.stderr
    assert f"ssh login of {login}" in caplog.text and "refused for guardian use" in caplog.text
    listing = central.ssh.sftp(login, USER_PASSWORD, "ls\n")
    assert listing.returncode != 0 and b"subsystem request failed" in listing.stderr


def test_dossier_outside_rights_refuses_the_whole_export(
    central: Central, unchanged: None, caplog: pytest.LogCaptureFixture
) -> None:
    outside = _outside_rights_code(central)
    mine = "120001"
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {mine} {outside}")
    assert result.returncode == 5
    assert result.stdout == b"", "not a byte of data leaves the server"
    assert f"error outside_rights: dossier(s) hors de vos droits : {outside}".encode() in result.stderr
    assert f"export refused for resp.fd12: dossiers outside rights: {outside}" in caplog.text


def test_unknown_dossier_is_named(central: Central, unchanged: None) -> None:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export 120001 999999")
    assert result.returncode == 4
    assert result.stdout == b""
    assert b"error unknown_dossier:" in result.stderr and b"999999" in result.stderr


@pytest.mark.parametrize(
    ("command", "status", "code"),
    [
        ("", 2, "bad_request"),
        ("rm -rf /", 2, "bad_request"),
        ("v1 export ../../etc/passwd", 2, "bad_request"),
        ("v1 export 'unterminated", 2, "bad_request"),
        ("v1 whoami --all", 2, "bad_request"),
        ("v7 whoami", 3, "unsupported_version"),
        ("v1 export " + " ".join(str(n) for n in range(2100)), 2, "request_too_large"),
        ("v1 export " + "A" * 9000, 2, "request_too_large"),
    ],
)
def test_malformed_and_oversized_requests(
    central: Central, unchanged: None, command: str, status: int, code: str
) -> None:
    result = central.ssh.ssh("resp.fd12", USER_PASSWORD, command)
    assert result.returncode == status, result.stderr
    assert result.stdout == b""
    assert f"error {code}:".encode() in result.stderr
    assert b"Traceback" not in result.stderr


def test_metadata_commands_answer_json(central: Central) -> None:
    import json

    whoami = json.loads(central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 whoami").stdout)
    assert whoami["user"]["profil"] == "responsable_departemental"
    assert whoami["centre"]["code"] == "FD12"
    assert _outside_rights_code(central) not in whoami["dossiers"]
    listing = json.loads(central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 dossiers").stdout)
    assert [d["code"] for d in listing["dossiers"]] == whoami["dossiers"]
    exported = [d for d in listing["dossiers"] if d["exporte"]]
    assert len(exported) == 1
    assert all(d["lignes"]["tiers"] > 0 for d in listing["dossiers"])
    protocol = json.loads(central.ssh.ssh("resp.fd12", USER_PASSWORD, "protocol").stdout)
    assert protocol["versions"] == [1]


def test_connections_that_never_log_in_cannot_lock_the_centres_out(central: Central, tmp_path: Path) -> None:
    """Issue 12, finding 3: idle connections used to count against the session cap for good.
    They are counted apart, a few per address, and closed after the login deadline."""
    import socket
    import threading

    import paramiko

    from appliance.server.hostkey import load_or_create_host_key
    from appliance.server.ssh_listener import MAX_PENDING_PER_ADDRESS, SshServer

    server = SshServer(
        central.context,
        load_or_create_host_key(tmp_path, None),
        port=0,
        max_sessions=2,
        bind="127.0.0.1",
        auth_deadline=1.5,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    idle: list[paramiko.Transport] = []
    try:
        for _ in range(MAX_PENDING_PER_ADDRESS + 4):  # handshake done, never a login
            transport = paramiko.Transport(socket.create_connection(("127.0.0.1", server.port)))
            try:
                transport.start_client(timeout=5)
                idle.append(transport)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()  # refused: that address already has its share waiting
        assert len(idle) == MAX_PENDING_PER_ADDRESS, "a few per address, the rest refused at once"
        with contextlib.suppress(TimeoutError):  # the assertion below says what went wrong
            containers.wait_for(lambda: not any(t.is_active() for t in idle), 10, "the idle ones closed", 0.1)
        assert not any(t.is_active() for t in idle), "closed after the login deadline"
        logged_in = []
        for _ in range(2):  # the two sessions of the cap are free for real logins
            client = paramiko.Transport(socket.create_connection(("127.0.0.1", server.port)))
            client.start_client(timeout=5)
            client.auth_password("resp.fd12", USER_PASSWORD)
            logged_in.append(client)
        assert all(c.is_authenticated() for c in logged_in)
        for client in logged_in:
            client.close()
    finally:
        for transport in idle:
            transport.close()
        server.stop()
