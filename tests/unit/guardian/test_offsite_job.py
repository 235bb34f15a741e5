"""Offsite copies through the whole guardian over fakes (jobs.offsite, jobs.actions): what
is pushed after the backups, retention, failures that never fail a backup, restore."""

from __future__ import annotations

import errno
import logging

import pytest

from appliance.domain.offsite import DATA, SYSTEM
from appliance.errors import BadRequest, Refused, Unavailable
from tests.fakes.guardian import FakeWorld
from tests.fakes.offsite import FakeOffsite

DAY = 86400


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(offsite=FakeOffsite())
    world.log_in()
    return world


def _held(world: FakeWorld) -> list[tuple[str, str]]:
    assert world.offsite is not None
    return [(c.kind, c.name) for c in world.offsite.copies()]


def test_each_backup_is_pushed_after_it_is_made_and_retention_follows(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    assert world.offsite is not None and world.offsite.exists, "the repository was created"
    assert _held(world) == [(DATA, first.name)]
    world.clock.advance(DAY)
    world.central.write("120001")
    second = world.parts.actions.data_backup()
    assert _held(world) == [(DATA, first.name), (DATA, second.name)]
    assert [kind for kind, _ in world.offsite.forgotten] == [DATA, DATA]
    kept = world.offsite.forgotten[0][1]
    assert (kept.daily, kept.weekly, kept.monthly) == (30, 12, 12)
    facts = world.history("offsite")
    assert facts["ok"] is True and facts["transferred"] == len(world.backups.files["data"][second.name][0])
    assert facts["repository"] == world.offsite.location and facts["copies"] == 2 and facts["size"] > 0


def test_a_copy_retention_forgot_is_not_pushed_again(world: FakeWorld) -> None:
    """Two backups the same day leave one copy, the later; the earlier, still in data/, is
    not pushed at every run only to be forgotten again."""
    world.parts.actions.data_backup()
    world.clock.advance(3600)
    later = world.parts.actions.data_backup()
    assert _held(world) == [(DATA, later.name)] and len(world.backups.data_names()) == 2
    assert world.parts.actions.offsite_push().pushed == []


def test_system_zip_is_pushed_when_newer_than_its_last_copy(world: FakeWorld) -> None:
    world.parts.actions.system_backup()
    assert _held(world) == [(SYSTEM, "system.zip")]
    world.parts.actions.offsite_push()
    assert _held(world) == [(SYSTEM, "system.zip")], "unchanged: not pushed again"


def test_a_failed_push_never_fails_the_backup_and_is_tried_again(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    assert world.offsite is not None
    world.offsite.fault = "unreachable"
    with caplog.at_level(logging.WARNING):
        result = world.parts.actions.data_backup()
    assert result.name in world.backups.data_names(), "the local backup is listed"
    failed = world.history("offsite")
    assert failed["ok"] is False and "injoignable" in failed["error"]
    assert "copie hors site en échec, nouvel essai à la prochaine sauvegarde" in caplog.text
    world.offsite.fault = None
    world.clock.advance(DAY)
    second = world.parts.actions.data_backup()
    assert _held(world) == [(DATA, result.name), (DATA, second.name)], "the missed one is pushed too"


def test_a_full_repository_is_reported_and_local_backups_stay(world: FakeWorld) -> None:
    assert world.offsite is not None
    world.offsite.fault = "full"
    world.parts.actions.data_backup()
    with pytest.raises(Unavailable, match="plein"):
        world.parts.actions.offsite_push()
    assert len(world.backups.data_names()) == 1 and world.history("offsite")["ok"] is False


def test_a_push_without_room_to_unpack_is_refused_before_it_starts_in_the_volumes_words(world: FakeWorld) -> None:
    """A push unpacks the backup's members on the backups volume, about 3.5 times its zip:
    room for the zip alone is not enough, and the push says so before writing anything."""
    assert world.offsite is not None
    world.offsite.fault = "unreachable"  # the first backup stays unpushed
    made = world.parts.actions.data_backup()
    world.offsite.fault = None
    size = len(world.backups.files["data"][made.name][0])
    world.backups.free = world.backups.used() + 2 * size  # twice the zip free: not 3.5 times
    with pytest.raises(Unavailable) as refused:
        world.parts.actions.offsite_push()
    said = str(refused.value)
    assert said.startswith(f"le volume des sauvegardes n'a pas la place de déplier {made.name}"), said
    assert f"{3.5 * size / 1e6:.1f} Mo nécessaires, {2 * size / 1e6:.1f} Mo libres" in said
    assert world.history("offsite")["error"] == said and _held(world) == []
    world.backups.free = None
    assert world.parts.actions.offsite_push().pushed == [made.name], "the next push catches up"


def test_a_disk_that_fills_up_during_a_push_is_said_in_the_volumes_words(world: FakeWorld) -> None:
    assert world.offsite is not None
    world.offsite.push_error = OSError(errno.ENOSPC, "No space left on device")
    made = world.parts.actions.data_backup()
    failed = world.history("offsite")
    assert failed["ok"] is False and "erreur interne" not in failed["error"]
    assert failed["error"].startswith(
        f"le volume des sauvegardes est plein pendant l'écriture de la copie dépliée de {made.name} ;"
    ), failed["error"]


def test_fallback_mode_and_a_sync_are_never_held_up_by_a_push(world: FakeWorld) -> None:
    """A push may take hours on a slow link: while it runs (after the backups), the switch
    to fallback mode and a sync go ahead; a second push is refused, naming the first."""
    assert world.offsite is not None
    world.parts.actions.data_backup()
    first = world.parts.actions.sync().data_generation  # the local server has data: fallback is possible
    world.clock.advance(DAY)
    during: dict[str, object] = {}

    def meanwhile(name: str) -> None:
        if during:
            return
        during["mode"] = world.parts.actions.mode("fallback", force=False).mode
        world.parts.actions.mode("standby", force=False)
        during["sync"] = world.parts.actions.sync().data_generation
        with pytest.raises(Refused, match=r"une opération est déjà en cours \(copie hors site\)"):
            world.parts.actions.offsite_push()

    world.offsite.on_push = meanwhile
    made = world.parts.actions.data_backup()
    assert during == {"mode": "fallback", "sync": first + 1}, world.history("offsite")
    assert world.history("offsite")["ok"] is True and _held(world)[-1] == (DATA, made.name)
    assert world.database.modes[-2:] == ["fallback", "standby"]


def test_a_push_running_meanwhile_leaves_a_backups_copy_to_the_next_push(world: FakeWorld) -> None:
    assert world.offsite is not None
    with world.state.offsite_lock("copie hors site"):
        made = world.parts.actions.data_backup()
    assert made.name in world.backups.data_names() and _held(world) == []
    assert "offsite" not in world.state.history(), "not a failure: the running push's own record stands"
    assert world.parts.actions.offsite_push().pushed == [made.name]


def test_a_backup_that_no_longer_verifies_is_not_pushed(world: FakeWorld) -> None:
    assert world.offsite is not None
    world.offsite.fault = "unreachable"
    good = world.parts.actions.data_backup()
    world.backups.put("data", "2026-11-20T02-00-00Z.zip", b"not a zip")
    world.offsite.fault = None
    result = world.parts.actions.offsite_push()
    assert result.pushed == [good.name] and result.skipped == ["2026-11-20T02-00-00Z.zip"]


def test_restore_brings_a_copy_back_verified_and_never_over_a_file(world: FakeWorld) -> None:
    made = world.parts.actions.data_backup()
    content = world.backups.files["data"][made.name][0]
    with pytest.raises(Refused, match="déjà dans data/"):
        world.parts.actions.offsite_restore(made.name)
    world.backups.remove_data(made.name)
    assert world.parts.actions.offsite_restore(made.name) == made.name
    assert world.backups.files["data"][made.name][0] == content
    with pytest.raises(Refused, match=r"n'a pas de copie de 2026-01-01T02-00-00Z\.zip"):
        world.parts.actions.offsite_restore("2026-01-01T02-00-00Z.zip")


def test_a_copy_that_does_not_verify_is_not_listed(world: FakeWorld) -> None:
    made = world.parts.actions.data_backup()
    assert world.offsite is not None
    for snapshot, (copy, _) in list(world.offsite.held.items()):
        world.offsite.held[snapshot] = (copy, b"PK damaged")
    world.backups.remove_data(made.name)
    with pytest.raises(BadRequest, match="not a readable zip file"):
        world.parts.actions.offsite_restore(made.name)
    assert made.name not in world.backups.data_names()


def test_without_a_repository_nothing_is_pushed_and_the_commands_say_why() -> None:
    world = FakeWorld()
    world.log_in()
    world.parts.actions.data_backup()
    assert "offsite" not in world.parts.state.history()
    with pytest.raises(Refused, match="aucun dépôt hors site configuré"):
        world.parts.actions.offsite_push()
