"""Hostile requests, seeded, against the real thing (issue 12): NeoCuma Web's forms and JSON
API through Flask's client, and the SSH endpoint through paramiko, both on our MariaDB image.
Every case is invalid — bad numbers, wrong types, missing fields, odd Unicode, huge or deep
bodies, wrong CSRF tokens and content types, dossiers outside one's rights, hostile exec
lines and import streams — and must get a clear 4xx (HTTP) or the protocol's one-line error
(SSH), never a 5xx, a traceback or a hang; CHECKSUM TABLE of every table of every NeoCuma
schema is the same after the campaign. ``NEOCUMA_FUZZ_CASES`` (web cases; a third as many
SSH ones) and ``NEOCUMA_FUZZ_SEED`` change the run."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
import pytest

from appliance.domain.protocol import EXIT_STATUS, ProtocolError, parse_request
from appliance.server.hostkey import load_or_create_host_key
from appliance.server.ssh_listener import SshServer
from tests.integration import hostile_web
from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle
from tests.support.hostile import (
    hostile_command,
)

pytestmark = pytest.mark.integration
WEB_CASES = int(os.environ.get("NEOCUMA_FUZZ_CASES", "300"))
SSH_CASES = max(1, WEB_CASES // 3)
SEED = int(os.environ.get("NEOCUMA_FUZZ_SEED", "20261202"))


def _checksums(central: Central) -> dict[str, Any]:
    """CHECKSUM TABLE of every table of every NeoCuma schema, and the live schema's rows."""
    connection = central.root_connection()
    tables = oracle.query(
        connection,
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE 'neocuma%%'"
        " AND table_type = 'BASE TABLE' ORDER BY 1, 2",
    )
    names = ", ".join(f"`{schema}`.`{table}`" for schema, table in tables)
    result: dict[str, Any] = dict(oracle.query(connection, f"CHECKSUM TABLE {names}"))
    result["rows"] = oracle.whole_schema_oracle(connection, central.schema)
    connection.close()
    return result


@dataclasses.dataclass
class Ssh:
    transport: paramiko.Transport  # resp.fd12
    other_profile: paramiko.Transport  # compta.fd12: every request refused, its profile named
    code: str  # in resp.fd12's rights, writable
    other: str  # another of them
    exported: str
    outside: str  # another centre's
    backup: bytes  # an export of ``other``
    pair: bytes  # an export of ``code`` and ``other``
    slow: Counter[str] = dataclasses.field(default_factory=Counter)


def _connect(port: int, login_name: str) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", port))
    transport.start_client(timeout=10)
    transport.auth_password(login_name, USER_PASSWORD)
    return transport


def _exec(
    transport: paramiko.Transport, command: bytes | None, stdin: bytes | None = None, eof: bool = True
) -> tuple[bytes, bytes, int]:
    channel = transport.open_session(timeout=10)
    channel.settimeout(20)
    try:
        if command is None:
            channel.get_pty()
            channel.invoke_shell()
        else:
            channel.exec_command(command)
        if stdin is not None:
            try:
                channel.sendall(stdin)
                if eof:
                    channel.shutdown_write()
            except (OSError, paramiko.SSHException):
                pass  # refused before the server read all of it
        out = _drain(channel.recv)
        err = _drain(channel.recv_stderr)
        return out, err, channel.recv_exit_status()
    finally:
        channel.close()


def _drain(read: Callable[[int], bytes]) -> bytes:
    chunks = []
    while chunk := read(65536):
        chunks.append(chunk)
    return b"".join(chunks)


SshCase = tuple[str, bytes | None, bytes | None, bool, paramiko.Transport, str]  # what, line, stdin, eof, by, code
SECONDS: Counter[str] = Counter()
MAX_SLOW_CASES = 2  # wrong passwords (answered after 0.5 s, then 1 s) and stalls (1 s)


def _ssh_case(rng: random.Random, ssh: Ssh) -> SshCase | None:
    choice = rng.randrange(10)
    if choice <= 3:  # a hostile exec line, sent if the parser refuses it (its own fuzz checks the rest)
        line = hostile_command(rng)
        try:
            parse_request(line)
        except ProtocolError as error:
            by = ssh.other_profile if rng.random() < 0.2 else ssh.transport  # the line is parsed first
            return "hostile exec line", line, None, True, by, error.code
        return None
    if choice == 4:
        codes = rng.choice([[ssh.outside], ["999999"], [ssh.code, ssh.outside], [ssh.code, "ZZZ-9"]])
        command = rng.choice(["export", "prerestores"]) if len(codes) == 1 else "export"
        code = "unknown_dossier" if command == "export" and ssh.outside not in codes else "outside_rights"
        return "dossiers outside rights", f"v1 {command} {' '.join(codes)}".encode(), None, True, ssh.transport, code
    if choice == 5:
        request: bytes | None = rng.choice([b"v1 whoami", b"v1 export", b"v1 import " + ssh.code.encode(), None])
        by = rng.choice([ssh.other_profile, ssh.transport]) if request is None else ssh.other_profile
        code = "bad_request" if request is None else "forbidden_profile"  # no shell, for anyone
        return "other profile or a shell", request, b"", True, by, code
    return _import_case(rng, ssh)


def _import_case(rng: random.Random, ssh: Ssh) -> SshCase:
    """An import whose password line, backup or target is hostile."""
    password = USER_PASSWORD.encode() + b"\n"
    backups = [
        b"",
        b"PK\x03\x04",
        rng.randbytes(4000),
        ssh.backup,
        ssh.pair,
        ssh.backup[: rng.randrange(len(ssh.backup))],
    ]
    target, eof = ssh.code, True
    stdin, code = rng.choice(
        [
            (password + rng.choice(backups), "invalid_backup"),  # another dossier's, two, cut, not a zip
            (password + rng.choice(backups), "invalid_backup"),
            (USER_PASSWORD.encode(), "bad_request"),  # no line break, then the end
            (b"x" * 5000 + b"\n", "bad_request"),
            (b"\xff\xfe" + password, "bad_request"),
            (password + rng.randbytes(300 * 1024), "request_too_large"),
            (b"not-the-password\n" + ssh.backup, "wrong_password"),
            (password + b"PK", "transfer_failed"),  # then nothing, never the end
        ]
    )
    if code in ("wrong_password", "transfer_failed"):  # each costs a second or so: a few of them
        ssh.slow[code] += 1
        eof = code != "transfer_failed"
        if ssh.slow[code] > MAX_SLOW_CASES:
            stdin, code, eof = password + ssh.pair, "invalid_backup", True
    if rng.random() < 0.15:
        target, code = rng.choice(
            [(ssh.exported, "dossier_exporte"), (ssh.outside, "outside_rights"), ("999999", "unknown_dossier")]
        )
        stdin, eof = password + ssh.backup, True  # refused before a byte of it is read
    return "hostile import", f"v1 import {target}".encode(), stdin, eof, ssh.transport, code


def _one_line(err: bytes, status: int, code: str | None) -> str | None:
    """What is wrong with a refusal's reply, or None."""
    text = err.decode("utf-8", "replace")
    if not text.startswith("error ") or text.count("\n") != 1 or not text.endswith("\n") or ": " not in text:
        return f"not one error line: {text[:200]!r}"
    if not text[:-1].isprintable():
        return f"characters not printable in the error line: {text[:200]!r}"
    got = text[6:].split(":", 1)[0]
    if got == "internal" or got not in EXIT_STATUS or EXIT_STATUS[got] != status or (code and got != code):
        return f"{got} (exit {status}), expected {code}: {text[:200]!r}"
    return None


@pytest.fixture()
def ssh_endpoint(central: Central, tmp_path: Any) -> Iterator[Ssh]:
    """An endpoint of its own (its failed-login counts too), with a small import limit and a
    short stall timeout, over the central server's parts."""
    context = dataclasses.replace(central.context, max_import_bytes=256 * 1024, transfer_timeout=1)
    server = SshServer(context, load_or_create_host_key(tmp_path, None), port=0, max_sessions=4, bind="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connection = central.root_connection()
    mine = oracle.dossiers_of(connection, central.schema, "resp.fd12", "d.exporte = 0 AND r.acces = 'ecriture'")
    exported = oracle.dossiers_of(connection, central.schema, "resp.fd12", "d.exporte = 1")[0][1]
    codes = {c for _, c in oracle.dossiers_of(connection, central.schema, "resp.fd12")}
    outside = next(
        str(r[0]) for r in oracle.query(connection, f"SELECT code FROM `{central.schema}`.dossier") if r[0] not in codes
    )
    connection.close()
    transport = _connect(server.port, "resp.fd12")
    other_profile = _connect(server.port, "compta.fd12")
    code, other = mine[0][1], mine[1][1]
    backup, _, status = _exec(transport, f"v1 export {other}".encode())
    pair, _, status2 = _exec(transport, f"v1 export {code} {other}".encode())
    assert status == status2 == 0 and zipfile.is_zipfile(io.BytesIO(backup))
    try:
        yield Ssh(transport, other_profile, code, other, exported, outside, backup, pair)
    finally:
        transport.close()
        other_profile.close()
        server.stop()


def _web_campaign(central: Central, rng: random.Random, failures: list[str]) -> Counter[str]:
    web = hostile_web.web_setup(central)
    statuses: Counter[str] = Counter()
    for case in range(WEB_CASES):
        kind = rng.choice(hostile_web.KINDS)
        try:
            what, response, allowed = kind(rng, web)
        except Exception as error:  # noqa: BLE001 - what the test is about
            failures.append(f"web case {case} ({kind.__name__}): {type(error).__name__}: {error}"[:400])
            continue
        statuses[f"{what}: {response.status_code}"] += 1
        body = response.get_data(as_text=True)
        if response.status_code not in allowed or "Traceback" in body:
            failures.append(
                f"web case {case} ({what}): HTTP {response.status_code}, not {sorted(allowed)}: {body[:300]!r}"
            )
    return statuses


def _ssh_campaign(ssh: Ssh, rng: random.Random, failures: list[str]) -> Counter[str]:
    codes: Counter[str] = Counter()
    sent = 0
    while sent < SSH_CASES:
        case = _ssh_case(rng, ssh)
        if case is None:
            codes["valid line, not sent"] += 1
            continue
        what, line, stdin, eof, by, code = case
        sent += 1
        began = time.monotonic()
        try:
            out, err, status = _exec(by, line, stdin, eof)
        except Exception as error:  # noqa: BLE001 - a hang or a broken session is a failure too
            failures.append(f"ssh case {sent} ({what}): {type(error).__name__}: {error}"[:400])
            continue
        reply = err.decode("utf-8", "replace")[6:].split(":", 1)[0]
        codes[reply] += 1
        SECONDS[reply] += time.monotonic() - began
        problem = _one_line(err, status, code) if not out else f"stdout not empty: {out[:100]!r}"
        if problem:
            failures.append(f"ssh case {sent} ({what}, {(line or b'<shell>')[:80]!r}): {problem}")
    return codes


def test_hostile_web_and_ssh_requests_are_refused_and_change_nothing(central: Central, ssh_endpoint: Ssh) -> None:
    before = _checksums(central)
    rng = random.Random(SEED)
    failures: list[str] = []
    started = time.monotonic()
    statuses = _web_campaign(central, rng, failures)
    web_seconds, started = time.monotonic() - started, time.monotonic()
    codes = _ssh_campaign(ssh_endpoint, rng, failures)
    ssh_seconds = time.monotonic() - started
    after = _checksums(central)
    changed = sorted(name for name in before if before[name] != after.get(name))
    by_status = Counter(what.rsplit(": ", 1)[1] for what in statuses.elements())
    print(
        f"\nhostile requests, seed {SEED}: web {WEB_CASES} cases in {web_seconds:.1f} s, by status "
        f"{dict(sorted(by_status.items()))}; ssh {SSH_CASES} cases in {ssh_seconds:.1f} s, by reply "
        f"{dict(sorted(codes.items()))}; {len(failures)} failures; tables changed: {len(changed)} {changed}"
        f"\nweb by kind and status: {dict(sorted(statuses.items()))}"
        f"\nssh seconds by reply: { {k: round(v, 1) for k, v in SECONDS.items()} }"
    )
    assert not failures, "\n".join(failures[:30])
    assert not changed and after.keys() == before.keys()
