"""The central MySQL restarted during an import (issue 12's faults): the dossier's rows are
deleted and reloaded inside the import's transaction when MySQL goes away; the import must
fail with a clear French message, leave the dossier as it was (InnoDB rolls the transaction
back), and a retry once MySQL is back must put the backup's content in place.

A MariaDB of its own, on a fixed host port: a restarted container gets a new random port,
and the session's MariaDB is shared by the other tests."""

from __future__ import annotations

import datetime as dt
import socket
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer

from appliance.adapters import dossier_rows
from appliance.adapters.backup_writer import ExportRequest, stream_export
from appliance.configuration import load_server
from appliance.domain.centres import parse_centres
from appliance.errors import Unavailable
from appliance.server import importer as importer_module
from appliance.server.seed.generator import GeneratorOptions
from appliance.server.seed.loader import seed_generation
from appliance.server.wiring import ServerParts as Parts
from appliance.server.wiring import build
from tests.integration.conftest import CONFIG, ROOT_PASSWORD, SERVER_PASSWORD, USER_PASSWORD
from tests.support import containers, oracle

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        oracle.connect("127.0.0.1", port, "root", ROOT_PASSWORD).close()
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True


class Restartable:
    def __init__(self, target: DockerContainer, port: int) -> None:
        self.target = target
        self.port = port

    def root(self) -> Any:
        return oracle.connect("127.0.0.1", self.port, "root", ROOT_PASSWORD)

    def restart(self) -> float:
        """``docker restart``; returns the seconds until MySQL answers again."""
        started = time.monotonic()
        self.target.get_wrapped_container().restart(timeout=10)
        containers.wait_for(lambda: _answers(self.port), 120, "MySQL answering after its restart", interval=0.2)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def restartable(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Restartable, Parts]]:
    port = _free_port()
    target = (
        containers.container(containers.MYSQL_IMAGE)
        .with_bind_ports(3306, port)
        .with_envs(
            MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE="central", NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD
        )
    )
    target.start()
    parts: Parts | None = None
    try:
        containers.wait_healthy(target, 180)
        state = tmp_path_factory.mktemp("restart")
        config = load_server(
            {
                "NEOCUMA_ROLE": "central",
                "NEOCUMA_SERVER_NAME": "restart",
                "NEOCUMA_DB_HOST": "127.0.0.1",
                "NEOCUMA_DB_PORT": str(port),
                "NEOCUMA_DB_PASSWORD": SERVER_PASSWORD,
                "NEOCUMA_STATE_DIR": str(state),
                "NEOCUMA_PUBLIC_DIR": str(state / "public"),
            }
        )
        parts = build(config, pool_size=4)
        centres = {c.code: c for c in parse_centres(tomllib.loads(CONFIG.read_text()))}
        options = GeneratorOptions(centres=(centres["FD12"],), dossiers=4, years=1, password=USER_PASSWORD)
        seed_generation(parts.pool, parts.client, config.paths.system_dir, options, "restart")
        yield Restartable(target, port), parts
    finally:
        if parts is not None:
            parts.pool.close()
        target.stop()


def _backup_of(parts: Parts, schema: str, dossier: tuple[int, str], path: Path) -> None:
    request = ExportRequest(
        schema=schema,
        data_generation=int(schema.removeprefix("neocuma_g")),
        centre_code="FD12",
        centre_name="FD12",
        user_login="resp.fd12",
        user_profile="test",
        dossiers=[dossier],
        server_name="restart",
        server_role="central",
    )
    with path.open("wb") as sink:
        stream_export(request, parts.client, sink, zip_level=1, now=lambda: dt.datetime.now(dt.UTC))


def test_the_central_mysql_restarted_mid_import_rolls_it_back_and_a_retry_succeeds(
    restartable: tuple[Restartable, Parts], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mysql, parts = restartable
    assert parts.importer is not None
    root = mysql.root()
    schema = f"neocuma_g{oracle.query(root, 'SELECT data_generation FROM neocuma_control.live')[0][0]}"
    row = oracle.query(root, f"SELECT id, code FROM {schema}.dossier WHERE exporte = 0 ORDER BY code LIMIT 1")[0]
    dossier_id, code = int(row[0]), str(row[1])
    backup = tmp_path / "backup.zip"
    _backup_of(parts, schema, (dossier_id, code), backup)
    exported = oracle.dossier_oracles(root, schema, [dossier_id])
    # The dossier changes after its backup: the import must bring the backup's rows back.
    oracle.query(root, f"DELETE FROM {schema}.intervention WHERE dossier_id = %s LIMIT 3", (dossier_id,))
    changed = oracle.dossier_oracles(root, schema, [dossier_id])
    revision = oracle.query(root, f"SELECT revision FROM {schema}.dossier WHERE id = %s", (dossier_id,))[0][0]
    root.close()
    assert changed != exported

    original = dossier_rows.replace_dossier_rows
    restarts: list[float] = []

    def then_restart(*args: Any, **kwargs: Any) -> Any:
        """The rows deleted and reloaded, not committed: MySQL goes away now."""
        result = original(*args, **kwargs)
        restarts.append(mysql.restart())
        return result

    monkeypatch.setattr(importer_module, "replace_dossier_rows", then_restart)
    with pytest.raises(Unavailable) as failed:
        parts.importer.import_dossier(code, backup, "operator")
    message = str(failed.value)
    print(f"\nimport with MySQL restarted mid-transaction ({restarts[0]:.1f} s down): {message}")
    assert restarts and f"l'import du dossier {code} a échoué et a été annulé" in message
    assert "rien n'a été modifié" in message and "relancez" in message
    root = mysql.root()
    assert oracle.dossier_oracles(root, schema, [dossier_id]) == changed, "rolled back: the dossier is untouched"
    assert oracle.query(root, f"SELECT revision FROM {schema}.dossier WHERE id = %s", (dossier_id,))[0][0] == revision
    root.close()

    monkeypatch.setattr(importer_module, "replace_dossier_rows", original)
    result = parts.importer.import_dossier(code, backup, "operator")  # the retry, right after
    root = mysql.root()
    assert oracle.dossier_oracles(root, schema, [dossier_id]) == exported, "the backup's content, whole"
    assert result.revision == revision + 1
    root.close()
