"""The local server's outbox: a bon entered in fallback mode is recorded as an operation in
the same transaction; a refused or failed entry leaves neither a bon nor an operation; the
central server's own entries are not queued. Read back by SQL as root."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Central
from tests.integration.webclient import api_token, client_for, login
from tests.support import oracle

pytestmark = pytest.mark.integration
USER = "compta1.fd12"
COLUMNS = "id, dossier_code, kind, payload, local_id, local_numero, user_login, data_generation, state"


@pytest.fixture()
def db(central: Central) -> Iterator[Any]:
    connection = central.root_connection()
    yield connection
    connection.close()


@pytest.fixture()
def fallback(db: Any) -> Iterator[None]:
    oracle.query(db, "UPDATE neocuma_control.live SET mode = 'fallback' WHERE id = 1")
    yield
    oracle.query(db, "UPDATE neocuma_control.live SET mode = 'standby' WHERE id = 1")


def _dossier(db: Any, central: Central) -> tuple[int, str]:
    s = central.schema
    return oracle.dossiers_of(
        db,
        s,
        USER,
        f"r.acces = 'ecriture' AND d.exporte = 0 AND EXISTS (SELECT 1 FROM `{s}`.exercice e"
        " WHERE e.dossier_id = d.id AND e.cloture = 0)",
    )[0]


def _outbox(db: Any) -> list[tuple[Any, ...]]:
    return oracle.query(db, f"SELECT {COLUMNS} FROM neocuma_control.outbox ORDER BY seq")


def _post(client: Any, code: str, form: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/dossiers/{code}/bons", json=form, headers={"X-CSRF-Token": api_token(client)})


@pytest.mark.usefixtures("local_grants", "fallback")
def test_a_bon_entered_in_fallback_mode_lands_in_the_outbox_with_its_bon(central: Central, db: Any) -> None:
    dossier_id, code = _dossier(db, central)
    before = _outbox(db)
    client = client_for(central, role="local")
    login(client, USER)
    form = oracle.bon_form(db, central.schema, dossier_id, "3,5")  # a decimal comma, as typed
    created = _post(client, code, form)
    assert created.status_code == 201, created.get_json()
    bon = created.get_json()
    added = _outbox(db)[len(before) :]
    assert len(added) == 1
    operation, dossier, kind, payload, local_id, local_numero, user, generation, state = added[0]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", operation)
    assert (dossier, kind, local_id, local_numero, user, state) == (
        code,
        "bon",
        bon["id"],
        bon["numero"],
        USER,
        "pending",
    )
    assert generation == int(central.schema.removeprefix("neocuma_g"))
    assert json.loads(payload) == {
        "tiers_id": str(form["tiers_id"]),
        "activite_id": str(form["activite_id"]),
        "date": form["date"],
        "quantite": "3.50",
    }
    row = oracle.query(
        db,
        f"SELECT numero, saisi_par FROM `{central.schema}`.bon_travaux WHERE dossier_id = %s AND id = %s",
        (dossier_id, bon["id"]),
    )
    assert row == [(bon["numero"], USER)]


@pytest.mark.usefixtures("local_grants", "fallback")
def test_a_refused_entry_leaves_no_operation(central: Central, db: Any) -> None:
    dossier_id, code = _dossier(db, central)
    before, schema = _outbox(db), oracle.whole_schema_oracle(db, central.schema)
    client = client_for(central, role="local")
    login(client, USER)
    invalid = _post(client, code, dict(oracle.bon_form(db, central.schema, dossier_id), quantite="-1"))
    assert invalid.status_code == 422
    assert _outbox(db) == before and oracle.whole_schema_oracle(db, central.schema) == schema


@pytest.mark.usefixtures("fallback")
def test_when_the_outbox_refuses_the_operation_the_bon_is_not_entered_either(central: Central, db: Any) -> None:
    """Without the INSERT grant on the outbox (or without the table), the operation cannot be
    recorded: the bon is rolled back with it, and the user is told."""
    dossier_id, code = _dossier(db, central)
    before, schema = _outbox(db), oracle.whole_schema_oracle(db, central.schema)
    client = client_for(central, role="local")
    login(client, USER)
    failed = _post(client, code, oracle.bon_form(db, central.schema, dossier_id))
    assert failed.status_code == 503
    assert "rien n'a été enregistré" in failed.get_json()["message"]
    assert _outbox(db) == before and oracle.whole_schema_oracle(db, central.schema) == schema


def test_a_bon_entered_on_the_central_server_is_not_queued(central: Central, db: Any) -> None:
    dossier_id, code = _dossier(db, central)
    before = _outbox(db)
    client = client_for(central, role="central")
    login(client, USER)
    assert _post(client, code, oracle.bon_form(db, central.schema, dossier_id)).status_code == 201
    assert _outbox(db) == before
