#!/usr/bin/env python3
"""Show, against the demo remote of `make up`, a restore (`v1 import`) refused for each reason
and accepted once, with OpenSSH's own `ssh` and the server's log line for each.

    python3 scripts/demo_restore_refusals.py [--port 2222] [--container <remote-neocuma>]

Standard library only; needs `ssh` (OpenSSH 8.4+) and `docker`. Every refused request leaves
the dossier's revision unchanged; the script checks it and says so.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

USER = "resp.fd12"
PASSWORD = "Demo-FD12-2026"


class Demo:
    def __init__(self, port: int, container: str, work: Path) -> None:
        self.port, self.container, self.work = port, container, work
        key = subprocess.run(
            ["docker", "exec", container, "cat", "/var/lib/neocuma/ssh/ssh_host_ed25519_key.pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.known_hosts = work / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{port} {key[0]} {key[1]}\n")
        secret = work / "password"
        secret.write_text(PASSWORD)
        secret.chmod(0o600)
        askpass = work / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\ncat '{secret}'\n")
        askpass.chmod(stat.S_IRWXU)
        self.env = dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")

    def ssh(self, command: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        options = ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes"]
        options += ["-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]
        return subprocess.run(
            ["ssh", *options, "-p", str(self.port), f"{USER}@127.0.0.1", command],
            input=stdin,
            capture_output=True,
            env=self.env,
            start_new_session=True,
            timeout=600,
        )

    def dossiers(self) -> dict[str, dict[str, Any]]:
        reply = self.ssh("v1 dossiers")
        if reply.returncode != 0:
            sys.exit(f"v1 dossiers failed: {reply.stderr.decode()}")
        return {d["code"]: d for d in json.loads(reply.stdout)["dossiers"]}

    def log_lines(self) -> list[str]:
        logs = subprocess.run(["docker", "logs", self.container], capture_output=True, text=True)
        return (logs.stdout + logs.stderr).splitlines()

    def new_log_line(self, before: int) -> str:
        """The server's line about the request, among those logged since ``before`` lines."""
        lines = self.log_lines()[before:]
        specific = [line for line in lines if "ssh_import" in line]
        general = [line for line in lines if "refused" in line or "import of" in line]
        return (specific or general or ["(no log line)"])[-1]


def rezip(
    backup: bytes, change: Callable[[dict[str, bytes], dict[str, Any]], None], extra: tuple[zipfile.ZipInfo, ...] = ()
) -> bytes:
    with zipfile.ZipFile(io.BytesIO(backup)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    change(members, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
        for info in extra:
            target.writestr(info, b"x")
        target.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument("--container", default="neocuma_remote-neocuma_1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        demo = Demo(args.port, args.container, Path(directory))
        listed = demo.dossiers()
        writable = sorted(c for c, d in listed.items() if not d["exporte"] and d["type"] == "CUMA")
        code, other = writable[0], writable[1]
        exported = next(c for c, d in listed.items() if d["exporte"])
        outside = "470001"
        backup = demo.ssh(f"v1 export {code}").stdout
        table = f"dossiers/{code}/bon_travaux.tsv"

        def drop_row(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
            members[table] = b"".join(members[table].splitlines(keepends=True)[1:])

        def drop_row_fix_sha(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
            drop_row(members, manifest)
            entry = next(d for d in manifest["dossiers"] if d["code"] == code)["tables"]["bon_travaux"]
            entry.update(sha256=hashlib.sha256(members[table]).hexdigest(), size=len(members[table]))

        link = zipfile.ZipInfo(f"dossiers/{code}/lien")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        good = PASSWORD.encode() + b"\n"
        cases: list[tuple[str, str, bytes | None]] = [
            ("wrong password typed again", code, b"pas-le-bon\n" + backup),
            ("dossier outside rights", outside, good + backup),
            ("dossier exporte", exported, good + backup),
            ("member ../", code, good + rezip(backup, lambda m, f: None, (zipfile.ZipInfo("../evil.tsv"),))),
            ("absolute member", code, good + rezip(backup, lambda m, f: None, (zipfile.ZipInfo("/etc/evil"),))),
            ("link member", code, good + rezip(backup, lambda m, f: None, (link,))),
            (
                "member not in the manifest",
                code,
                good + rezip(backup, lambda m, f: m.__setitem__(f"dossiers/{code}/extra.tsv", b"1\t2\n")),
            ),
            ("rows removed, valid CRCs", code, good + rezip(backup, drop_row)),
            ("rows removed, sha256 and size forged", code, good + rezip(backup, drop_row_fix_sha)),
            ("garbage", code, good + b"PK\x03\x04 ceci n'est pas un zip" * 50),
            ("another dossier's code in the zip", other, good + backup),
            ("upload over the size limit (600 MiB)", code, None),
        ]
        before = demo.dossiers()
        for label, target, payload in cases:
            logged = len(demo.log_lines())
            if payload is None:
                payload = good + b"\0" * (600 << 20)
            reply = demo.ssh(f"v1 import {target}", payload)
            print(f"--- {label}: ssh -p {args.port} {USER}@127.0.0.1 'v1 import {target}'")
            print(f"    exit {reply.returncode}: {reply.stderr.decode(errors='replace').strip()}")
            print(f"    server log: {demo.new_log_line(logged)}")
        after = demo.dossiers()
        same = all(before[c]["revision"] == after[c]["revision"] for c in before)
        print(f"--- every revision unchanged after the refusals: {same}")
        reply = demo.ssh(f"v1 import {code}", good + backup)
        print(f"--- accepted: ssh -p {args.port} {USER}@127.0.0.1 'v1 import {code}' < (password, {len(backup)} bytes)")
        print(f"    exit {reply.returncode}: {reply.stdout.decode().strip()}")
        print(f"    revision {after[code]['revision']} -> {demo.dossiers()[code]['revision']}")
        return 0 if same and reply.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
