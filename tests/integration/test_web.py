"""NeoCuma Web's read side: login with CSRF, rights-limited dossier lists, /healthz."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.server.web.app import create_app
from tests.integration.conftest import USER_PASSWORD, Central
from tests.support import oracle

pytestmark = pytest.mark.integration


@pytest.fixture()
def client(central: Central) -> FlaskClient:
    return create_app(central.store, b"k" * 32, "central", "integration", central.system_files).test_client()


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


def _login(client: FlaskClient, login: str, password: str) -> Any:
    return client.post("/login", data={"csrf": _csrf(client), "login": login, "password": password})


def test_healthz_reports_generations_and_mode(client: FlaskClient) -> None:
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["role"] == "central"
    assert body["schema_version"] == 1 and body["data_generation"] >= 1 and body["mode"] == "standby"


def test_login_needs_a_csrf_token_and_the_right_password(client: FlaskClient) -> None:
    assert client.post("/login", data={"login": "compta1.fd12", "password": USER_PASSWORD}).status_code == 400
    refused = _login(client, "compta1.fd12", "wrong")
    assert refused.status_code == 401 and "incorrect" in refused.get_data(as_text=True)
    assert client.get("/api/v1/dossiers").status_code == 401
    assert client.get("/dossiers").status_code == 302


def test_a_comptable_sees_only_the_dossiers_in_his_rights(client: FlaskClient, central: Central) -> None:
    assert _login(client, "compta1.fd12", USER_PASSWORD).status_code == 302
    body = client.get("/api/v1/dossiers").get_json()
    connection = central.root_connection()
    expected = oracle.query(
        connection,
        f"SELECT d.code FROM `{central.schema}`.dossier d JOIN `{central.schema}`.droit_dossier r ON r.dossier_id = d.id"
        f" JOIN `{central.schema}`.utilisateur u ON u.id = r.utilisateur_id WHERE u.login = 'compta1.fd12'",
    )
    connection.close()
    assert [d["code"] for d in body["dossiers"]] == [row[0] for row in expected]
    assert len(body["dossiers"]) == 1
    page = client.get("/dossiers").get_data(as_text=True)
    assert body["dossiers"][0]["code"] in page and "120001" not in page


def test_session_cookie_is_http_only(client: FlaskClient) -> None:
    response = _login(client, "compta1.fd12", USER_PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_oversized_and_nonsensical_requests_get_clear_errors(client: FlaskClient) -> None:
    too_big = client.post("/login", data={"csrf": "x", "login": "a" * 100_000, "password": "b"})
    assert too_big.status_code == 413 and "trop volumineuse" in too_big.get_data(as_text=True)
    assert client.get("/nulle-part").status_code == 404
    assert client.post("/logout", data={}).status_code == 400
    long_login = _login(client, "x" * 5000, "y")
    assert long_login.status_code == 401


def test_an_unknown_login_costs_a_hash_and_early_retries_get_429(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import appliance.server.web.app as web_app

    checked: list[str] = []
    real = web_app.verify_password
    monkeypatch.setattr(web_app, "verify_password", lambda p, h: checked.append(h) or real(p, h))
    assert _login(client, "personne.fd12", "x").status_code == 401
    assert checked and checked[-1].startswith("scrypt$"), "the unknown login was hashed like a known one"
    started = time.monotonic()
    for _ in range(2):
        assert _login(client, "Personne.FD12", "x").status_code == 401
    assert time.monotonic() - started < 2.0, "refusals answer at once (no sleeping worker)"
    before = len(checked)
    early = _login(client, "personne.fd12", "x")
    assert early.status_code == 429 and "Retry-After" in early.headers and len(checked) == before
    assert _login(client, "compta1.fd12", USER_PASSWORD).status_code == 302, "another login is not held up"
