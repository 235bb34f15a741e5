"""Declaring the central server down (pure): the detection window from the first failed
probe, a success that closes the outage, one alert per outage, and the automatic switch,
off by default and only when the local server could take over."""

from __future__ import annotations

import datetime as dt

from appliance.configuration.fallback import FallbackSettings
from appliance.domain.outage import (
    Outage,
    Serving,
    alert_due,
    automatic_after,
    automatic_switch_due,
    banner_shown,
    observe,
    outage_document,
    read_outage,
)

T0 = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(seconds=120)
STANDBY_WITH_DATA = Serving("standby", 3)


def _at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _failures(*seconds: int) -> Outage:
    outage = Outage()
    for moment in seconds:
        outage = observe(outage, False, "injoignable", _at(moment), WINDOW)
    return outage


def test_the_first_failure_opens_the_outage_and_the_window_runs_from_it() -> None:
    outage = _failures(0)
    assert outage.failing_since == T0 and not outage.declared
    outage = _failures(0, 60, 119)
    assert outage.failing_since == T0 and not outage.declared, "119 s of failures: not yet"
    outage = _failures(0, 60, 120)
    assert outage.declared_at == _at(120) and outage.failing_since == T0
    assert outage.cause == "injoignable"
    later = observe(outage, False, "toujours injoignable", _at(180), WINDOW)
    assert later.declared_at == _at(120), "declared once: the moment stays"
    assert later.cause == "toujours injoignable"


def test_a_success_closes_the_outage_and_the_next_failure_starts_a_new_window() -> None:
    outage = observe(_failures(0, 60), True, "", _at(90), WINDOW)
    assert outage == Outage()
    outage = observe(outage, False, "injoignable", _at(100), WINDOW)
    assert outage.failing_since == _at(100)
    assert not observe(outage, False, "injoignable", _at(200), WINDOW).declared, "100 s since the new first failure"
    declared = _failures(0, 120)
    assert observe(declared, True, "", _at(130), WINDOW) == Outage(), "a declared outage ends as well"


def test_a_zero_window_declares_at_the_first_failure() -> None:
    assert observe(Outage(), False, "x", T0, dt.timedelta(0)).declared_at == T0


def test_one_alert_per_outage_and_only_when_the_local_server_could_take_over() -> None:
    declared = _failures(0, 120)
    assert alert_due(declared, STANDBY_WITH_DATA)
    assert not alert_due(_failures(0, 60), STANDBY_WITH_DATA), "not before the window"
    alerted = Outage(T0, _at(120), _at(120), None, "x")
    assert not alert_due(alerted, STANDBY_WITH_DATA), "once per outage"
    assert not alert_due(observe(alerted, False, "x", _at(180), WINDOW), STANDBY_WITH_DATA)
    assert not alert_due(declared, Serving("fallback", 3)), "already in fallback mode"
    assert not alert_due(declared, Serving("standby", None)), "nothing to serve"
    assert not alert_due(declared, Serving(None, None)), "the local server does not answer"


def test_the_banner_lasts_while_the_declared_outage_does() -> None:
    alerted = Outage(T0, _at(120), _at(120), None, "x")
    assert banner_shown(alerted, STANDBY_WITH_DATA), "after the alert too"
    assert not banner_shown(_failures(0, 60), STANDBY_WITH_DATA)
    assert not banner_shown(alerted, Serving("fallback", 3))


def test_the_automatic_switch_is_off_by_default() -> None:
    default = FallbackSettings()
    assert default.automatic_after_seconds == 0 and automatic_after(default.automatic_after_seconds) is None
    assert default.detect_seconds == 120
    declared = _failures(0, 120)
    assert not automatic_switch_due(declared, STANDBY_WITH_DATA, _at(100_000), None)


def test_the_automatic_switch_comes_its_delay_after_the_declaration_once() -> None:
    after = automatic_after(30)
    assert after == dt.timedelta(seconds=30)
    declared = _failures(0, 120)
    assert not automatic_switch_due(declared, STANDBY_WITH_DATA, _at(149), after)
    assert automatic_switch_due(declared, STANDBY_WITH_DATA, _at(150), after)
    assert not automatic_switch_due(_failures(0, 60, 100), STANDBY_WITH_DATA, _at(150), after), "not declared"
    switched = Outage(T0, _at(120), _at(120), _at(150), "x")
    assert not automatic_switch_due(switched, STANDBY_WITH_DATA, _at(300), after), "once per outage"


def test_the_automatic_switch_never_happens_without_a_generation_or_outside_standby() -> None:
    declared, after = _failures(0, 120), automatic_after(1)
    assert not automatic_switch_due(declared, Serving("standby", None), _at(500), after)
    assert not automatic_switch_due(declared, Serving("fallback", 3), _at(500), after)
    assert not automatic_switch_due(declared, Serving(None, None), _at(500), after)


def test_the_outage_survives_its_document_and_a_damaged_one_reads_as_none() -> None:
    outage = Outage(T0, _at(120), _at(120), _at(150), "injoignable")
    assert read_outage(outage_document(outage)) == outage
    assert read_outage(outage_document(Outage())) == Outage()
    assert read_outage({"failing_since": "hier", "declared_at": 3, "cause": None}) == Outage()
