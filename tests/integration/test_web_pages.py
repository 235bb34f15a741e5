"""NeoCuma Web's pages and JSON API for LAN users: only the dossiers in one's rights."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Central
from tests.integration.webclient import client_for, login
from tests.support import oracle

pytestmark = pytest.mark.integration


def _rights(central: Central, login_name: str) -> list[str]:
    connection = central.root_connection()
    rows = oracle.query(
        connection,
        f"SELECT d.code FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = %s ORDER BY d.code",
        (login_name,),
    )
    connection.close()
    return [str(row[0]) for row in rows]


def test_every_page_of_a_dossier_renders_for_a_comptable(central: Central) -> None:
    client = client_for(central)
    assert login(client, "compta1.fd12").status_code == 302
    (code,) = _rights(central, "compta1.fd12")
    overview = client.get(f"/dossiers/{code}")
    assert overview.status_code == 200
    body = overview.get_data(as_text=True)
    assert "clôturé" in body and "ouvert" in body
    exercices = client.get(f"/api/v1/dossiers/{code}").get_json()["exercices"]
    assert [e["cloture"] for e in exercices] == [True, False]
    for category in ("adherent", "client", "fournisseur", "divers"):
        assert client.get(f"/dossiers/{code}/tiers?categorie={category}").status_code == 200
    page = client.get(f"/dossiers/{code}/tiers").get_data(as_text=True)
    assert ">001<" in page
    assert client.get(f"/dossiers/{code}/materiels").status_code == 200
    for exercice in exercices:
        for subject in ("bons", "factures", "ecritures"):
            response = client.get(f"/dossiers/{code}/exercices/{exercice['id']}/{subject}")
            assert response.status_code == 200, (subject, response.get_data(as_text=True)[:300])
    assert client.get(f"/dossiers/{code}/tiers?categorie=pirate").status_code == 400
    assert client.get(f"/dossiers/{code}/exercices/999/bons").status_code == 404
    assert client.get(f"/dossiers/{code}/exercices/{exercices[0]['id']}/bons?page=-1").status_code == 400
    for odd in ("²", "١", "9" * 40):  # digits to str.isdigit, not to int(); far too big
        assert client.get(f"/dossiers/{code}/exercices/{exercices[0]['id']}/bons?page={odd}").status_code == 400
        assert client.get(f"/api/v1/dossiers/{code}/exercices/{exercices[0]['id']}/bons?page={odd}").status_code == 400
    # Werkzeug's <int:> read other digits too (the hostile requests found "١" showing exercice 1).
    for digits in ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９"):
        odd_id = str(exercices[0]["id"]).translate(str.maketrans("0123456789", digits))
        assert client.get(f"/dossiers/{code}/exercices/{odd_id}/bons").status_code == 404
        assert client.get(f"/api/v1/dossiers/{code}/exercices/{odd_id}/factures").status_code == 404


def test_a_comptable_sees_only_his_dossier_in_pages_and_api(central: Central) -> None:
    client = client_for(central)
    login(client, "compta1.fd12")
    (mine,) = _rights(central, "compta1.fd12")
    others = [code for code in _rights(central, "resp.fd12") if code != mine]
    listing = client.get("/dossiers").get_data(as_text=True)
    assert mine in listing and not any(f">{code}<" in listing for code in others)
    assert [d["code"] for d in client.get("/api/v1/dossiers").get_json()["dossiers"]] == [mine]
    for code in others[:3]:
        assert client.get(f"/dossiers/{code}").status_code == 404
        assert client.get(f"/api/v1/dossiers/{code}/tiers").status_code == 404
        assert client.get(f"/api/v1/dossiers/{code}/exercices/1/ecritures").status_code == 404


def test_api_answers_name_their_generation_and_balance(central: Central) -> None:
    client = client_for(central)
    login(client, "compta1.fd12")
    (code,) = _rights(central, "compta1.fd12")
    exercices = client.get(f"/api/v1/dossiers/{code}").get_json()["exercices"]
    answer = client.get(f"/api/v1/dossiers/{code}/exercices/{exercices[0]['id']}/ecritures").get_json()
    assert answer["data_generation"] == int(central.schema.removeprefix("neocuma_g"))
    for entry in answer["ecritures"]:
        debit = sum(float(line["debit"]) for line in entry["lignes"])
        credit = sum(float(line["credit"]) for line in entry["lignes"])
        assert round(debit - credit, 2) == 0
    tiers = client.get(f"/api/v1/dossiers/{code}/tiers?categorie=adherent").get_json()["tiers"]
    assert tiers and all(len(t["code"]) == 3 for t in tiers)


def test_metrics_are_exposed_in_prometheus_format(central: Central) -> None:
    client = client_for(central)
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    for name in (
        "neocuma_http_requests_total",
        "neocuma_data_generation",
        "neocuma_system_generation",
        'neocuma_mode{mode="standby"} 1.0',
        "neocuma_database_up 1.0",
        "neocuma_exports_total",
        "neocuma_imports_total",
    ):
        assert name in text, name
