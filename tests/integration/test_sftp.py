"""The read-only SFTP subsystem with OpenSSH's sftp client."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.integration.conftest import USER_PASSWORD, Central

pytestmark = pytest.mark.integration


def test_sftp_lists_and_fetches_files_matching_the_manifest(central: Central, tmp_path: Path) -> None:
    result = central.ssh.sftp(
        "resp.fd12",
        USER_PASSWORD,
        f"ls -l\nls -l modeles\nget MANIFEST {tmp_path}/MANIFEST\nget config/neocuma.ini {tmp_path}/neocuma.ini\n",
    )
    assert result.returncode == 0, result.stderr
    listing = result.stdout.decode()
    for name in ("MANIFEST", "archives", "config", "modeles", "references", "facture.html"):
        assert name in listing
    manifest = (tmp_path / "MANIFEST").read_text().splitlines()
    entries = {line.split(" ", 2)[2]: line.split(" ", 2)[:2] for line in manifest if not line.startswith("#")}
    data = (tmp_path / "neocuma.ini").read_bytes()
    assert entries["config/neocuma.ini"] == [hashlib.sha256(data).hexdigest(), str(len(data))]


def test_sftp_refuses_writes_and_escapes(central: Central, tmp_path: Path) -> None:
    generation = central.store.live().system_generation
    assert generation is not None
    before = sorted(p.name for p in central.system_files.directory(generation).rglob("*"))
    local = tmp_path / "upload.txt"
    local.write_text("x")
    for command in (
        f"put {local} pirate.txt",
        "rm config/neocuma.ini",
        "mkdir nouveau",
        "get ../../../etc/passwd " + str(tmp_path / "p"),
    ):
        result = central.ssh.sftp("resp.fd12", USER_PASSWORD, command + "\n")
        assert result.returncode != 0, command
    assert not (tmp_path / "p").exists()
    assert sorted(p.name for p in central.system_files.directory(generation).rglob("*")) == before
