"""Retryable refusals of the central server over fakes (issue 29): every job that talks to it
(data backup, system backup, pull, restore) asks again within the same run, resuming from
what it received; it logs each retry at INFO and fails only when the retries are spent or
the slot closes, saying so. Other refusals and failures are not retried."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from appliance.domain.backup_mode import INCREMENTAL
from appliance.domain.schedule import planned_start, window_at
from appliance.domain.states import Baseline
from appliance.errors import RemoteRefused, Unavailable
from appliance.guardian.scheduler import Scheduler
from tests.fakes.guardian import CENTRES, DOSSIERS, FakeWorld
from tests.unit.guardian.test_scheduler import InlineRunner

RACE = "dossier(s) modifié(s) pendant le début de l'export"


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld()
    world.log_in()
    return world


def _changed_since_a_backup(world: FakeWorld) -> None:
    """A first backup, then a day of work on the central server: the next one is incremental."""
    world.parts.actions.data_backup()
    world.central.write("120002")
    world.clock.advance(3600)


def test_a_dossier_written_as_the_export_began_is_asked_again_and_the_backup_succeeds(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    _changed_since_a_backup(world)
    world.central.gives_up_after, world.central.gives_up_times = 2000, 1
    with caplog.at_level(logging.INFO):
        result = world.parts.actions.data_backup()
    assert result.retries == 1 and result.mode == INCREMENTAL
    assert result.seconds == 5.0, "the run's time, its wait included (the fake clock moves only when it sleeps)"
    assert len(world.central.held_sent) == 2, "one refused delta, then one served"
    assert world.backups.manifest(result.name) is not None
    assert world.history("backup")["ok"] is True and world.history("backup")["retries"] == 1
    assert world.clock.slept == 5.0
    retries = [r for r in caplog.records if "nouvel essai" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.INFO]
    assert "nouvel essai (2 sur 5) dans 5 s" in retries[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert world.backups.files["resume"] == {}, "the partial file served the retry, then was dropped"


def test_a_server_without_the_flag_is_understood_by_its_known_refusal(world: FakeWorld) -> None:
    _changed_since_a_backup(world)
    world.central.gives_up_after, world.central.gives_up_times, world.central.gives_up_status = 2000, 2, 6
    assert world.parts.actions.data_backup().retries == 2
    assert world.clock.slept == 5.0 + 10.0


def test_a_refusal_that_lasts_fails_after_the_attempts_of_a_manual_run_and_says_so(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    _changed_since_a_backup(world)
    world.central.gives_up_after = 2000
    with (
        pytest.raises(RemoteRefused, match=f"{re.escape(RACE)}.*abandon après 5 essais"),
        caplog.at_level(logging.INFO),
    ):
        world.parts.actions.data_backup()
    assert len(world.central.held_sent) == 5 and world.clock.slept == 5.0 + 10.0 + 20.0 + 40.0
    history = world.history("backup")
    assert history["ok"] is False and "abandon après 5 essais" in history["error"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"sauvegarde des données en échec : {history['error']}"
    ]
    assert world.backups.files["resume"], "what arrived is kept for the next run"


def test_a_scheduled_run_retries_no_later_than_its_slot() -> None:
    fd12 = next(c for c in CENTRES if c.code == "FD12")
    window = window_at(fd12.slot, dt.date(2026, 11, 28), 14)
    world = FakeWorld()
    world.seed = {"sauvegardes": {"automatiques": True, "heures": [14]}, "synchronisations": {}}
    world.log_in()
    world.clock.set(window.end - dt.timedelta(seconds=12))
    world.parts.actions.data_backup()
    world.central.write("120002")
    world.central.gives_up_after = 2000
    runner = InlineRunner()
    scheduler = Scheduler(world.parts.actions, world.parts.settings, world.parts.state, world.clock, runner)
    assert planned_start(window, "FD12") <= world.clock.now()
    scheduler.tick()
    assert len(runner.errors) == 1
    message = str(runner.errors[0])
    assert RACE in message and "abandon après 2 essais : le créneau se termine à 14:10 UTC" in message
    assert world.clock.slept == 5.0, "the second retry would have started after the slot's end"
    assert world.clock.now() < window.end
    assert world.history("scheduled")["ok"] is False


def test_other_refusals_and_a_cut_link_are_not_retried(world: FakeWorld) -> None:
    world.database.set_live(1, DOSSIERS)
    world.central.stall = True
    with pytest.raises(Unavailable):
        world.parts.actions.data_backup()
    world.central.stall = False
    with pytest.raises(RemoteRefused, match="mot de passe incorrect"):
        world.parts.actions.restore(["120003"], "wrong", overwrite_remote=False)
    assert world.clock.slept == 0.0 and world.central.sessions == 2 and world.central.imports == []


def test_a_full_export_refused_while_the_server_is_busy_is_retried(world: FakeWorld) -> None:
    world.central.busy["export"] = 2
    result = world.parts.actions.data_backup()
    assert result.retries == 2 and world.central.full_exports == 1


def test_the_system_backup_is_retried(world: FakeWorld) -> None:
    world.central.busy["system"] = 1
    result = world.parts.actions.system_backup()
    assert result.retries == 1 and result.files == len(world.central.system_files)


def test_a_pull_and_a_restore_are_retried(world: FakeWorld) -> None:
    world.database.set_live(1, DOSSIERS)
    world.state.save_baselines({d.code: Baseline(d.revision, d.revision) for d in DOSSIERS})
    world.central.write("120002")
    world.central.busy["export"] = 1
    assert world.parts.actions.pull(["120002"], overwrite_local=False).retries == 1
    world.central.busy["import"] = 1
    restored = world.parts.actions.restore(["120003"], "Demo-FD12-2026", overwrite_remote=False)
    assert [r.dossier for r in restored] == ["120003"]
    assert world.central.imports == [("resp.fd12", "120003")], "imported once, on the retry"
    assert world.clock.slept == 10.0
