"""The server's write side end to end: a local server fed by stock tools (as a sync will),
standby and fallback, a bon entered locally, restored to the central server while another
writer works there, the pre-restore copy, and generation switches under a 10 ms client."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT_PASSWORD, USER_PASSWORD, Stack
from tests.support import containers, oracle
from tests.support.http import Poller, WebClient
from tests.support.openssh import OpenSsh, known_hosts_line

pytestmark = pytest.mark.e2e


def _local_root(stack: Stack) -> Any:
    return oracle.connect("127.0.0.1", stack.port(stack.local_mysql, 3306), "root", ROOT_PASSWORD)


def _load_generation(stack: Stack, backup: bytes, generation: int) -> None:
    """Build neocuma_g<N> on the local MySQL from a backup with stock unzip + mariadb."""
    with tempfile.TemporaryDirectory() as directory:
        archive = Path(directory) / "backup.zip"
        archive.write_bytes(backup)
        subprocess.run(["unzip", "-q", str(archive), "-d", f"{directory}/x"], check=True)
        connection = _local_root(stack)
        oracle.query(connection, f"DROP DATABASE IF EXISTS neocuma_g{generation}")
        oracle.query(
            connection, f"CREATE DATABASE neocuma_g{generation} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        connection.close()
        with open(f"{directory}/x/load.sql", "rb") as script:
            subprocess.run(
                [
                    "mariadb",
                    "--host=127.0.0.1",
                    f"--port={stack.port(stack.local_mysql, 3306)}",
                    "--protocol=tcp",
                    "--user=root",
                    f"--password={ROOT_PASSWORD}",
                    "--local-infile=1",
                    f"neocuma_g{generation}",
                ],
                stdin=script,
                cwd=f"{directory}/x",
                check=True,
                capture_output=True,
            )


def _write_system_generation(stack: Stack, generation: int, header: str) -> None:
    script = (
        f"mkdir -p /var/lib/neocuma/system/g{generation}/modeles && "
        f"printf '%s' '{header}' > /var/lib/neocuma/system/g{generation}/modeles/entete.html && "
        "chown -R 10001:10001 /var/lib/neocuma/system"
    )
    result = stack.local.get_wrapped_container().exec_run(["sh", "-c", script], user="0")
    assert result.exit_code == 0, result.output


def _switch(stack: Stack, data: int, system: int | None = None, mode: str | None = None) -> None:
    connection = _local_root(stack)
    oracle.query(
        connection,
        "UPDATE neocuma_control.live SET data_generation = %s, system_generation = COALESCE(%s, system_generation), mode = COALESCE(%s, mode) WHERE id = 1",
        (data, system, mode),
    )
    connection.close()


def _local_ssh(stack: Stack, directory: Path) -> OpenSsh:
    port = stack.port(stack.local, 2222)
    public = containers.exec_checked(stack.local, ["cat", "/var/lib/neocuma/ssh/ssh_host_ed25519_key.pub"])
    (directory / "local_known_hosts").write_text(known_hosts_line("127.0.0.1", port, public))
    return OpenSsh("127.0.0.1", port, directory / "local_known_hosts")


@pytest.fixture(scope="module")
def synced(stack: Stack) -> Iterator[Stack]:
    backup = stack.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export").stdout
    _load_generation(stack, backup, 1)
    _write_system_generation(stack, 1, "<b>Modèles de la génération 1</b>")
    _switch(stack, 1, 1, "standby")
    containers.wait_for(
        lambda: stack.healthz(stack.local)["data_generation"] == 1, 30, "the local server on generation 1"
    )
    yield stack
    _switch(stack, 1, 1, "standby")


def _dossier_ids(connection: Any, schema: str, where: str) -> list[tuple[int, str]]:
    """Dossiers by (id, code); ``where`` names the login as ``u.login = '…'``."""
    login = re.search(r"u\.login = '([^']+)'", where)
    assert login is not None
    rest = where.replace(login.group(0), "1 = 1")
    return oracle.dossiers_of(connection, schema, login.group(1), rest)


def _bon_for(connection: Any, schema: str, dossier_id: int) -> dict[str, Any]:
    return oracle.bon_form(connection, schema, dossier_id, "2.5")


def test_fallback_work_restored_to_the_central_server_while_it_is_written(synced: Stack, tmp_path: Path) -> None:
    stack = synced
    local = _local_root(stack)
    remote = stack.remote_root()
    ((dossier_id, code),) = _dossier_ids(local, "neocuma_g1", "u.login = 'compta1.fd12'")
    web = WebClient(f"http://127.0.0.1:{stack.port(stack.local, 8080)}")
    assert web.login("compta1.fd12", USER_PASSWORD).status == 200
    bon = _bon_for(local, "neocuma_g1", dossier_id)
    revision = oracle.query(local, "SELECT revision FROM neocuma_g1.dossier WHERE id = %s", (dossier_id,))[0][0]
    refused = web.post_json(f"/api/v1/dossiers/{code}/bons", bon)
    assert refused.status == 403 and "mode veille" in refused.json()["message"]
    _switch(stack, 1, mode="fallback")
    accepted = web.post_json(f"/api/v1/dossiers/{code}/bons", bon)
    assert accepted.status == 201, accepted.text
    assert accepted.json()["revision"] == revision + 1
    local_state = oracle.dossier_oracles(local, "neocuma_g1", [dossier_id])
    backup = _local_ssh(stack, tmp_path).ssh("resp.fd12", USER_PASSWORD, f"v1 export {code}")
    assert backup.returncode == 0, backup.stderr

    others = [
        i for i, c in _dossier_ids(remote, "neocuma_g1", "u.login = 'resp.fd12' AND d.exporte = 0") if i != dossier_id
    ]
    busy_id, busy_code = next(
        (i, c)
        for i, c in _dossier_ids(remote, "neocuma_g1", "u.login = 'resp.fd12' AND d.exporte = 0 AND d.type = 'CUMA'")
        if i != dossier_id
    )
    before_import = oracle.dossier_oracles(remote, "neocuma_g1", [dossier_id])
    others_before = oracle.dossier_oracles(remote, "neocuma_g1", others)
    writer = WebClient(f"http://127.0.0.1:{stack.port(stack.remote, 8080)}")
    writer.login("resp.fd12", USER_PASSWORD)
    busy_bon = _bon_for(remote, "neocuma_g1", busy_id)
    stop, statuses = threading.Event(), []

    def write_on_the_central_server() -> None:
        while not stop.is_set():
            statuses.append(writer.post_json(f"/api/v1/dossiers/{busy_code}/bons", busy_bon).status)

    thread = threading.Thread(target=write_on_the_central_server)
    thread.start()
    try:
        restored = stack.ssh.ssh(
            "resp.fd12", USER_PASSWORD, f"v1 import {code}", stdin=USER_PASSWORD.encode() + b"\n" + backup.stdout
        )
        after_import = len(statuses)
        containers.wait_for(lambda: len(statuses) >= after_import + 3, 30, "more writes after the import")
    finally:
        stop.set()
        thread.join(30)
    assert restored.returncode == 0, restored.stderr
    assert statuses and set(statuses) == {201}
    assert oracle.dossier_oracles(remote, "neocuma_g1", [dossier_id]) == local_state
    others_after = oracle.dossier_oracles(remote, "neocuma_g1", others)
    for key, value in others_before.items():
        if key == (busy_id, "bon_travaux"):
            assert others_after[key][0] == value[0] + len(statuses)
        else:
            assert others_after[key] == value, key
    copy = json.loads(restored.stdout)["copie_avant_restauration"]
    applied = containers.exec_checked(stack.remote, ["neocuma-server", "pre-restore", "apply", copy])
    assert json.loads(applied)["dossier"] == code
    assert oracle.dossier_oracles(remote, "neocuma_g1", [dossier_id]) == before_import
    containers.wait_for(
        lambda: f"import of dossier {code} by resp.fd12" in containers.logs_of(stack.remote, 400),
        30,
        "the import in the server's log",
    )
    local.close()
    remote.close()


def test_restore_refusals_are_shown_by_openssh_and_logged(synced: Stack) -> None:
    stack = synced
    remote = stack.remote_root()
    ((_, exported),) = _dossier_ids(remote, "neocuma_g1", "u.login = 'resp.fd12' AND d.exporte = 1")
    (_, code) = _dossier_ids(remote, "neocuma_g1", "u.login = 'resp.fd12' AND d.exporte = 0 AND d.type = 'CUMA'")[0]
    before = oracle.whole_schema_oracle(remote, "neocuma_g1")
    backup = stack.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {code}").stdout
    wrong = stack.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 import {code}", stdin=b"mauvais\n" + backup)
    assert wrong.returncode == 5 and b"mot de passe ressaisi incorrect" in wrong.stderr
    locked = stack.ssh.ssh(
        "resp.fd12", USER_PASSWORD, f"v1 import {exported}", stdin=USER_PASSWORD.encode() + b"\n" + backup
    )
    assert locked.returncode == 5 and b"error dossier_exporte:" in locked.stderr
    for line in (
        f"import of {code} refused for resp.fd12: wrong password typed again",
        f"import of {exported} refused for resp.fd12: the dossier is export",
    ):
        containers.wait_for(lambda line=line: line in containers.logs_of(stack.remote, 400), 30, line)
    assert oracle.whole_schema_oracle(remote, "neocuma_g1") == before
    remote.close()


def test_generation_switches_under_a_10_ms_client_never_fail_nor_mix(synced: Stack) -> None:
    stack = synced
    local = _local_root(stack)
    oracle.query(local, "DROP DATABASE IF EXISTS neocuma_g2")
    oracle.query(local, "CREATE DATABASE neocuma_g2 CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    for (table,) in oracle.query(
        local, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'neocuma_g1'"
    ):
        oracle.query(local, f"CREATE TABLE neocuma_g2.`{table}` LIKE neocuma_g1.`{table}`")
        oracle.query(local, f"INSERT INTO neocuma_g2.`{table}` SELECT * FROM neocuma_g1.`{table}`")
    oracle.query(local, "UPDATE neocuma_g2.dossier SET nom = CONCAT(nom, ' [g2]')")
    _write_system_generation(stack, 2, "<b>Modèles de la génération 2</b>")
    web = WebClient(f"http://127.0.0.1:{stack.port(stack.local, 8080)}")
    assert web.login("compta.fd12", USER_PASSWORD).status == 200
    with Poller(web) as poller:
        pace = threading.Event()
        for generation in (2, 1, 2, 1, 2, 1, 2, 1, 2, 1):
            pace.wait(0.4)  # let the client run a few dozen queries on each generation
            _switch(stack, generation, generation)
        pace.wait(0.4)
    samples, failures = poller.samples, poller.failures
    mixed = []
    for _, _, body in samples:
        if isinstance(body, dict):
            suffixed = {d["nom"].endswith(" [g2]") for d in body["dossiers"]}
            if suffixed != {body["data_generation"] == 2}:
                mixed.append(body["data_generation"])
    longest = max(s[0] for s in samples)
    print(
        f"\ngeneration switch: {len(samples)} queries, {len(failures)} failed, {len(mixed)} mixed, longest {longest * 1000:.0f} ms"
    )
    assert len(samples) > 100
    assert not failures, failures[:3]
    assert not mixed
    seen = {body["data_generation"] for _, _, body in samples if isinstance(body, dict)}
    assert seen == {1, 2}
    _switch(stack, 2, 2)
    assert "Modèles de la génération 2" in web.get("/dossiers").text
    _switch(stack, 1, 1)
    assert "Modèles de la génération 1" in web.get("/dossiers").text
    local.close()


def test_sighup_drops_cached_system_files(synced: Stack) -> None:
    stack = synced
    _switch(stack, 1, 1)
    web = WebClient(f"http://127.0.0.1:{stack.port(stack.local, 8080)}")
    web.login("compta.fd12", USER_PASSWORD)
    assert "Modèles de la génération 1" in web.get("/dossiers").text
    _write_system_generation(stack, 1, "<b>Modèles corrigés sur place</b>")
    assert "Modèles de la génération 1" in web.get("/dossiers").text, "cached until told"
    stack.local.get_wrapped_container().kill(signal="SIGHUP")
    containers.wait_for(
        lambda: "Modèles corrigés sur place" in web.get("/dossiers").text, 30, "the new template after SIGHUP"
    )
    assert containers.health(stack.local) == "healthy"
    containers.wait_for(
        lambda: "system files: cache dropped" in containers.logs_of(stack.local, 100), 30, "the SIGHUP in the log"
    )
