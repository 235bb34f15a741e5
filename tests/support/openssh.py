"""OpenSSH's own ssh and sftp clients, driven with a password through SSH_ASKPASS (OpenSSH
8.4+), so refusals are shown with a raw client, not our code."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class OpenSsh:
    host: str
    port: int
    known_hosts: Path

    def _env(self, password: str, workdir: Path) -> dict[str, str]:
        secret = workdir / "password"
        secret.write_text(password)
        secret.chmod(0o600)
        askpass = workdir / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\ncat '{secret}'\n")
        askpass.chmod(stat.S_IRWXU)
        env = dict(os.environ)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=env.get("DISPLAY", ":0"))
        return env

    def _options(self) -> list[str]:
        return [
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "ConnectTimeout=20",
        ]

    def ssh(
        self, user: str, password: str, command: str, timeout: float = 120, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        with tempfile.TemporaryDirectory() as directory:
            return subprocess.run(
                ["ssh", *self._options(), "-p", str(self.port), f"{user}@{self.host}", command],
                env=self._env(password, Path(directory)),
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=timeout,
                start_new_session=True,
            )

    def sftp(self, user: str, password: str, commands: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        with tempfile.TemporaryDirectory() as directory:
            batch = Path(directory) / "batch"
            batch.write_text(commands)
            return subprocess.run(
                [
                    "sftp",
                    *self._options(),
                    "-o",
                    "BatchMode=no",
                    "-b",
                    str(batch),
                    "-P",
                    str(self.port),
                    f"{user}@{self.host}",
                ],
                env=self._env(password, Path(directory)),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                start_new_session=True,
            )


def known_hosts_line(host: str, port: int, public_key_line: str) -> str:
    return f"[{host}]:{port} {public_key_line.strip()}\n"
