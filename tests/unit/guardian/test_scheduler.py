"""The scheduler's tick over fakes: a run inside FD12's slot (even UTC hours, :00–:10) at
its planned moment, once per window even across a restart, missed windows reported,
nothing while disabled, busy or logged out, and what the run records."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest

from appliance.domain.schedule import planned_start, window_at
from appliance.guardian.scheduler import Scheduler
from tests.fakes.guardian import CENTRES, FakeWorld
from tests.fakes.offsite import FakeOffsite

FD12 = next(c for c in CENTRES if c.code == "FD12")
WINDOW = window_at(FD12.slot, dt.date(2026, 11, 28), 14)
PLANNED = planned_start(WINDOW, "FD12")


class InlineRunner:
    """Runs a job at once, in the caller's thread, and keeps its outcome."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.messages: list[str] = []
        self.errors: list[Exception] = []
        self.is_busy = False

    def busy(self) -> bool:
        return self.is_busy

    def start(self, name: str, work: Callable[[], str]) -> Any:
        self.started.append(name)
        try:
            self.messages.append(work())
        except Exception as error:  # noqa: BLE001 - kept for the test to look at
            self.errors.append(error)


def _world(settings: dict[str, Any] | None = None) -> tuple[FakeWorld, Scheduler, InlineRunner]:
    world = FakeWorld()
    world.seed = settings or {"sauvegardes": {"automatiques": True, "heures": [14]}, "synchronisations": {}}
    world.log_in()
    world.clock.set(WINDOW.start - dt.timedelta(minutes=30))
    runner = InlineRunner()
    parts = world.parts
    return world, Scheduler(parts.actions, parts.settings, parts.state, world.clock, runner), runner


def test_nothing_runs_before_the_planned_moment_and_the_next_start_is_shown() -> None:
    world, scheduler, runner = _world()
    decision = scheduler.tick()
    assert decision is not None and decision.run is None and runner.started == []
    assert world.state.document("schedule")["next_start"] == PLANNED.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_window_runs_once_at_its_planned_moment_with_backup_and_sync() -> None:
    world, scheduler, runner = _world()
    world.clock.set(PLANNED)
    assert scheduler.tick().run == WINDOW  # type: ignore[union-attr]
    assert runner.started == ["sauvegarde programmée"] and runner.errors == []
    assert "génération 1 en service" in runner.messages[0]
    assert world.history("scheduled")["ok"] is True and world.history("scheduled")["window"] == WINDOW.key
    world.clock.advance(60)
    scheduler.tick()
    assert runner.started == ["sauvegarde programmée"], "a window runs once"


def test_a_scheduled_run_pushes_its_offsite_copy_once_after_its_sync() -> None:
    world, _, _ = _world()
    offsite = FakeOffsite()
    world = FakeWorld(offsite=offsite, seed=world.seed)
    world.log_in()
    world.clock.set(PLANNED)
    runner = InlineRunner()
    scheduler = Scheduler(world.parts.actions, world.parts.settings, world.parts.state, world.clock, runner)
    pushes: list[bool] = []
    offsite.on_ensure = lambda: pushes.append("sync" in world.state.history())
    assert scheduler.tick().run == WINDOW  # type: ignore[union-attr]
    assert runner.errors == [] and pushes == [True], "one push, after the sync"
    assert sorted(c.kind for c in offsite.copies()) == ["data", "system"]


def test_a_failed_scheduled_backup_still_pushes_what_the_repository_lacks() -> None:
    world, _, _ = _world()
    offsite = FakeOffsite()
    world = FakeWorld(offsite=offsite, seed=world.seed)
    world.log_in()
    offsite.fault = "unreachable"
    world.parts.actions.data_backup()  # an earlier backup, whose push failed
    assert offsite.held == {} and world.history("offsite")["ok"] is False
    offsite.fault = None
    world.central.reachable = False
    world.clock.set(PLANNED)
    runner = InlineRunner()
    Scheduler(world.parts.actions, world.parts.settings, world.parts.state, world.clock, runner).tick()
    assert len(runner.errors) == 1 and world.history("scheduled")["ok"] is False
    assert [c.kind for c in offsite.copies()] == ["data"], "the earlier backup was pushed all the same"


def test_a_restart_inside_the_window_never_runs_it_twice() -> None:
    world, scheduler, _runner = _world()
    world.clock.set(PLANNED)
    scheduler.tick()
    parts = world.parts
    restarted = Scheduler(parts.actions, parts.settings, parts.state, world.clock, InlineRunner())
    world.clock.advance(30)
    assert restarted.tick().run is None  # type: ignore[union-attr]
    assert len(world.backups.data_names()) == 1


def test_the_window_is_marked_before_the_run_so_a_crash_mid_run_does_not_repeat_it() -> None:
    world, scheduler, _runner = _world()
    world.central.reachable = False
    world.clock.set(PLANNED)
    scheduler.tick()
    assert world.state.document("schedule")["last_window"] == WINDOW.key
    assert world.history("scheduled")["ok"] is False and "est injoignable" in world.history("scheduled")["error"]


def test_a_busy_runner_delays_the_run_without_marking_the_window() -> None:
    world, scheduler, runner = _world()
    world.clock.set(PLANNED)
    runner.is_busy = True
    scheduler.tick()
    assert runner.started == [] and "last_window" not in world.state.document("schedule")
    runner.is_busy = False
    world.clock.advance(60)
    assert scheduler.tick().run == WINDOW  # type: ignore[union-attr]


def test_windows_passed_while_the_guardian_was_down_are_reported_not_replayed(caplog: pytest.LogCaptureFixture) -> None:
    world, scheduler, runner = _world({"sauvegardes": {"automatiques": True, "heures": [2, 14]}})
    world.state.watching_since()  # first start at 13:30 the day before the outage
    world.state.save_document("schedule", {"watched_since": "2026-11-26T13:00:00Z"})
    with caplog.at_level(logging.WARNING):
        scheduler.tick()
    missed = world.history("missed")
    assert missed["count"] == 4 and "2026-11-28T02:00Z" in missed["windows"]
    assert runner.started == [], "missed windows are never run in a burst"
    assert "créneau de sauvegarde manqué" in caplog.text


def test_disabled_backups_and_a_guardian_not_logged_in_schedule_nothing() -> None:
    world, scheduler, runner = _world({"sauvegardes": {"automatiques": False}})
    world.clock.set(PLANNED)
    assert scheduler.tick() is None
    world, scheduler, runner = _world()
    world.state_store.documents.pop("credentials")
    world.clock.set(PLANNED)
    assert scheduler.tick() is None and runner.started == []


def test_without_sync_after_backup_only_the_backups_run() -> None:
    world, scheduler, runner = _world(
        {"sauvegardes": {"automatiques": True, "heures": [14]}, "synchronisations": {"apres_sauvegarde": False}}
    )
    world.clock.set(PLANNED)
    scheduler.tick()
    assert world.database.switches == [] and world.backups.system_zip() is not None
    assert "génération" not in runner.messages[0]


def test_a_sync_refused_after_a_scheduled_backup_is_said_but_the_backup_counts() -> None:
    world, scheduler, runner = _world()
    world.database.control = world.database.control.__class__(None, None, "fallback")
    world.clock.set(PLANNED)
    scheduler.tick()
    assert "synchronisation non faite" in runner.messages[0] and world.history("scheduled")["ok"] is True


def test_a_run_that_ends_after_its_window_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    world, scheduler, _runner = _world()
    world.clock.set(PLANNED)
    original = world.parts.actions.sync_job.local.dossier_count

    def slow(login: str) -> tuple[int | None, int]:
        world.clock.set(WINDOW.end + dt.timedelta(minutes=1))
        return original(login)

    world.local.dossier_count = slow  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        scheduler.tick()
    assert "dépassement du créneau" in caplog.text


def test_an_unexpected_error_in_a_scheduled_run_is_recorded_as_its_failure() -> None:
    """Issue 12, finding 7: a bug turns the backups indicator red, not the last success."""
    world, scheduler, runner = _world()

    def broken(full: bool = False) -> None:
        raise TypeError("unexpected manifest")

    object.__setattr__(world.parts.actions.backup, "data", broken)
    world.clock.set(PLANNED)
    scheduler.tick()
    assert isinstance(runner.errors[0], TypeError)
    assert world.history("scheduled")["ok"] is False
    assert world.history("scheduled")["error"] == "erreur interne : TypeError: unexpected manifest"


def _planned(day: int) -> dt.datetime:
    return planned_start(window_at(FD12.slot, dt.date(2026, 11, day), 14), "FD12")


def test_a_clock_jumped_forward_then_back_neither_replays_nor_hides_windows(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 12's clock jump: forward a month, the windows skipped are reported in one
    record and never run; back to the true date, the day's window runs (the month-ahead
    one it ran is no reason to skip it) and a window missed after that is still reported."""
    world, scheduler, runner = _world()
    world.clock.set(PLANNED)
    scheduler.tick()
    world.clock.set(planned_start(window_at(FD12.slot, dt.date(2026, 12, 28), 14), "FD12"))
    scheduler.tick()
    assert len(runner.started) == 2 and world.history("missed")["count"] == 29, "skipped, not replayed"
    world.clock.set(WINDOW.end + dt.timedelta(hours=6))  # back: 20:10 on the true day
    with caplog.at_level(logging.WARNING):
        scheduler.tick()
    assert "l'horloge a reculé" in caplog.text
    world.clock.set(_planned(30))  # the 29th's window passed while the guardian was down
    assert scheduler.tick().run == window_at(FD12.slot, dt.date(2026, 11, 30), 14)  # type: ignore[union-attr]
    assert len(runner.started) == 3 and runner.errors == []
    missed = world.history("missed")
    assert missed["count"] == 1 and missed["windows"] == "2026-11-29T14:00Z", missed


def test_a_centre_the_centres_table_gives_no_slot_is_said_once_and_recorded_never_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world, scheduler, runner = _world()
    world.centres[:] = [c for c in world.centres if c.code != "FD12"]
    world.clock.set(PLANNED)
    with caplog.at_level(logging.ERROR):
        assert scheduler.tick() is None
        scheduler.tick()
    said = [r.getMessage() for r in caplog.records if "aucune sauvegarde programmée" in r.getMessage()]
    assert len(said) == 1 and "'FD12' n'a pas de créneau" in said[0] and "NEOCUMA_CENTRES_PATH" in said[0]
    assert world.history("scheduled")["ok"] is False and "pas de créneau" in world.history("scheduled")["error"]
    assert runner.started == []
