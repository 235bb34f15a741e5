"""Entering a bon de travaux: validation, rights, exporté, standby/fallback, revision."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Central
from tests.integration.webclient import api_token, client_for, csrf, login
from tests.support import oracle

pytestmark = pytest.mark.integration


def _dossier(central: Central, login_name: str, exporte: int = 0) -> tuple[int, str, int, int]:
    """(dossier id, code, open exercice id, an active member id) of a dossier in rights."""
    connection = central.root_connection()
    s = central.schema
    dossier_id, code = oracle.query(
        connection,
        f"SELECT d.id, d.code FROM `{s}`.dossier d JOIN `{s}`.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN `{s}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = %s AND d.exporte = %s ORDER BY d.code LIMIT 1",
        (login_name, exporte),
    )[0]
    exercice = oracle.query(
        connection, f"SELECT id FROM `{s}`.exercice WHERE dossier_id = %s AND cloture = 0", (dossier_id,)
    )[0][0]
    member = oracle.query(
        connection,
        f"SELECT id FROM `{s}`.tiers WHERE dossier_id = %s AND categorie = 'adherent' AND actif = 1 LIMIT 1",
        (dossier_id,),
    )[0][0]
    connection.close()
    return int(dossier_id), str(code), int(exercice), int(member)


def _bon(central: Central, dossier_id: int, exercice: int, member: int) -> dict[str, Any]:
    connection = central.root_connection()
    activity = oracle.query(
        connection, f"SELECT id FROM `{central.schema}`.activite WHERE dossier_id = %s LIMIT 1", (dossier_id,)
    )[0][0]
    day = oracle.query(
        connection,
        f"SELECT date_debut FROM `{central.schema}`.exercice WHERE dossier_id = %s AND id = %s",
        (dossier_id, exercice),
    )[0][0]
    connection.close()
    return {"tiers_id": member, "activite_id": int(activity), "date": day.isoformat(), "quantite": "3.5"}


def _revision(central: Central, dossier_id: int) -> int:
    connection = central.root_connection()
    value = oracle.query(connection, f"SELECT revision FROM `{central.schema}`.dossier WHERE id = %s", (dossier_id,))[
        0
    ][0]
    connection.close()
    return int(value)


@pytest.fixture()
def mode(central: Central) -> Iterator[Any]:
    connection = central.root_connection()

    def set_mode(value: str) -> None:
        oracle.query(connection, "UPDATE neocuma_control.live SET mode = %s WHERE id = 1", (value,))

    yield set_mode
    set_mode("standby")
    connection.close()


def test_a_bon_entered_through_the_api_moves_the_revision_and_nothing_else(central: Central) -> None:
    dossier_id, code, exercice, member = _dossier(central, "compta1.fd12")
    connection = central.root_connection()
    others = [
        int(r[0])
        for r in oracle.query(connection, f"SELECT id FROM `{central.schema}`.dossier WHERE id <> %s", (dossier_id,))
    ]
    before = oracle.dossier_oracles(connection, central.schema, others)
    revision = _revision(central, dossier_id)
    client = client_for(central)
    login(client, "compta1.fd12")
    response = client.post(
        f"/api/v1/dossiers/{code}/bons",
        json=_bon(central, dossier_id, exercice, member),
        headers={"X-CSRF-Token": api_token(client)},
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["revision"] == revision + 1 == _revision(central, dossier_id)
    row = oracle.query(
        connection,
        f"SELECT numero, quantite, saisi_par FROM `{central.schema}`.bon_travaux WHERE dossier_id = %s AND id = %s",
        (dossier_id, created["id"]),
    )
    assert row == [(created["numero"], pytest.approx(3.5), "compta1.fd12")]
    assert oracle.dossier_oracles(connection, central.schema, others) == before
    connection.close()


def test_the_form_page_enters_a_bon_and_shows_errors(central: Central) -> None:
    dossier_id, code, exercice, member = _dossier(central, "compta1.fd12")
    client = client_for(central)
    login(client, "compta1.fd12")
    page = f"/dossiers/{code}/exercices/{exercice}/bons"
    assert "Saisir un bon de travaux" in client.get(page).get_data(as_text=True)
    form = {key: str(value) for key, value in _bon(central, dossier_id, exercice, member).items()}
    bad = client.post(f"/dossiers/{code}/bons", data=dict(form, quantite="-2", csrf=csrf(client, page)))
    assert bad.status_code == 422 and "la quantité doit être positive" in bad.get_data(as_text=True)
    good = client.post(f"/dossiers/{code}/bons", data=dict(form, csrf=csrf(client, page)), follow_redirects=True)
    assert good.status_code == 200 and "enregistré" in good.get_data(as_text=True)


def test_a_bon_on_a_dossier_without_any_exercice_is_refused_with_a_reason(central: Central) -> None:
    """It answered HTTP 500 (issue 12, finding 7): the form page had no exercice to show."""
    dossier_id, _code, _exercice, member = _dossier(central, "compta1.fd12")
    connection = central.root_connection()
    schema = f"`{central.schema}`"
    names = oracle.columns(connection, central.schema, "dossier")
    new_id = int(oracle.query(connection, f"SELECT MAX(id) + 1 FROM {schema}.dossier")[0][0])
    picked = ", ".join("%s" if name in ("id", "code") else f"`{name}`" for name in names)
    values = tuple(new_id if name == "id" else "SANSEX1" for name in names if name in ("id", "code"))
    oracle.query(
        connection,
        f"INSERT INTO {schema}.dossier ({', '.join(f'`{n}`' for n in names)}) SELECT {picked} FROM {schema}.dossier"
        f" WHERE id = {dossier_id}",
        values,
    )
    user_id = oracle.query(connection, f"SELECT id FROM {schema}.utilisateur WHERE login = 'compta1.fd12'")[0][0]
    oracle.query(connection, f"INSERT INTO {schema}.droit_dossier VALUES (%s, %s, 'ecriture')", (user_id, new_id))
    try:
        client = client_for(central)
        login(client, "compta1.fd12")
        form = {"tiers_id": str(member), "activite_id": "1", "date": "2026-03-04", "quantite": "2"}
        reply = client.post("/dossiers/SANSEX1/bons", data=dict(form, csrf=csrf(client, "/dossiers")))
        assert reply.status_code == 422 and "aucun exercice" in reply.get_data(as_text=True)
    finally:
        oracle.query(connection, f"DELETE FROM {schema}.droit_dossier WHERE dossier_id = %s", (new_id,))
        oracle.query(connection, f"DELETE FROM {schema}.dossier WHERE id = %s", (new_id,))
        connection.close()


def test_refusals_leave_the_database_unchanged(central: Central) -> None:
    dossier_id, code, exercice, member = _dossier(central, "compta1.fd12")
    exported_id, exported_code, exported_exercice, exported_member = _dossier(central, "resp.fd12", exporte=1)
    connection = central.root_connection()
    before = oracle.whole_schema_oracle(connection, central.schema)
    client = client_for(central)
    login(client, "compta1.fd12")
    body = _bon(central, dossier_id, exercice, member)
    assert client.post(f"/api/v1/dossiers/{code}/bons", json=body).status_code == 403  # no CSRF token
    # A token that is not ASCII made compare_digest raise: HTTP 500 (found by the hostile requests).
    assert client.post(f"/api/v1/dossiers/{code}/bons", json=body, headers={"X-CSRF-Token": "é"}).status_code == 403
    page = f"/dossiers/{code}/exercices/{exercice}/bons"
    assert client.post(f"/dossiers/{code}/bons", data=dict(body, csrf="jeton-é")).status_code == 400
    # Digits that are not ASCII, and a number for a date, made a bon (found the same way).
    for odd in ({"quantite": "١٢"}, {"quantite": "３,５"}, {"date": int(body["date"].replace("-", ""))}):
        reply = client.post(f"/dossiers/{code}/bons", data=dict(body, **odd, csrf=csrf(client, page)))
        assert reply.status_code == 422, odd
    token = api_token(client)
    invalid = client.post(
        f"/api/v1/dossiers/{code}/bons", json=dict(body, date="1999-01-01", tiers_id=0), headers={"X-CSRF-Token": token}
    )
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"date", "tiers_id"}
    assert (
        client.post(f"/api/v1/dossiers/{code}/bons", data="pas du json", headers={"X-CSRF-Token": token}).status_code
        == 400
    )
    deep = client.post(
        f"/api/v1/dossiers/{code}/bons",
        data=b"[" * 20_000 + b"]" * 20_000,  # 40 KB, under the 64 KB limit, 20 times too deep
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400, "a body nested too deep is a 400, not a 500"
    assert (
        client.post(f"/api/v1/dossiers/{exported_code}/bons", json=body, headers={"X-CSRF-Token": token}).status_code
        == 404
    )
    reader = client_for(central)
    login(reader, "anim.fd12")
    (anim_code,) = [
        r[0]
        for r in oracle.query(
            connection,
            f"SELECT d.code FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r ON r.dossier_id = d.id"
            f" JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = 'anim.fd12' LIMIT 1",
        )
    ]
    read_only = reader.post(
        f"/api/v1/dossiers/{anim_code}/bons", json=body, headers={"X-CSRF-Token": api_token(reader)}
    )
    assert read_only.status_code == 403 and "lecture" in read_only.get_json()["message"]
    responsable = client_for(central)
    login(responsable, "resp.fd12")
    locked = responsable.post(
        f"/api/v1/dossiers/{exported_code}/bons",
        json=_bon(central, exported_id, exported_exercice, exported_member),
        headers={"X-CSRF-Token": api_token(responsable)},
    )
    assert locked.status_code == 403 and "exporté" in locked.get_json()["message"]
    assert oracle.whole_schema_oracle(connection, central.schema) == before
    connection.close()


@pytest.mark.usefixtures("local_grants")
def test_a_local_server_refuses_writes_in_standby_and_takes_them_in_fallback(central: Central, mode: Any) -> None:
    dossier_id, code, exercice, member = _dossier(central, "compta1.fd12")
    client = client_for(central, role="local")
    login(client, "compta1.fd12")
    body = _bon(central, dossier_id, exercice, member)
    revision = _revision(central, dossier_id)
    standby = client.post(f"/api/v1/dossiers/{code}/bons", json=body, headers={"X-CSRF-Token": api_token(client)})
    assert standby.status_code == 403 and "mode veille" in standby.get_json()["message"]
    assert "Mode veille" in client.get(f"/dossiers/{code}/exercices/{exercice}/bons").get_data(as_text=True)
    assert _revision(central, dossier_id) == revision
    mode("fallback")
    accepted = client.post(f"/api/v1/dossiers/{code}/bons", json=body, headers={"X-CSRF-Token": api_token(client)})
    assert accepted.status_code == 201
    assert _revision(central, dossier_id) == revision + 1
    assert "Mode secours" in client.get(f"/dossiers/{code}").get_data(as_text=True)
