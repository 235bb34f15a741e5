"""The monitor's rounds over fakes while the link is cut: the central server declared down
after the detection window, one alert per outage, the automatic switch (off by default,
after its delay, never without a generation, never while the guardian's lock is held), and
the console's banner offering the switch on every page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from appliance.guardian.console.app import create_console
from appliance.guardian.jobs.progress import JobRunner
from tests.fakes.guardian import FakeWorld
from tests.unit.guardian.test_console import Console

DOWN = "serveur_distant_injoignable"
SWITCHED = "bascule_automatique_mode_secours"


def _world(tmp_path: Path | None = None, synced: bool = True, **environment: str) -> FakeWorld:
    if tmp_path is not None:
        environment["NEOCUMA_GUARDIAN_STATE_DIR"] = str(tmp_path)
    world = FakeWorld(environment=environment)
    world.seed = {"sauvegardes": {"automatiques": True}}
    world.log_in()
    if synced:
        world.parts.actions.run_all()
    world.parts.monitor.evaluate_and_record()  # the remote answers: no outage
    return world


def _round(world: FakeWorld, seconds: int = 60) -> None:
    world.clock.advance(seconds)
    world.parts.monitor.evaluate_and_record()


def _events(world: FakeWorld, event: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [sent for sent in world.notifier.sent if sent[2].get("event") == event]


def test_the_remote_is_declared_down_after_the_window_and_people_are_told_once() -> None:
    world = _world()
    world.central.reachable = False
    _round(world)  # 12:01: the first failure (the indicator turns red, its own alert)
    assert world.state.document("outage")["failing_since"] == "2026-11-28T12:01:00Z"
    _round(world)  # 60 s of failures
    assert _events(world, DOWN) == [] and world.state.document("outage")["declared_at"] is None
    _round(world)  # 120 s: the window (NEOCUMA_FALLBACK_DETECT_SECONDS, 120 by default)
    (alert,) = _events(world, DOWN)
    subject, body, payload = alert
    assert subject == "[NeoCuma Guardian] FD12 : serveur NeoCuma distant injoignable — basculer en mode secours ?"
    assert "Basculer en mode secours" in body and "La bascule automatique est désactivée" in body
    assert "est injoignable" in body and "28/11/2026 12:01:00 UTC" in body
    assert payload["failing_since"] == "2026-11-28T12:01:00Z" and payload["declared_at"] == "2026-11-28T12:03:00Z"
    assert payload["indicator"] == "serveur_distant" and payload["automatic_switch_at"] is None
    for _ in range(5):
        _round(world)
    assert len(_events(world, DOWN)) == 1, "one alert per outage, not one a round"
    assert world.database.control.mode == "standby", "no automatic switch by default"
    assert "automatic_fallback" not in world.state.history()
    world.central.reachable = True
    _round(world)
    assert world.state.document("outage")["failing_since"] is None, "a success closes the outage"
    world.central.reachable = False
    for _ in range(3):
        _round(world)
    assert len(_events(world, DOWN)) == 2, "a new outage, a new alert"


def test_a_shorter_window_declares_sooner() -> None:
    world = _world(NEOCUMA_FALLBACK_DETECT_SECONDS="60")
    world.central.reachable = False
    _round(world)
    _round(world)
    assert len(_events(world, DOWN)) == 1


def test_a_refusal_is_no_outage() -> None:
    """Not logged in, a changed host key: the remote answered; switching would not help."""
    world = _world()
    world.central.pinned = "SHA256:autre"
    for _ in range(4):
        _round(world)
    assert world.state.document("outage")["failing_since"] is None and _events(world, DOWN) == []


def test_without_a_generation_to_serve_nothing_is_offered_nor_switched() -> None:
    world = _world(synced=False, NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS="1")
    world.central.reachable = False
    for _ in range(6):
        _round(world)
    assert world.state.document("outage")["declared_at"] is not None
    assert _events(world, DOWN) == [] and world.database.control.mode == "standby"
    assert world.database.modes == [] and "automatic_fallback" not in world.state.history()


def test_the_automatic_switch_comes_its_delay_after_the_declaration(caplog: pytest.LogCaptureFixture) -> None:
    world = _world(NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS="90")
    world.central.reachable = False
    _round(world)
    _round(world)
    _round(world)  # 12:03: declared
    (alert,) = _events(world, DOWN)
    assert "elle aura lieu le 28/11/2026 12:04:30 UTC" in alert[1]
    assert alert[2]["automatic_switch_at"] == "2026-11-28T12:04:30Z"
    _round(world)  # 12:04: 60 s after the declaration
    assert world.database.control.mode == "standby"
    with caplog.at_level(logging.WARNING, logger="appliance.guardian.watch.outage"):
        _round(world)  # 12:05: past the delay
    assert world.database.control.mode == "fallback" and world.database.modes == ["fallback"]
    record = world.history("automatic_fallback")
    assert record["ok"] is True and record["at"] == "2026-11-28T12:05:00Z"
    assert record["failing_since"] == "2026-11-28T12:01:00Z" and record["declared_at"] == "2026-11-28T12:03:00Z"
    assert world.history("mode")["mode"] == "fallback", "the same mode change as `mode fallback`"
    assert any(
        r.levelno == logging.WARNING and "bascule automatique en mode secours" in r.getMessage() for r in caplog.records
    )
    (switched,) = _events(world, SWITCHED)
    assert switched[0] == "[NeoCuma Guardian] FD12 : bascule automatique en mode secours"
    world.parts.actions.mode("standby", False)  # the operator goes back while the link is still down
    for _ in range(3):
        _round(world)
    assert world.database.control.mode == "standby", "once per outage"
    assert len(_events(world, DOWN)) == 1


def test_the_automatic_switch_waits_while_the_guardians_lock_is_held() -> None:
    world = _world(NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS="60")
    world.central.reachable = False
    _round(world)
    _round(world)
    _round(world)  # declared
    with world.state.lock("synchronisation"):
        _round(world)  # due, but a sync is swapping
    assert world.database.control.mode == "standby"
    refused = world.history("automatic_fallback")
    assert refused["ok"] is False and "synchronisation" in refused["error"]
    _round(world)
    assert world.database.control.mode == "fallback" and world.history("automatic_fallback")["ok"] is True


def _console(world: FakeWorld) -> Console:
    console = Console.__new__(Console)
    console.world = world
    console.runner = JobRunner(world.parts.progress, world.clock.now)
    console.app = create_console(world.parts, console.runner, lambda: (True, {"status": "ok"}))
    console.client = console.app.test_client()
    return console


def test_the_console_shows_the_banner_on_every_page_while_the_remote_is_down(tmp_path: Path) -> None:
    world = _world(tmp_path)
    console = _console(world)
    console.login()
    assert 'id="outage-banner"' not in console.client.get("/statut").get_data(as_text=True)
    world.central.reachable = False
    _round(world)
    _round(world)
    assert 'id="outage-banner"' not in console.client.get("/statut").get_data(as_text=True), "not before the window"
    _round(world)
    for page in ("/statut", "/etat", "/parametrages", "/logs", "/sauvegardes"):
        body = console.client.get(page).get_data(as_text=True)
        assert 'id="outage-banner"' in body, page
        assert "Serveur NeoCuma distant injoignable depuis le 28/11/2026 12:01:00 UTC" in body, page
        assert 'action="/actions/fallback"' in body and "Basculer en mode secours" in body, page
    stranger = console.app.test_client().get("/login").get_data(as_text=True)
    assert "Basculer" not in stranger, "nothing shown before a login"
    switched = console.post("/actions/fallback")  # the banner's one click
    assert switched.status_code == 302
    console.finish()
    assert world.database.control.mode == "fallback"
    assert 'id="outage-banner"' not in console.client.get("/statut").get_data(as_text=True), "in fallback mode"


def test_the_banner_says_when_the_automatic_switch_will_come(tmp_path: Path) -> None:
    world = _world(tmp_path, NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS="600")
    console = _console(world)
    console.login()
    world.central.reachable = False
    for _ in range(3):
        _round(world)
    body = console.client.get("/statut").get_data(as_text=True)
    assert "Bascule automatique prévue le 28/11/2026 12:13:00 UTC" in body


def test_the_link_back_in_fallback_mode_says_the_return_can_be_made_once() -> None:
    world = _world(NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS="60")
    world.central.reachable = False
    for _ in range(4):
        _round(world)  # declared at 12:03, switched at 12:04
    assert world.database.control.mode == "fallback"
    world.central.reachable = True
    _round(world)  # 12:05: the link is back
    (back,) = _events(world, "serveur_distant_de_nouveau_joignable")
    subject, body, payload = back
    assert subject.endswith("serveur NeoCuma distant de nouveau joignable — retour au serveur central")
    assert "Injoignable depuis : 28/11/2026 12:01:00 UTC" in body and "make return" in body
    assert payload["return_url"].endswith("/retour") and payload["back_at"] == "2026-11-28T12:05:00Z"
    _round(world)
    assert len(_events(world, "serveur_distant_de_nouveau_joignable")) == 1, "once"


def test_no_return_alert_when_the_link_comes_back_in_standby_mode() -> None:
    world = _world()
    world.central.reachable = False
    for _ in range(4):
        _round(world)
    world.central.reachable = True
    _round(world)
    assert _events(world, "serveur_distant_de_nouveau_joignable") == []
