"""The saves of fallback work over fakes (docs/fallback.md, "Fallback work survives the
host"): nothing in standby mode, a save once the interval has passed in fallback mode, only
the dossiers changed since their last save, a busy lock put off to the next turn, and a
failure recorded without stopping anything."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from appliance.domain.backups import local_copies_to_prune
from appliance.domain.offsite import LOCAL, OffsiteCopy, copy_tags, local_to_push
from appliance.domain.states import Baseline
from appliance.errors import BadRequest
from appliance.guardian.daemon import Daemon
from appliance.guardian.watch.metrics import registry, render
from tests.fakes.guardian import DOSSIERS, FakeWorld
from tests.fakes.offsite import FakeOffsite

MINUTE = 60.0


def _world(mode: str = "fallback", **environment: str) -> FakeWorld:
    """Synchronised, then in ``mode``: both sides at the same revisions, baselines equal."""
    world = FakeWorld(environment=environment)
    world.log_in()
    world.database.set_live(1, DOSSIERS, mode=mode)
    world.state.save_baselines({d.code: Baseline(d.revision, d.revision) for d in DOSSIERS})
    return world


def _saves(world: FakeWorld) -> list[str]:
    return sorted(world.backups.local_copy_contents())


def test_in_standby_mode_nothing_is_saved_whatever_the_local_revisions() -> None:
    world = _world("standby")
    world.database.write("120001")
    for _ in range(3):
        assert world.parts.fallback_saves.tick() is None
        world.clock.advance(20 * MINUTE)
    assert _saves(world) == [] and world.history("fallback_save") == {}


def test_in_fallback_mode_the_changed_dossiers_are_saved_once_the_interval_has_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = _world()
    saves = world.parts.fallback_saves
    assert saves.tick() is None, "fallback mode first seen: the interval starts"
    world.database.write("120001")
    world.database.write("120003")
    world.clock.advance(14 * MINUTE)
    assert saves.tick() is None and _saves(world) == [], "not before 15 minutes (the default)"
    world.clock.advance(1 * MINUTE)
    with caplog.at_level(logging.INFO, logger="appliance.guardian.jobs.fallback_saves"):
        assert saves.tick() == ["120001", "120003"]
    assert _saves(world) == ["2026-11-28T12-15-00Z-120001-secours.zip", "2026-11-28T12-15-00Z-120003-secours.zip"]
    assert "sauvegarde locale du mode secours : 2 dossier(s) gardé(s) : 120001, 120003" in caplog.text
    entry = world.history("fallback_save")
    assert entry["ok"] is True and entry["saved"] == "120001, 120003" and entry["count"] == 2
    metrics = render(registry(world.state, world.backups)).decode()
    assert 'neocuma_guardian_last_run_failed{job="fallback_save"} 0.0' in metrics
    assert 'neocuma_guardian_last_success_timestamp_seconds{job="fallback_save"}' in metrics


def test_only_the_dossiers_changed_since_their_last_save_get_a_new_file() -> None:
    world = _world()
    saves = world.parts.fallback_saves
    saves.tick()
    world.database.write("120001")
    world.database.write("120002")
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120001", "120002"]
    world.database.write("120002")  # only this one moves again
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120002"]
    assert _saves(world) == [
        "2026-11-28T12-15-00Z-120001-secours.zip",
        "2026-11-28T12-15-00Z-120002-secours.zip",
        "2026-11-28T12-30-00Z-120002-secours.zip",
    ]


def test_nothing_changed_since_the_last_save_makes_no_new_file() -> None:
    world = _world()
    saves = world.parts.fallback_saves
    saves.tick()
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120001"]
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == []
    assert _saves(world) == ["2026-11-28T12-15-00Z-120001-secours.zip"]
    assert world.history("fallback_save")["count"] == 0 and world.history("fallback_save")["ok"] is True


def test_a_busy_lock_puts_the_save_off_to_the_next_turn(caplog: pytest.LogCaptureFixture) -> None:
    world = _world()
    saves = world.parts.fallback_saves
    saves.tick()
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    with world.state.lock("synchronisation"), caplog.at_level(logging.INFO):
        assert saves.tick() is None
    assert _saves(world) == [] and "reportée au prochain tour" in caplog.text
    world.clock.advance(30)
    assert saves.tick() == ["120001"], "the next turn saves, without waiting another interval"


def test_zero_minutes_turns_the_saves_off() -> None:
    world = _world(NEOCUMA_FALLBACK_SAVE_MINUTES="0")
    world.database.write("120001")
    for _ in range(3):
        assert world.parts.fallback_saves.tick() is None
        world.clock.advance(60 * MINUTE)
    assert _saves(world) == []


def test_the_interval_starts_again_at_each_switch_to_fallback_mode() -> None:
    world = _world()
    saves = world.parts.fallback_saves
    saves.tick()
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120001"]
    world.database.set_mode("standby")
    assert saves.tick() is None
    world.database.set_mode("fallback")
    world.clock.advance(1 * MINUTE)
    assert saves.tick() is None, "fallback mode seen anew: the interval starts again"
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120001"], "what the earlier outage saved is forgotten in standby mode"


def test_a_failed_save_is_recorded_and_raises_nothing(caplog: pytest.LogCaptureFixture) -> None:
    world = _world()
    saves = world.parts.fallback_saves
    saves.tick()
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    original = world.database.export_dossier

    def broken(*arguments: object) -> None:
        world.database.down = True
        try:
            original(*arguments)  # type: ignore[arg-type]
        finally:
            world.database.down = False

    world.database.export_dossier = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        assert saves.tick() == []
    entry = world.history("fallback_save")
    assert entry["ok"] is False and "120001" in entry["error"] and "MySQL" in entry["error"]
    assert "sauvegarde locale du mode secours en échec" in caplog.text and _saves(world) == []
    world.database.export_dossier = original  # type: ignore[method-assign]
    world.clock.advance(15 * MINUTE)
    assert saves.tick() == ["120001"], "a failed dossier is saved at the next interval"


def test_the_daemon_looks_for_a_due_save_on_its_own_timer() -> None:
    world = _world()
    daemon = Daemon(world.parts)
    timers = daemon.timers()
    world.database.write("120001")
    timers.run_pending()
    assert timers.next_run("sauvegarde du mode secours") is not None
    assert world.state.document("fallback-saves")["since"] == "2026-11-28T12:00:00Z"


def test_the_saves_are_pruned_like_the_other_local_copies_but_the_newest_of_each_dossier() -> None:
    names = [
        "2026-10-01T12-00-00Z-120001-secours.zip",
        "2026-10-01T12-15-00Z-120001-secours.zip",
        "2026-11-28T12-00-00Z-120002-secours.zip",
    ]
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    assert local_copies_to_prune(names, now, 30) == ["2026-10-01T12-00-00Z-120001-secours.zip"]


def _offsite_world() -> FakeWorld:
    world = FakeWorld(offsite=FakeOffsite())
    world.log_in()
    world.database.set_live(1, DOSSIERS, mode="fallback")
    world.state.save_baselines({d.code: Baseline(d.revision, d.revision) for d in DOSSIERS})
    return world


def _run_saves(daemon: Daemon) -> None:
    daemon.fallback_saves()
    daemon.runner.wait(10)


def test_with_a_repository_each_save_is_pushed_offsite_tagged_local_and_never_twice() -> None:
    world = _offsite_world()
    assert world.offsite is not None
    world.backups.put("data", "2026-11-28T02-00-00Z.zip", b"not pushed here")
    daemon = Daemon(world.parts)
    _run_saves(daemon)
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    _run_saves(daemon)
    held = sorted((copy.kind, copy.name) for copy, _ in world.offsite.held.values())
    assert held == [("local", "2026-11-28T12-15-00Z-120001-secours.zip")], "the saves only, not the data backups"
    _copy, content = next(iter(world.offsite.held.values()))
    assert content == world.backups.local_copy_contents()["2026-11-28T12-15-00Z-120001-secours.zip"]
    pushed = world.history("fallback_save_offsite")
    assert pushed["ok"] is True and pushed["count"] == 1
    world.database.write("120002")
    world.clock.advance(15 * MINUTE)
    _run_saves(daemon)
    names = sorted(copy.name for copy, _ in world.offsite.held.values())
    assert names == ["2026-11-28T12-15-00Z-120001-secours.zip", "2026-11-28T12-30-00Z-120002-secours.zip"]
    assert world.offsite.forgotten == [], "the saves of fallback work are never forgotten by the retention"


def test_an_unreachable_repository_keeps_the_saves_and_pushes_them_after_the_next_save() -> None:
    world = _offsite_world()
    assert world.offsite is not None
    daemon = Daemon(world.parts)
    _run_saves(daemon)
    world.database.write("120001")
    world.offsite.fault = "unreachable"
    world.clock.advance(15 * MINUTE)
    _run_saves(daemon)
    assert world.offsite.held == {} and world.history("fallback_save_offsite")["ok"] is False
    assert list(world.backups.local_copy_contents()) == ["2026-11-28T12-15-00Z-120001-secours.zip"]
    assert world.history("fallback_save")["ok"] is True, "the push's failure is not the save's"
    world.offsite.fault = None
    world.clock.advance(15 * MINUTE)
    _run_saves(daemon)  # nothing changed: no new file, but what the failed push left goes
    assert [copy.name for copy, _ in world.offsite.held.values()] == ["2026-11-28T12-15-00Z-120001-secours.zip"]
    assert len(world.backups.local_copy_contents()) == 1


def test_without_a_repository_nothing_is_pushed_and_no_job_is_started() -> None:
    world = _world()
    daemon = Daemon(world.parts)
    _run_saves(daemon)
    world.database.write("120001")
    world.clock.advance(15 * MINUTE)
    _run_saves(daemon)
    assert daemon.runner.progress.current is None and world.history("fallback_save_offsite") == {}


def test_local_copies_other_than_the_saves_of_fallback_work_are_not_pushed() -> None:
    names = [
        "2026-11-28T12-15-00Z-120001-secours.zip",
        "2026-11-28T12-00-00Z-120001-avant-descente.zip",
        "2026-11-28T12-15-00Z-12,0001-secours.zip",
    ]
    moment = dt.datetime(2026, 11, 28, 12, 15, tzinfo=dt.UTC)
    assert local_to_push(names, []) == [("2026-11-28T12-15-00Z-120001-secours.zip", moment)]
    held = [OffsiteCopy("a" * 64, LOCAL, "2026-11-28T12-15-00Z-120001-secours.zip", moment)]
    assert local_to_push(names, held) == []
    assert copy_tags(LOCAL, names[0]) == ["neocuma", "type=local", f"fichier={names[0]}"]
    with pytest.raises(BadRequest):
        copy_tags(LOCAL, "2026-11-28T12-00-00Z.zip")
