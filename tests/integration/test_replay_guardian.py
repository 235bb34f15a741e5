"""The guardian's side of the replay against the real things: a local MariaDB in the local
role whose outbox holds operations (as the local server writes them), read and updated
through the guardian's restricted account, sent through the SSH adapter to the central
server's endpoint; the outbox and the central rows are then read by SQL as root."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.central import SshCentralServer
from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.domain.outbox import Outcome
from tests.integration.conftest import (
    USER_PASSWORD,
    Central,
    Db,
    local_mysql_started,
)
from tests.support import oracle

pytestmark = pytest.mark.integration
SERVER_PASSWORD = "server-test-password"


@pytest.fixture(scope="module")
def local_mysql(docker_client: Any) -> Iterator[tuple[Db, Db]]:
    with local_mysql_started(NEOCUMA_SERVER_DB_PASSWORD=SERVER_PASSWORD) as accounts:
        yield accounts


@pytest.fixture()
def local_root(local_mysql: tuple[Db, Db]) -> Iterator[Any]:
    root = local_mysql[0]
    connection = oracle.connect(root.host, root.port, root.user, root.password)
    yield connection
    oracle.query(connection, "DELETE FROM neocuma_control.outbox")
    connection.close()


def _queue(local_root: Any, code: str, form: dict[str, Any], numero: str) -> str:
    """An operation as the local server records it (appliance/server/writes.py)."""
    operation = str(uuid.uuid4())
    payload = {key: str(value) for key, value in form.items()}
    oracle.query(
        local_root,
        "INSERT INTO neocuma_control.outbox (id, dossier_code, kind, payload, local_id, local_numero, user_login,"
        " data_generation, created_at) VALUES (%s, %s, 'bon', %s, %s, %s, 'compta1.fd12', 1, UTC_TIMESTAMP(3))",
        (operation, code, json.dumps(payload), int(numero[-5:]), numero),
    )
    return operation


def test_the_outbox_is_replayed_and_each_answer_written_back(
    central: Central, local_mysql: tuple[Db, Db], local_root: Any, tmp_path: Path
) -> None:
    db = central.root_connection()
    s = central.schema
    (dossier_id, code), *_ = oracle.dossiers_of(
        db,
        s,
        "resp.fd12",
        f"r.acces = 'ecriture' AND d.exporte = 0 AND d.id IN (SELECT dossier_id FROM `{s}`.exercice WHERE cloture = 0)",
    )
    good = _queue(local_root, code, oracle.bon_form(db, s, dossier_id, "2"), "BT03-00001")
    bad = _queue(local_root, code, dict(oracle.bon_form(db, s, dossier_id), quantite="0"), "BT03-00002")
    database = MysqlLocalDatabase(local_mysql[1], tmp_path / "work")
    pending = [entry.operation for entry in database.outbox(("pending",))]
    assert [o.id for o in pending] == [good, bad]
    server = SshCentralServer("127.0.0.1", central.ssh_port, tmp_path / "known_hosts", 10)
    server.pin(server.presented_fingerprint())
    recorded: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        database.record_outcome(outcome, dt.datetime.now(dt.UTC))
        recorded.append(outcome)

    with server.session("resp.fd12", USER_PASSWORD) as session:
        session.replay(pending, record)
    rows = oracle.query(
        local_root, "SELECT id, state, central_id, central_numero, reason FROM neocuma_control.outbox ORDER BY seq"
    )
    central_bon = oracle.query(
        db,
        "SELECT bon_id, numero FROM neocuma_control.replayed WHERE operation_id = %s",
        (good,),
    )[0]
    assert rows[0] == (good, "applied", central_bon[0], central_bon[1], None)
    assert rows[1][:4] == (bad, "refused", None, None) and "la quantité doit être positive" in rows[1][4]
    assert [o.status for o in recorded] == ["appliquee", "refusee"]
    assert database.outbox(("pending",)) == []
    with server.session("resp.fd12", USER_PASSWORD) as session:  # sent again: nothing added
        again = session.replay(pending, lambda outcome: None)
    assert [(o.status, o.central_numero) for o in again] == [("deja_appliquee", central_bon[1]), ("refusee", None)]
    db.close()


def test_the_guardians_account_may_only_write_the_outcome_of_an_operation(
    local_mysql: tuple[Db, Db], local_root: Any
) -> None:
    operation = _queue(
        local_root, "120001", {"tiers_id": 1, "activite_id": 1, "date": "2026-03-04", "quantite": 1}, "BT03-00009"
    )
    guardian = oracle.connect(local_mysql[1].host, local_mysql[1].port, local_mysql[1].user, local_mysql[1].password)
    for statement in (
        "UPDATE neocuma_control.outbox SET payload = '{}' WHERE id = %s",
        "UPDATE neocuma_control.outbox SET dossier_code = 'X' WHERE id = %s",
        "DELETE FROM neocuma_control.outbox WHERE id = %s",
        "INSERT INTO neocuma_control.outbox (id) VALUES (%s)",
    ):
        with pytest.raises(Exception, match="denied"):
            oracle.query(guardian, statement, (operation,))
    oracle.query(
        guardian, "UPDATE neocuma_control.outbox SET state = 'refused', reason = 'x' WHERE id = %s", (operation,)
    )
    guardian.close()


def test_the_local_servers_account_may_only_add_operations(local_mysql: tuple[Db, Db], local_root: Any) -> None:
    host, port = local_mysql[0].host, local_mysql[0].port
    server = oracle.connect(host, port, "neocuma_server", SERVER_PASSWORD)
    oracle.query(
        server,
        "INSERT INTO neocuma_control.outbox (id, dossier_code, kind, payload, local_id, local_numero, user_login,"
        " data_generation, created_at) VALUES ('00000000-0000-4000-8000-000000000001', '120001', 'bon', '{}', 1,"
        " 'BT03-00001', 'compta1.fd12', 1, UTC_TIMESTAMP(3))",
    )
    for statement in (
        "UPDATE neocuma_control.outbox SET state = 'applied'",
        "DELETE FROM neocuma_control.outbox",
        "INSERT INTO neocuma_control.replayed (operation_id) VALUES ('x')",
    ):
        with pytest.raises(Exception, match="denied"):
            oracle.query(server, statement)
    server.close()
