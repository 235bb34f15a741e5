"""A data directory initialised before the outbox existed gets its tables and grants on the
next start of our MySQL image, once, before TCP opens; a new one gets them at its first
start and is not upgraded again. A MariaDB of its own, on a fixed host port (a restarted
container would get a new random one)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer

from tests.support import containers, oracle

pytestmark = pytest.mark.integration
ROOT_PASSWORD = "upgrade-root-password"
UPGRADE_LINE = "adding the outbox tables to the control schema of an existing data directory"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def local_mysql(docker_client: Any) -> Iterator[tuple[DockerContainer, int]]:
    port = _free_port()
    target = (
        containers.container(containers.MYSQL_IMAGE)
        .with_bind_ports(3306, port)
        .with_envs(
            MYSQL_ROOT_PASSWORD=ROOT_PASSWORD,
            NEOCUMA_ROLE="local",
            NEOCUMA_SERVER_DB_PASSWORD="server-password",
            NEOCUMA_GUARDIAN_DB_PASSWORD="guardian-password",
        )
    )
    target.start()
    try:
        containers.wait_healthy(target, 180)
        yield target, port
    finally:
        target.stop()


def _root(port: int) -> Any:
    return oracle.connect("127.0.0.1", port, "root", ROOT_PASSWORD)


def _outbox_facts(port: int) -> tuple[set[str], list[str], list[str]]:
    """The control schema's tables, and each account's grant lines on the outbox."""
    connection = _root(port)
    tables = {str(r[0]) for r in oracle.query(connection, "SHOW TABLES FROM neocuma_control")}
    grants = [
        [str(r[0]) for r in oracle.query(connection, f"SHOW GRANTS FOR '{account}'@'%'") if "`outbox`" in str(r[0])]
        for account in ("neocuma_server", "neocuma_guardian")
    ]
    connection.close()
    return tables, grants[0], grants[1]


def _as_released(port: int) -> None:
    tables, server, guardian = _outbox_facts(port)
    assert {"live", "outbox", "replayed"} <= tables
    assert server == ["GRANT INSERT ON `neocuma_control`.`outbox` TO `neocuma_server`@`%`"]
    assert len(guardian) == 1 and guardian[0].startswith("GRANT UPDATE (")
    assert all(f"`{column}`" in guardian[0] for column in ("state", "central_id", "central_numero", "reason"))
    assert "payload" not in guardian[0] and "INSERT" not in guardian[0]


def _restarted(target: DockerContainer, port: int) -> None:
    target.get_wrapped_container().restart(timeout=10)

    def answers() -> bool:
        try:
            _root(port).close()
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    containers.wait_for(answers, 120, "MySQL answering after its restart", interval=0.2)


def test_an_old_data_directory_gets_the_outbox_once(local_mysql: tuple[DockerContainer, int]) -> None:
    target, port = local_mysql
    _as_released(port)
    assert UPGRADE_LINE not in containers.logs_of(target, 400), "a new data directory needs no upgrade"
    # Make it a data directory of the previous release: no outbox tables, no grants, no marker.
    connection = _root(port)
    oracle.query(connection, "REVOKE INSERT ON neocuma_control.outbox FROM 'neocuma_server'@'%'")
    oracle.query(
        connection,
        "REVOKE UPDATE (state, central_id, central_numero, reason, replayed_at) ON neocuma_control.outbox"
        " FROM 'neocuma_guardian'@'%'",
    )
    oracle.query(connection, "DROP TABLE neocuma_control.outbox, neocuma_control.replayed")
    connection.close()
    assert target.get_wrapped_container().exec_run("rm -f /var/lib/mysql/.neocuma-outbox").exit_code == 0
    assert "outbox" not in _outbox_facts(port)[0]
    _restarted(target, port)
    _as_released(port)
    assert containers.logs_of(target, 400).count(UPGRADE_LINE) == 1
    _restarted(target, port)
    assert containers.logs_of(target, 600).count(UPGRADE_LINE) == 1, "upgraded once, not at every start"
