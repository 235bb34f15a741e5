"""GET /gateway/fallback, the LAN gateway's health check on the local NeoCuma Web: 200 in
fallback mode only, no login, no request snapshot, and MySQL asked at most once a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from appliance.errors import Unavailable
from appliance.server.metrics import ServerMetrics
from appliance.server.store import Live
from appliance.server.systemfiles import SystemFiles
from appliance.server.web.app import create_app
from appliance.server.web.gateway import ModeCache


class ControlRow:
    """A Store whose control row the test sets; a request snapshot is a failure here."""

    pool = None

    def __init__(self, mode: str = "standby") -> None:
        self.current: str | Exception = mode
        self.reads = 0

    def live(self) -> Live:
        self.reads += 1
        if isinstance(self.current, Exception):
            raise self.current
        return Live(data_generation=3, system_generation=1, mode=self.current)

    def request(self) -> Any:
        raise AssertionError("the gateway's check opened a request snapshot")


def client(store: ControlRow, tmp_path: Path) -> FlaskClient:
    app = create_app(store, b"k" * 32, "local", "unit", SystemFiles(tmp_path), metrics=ServerMetrics())  # type: ignore[arg-type]
    return app.test_client()


def test_the_check_answers_200_in_fallback_mode_and_503_in_standby(tmp_path: Path) -> None:
    store = ControlRow("fallback")
    response = client(store, tmp_path).get("/gateway/fallback")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "fallback\n")
    assert response.headers["Cache-Control"] == "no-store"

    store = ControlRow("standby")
    response = client(store, tmp_path).get("/gateway/fallback")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "standby\n")


def test_a_mysql_that_is_down_points_the_gateway_away_without_an_error_page(tmp_path: Path) -> None:
    store = ControlRow()
    store.current = Unavailable("MySQL is down")
    response = client(store, tmp_path).get("/gateway/fallback")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "unavailable\n")


def test_the_check_needs_no_login_and_sets_no_cookie(tmp_path: Path) -> None:
    response = client(ControlRow("fallback"), tmp_path).get("/gateway/fallback")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_the_mode_is_read_once_for_a_burst_of_checks(tmp_path: Path) -> None:
    store = ControlRow("fallback")
    web = client(store, tmp_path)
    for _ in range(20):
        assert web.get("/gateway/fallback").status_code == 200
    assert store.reads == 1


def test_the_cache_reads_again_after_its_time_and_keeps_a_failure_as_long() -> None:
    now = [100.0]
    answers: list[str | Exception] = ["standby", Unavailable("down"), "fallback"]
    reads: list[str] = []

    def read_mode() -> str:
        answer = answers.pop(0)
        reads.append(str(answer))
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = ModeCache(read_mode, seconds=1.0, clock=lambda: now[0])
    assert cache.mode() == "standby"
    now[0] += 0.9
    assert cache.mode() == "standby" and len(reads) == 1
    now[0] += 0.1
    assert cache.mode() == "unavailable"
    now[0] += 0.5
    assert cache.mode() == "unavailable" and len(reads) == 2
    now[0] += 0.5
    assert cache.mode() == "fallback" and len(reads) == 3
