"""Offsite copies end to end (docs/offsite.md): the whole appliance from our images, its
guardian pushing into a restic repository (a directory, the image's restic 0.14, run as
the guardian's user), then a copy brought back and synchronised from; stock restic, in
the same container, reads what the guardian stored. The SFTP, REST and S3 targets, real
servers, and the faults are in test_offsite_targets.py."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.appliance import Appliance, running_appliance
from tests.support import containers

pytestmark = pytest.mark.e2e
REPOSITORY = "/var/lib/guardian/backups/offsite-e2e"  # writable by the guardian's user
PASSWORD = "phrase du dépôt hors site, gardée hors ligne"


@pytest.fixture(scope="module")
def appliance(docker_client: Any) -> Iterator[Appliance]:
    secrets = Path(tempfile.mkdtemp(prefix="neocuma-offsite-"))
    (secrets / "offsite-password").write_text(PASSWORD + "\n")
    (secrets / "offsite-password").chmod(0o644)
    secrets.chmod(0o755)
    env = {
        "NEOCUMA_OFFSITE_REPOSITORY": REPOSITORY,
        "NEOCUMA_OFFSITE_PASSWORD_FILE": "/run/neocuma-secrets/offsite-password",
    }
    with running_appliance(
        docker_client,
        dossiers=8,
        years=2,
        centres="FD12",
        guardian_env=env,
        guardian_files={str(secrets): "/run/neocuma-secrets"},
    ) as running:
        yield running


def _json(appliance: Appliance, *args: str) -> Any:
    done = appliance.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_backup_is_copied_offsite_and_a_copy_comes_back_to_be_synchronised(appliance: Appliance) -> None:
    earlier = _json(appliance, "run")["data"]["name"]
    first = _json(appliance, "backup", "--data")["data"]["name"]
    copies = _json(appliance, "offsite", "list")["copies"]
    data = [c["name"] for c in copies if c["kind"] == "data"]
    # Retention keeps the newest copy of each day: the run's went if it was made the same day.
    assert data == ([first] if earlier[:10] == first[:10] else [earlier, first])
    assert [c["name"] for c in copies if c["kind"] == "system"] == ["system.zip"]
    assert _json(appliance, "offsite", "push")["pushed"] == [], "nothing left to push"
    # Stock restic reads what the guardian stored, with the password alone.
    listed = appliance.run_in_guardian(
        "sh",
        "-c",
        f"RESTIC_REPOSITORY={REPOSITORY} RESTIC_PASSWORD_FILE=/run/neocuma-secrets/offsite-password "
        "HOME=/tmp restic --no-cache snapshots --tag neocuma,type=data --json",
    )
    assert f"fichier={first}" in listed and PASSWORD not in appliance.guardian_logs()
    appliance.run_in_guardian("rm", f"/var/lib/guardian/backups/data/{first}")
    assert _json(appliance, "offsite", "restore", first) == {"restored": first}
    listing = {b["name"]: b for b in _json(appliance, "backups")["backups"]}
    assert first in listing
    synced = _json(appliance, "sync", "--backup", first)
    assert synced["backup"] == first


def test_the_copy_is_checked_and_seen_in_status_check_and_metrics(appliance: Appliance) -> None:
    """The fifth indicator from the real guardian: `offsite check` runs the real restic
    check on the next part of the data, and status, check and /metrics show the copy."""
    before = _json(appliance, "status")["offsite"]
    assert before["configured"] is True and before["push"]["ok"] is True
    assert before["check"]["ok"] is True, "a scheduled check followed the first push"
    first = int(before["check"]["part"].split("/")[0])
    checked = _json(appliance, "offsite", "check")
    assert checked["part"] == f"{first % 30 + 1}/30" and checked["repository"] == REPOSITORY

    def offsite_line() -> str | None:
        line = appliance.cli("check").stdout
        return line if "offsite=1;;;0;1" in line and "offsite_age=" in line else None

    line = containers.wait_for(offsite_line, 30, "check showing the offsite copy")
    assert "indicateurs verts" in line and "offsite_size=" in line, line
    metrics = appliance.run_in_guardian(
        "python3",
        "-c",
        "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())",
    )
    assert 'neocuma_guardian_component_up{component="copie_hors_site"} 1.0' in metrics
    assert "neocuma_guardian_offsite_repository_bytes" in metrics
    assert "neocuma_guardian_offsite_last_copy_timestamp_seconds" in metrics
    assert 'neocuma_guardian_last_run_failed{job="offsite_check"} 0.0' in metrics
