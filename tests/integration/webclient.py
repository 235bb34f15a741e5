"""Helpers to drive NeoCuma Web through Flask's test client."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from appliance.server.web.app import create_app
from tests.integration.conftest import USER_PASSWORD, Central


def client_for(central: Central, role: str = "central") -> FlaskClient:
    return create_app(central.store, b"k" * 32, role, "integration", central.system_files).test_client()


def csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def login(client: FlaskClient, user: str, password: str = USER_PASSWORD) -> Any:
    response = client.post("/login", data={"csrf": csrf(client), "login": user, "password": password})
    return response


def api_token(client: FlaskClient) -> str:
    return str(client.get("/api/v1/session").get_json()["csrf"])
