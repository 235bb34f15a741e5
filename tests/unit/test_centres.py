import tomllib
from pathlib import Path

import pytest

from appliance.domain.centres import parse_centres
from appliance.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config" / "centres.toml"


def test_the_manual_table_is_in_config() -> None:
    centres = {c.code: c for c in parse_centres(tomllib.loads(CONFIG.read_text()))}
    assert len(centres) == 11
    assert (centres["FD12"].slot.parity, centres["FD12"].slot.start, centres["FD12"].slot.end) == ("even", 0, 10)
    assert (centres["FD40"].slot.start, centres["FD40"].slot.end) == (50, 60)
    assert (centres["NEOLOGIK"].slot.parity, centres["NEOLOGIK"].slot.start) == ("odd", 50)
    assert centres["AGC AQUITAINE"].slot.describe() == "heure impaire de :40 à :50"
    even = sorted((c.slot.start, c.slot.end) for c in centres.values() if c.slot.parity == "even")
    assert (40, 50) not in even  # nobody holds even :40-:50


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "centre": [
            {"code": "A", "name": "a", "parity": "daily", "start": 0, "end": 10},
            {"code": "B", "name": "b", "parity": "odd", "start": 30, "end": 20},
            {"code": "A", "name": "again", "parity": "odd", "start": 0, "end": 10, "colour": "red"},
        ],
        "extra": 1,
    }
    with pytest.raises(ConfigError) as caught:
        parse_centres(data)
    problems = caught.value.problems
    assert any("parity" in p and "daily" in p for p in problems)
    assert any("centre B" in p and "créneau" in p for p in problems)
    assert any("centre A : défini deux fois" in p for p in problems)
    assert any("colour" in p for p in problems)
    assert any("extra" in p for p in problems)
