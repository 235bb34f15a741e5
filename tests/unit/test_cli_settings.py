"""Parsing of `neocuma-guardian settings set`: every value is understood or refused by name."""

from __future__ import annotations

import pytest

from appliance.guardian.cli_commands import UsageError, _hours, _switch


@pytest.mark.parametrize(
    ("value", "expected"), [("oui", True), ("ON", True), ("1", True), ("non", False), ("off", False)]
)
def test_switches_take_yes_and_no_words(value: str, expected: bool) -> None:
    assert _switch("automatiques", value) is expected


@pytest.mark.parametrize("value", ["", "peut-être", "2", "vrai"])
def test_any_other_switch_value_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(UsageError, match=r"automatiques=.*oui ou non"):
        _switch("automatiques", value)


def test_hours_are_toutes_or_a_list_of_utc_hours() -> None:
    assert _hours("toutes") == "toutes" and _hours(" nuit ") == "nuit"
    assert _hours("2") == [2]
    assert _hours("0, 2,22") == [0, 2, 22]


@pytest.mark.parametrize("value", ["", "24", "2,x", "-1", "2,,4", "deux", "²", "2,٤"])
def test_bad_hours_are_refused_not_dropped(value: str) -> None:
    with pytest.raises(UsageError, match="heures="):
        _hours(value)
