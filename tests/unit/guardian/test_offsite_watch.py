"""The offsite copy seen like the rest, over fakes: the scheduled ``restic check`` and its
turning parts, the fifth indicator "Copie hors site", status, the Nagios check, /metrics,
``offsite check``, and the retention the Paramétrages choose."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from appliance.domain.offsite import RETENTION_FLOOR, next_check_part
from appliance.guardian.watch.check import check
from appliance.guardian.watch.metrics import registry, render
from appliance.guardian.watch.status import lines
from tests.fakes.guardian import FakeWorld
from tests.fakes.offsite import FakeOffsite
from tests.unit.guardian.test_cli import run

HOUR = 3600
OFFSITE = "copie_hors_site"


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(
        offsite=FakeOffsite(),
        environment={"NEOCUMA_MAX_BACKUP_AGE_HOURS": "26", "NEOCUMA_OFFSITE_CHECK_PARTS": "3"},
    )
    world.seed = {"sauvegardes": {"automatiques": True}}
    world.log_in()
    return world


def _sample(metrics: str, name: str) -> float:
    return float(next(line for line in metrics.splitlines() if line.startswith(f"{name} ")).split()[1])


def _offsite(world: FakeWorld) -> dict[str, object]:
    indicators = {i["name"]: i for i in world.parts.monitor.evaluate_and_record()}
    return indicators[OFFSITE]


def _checked(world: FakeWorld) -> list[tuple[int, int]]:
    assert world.offsite is not None
    return world.offsite.checked


def test_a_check_follows_the_first_push_then_one_a_day_each_on_the_next_part(world: FakeWorld) -> None:
    world.parts.actions.run_all()
    assert _checked(world) == [(1, 3)]
    assert world.history("offsite_check")["part"] == "1/3"
    world.clock.advance(2 * HOUR)
    world.parts.actions.data_backup()
    assert _checked(world) == [(1, 3)], "not due yet: checks are 24 h apart"
    for _ in range(3):
        world.clock.advance(24 * HOUR)
        world.parts.actions.data_backup()
    assert _checked(world) == [(1, 3), (2, 3), (3, 3), (1, 3)], "three checks read every part once"


def test_a_failed_check_turns_red_never_fails_the_backup_and_is_tried_again_on_the_same_part(
    world: FakeWorld,
) -> None:
    assert world.offsite is not None
    world.parts.actions.run_all()
    world.clock.advance(25 * HOUR)
    world.offsite.fault = "damaged"
    backup = world.parts.actions.data_backup()
    assert backup.name in world.backups.data_names() and world.history("backup")["ok"] is True
    assert world.history("offsite")["ok"] is True, "the push itself went through"
    failed = world.history("offsite_check")
    assert failed["ok"] is False and "repository contains errors" in failed["error"]
    indicator = _offsite(world)
    assert indicator["state"] == "rouge" and "(restic check) a échoué" in str(indicator["cause"])
    world.offsite.fault = None
    world.clock.advance(HOUR)
    world.parts.actions.data_backup()
    assert _checked(world) == [(1, 3), (2, 3)], "retried at the next run, on the part that failed"
    assert _offsite(world)["state"] == "vert"


def test_the_indicator_is_red_while_pushes_fail_and_says_when_the_last_one_succeeded(world: FakeWorld) -> None:
    assert world.offsite is not None
    assert _offsite(world)["state"] == "neutre", "configured, nothing pushed yet"
    world.parts.actions.run_all()
    green = _offsite(world)
    assert green["state"] == "vert" and "28/11/2026 à 12:00 UTC" in str(green["cause"])
    assert "3 copies" not in str(green["cause"]) and "2 copies" in str(green["cause"])
    world.offsite.fault = "unreachable"
    world.clock.advance(HOUR)
    world.parts.actions.data_backup()
    red = _offsite(world)
    assert red["state"] == "rouge" and "injoignable" in str(red["cause"])
    assert "dernière copie réussie le 28/11/2026 à 12:00 UTC" in str(red["cause"])
    assert world.notifier.sent and "Copie hors site passe au rouge" in world.notifier.sent[-1][0]
    world.offsite.fault = None
    world.parts.actions.offsite_push()
    assert _offsite(world)["state"] == "vert"


def test_no_copy_for_longer_than_a_backup_may_be_late_is_red(world: FakeWorld) -> None:
    world.parts.actions.run_all()
    world.clock.advance(27 * HOUR)
    indicator = _offsite(world)
    assert indicator["state"] == "rouge" and "en retard" in str(indicator["cause"])


def test_without_a_repository_the_indicator_is_neutral_and_says_how_to_configure_one() -> None:
    world = FakeWorld()
    world.log_in()
    world.parts.actions.run_all()
    indicator = _offsite(world)
    assert indicator["state"] == "neutre" and "NEOCUMA_OFFSITE_REPOSITORY" in str(indicator["cause"])
    assert "Copie hors site : non configurée" in "\n".join(lines(world.parts.status.collect()))


def test_status_check_and_metrics_show_the_copy(world: FakeWorld) -> None:
    world.parts.actions.run_all()
    world.clock.advance(HOUR)
    world.parts.monitor.evaluate_and_record()
    shown = "\n".join(lines(world.parts.status.collect()))
    assert "Copie hors site vers sftp:sauvegarde@nas.example.fr:/neocuma : le 28/11/2026 12:00:00 UTC" in shown
    assert "2 copies" in shown and "contrôle du 28/11/2026 12:00:00 UTC (13:00 à Paris) : partie 1/3 intacte" in shown
    status, line = check(world.state, world.clock, world.parts.check_limits)
    assert status == 0 and line.startswith("NEOCUMA GUARDIAN OK - 5/5 indicateurs verts"), line
    assert "offsite=1;;;0;1" in line and "offsite_age=3600s;70200;93600;0;" in line and "offsite_size=" in line
    metrics = render(registry(world.state, world.backups)).decode()
    assert 'neocuma_guardian_component_up{component="copie_hors_site"} 1.0' in metrics
    pushed = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC).timestamp()
    assert _sample(metrics, "neocuma_guardian_offsite_last_copy_timestamp_seconds") == pushed, "a moment, not an age"
    assert "_age_seconds" not in metrics
    assert "neocuma_guardian_offsite_copies 2.0" in metrics
    assert 'neocuma_guardian_last_run_failed{job="offsite_check"} 0.0' in metrics


def test_the_offsite_age_is_measured_when_check_runs_not_at_the_last_monitor_round(world: FakeWorld) -> None:
    world.parts.actions.run_all()
    world.parts.monitor.evaluate_and_record()
    world.clock.advance(90)  # no monitor round since: the snapshot is 90 s old
    status, line = check(world.state, world.clock, world.parts.check_limits)
    assert status == 0 and "offsite_age=90s;70200;93600;0;" in line, line
    assert "age_seconds" not in world.state.document("status")["offsite"], "an age in the snapshot freezes"


def test_the_last_success_outlives_a_failure_in_history_and_metrics(world: FakeWorld) -> None:
    assert world.offsite is not None
    world.parts.actions.run_all()
    succeeded = world.history("offsite")["at"]
    world.offsite.fault = "password"
    world.clock.advance(HOUR)
    world.parts.actions.data_backup()
    failed = world.history("offsite")
    assert failed["ok"] is False and failed["last_success"] == succeeded
    metrics = render(registry(world.state, world.backups)).decode()
    assert 'neocuma_guardian_last_run_failed{job="offsite"} 1.0' in metrics
    assert 'neocuma_guardian_last_success_timestamp_seconds{job="offsite"} 1.7958672e+09' in metrics


def test_offsite_check_on_the_command_line_reads_the_next_part(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("NEOCUMA_DB_PASSWORD", "x"), ("NEOCUMA_LOCAL_CHECK_TOKEN", "c" * 32)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEOCUMA_GUARDIAN_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEOCUMA_GUARDIAN_CONFIG", str(tmp_path / "none.toml"))
    world.parts.actions.run_all()
    capsys.readouterr()
    assert run(world, "offsite", "check", "--json") == 0
    assert json.loads(capsys.readouterr().out)["part"] == "2/3"
    assert run(world, "offsite", "check") == 0
    assert "partie 3/3 des données intactes" in capsys.readouterr().out
    assert world.offsite is not None
    world.offsite.fault = "damaged"
    assert run(world, "offsite", "check") != 0
    assert "restic check a échoué" in capsys.readouterr().err


def test_the_retention_of_the_parametrages_is_the_one_restic_forget_gets(world: FakeWorld) -> None:
    world.parts.settings.save(
        {"sauvegardes": {"automatiques": True}, "hors_site": {"quotidiennes": 7, "hebdomadaires": 4, "mensuelles": 24}},
        by="resp.fd12",
        confirm=lambda: None,  # the password typed again (fewer daily and weekly copies)
    )
    world.parts.actions.data_backup()
    assert world.offsite is not None
    kept = world.offsite.forgotten[-1][1]
    assert (kept.daily, kept.weekly, kept.monthly) == (7, 4, 24)


def test_a_retention_written_before_the_floor_is_read_as_the_floor(world: FakeWorld) -> None:
    """A settings.json from before the floor (issue 23, 11) never has a push forget more."""
    erased = {"quotidiennes": 0, "hebdomadaires": 0, "mensuelles": 1}
    world.state.save_document("settings", {"sauvegardes": {"automatiques": True}, "hors_site": erased})
    world.parts.actions.data_backup()
    assert world.offsite is not None and world.offsite.forgotten[-1][1] == RETENTION_FLOOR


@pytest.mark.parametrize(
    ("last", "hours_later", "expected"),
    [
        ((None, None, None), 0, 1),  # never checked
        ((0, True, 2), 23, None),  # not due
        ((0, True, 2), 24, 3),
        ((0, True, 3), 24, 1),  # the parts turn
        ((0, False, 2), 1, 2),  # a failed check: the same part at the next run
        ((0, True, 9), 24, 1),  # the parts' count went down
    ],
)
def test_next_check_part(
    last: tuple[int | None, bool | None, int | None], hours_later: int, expected: int | None
) -> None:
    import datetime as dt

    start = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
    at = None if last[0] is None else start
    assert next_check_part(at, last[1], last[2], start + dt.timedelta(hours=hours_later), 24, 3) == expected


def test_a_check_every_zero_hours_means_never() -> None:
    import datetime as dt

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert next_check_part(None, None, None, now, 0, 3) is None
