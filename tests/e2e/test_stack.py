"""The stack as containers: health, exports equal to the source, stock restore, SFTP with
OpenSSH, refusals in the server's log, and state kept across a restart."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT_PASSWORD, USER_PASSWORD, Stack
from tests.support import containers, oracle
from tests.support.openssh import OpenSsh, known_hosts_line

pytestmark = pytest.mark.e2e


def test_both_servers_are_healthy_and_the_local_one_waits_for_its_first_sync(stack: Stack) -> None:
    remote = stack.healthz(stack.remote)
    assert (remote["role"], remote["data_generation"], remote["system_generation"], remote["schema_version"]) == (
        "central",
        1,
        1,
        1,
    )
    local = stack.healthz(stack.local)
    assert local == {
        "status": "ok",
        "role": "local",
        "mode": "standby",
        "data_generation": None,
        "system_generation": None,
        "schema_version": None,
    }
    for target in (stack.remote_mysql, stack.remote, stack.local_mysql, stack.local):
        assert containers.health(target) == "healthy"
    assert containers.exec_checked(stack.local, ["id", "-u"]).strip() == "10001"


def test_no_secret_in_image_layers(docker_client: object) -> None:
    for image in (containers.MYSQL_IMAGE, containers.APPLIANCE_IMAGE):
        history = subprocess.run(
            ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
        ).stdout
        inspect = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, text=True, check=True
        ).stdout
        for secret in (ROOT_PASSWORD, USER_PASSWORD, "Demo-FD12-2026"):
            assert secret not in history and secret not in inspect


def test_the_image_has_exactly_the_locked_versions_the_tests_run_on(docker_client: object) -> None:
    """requirements/runtime.lock is what the image holds, and the test lock holds the same pins
    (tests/unit/test_locks.py): the tests run on the versions the appliance ships."""
    from tests.unit.test_locks import canonical, locked

    frozen = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "/opt/neocuma/bin/pip",
            containers.APPLIANCE_IMAGE,
            "list",
            "--format",
            "freeze",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = dict(line.split("==", 1) for line in frozen.split() if "==" in line)
    installed = {canonical(name): version for name, version in installed.items()}
    runtime, test = locked("runtime"), locked("test")
    for package, (version, _) in runtime.items():
        assert installed.get(package) == version == test[package][0], package
    extra = set(installed) - set(runtime) - {"pip", "neocuma-appliance"}
    assert not extra, f"installed in the image but not locked: {sorted(extra)}"


def test_export_matches_the_source_and_restores_into_an_empty_mariadb(stack: Stack, tmp_path: Path) -> None:
    result = stack.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 export")
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "export.zip"
    archive.write_bytes(result.stdout)
    with zipfile.ZipFile(archive) as opened:
        assert opened.testzip() is None
    subprocess.run(["unzip", "-q", str(archive), "-d", str(tmp_path / "x")], check=True)
    empty = (
        containers.container(containers.MYSQL_IMAGE)
        .with_exposed_ports(3306)
        .with_envs(MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, MYSQL_DATABASE="restored")
    )
    empty.start()
    try:
        containers.wait_healthy(empty, 180)
        port = int(empty.get_exposed_port(3306))
        with (tmp_path / "x" / "load.sql").open("rb") as script:
            loaded = subprocess.run(
                [
                    "mariadb",
                    "--host=127.0.0.1",
                    f"--port={port}",
                    "--protocol=tcp",
                    "--user=root",
                    f"--password={ROOT_PASSWORD}",
                    "--local-infile=1",
                    "restored",
                ],
                stdin=script,
                cwd=tmp_path / "x",
                capture_output=True,
            )
        assert loaded.returncode == 0, loaded.stderr
        source = stack.remote_root()
        rows = oracle.query(
            source,
            "SELECT d.id FROM neocuma_g1.dossier d JOIN neocuma_g1.droit_dossier r ON r.dossier_id = d.id"
            " JOIN neocuma_g1.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = 'resp.fd12'",
        )
        ids = [int(row[0]) for row in rows]
        restored = oracle.connect("127.0.0.1", port, "root", ROOT_PASSWORD)
        expected = oracle.dossier_oracles(source, "neocuma_g1", ids)
        assert len(expected) >= 12 * 11
        assert oracle.dossier_oracles(restored, "restored", ids) == expected
        assert oracle.query(restored, "SELECT COUNT(*) FROM restored.dossier WHERE centre_code <> 'FD12'") == [(0,)]
        source.close()
        restored.close()
    finally:
        empty.stop()


def test_openssh_sftp_lists_and_fetches_system_files_with_the_demo_account(stack: Stack, tmp_path: Path) -> None:
    result = stack.ssh.sftp("resp.fd12", USER_PASSWORD, f"ls -l\nget modeles/facture.html {tmp_path}/facture.html\n")
    assert result.returncode == 0, result.stderr
    assert b"MANIFEST" in result.stdout and b"modeles" in result.stdout
    assert (tmp_path / "facture.html").read_text().startswith("<h1>Facture")


def test_a_dossier_outside_rights_is_refused_and_logged_by_the_server(stack: Stack) -> None:
    source = stack.remote_root()
    outside = oracle.query(
        source, "SELECT code FROM neocuma_g1.dossier WHERE centre_code = 'FD12' AND type = 'Societe'"
    )[0][0]
    other_centre = oracle.query(source, "SELECT code FROM neocuma_g1.dossier WHERE centre_code = 'FD24' LIMIT 1")[0][0]
    before = oracle.whole_schema_oracle(source, "neocuma_g1")
    for code in (outside, other_centre):
        result = stack.ssh.ssh("resp.fd12", USER_PASSWORD, f"v1 export {code}")
        assert result.returncode == 5 and result.stdout == b""
        assert f"hors de vos droits : {code}".encode() in result.stderr
        containers.wait_for(
            lambda code=code: (
                f"export refused for resp.fd12: dossiers outside rights: {code}"
                in containers.logs_of(stack.remote, 200)
            ),
            30,
            "the refusal in the server's log",
        )
    assert oracle.whole_schema_oracle(source, "neocuma_g1") == before
    source.close()


def test_a_restart_keeps_the_host_key_and_does_not_reseed(stack: Stack, tmp_path: Path) -> None:
    before = containers.exec_checked(stack.remote, ["neocuma-server", "hostkey"]).strip()
    wrapped = stack.remote.get_wrapped_container()
    wrapped.restart(timeout=30)
    containers.wait_healthy(stack.remote, 120)
    assert containers.exec_checked(stack.remote, ["neocuma-server", "hostkey"]).strip() == before
    assert stack.healthz(stack.remote)["data_generation"] == 1
    # Published ports change with a restart; the pinned key must still match.
    port = stack.port(stack.remote, 2222)
    known_hosts = tmp_path / "known_hosts"
    public = containers.exec_checked(stack.remote, ["cat", "/var/lib/neocuma-public/ssh_host_ed25519_key.pub"])
    known_hosts.write_text(known_hosts_line("127.0.0.1", port, public))
    stack.ssh = OpenSsh("127.0.0.1", port, known_hosts)
    assert stack.ssh.ssh("resp.fd12", USER_PASSWORD, "v1 time").returncode == 0


def test_mysql_initialises_once_and_shuts_down_cleanly_on_sigterm(docker_client: object) -> None:
    target = containers.container(containers.MYSQL_IMAGE).with_envs(
        MYSQL_ROOT_PASSWORD=ROOT_PASSWORD, NEOCUMA_ROLE="local", NEOCUMA_SERVER_DB_PASSWORD="x"
    )
    target.start()
    try:
        containers.wait_healthy(target, 180)
        wrapped = target.get_wrapped_container()
        wrapped.stop(timeout=60)  # SIGTERM, then SIGKILL only after 60 s
        wrapped.reload()
        assert wrapped.attrs["State"]["ExitCode"] == 0
        logs = wrapped.logs().decode()
        assert "Shutdown complete" in logs
        wrapped.start()
        containers.wait_healthy(target, 180)
        logs = wrapped.logs().decode()
        assert logs.count("initialising a new data directory") == 1, "init scripts run on first start only"
        assert logs.count("created account neocuma_server") == 1
        assert "InnoDB: Starting crash recovery" not in logs
    finally:
        target.stop()
