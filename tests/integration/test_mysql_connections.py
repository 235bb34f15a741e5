"""The connections the appliance opens to MariaDB (adapters/mysql.py) on our MariaDB image:
Nagle's algorithm is off on their TCP socket, so a LOAD DATA LOCAL INFILE does not wait
for the server's delayed ACK (about 40 ms each; docs/performance.md)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from appliance.adapters.mysql import MysqlAccount, connect
from tests.integration.conftest import Db

pytestmark = pytest.mark.integration


def test_a_connection_has_nagle_off_and_still_loads_local_files(mariadb: Db, tmp_path: Path) -> None:
    (tmp_path / "rows.tsv").write_text("".join(f"{n}\tligne {n}\n" for n in range(300)), encoding="utf-8")
    connection = connect(
        MysqlAccount(mariadb.host, mariadb.port, mariadb.user, mariadb.password), local_infile_dir=str(tmp_path)
    )
    try:
        sock = connection._socket.sock  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        cursor = connection.cursor()
        cursor.execute("CREATE DATABASE IF NOT EXISTS nodelay_test")
        cursor.execute("CREATE OR REPLACE TABLE nodelay_test.t (id INT PRIMARY KEY, label VARCHAR(40))")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{tmp_path / 'rows.tsv'}' INTO TABLE nodelay_test.t (id, label)")
        assert cursor.rowcount == 300
        cursor.execute("DROP DATABASE nodelay_test")
    finally:
        connection.close()
