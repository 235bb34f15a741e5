"""The local NeoCuma Web in fallback mode: every page says since when the local server
serves and that the entries will go to the central server when the link returns; nothing
of it in standby mode. The moment is the control row's ``changed_at``, which only a change
of mode moves while the server is in fallback mode (the mode change and the swap, against
the real MariaDB)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.adapters.generations import switch_live
from appliance.adapters.local_database import MysqlLocalDatabase
from tests.integration.conftest import Central
from tests.integration.webclient import client_for, login
from tests.support import oracle

pytestmark = pytest.mark.integration
SINCE = dt.datetime(2026, 12, 5, 21, 15, tzinfo=dt.UTC)  # before the test runs
PROMISE = "seront envoyées au serveur central au retour de la liaison"


@pytest.fixture()
def control(central: Central) -> Iterator[Any]:
    """A root connection to the control row; standby mode again afterwards."""
    connection = central.root_connection()
    yield connection
    oracle.query(connection, "UPDATE neocuma_control.live SET mode = 'standby' WHERE id = 1")
    connection.close()


def _changed_at(connection: Any) -> float:
    rows = oracle.query(connection, "SELECT UNIX_TIMESTAMP(changed_at) FROM neocuma_control.live WHERE id = 1")
    return float(rows[0][0])


def test_every_local_page_shows_since_when_in_fallback_mode_and_nothing_in_standby(
    central: Central, control: Any
) -> None:
    client = client_for(central, role="local")
    assert login(client, "compta1.fd12").status_code == 302
    listing = client.get("/dossiers").get_data(as_text=True)
    code = listing.split('href="/dossiers/', 1)[1].split('"', 1)[0]
    pages = ("/dossiers", f"/dossiers/{code}", f"/dossiers/{code}/tiers", "/dossiers/inconnu")
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert "Mode veille" in body and 'id="fallback-banner"' not in body and PROMISE not in body, page
    oracle.query(
        control,
        "UPDATE neocuma_control.live SET mode = 'fallback', changed_at = FROM_UNIXTIME(%s) WHERE id = 1",
        (int(SINCE.timestamp()),),
    )
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert 'id="fallback-banner"' in body, page
        assert "Mode secours depuis le 05/12/2026 21:15:00 UTC (22:15 à Paris)" in body, page
        assert PROMISE in body and "Mode veille" not in body, page
    outside = client_for(central, role="local").get("/login").get_data(as_text=True)
    assert "Mode secours depuis le 05/12/2026 21:15:00 UTC" in outside, "the login page says it too"
    central_pages = client_for(central, role="central")
    login(central_pages, "compta1.fd12")
    assert 'id="fallback-banner"' not in central_pages.get("/dossiers").get_data(as_text=True)


def test_only_a_change_of_mode_moves_the_moment_shown(central: Central, control: Any, tmp_path: Path) -> None:
    database = MysqlLocalDatabase(central.root, tmp_path)
    database.set_mode("standby")
    before = dt.datetime.now(dt.UTC).timestamp()
    database.set_mode("fallback")
    assert _changed_at(control) >= before - 5, "the switch to fallback mode dates it"
    oracle.query(
        control,
        "UPDATE neocuma_control.live SET changed_at = FROM_UNIXTIME(%s) WHERE id = 1",
        (int(SINCE.timestamp()),),
    )
    database.set_mode("fallback")
    assert _changed_at(control) == SINCE.timestamp(), "fallback again: still the first moment"
    live = database.live()
    switch_live(control, live.data_generation, live.system_generation)
    assert _changed_at(control) == SINCE.timestamp(), "a swap in fallback mode keeps it"
    assert central.store.live().changed_at == SINCE
    before = dt.datetime.now(dt.UTC).timestamp()
    database.set_mode("standby")
    assert _changed_at(control) >= before - 5, "back to standby: the row changed now"
