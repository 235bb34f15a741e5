"""A dossier written between the read of the rights and the snapshot of ``v1 export-changes``
(issue 29), against the real SSH endpoint and MariaDB: the server refuses with the retryable
flag (exit status 75, the error line unchanged), and the guardian's backup, built by its
own wiring over the real SSH client and backups volume, asks again within the same run,
resuming from what it received, and lists a backup holding the dossier as it is now."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle

pytestmark = pytest.mark.integration


def _write_once_before_the_snapshot(monkeypatch: pytest.MonkeyPatch, central: Central) -> dict[str, Any]:
    """The next ``v1 export-changes``, after it read the rights and chose its candidates, and
    before the database client opens its snapshot, sees a user's write committed to the
    second dossier of its rights (a bon de travaux: a row changed, the revision moved)."""
    import appliance.server.ssh as endpoint  # the endpoint runs in this process: its threads see the patch

    real: Callable[..., Any] = endpoint.stream_changes
    written: dict[str, Any] = {"times": 0}

    def stream_changes(request: Any, *args: Any, **kwargs: Any) -> Any:
        if written["times"] == 0:
            dossier_id, code = request.export.dossiers[1]
            connection = central.root_connection()
            oracle.query(
                connection,
                f"UPDATE `{central.schema}`.dossier SET revision = revision + 1 WHERE id = %s",
                (dossier_id,),
            )
            oracle.query(
                connection,
                f"UPDATE `{central.schema}`.tiers SET nom = CONCAT(nom, ' (bon)') WHERE dossier_id = %s LIMIT 1",
                (dossier_id,),
            )
            connection.close()
            written.update(code=code)
        written["times"] += 1
        return real(request, *args, **kwargs)

    monkeypatch.setattr(endpoint, "stream_changes", stream_changes)
    return written


def _revision(central: Central, code: str) -> int:
    connection = central.root_connection()
    rows = oracle.query(connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE code = %s", (code,))
    connection.close()
    return int(rows[0][0])


def test_the_race_is_refused_with_the_retryable_flag_and_the_usual_line(
    central: Central, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    full = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export")
    assert full.returncode == 0, full.stderr.decode()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(full.stdout)).read("manifest.json"))
    held = {d["code"]: {"id": d["id"], "revision": d["revision"]} for d in manifest["dossiers"]}
    written = _write_once_before_the_snapshot(monkeypatch, central)
    document = json.dumps({"dossiers": held}).encode()
    refused = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=document)
    assert refused.returncode == 75, refused.stderr.decode()
    assert refused.stderr.decode() == (
        "error unavailable: dossier(s) modifié(s) pendant le début de l'export, redemandez les changements : "
        f"{written['code']}\n"
    )
    again = central.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export-changes", stdin=document)
    assert again.returncode == 0, again.stderr.decode()
    logged = [r for r in caplog.records if r.name == "appliance.server.ssh" and "unavailable" in r.getMessage()]
    assert [r.levelno for r in logged] == [logging.WARNING], "normal use: no ERROR line in the server's log"
    assert "retryable" in logged[0].getMessage()


class _QuickClock:
    """The real clock, whose waits are recorded instead of slept."""

    def __init__(self) -> None:
        from appliance.adapters.clock import SystemClock

        self.system = SystemClock()
        self.now = self.system.now
        self.monotonic = self.system.monotonic
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture()
def guardian(central: Central, tmp_path: Path) -> Iterator[tuple[Any, _QuickClock]]:
    """FD12's guardian over the real SSH client, state and backups volume; the local side
    (MySQL, the local server, mail) is the fakes', which a data backup never touches."""
    from appliance.adapters.backups_store import FilesystemBackups
    from appliance.adapters.central import SshCentralServer
    from appliance.adapters.state_store import FileStateStore
    from appliance.domain.identity import Credentials
    from appliance.guardian.wiring import Ports, build
    from tests.fakes.basics import FakeNotifier
    from tests.fakes.database import FakeDatabase
    from tests.fakes.guardian import CENTRES, config
    from tests.fakes.servers import FakeLocalServer

    clock = _QuickClock()
    remote = SshCentralServer("127.0.0.1", central.ssh_port, tmp_path / "known_hosts", 10)
    remote.pin(remote.presented_fingerprint())
    database = FakeDatabase()
    ports = Ports(
        clock=clock,
        state_store=FileStateStore(tmp_path / "state"),
        backups=FilesystemBackups(tmp_path / "backups"),
        database=database,
        central=remote,
        local=FakeLocalServer(database),
        notifier=FakeNotifier(),
        centres=lambda: list(CENTRES),
        settings_seed=lambda: None,
        published_key=lambda: None,
    )
    parts = build(config(), ports)
    parts.state.store_credentials(Credentials("resp.fd12", USER_PASSWORD, "FD12", "responsable_departemental"))
    yield parts, clock


def test_a_backup_whose_dossier_is_written_as_the_export_begins_succeeds_on_its_retry(
    central: Central, guardian: tuple[Any, _QuickClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.adapters.backup_reader import verify_backup

    parts, clock = guardian
    first = parts.actions.data_backup(offsite=False)
    connection = central.root_connection()
    mine = oracle.dossiers_of(connection, central.schema, "resp.fd12")
    changed_id, changed = mine[3]
    oracle.query(
        connection, f"UPDATE `{central.schema}`.dossier SET revision = revision + 1 WHERE id = %s", (changed_id,)
    )
    connection.close()
    written = _write_once_before_the_snapshot(monkeypatch, central)
    result = parts.actions.data_backup(offsite=False)
    assert written["times"] == 2, "refused once, then served"
    assert result.retries == 1 and result.mode == "incremental" and clock.slept == [5.0]
    assert result.resumed == 1, f"{changed}, received whole before the refusal, did not cross the link again"
    history = parts.state.history()["backup"]
    assert history["ok"] is True and history["retries"] == 1
    backups = parts.actions.backup.backups
    assert {first.name, result.name} <= {b.name for b in backups.data_backups()}
    verified = verify_backup(backups.data_opener(result.name), name=result.name)
    revisions = {d.code: d.revision for d in verified.manifest.dossiers}
    assert revisions[written["code"]] == _revision(central, written["code"])
    assert revisions[changed] == _revision(central, changed)
