"""The daemon's tick, monitor loop and health, and the background job runner."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from appliance.errors import Refused
from appliance.guardian.daemon import LOGIN_RETRY_SECONDS, Daemon
from appliance.guardian.jobs.progress import JobRunner, Progress
from appliance.guardian.timers import Timers
from tests.fakes.guardian import FakeWorld, demo_world


def test_the_tick_logs_in_the_demo_then_retries_later_when_it_cannot() -> None:
    world = demo_world()
    world.central.reachable = False
    daemon = Daemon(world.parts)
    daemon.tick()
    assert not daemon.logged_in
    world.central.reachable = True
    daemon.tick()
    assert not daemon.logged_in, "the next attempt waits"
    world.clock.advance(LOGIN_RETRY_SECONDS + 1)
    daemon.tick()
    assert daemon.logged_in and world.state.logged_in() and daemon.monitor_wakeup.is_set()


def test_a_failing_timer_is_logged_and_retried_never_fatal(caplog: pytest.LogCaptureFixture) -> None:
    world = FakeWorld()
    daemon = Daemon(world.parts)
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        if len(calls) == 2:
            daemon.stopping.set()
        raise RuntimeError("boom")

    timers = Timers()
    timers.every(0.01, "tick", step)
    runner = threading.Thread(target=daemon.run, args=(timers,), daemon=True)
    runner.start()
    runner.join(5)
    assert not runner.is_alive() and len(calls) == 2 and "tick en échec" in caplog.text


def test_the_timers_run_at_once_then_every_period_and_survive_a_clock_going_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []
    timers = Timers()
    timers.every(600, "tick", lambda: calls.append(time.monotonic()))
    timers.run_pending()
    assert len(calls) == 1, "the first run is at once"
    timers.run_pending()
    assert len(calls) == 1 and 590 < timers.run_pending() <= 600, "then once per period"
    # A wall clock set back a day pushes schedule's next run a day away: re-armed at once.
    next_run = timers.next_run("tick")
    assert next_run is not None
    for job in timers._scheduler.get_jobs("tick"):
        job.next_run = next_run + dt.timedelta(days=1)
    timers.run_pending()
    assert len(calls) == 2 and "l'horloge a reculé" in caplog.text


def test_the_daemon_ticks_on_its_timers() -> None:
    world = demo_world()
    daemon = Daemon(world.parts)
    timers = daemon.timers()
    timers.run_pending()
    assert daemon.logged_in, "the tick ran (and logged the demo in)"
    assert timers.next_run("tick") is not None


def test_the_monitor_loop_runs_a_round_at_once_on_a_refresh_request() -> None:
    world = FakeWorld()
    world.log_in()
    daemon = Daemon(world.parts)
    rounds: list[float] = []
    first_round = threading.Event()

    def evaluate() -> list[dict[str, object]]:
        rounds.append(time.monotonic())
        first_round.set()
        if len(rounds) == 2:  # as the signal handler does
            daemon.stopping.set()
            daemon.monitor_wakeup.set()
        return []

    object.__setattr__(world.parts.monitor, "evaluate_and_record", evaluate)
    watcher = threading.Thread(target=daemon.watch, args=(600.0,), daemon=True)
    watcher.start()
    first_round.wait(5)
    world.clock.advance(1)
    world.state.request_refresh()
    watcher.join(5)
    assert not watcher.is_alive()
    assert len(rounds) == 2 and rounds[1] - rounds[0] < 3, "the refresh request cut the 600 s wait short"


def test_the_daemons_health_is_the_guardians_own_not_the_backups_freshness() -> None:
    world = FakeWorld(environment={"NEOCUMA_MAX_BACKUP_AGE_HOURS": "2"})
    world.log_in()
    daemon = Daemon(world.parts)
    assert daemon.health()[0]
    world.central.reachable = False  # a long internet outage: no backup for three hours
    world.clock.advance(3 * 3600)
    daemon.last_tick = world.clock.monotonic()
    healthy, body = daemon.health()
    assert healthy, body
    world.database.down = True
    healthy, body = daemon.health()
    assert not healthy and body["reasons"][0].startswith("the local database does not answer")
    world.database.down = False
    world.state_store.unreadable.add("history")
    healthy, body = daemon.health()
    assert not healthy and body["reasons"][0].startswith("the state volume cannot be read")
    world.state_store.unreadable.clear()
    world.clock.advance(200)
    healthy, body = daemon.health()
    assert not healthy and "tick has not run" in body["reasons"][0]


def test_the_runner_runs_one_job_at_a_time_and_keeps_its_outcome() -> None:
    progress = Progress()
    finished = threading.Event()
    release = threading.Event()
    runner = JobRunner(progress, FakeWorld().clock.now, on_finish=finished.set)

    def work() -> str:
        progress.update(step="étape 1", bytes_done=10, dossiers=2)
        release.wait(5)
        return "fait"

    job = runner.start("Sauvegarde", work)
    with pytest.raises(Refused, match="déjà en cours : Sauvegarde"):
        runner.start("Synchronisation", lambda: "x")
    assert progress.snapshot()["current"]["step"] == "étape 1"
    release.set()
    assert finished.wait(5)
    runner.wait(5)
    last = progress.snapshot()["last"]
    assert last["id"] == job.id and last["ok"] is True and last["message"] == "fait" and last["steps"] == ["étape 1"]
    assert progress.snapshot()["current"] is None


def test_a_failing_job_is_recorded_with_its_reason_and_a_bug_does_not_kill_the_runner() -> None:
    progress = Progress()
    runner = JobRunner(progress, FakeWorld().clock.now)

    def refused() -> str:
        raise Refused("non")

    runner.start("A", refused)
    runner.wait(5)
    assert progress.snapshot()["last"]["ok"] is False and progress.snapshot()["last"]["message"] == "non"
    runner.start("B", lambda: str(1 / 0))
    runner.wait(5)
    assert progress.snapshot()["last"]["message"].startswith("erreur interne")


def test_an_unexpected_error_is_recorded_as_a_failure_not_left_as_the_last_success() -> None:
    """Issue 12, finding 7: an error outside the project's own types reaches the history."""
    world = demo_world()
    world.parts.identification.demo_autologin()
    world.parts.actions.data_backup()
    assert world.history("backup")["ok"] is True

    def broken(full: bool = False) -> None:
        raise KeyError("manifest")

    object.__setattr__(world.parts.actions.backup, "data", broken)
    with pytest.raises(KeyError):
        world.parts.actions.data_backup()
    assert world.history("backup")["ok"] is False
    assert world.history("backup")["error"] == "erreur interne : KeyError: 'manifest'"


def test_after_its_login_the_daemon_settles_a_switch_a_killed_guardian_left(caplog: pytest.LogCaptureFixture) -> None:
    from tests.fakes.guardian import DOSSIERS

    world = demo_world()
    world.database.set_live(5, DOSSIERS)
    world.state.save_document(
        "sync-pending",
        {
            "generation": 5,
            "system": 5,
            "previous": [4, 4],
            "backup": "x.zip",
            "revisions": {d.code: 7 for d in DOSSIERS},
        },
    )
    daemon = Daemon(world.parts)
    daemon.tick()
    daemon.runner.wait(10)
    last = world.parts.progress.snapshot()["last"]
    assert last["name"] == "Reprise d'une synchronisation interrompue" and last["message"] == "génération 5 confirmée"
    assert world.state.document("sync-pending") == {} and set(world.state.baselines()) == {d.code for d in DOSSIERS}


def test_the_daemon_refuses_to_start_for_a_logged_in_centre_the_centres_table_gives_no_slot(
    tmp_path: pytest.TempPathFactory,
) -> None:
    import logging

    from appliance.errors import ConfigError
    from appliance.guardian.daemon import serve

    world = FakeWorld(environment={"NEOCUMA_GUARDIAN_STATE_DIR": str(tmp_path)})
    world.log_in()
    world.centres[:] = [c for c in world.centres if c.code != "FD12"]
    handlers = list(logging.getLogger().handlers)
    try:
        with pytest.raises(ConfigError, match="'FD12' n'a pas de créneau"):
            serve(world.parts)
    finally:
        for handler in logging.getLogger().handlers:
            if handler not in handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
