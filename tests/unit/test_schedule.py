"""Slots, windows and the scheduler's decisions, with a fake clock."""

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from appliance.domain.centres import Slot, parse_centres
from appliance.domain.offsite import RETENTION_FLOOR, Retention, shortens
from appliance.domain.schedule import allowed_hours, check_hours, decide, planned_start, window_at
from appliance.domain.settings import Settings, parse_settings, retention_document, settings_changes
from appliance.errors import BadRequest, ConfigError

CENTRES = {
    c.code: c
    for c in parse_centres(tomllib.loads((Path(__file__).resolve().parents[2] / "config" / "centres.toml").read_text()))
}
DAY = dt.date(2026, 11, 28)


def at(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("code", "parity", "start", "end"),
    [
        ("FD12", "even", 0, 10),
        ("FD24", "even", 10, 20),
        ("FD31", "even", 20, 30),
        ("FD33", "even", 30, 40),
        ("FD40", "even", 50, 60),
        ("FD47", "odd", 0, 10),
        ("FD64", "odd", 10, 20),
        ("FD81", "odd", 20, 30),
        ("FD82", "odd", 30, 40),
        ("AGC AQUITAINE", "odd", 40, 50),
        ("NEOLOGIK", "odd", 50, 60),
    ],
)
def test_every_centre_gets_its_windows_and_starts_in_the_first_half(
    code: str, parity: str, start: int, end: int
) -> None:
    slot = CENTRES[code].slot
    assert (slot.parity, slot.start, slot.end) == (parity, start, end)
    hours = allowed_hours(slot)
    assert hours == list(range(0 if parity == "even" else 1, 24, 2))
    for hour in hours:
        window = window_at(slot, DAY, hour)
        assert window.start == at(hour, start)
        assert window.end == window.start + dt.timedelta(minutes=end - start)
        moment = planned_start(window, code)
        assert window.start <= moment <= window.start + (window.end - window.start) / 2
        assert planned_start(window, code) == moment, "the same moment after a restart"


def test_fd40_window_ends_on_the_next_hour() -> None:
    window = window_at(CENTRES["FD40"].slot, DAY, 22)
    assert (window.start, window.end) == (at(22, 50), at(23, 0))
    last = window_at(CENTRES["NEOLOGIK"].slot, DAY, 23)
    assert last.end == dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)


def test_hours_outside_the_slot_are_refused_with_the_allowed_windows() -> None:
    slot = CENTRES["FD12"].slot
    assert check_hours(slot, [2, 4]) == [2, 4]
    with pytest.raises(BadRequest) as caught:
        check_hours(slot, [3, 4])
    assert "03" in str(caught.value) and "02:00–02:10" in str(caught.value) and "heure paire" in str(caught.value)
    with pytest.raises(BadRequest, match="50–23:00"):
        check_hours(CENTRES["FD40"].slot, [1])
    with pytest.raises(BadRequest, match="aucune heure"):
        check_hours(slot, [])


SLOT = Slot("even", 0, 10)


def test_a_window_runs_once_at_its_planned_moment() -> None:
    window = window_at(SLOT, DAY, 2)
    moment = planned_start(window, "FD12")
    watched = at(1, 0)
    assert decide(moment - dt.timedelta(seconds=1), SLOT, [2], "FD12", None, watched).run is None
    decision = decide(moment, SLOT, [2], "FD12", None, watched)
    assert decision.run == window
    after = decide(moment + dt.timedelta(minutes=1), SLOT, [2], "FD12", window.key, watched)
    assert after.run is None, "no second run in the same window, even after a restart"
    assert after.next_window == window_at(SLOT, DAY + dt.timedelta(days=1), 2)


def test_a_start_late_in_the_window_still_runs_but_not_after_it() -> None:
    assert decide(at(2, 9, 59), SLOT, [2], "FD12", None, at(2, 9)).run == window_at(SLOT, DAY, 2)
    late = decide(at(2, 10), SLOT, [2], "FD12", None, at(1, 0))
    assert late.run is None and late.missed == [window_at(SLOT, DAY, 2)]


def test_missed_windows_are_reported_not_replayed() -> None:
    # Down from 01:00 to 09:05 with backups at 2, 4, 6, 8: four missed windows, no burst.
    decision = decide(at(9, 5), SLOT, [2, 4, 6, 8], "FD12", None, at(1, 0))
    assert [w.key for w in decision.missed] == [
        "2026-11-28T02:00Z",
        "2026-11-28T04:00Z",
        "2026-11-28T06:00Z",
        "2026-11-28T08:00Z",
    ]
    assert decision.run is None
    # Once reported (watched from now on), they are not reported again.
    assert decide(at(9, 6), SLOT, [2, 4, 6, 8], "FD12", None, at(9, 5)).missed == []
    # The last run window is never missed.
    assert decide(at(3, 0), SLOT, [2], "FD12", "2026-11-28T02:00Z", at(1, 0)).missed == []


def test_next_run_across_midnight() -> None:
    decision = decide(at(23, 30), SLOT, [0], "FD12", None, at(23, 0))
    assert decision.next_window == window_at(SLOT, DAY + dt.timedelta(days=1), 0)
    assert decision.next_start is not None and decision.next_start.date() == DAY + dt.timedelta(days=1)


def test_settings_validation_reports_every_problem() -> None:
    slot = CENTRES["FD12"].slot
    assert parse_settings({}) == Settings()
    good = parse_settings(
        {"sauvegardes": {"automatiques": False, "heures": [4, 2]}, "synchronisations": {"apres_sauvegarde": False}},
        slot,
    )
    assert good == Settings(False, (2, 4), False) and good.effective_hours(slot) == [2, 4]
    assert Settings().effective_hours(slot) == [2], "one run a night by default"
    assert Settings(hours="toutes").effective_hours(slot) == allowed_hours(slot)
    assert parse_settings({"sauvegardes": {"heures": "toutes"}}).hours == "toutes"
    with pytest.raises(ConfigError) as caught:
        parse_settings({"sauvegardes": {"automatiques": "oui", "heures": [3], "frequence": 1}, "autre": {}}, slot)
    text = str(caught.value)
    for words in ("automatiques", "hors du créneau", "frequence", "[autre]"):
        assert words in text
    with pytest.raises(ConfigError, match="liste d'heures"):
        parse_settings({"sauvegardes": {"heures": [25]}})
    with pytest.raises(ConfigError, match='"nuit", "toutes"'):
        parse_settings({"sauvegardes": {"heures": "jour"}})


def test_the_offsite_retention_of_the_settings_is_whole_or_refused() -> None:
    chosen = parse_settings({"hors_site": {"quotidiennes": 7, "hebdomadaires": 4, "mensuelles": 24}})
    assert chosen.offsite == Retention(7, 4, 24)
    assert parse_settings(chosen.as_document()) == chosen, "written and read back the same"
    assert "hors_site" not in Settings().as_document(), "absent: the configuration's counts"
    with pytest.raises(ConfigError) as caught:
        parse_settings({"hors_site": {"quotidiennes": -1, "hebdomadaires": "12", "annuelles": 2}})
    text = str(caught.value)
    for words in ("hors_site.quotidiennes", "hors_site.hebdomadaires", "hors_site.mensuelles", "hors_site.annuelles"):
        assert words in text, text


def test_the_offsite_retention_set_has_a_floor_and_one_read_back_is_raised_to_it() -> None:
    """Issue 23, 11: "0 daily, 0 weekly, 1 monthly" would have the next push forget all but one copy."""
    with pytest.raises(ConfigError) as caught:
        parse_settings({"hors_site": {"quotidiennes": 0, "hebdomadaires": 0, "mensuelles": 1}}, strict=True)
    assert caught.value.problems == [
        "hors_site.quotidiennes doit garder au moins 7 copies (plancher de la rétention hors site, docs/offsite.md), pas 0",
        "hors_site.hebdomadaires doit garder au moins 4 copies (plancher de la rétention hors site, docs/offsite.md), pas 0",
        "hors_site.mensuelles doit garder au moins 3 copies (plancher de la rétention hors site, docs/offsite.md), pas 1",
    ]
    at_floor = {"hors_site": retention_document(RETENTION_FLOOR)}
    assert parse_settings(at_floor, strict=True).offsite == Retention(7, 4, 3)
    # Written before the floor existed: read as the floor, so a push never forgets more.
    old = parse_settings({"hors_site": {"quotidiennes": 0, "hebdomadaires": 0, "mensuelles": 1}})
    assert old.offsite == RETENTION_FLOOR


def test_a_retention_is_shortened_when_any_count_goes_down() -> None:
    current = Retention(30, 12, 12)
    assert not shortens(current, current) and not shortens(current, Retention(31, 12, 12))
    for fewer in (Retention(29, 12, 12), Retention(30, 11, 12), Retention(30, 12, 11), Retention(60, 24, 3)):
        assert shortens(current, fewer), fewer


def test_the_changes_between_two_settings_name_each_key_with_its_old_and_new_value() -> None:
    before = {"sauvegardes": {"automatiques": True, "heures": [2]}, "hors_site": retention_document(Retention())}
    after = {"sauvegardes": {"automatiques": False, "heures": [2, 4]}, "hors_site": retention_document(RETENTION_FLOOR)}
    assert settings_changes(before, after) == [
        "sauvegardes.automatiques : oui → non",
        "sauvegardes.heures : 02 → 02, 04",
        "hors_site.quotidiennes : 30 → 7",
        "hors_site.hebdomadaires : 12 → 4",
        "hors_site.mensuelles : 12 → 3",
    ]
    assert settings_changes(before, before) == []


def _runs(settings: Settings, code: str, days: int, step: dt.timedelta) -> list[dt.datetime]:
    """The moments a scheduler ticking every ``step`` starts a run, over ``days`` days."""
    slot, last, runs = CENTRES[code].slot, None, []
    now = at(0, 0)
    while now < at(0, 0) + dt.timedelta(days=days):
        decision = decide(now, slot, settings.effective_hours(slot), code, last, at(0, 0))
        if decision.run is not None:
            last = decision.run.key
            runs.append(now)
        now += step
    return runs


@pytest.mark.parametrize(("code", "hour"), [("FD12", 2), ("FD47", 3)])
def test_the_shipped_settings_run_once_a_night_inside_the_slot(code: str, hour: int) -> None:
    shipped = tomllib.loads((Path(__file__).resolve().parents[2] / "config" / "guardian-settings.toml").read_text())
    settings = parse_settings(shipped, CENTRES[code].slot)
    runs = _runs(settings, code, 2, dt.timedelta(seconds=60))
    assert len(runs) == 2, runs
    slot = CENTRES[code].slot
    for moment in runs:
        assert moment.hour == hour and slot.start <= moment.minute < slot.end, moment
