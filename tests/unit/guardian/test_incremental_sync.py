"""Incremental synchronisation over fakes (issue 13): from the third sync on, the standby
generation (the one live before) is brought up to date with the dossiers that changed and
renamed into the next generation; a refresh that fails gives a full load that says why;
``sync --full``, the periodic full load and the setting that turns it off."""

from __future__ import annotations

import logging

import pytest

from appliance.domain.generations import Live
from appliance.domain.standby import FULL, INCREMENTAL
from appliance.errors import BadRequest, Unavailable
from appliance.guardian.watch.status import lines
from tests.fakes.guardian import FakeWorld

DAY = 86400


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld()
    world.log_in()
    return world


def _round(world: FakeWorld, full: bool = False):  # type: ignore[no-untyped-def]
    world.clock.advance(3600)
    world.parts.actions.data_backup()
    return world.parts.actions.sync(full=full)


def test_the_third_sync_refreshes_the_standby_with_the_changed_dossier_only(world: FakeWorld) -> None:
    first, second = _round(world), _round(world)
    assert (first.mode, second.mode) == (FULL, FULL), "no standby yet: generation 1, then 2 beside it"
    assert "aucune génération de réserve" in second.reason
    world.central.write("120002")
    third = _round(world)
    assert (third.mode, third.changed, third.data_generation) == (INCREMENTAL, 1, 3)
    assert third.reason.startswith("génération de réserve 1 mise à jour depuis")
    assert world.database.refreshed == [(1, 3, ("120002",))]
    assert world.database.generations() == [2, 3], "the standby became generation 3; 2 is the new standby"
    assert world.database.control == Live(3, None, "standby")
    assert world.database.schemas[3].dossiers["120002"].revision == 4
    assert world.state.baselines()["120002"].remote_revision == 4
    history = world.history("sync")
    assert (history["mode"], history["changed"]) == (INCREMENTAL, 1)
    said = "\n".join(lines(world.parts.status.collect()))
    assert "  incrémentale : 1 dossier(s) rechargé(s) sur 3" in said, said
    fourth = _round(world)
    assert (fourth.mode, fourth.changed) == (INCREMENTAL, 1), "generation 2 still held the old 120002"
    assert world.database.refreshed[-1] == (2, 4, ("120002",))


def test_a_refresh_that_fails_gives_a_full_load_that_says_so(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    _round(world), _round(world)
    world.database.fail_refresh = BadRequest("dossier : les lignes ne sont pas les dossiers du manifeste")
    with caplog.at_level(logging.WARNING):
        result = _round(world)
    assert result.mode == FULL and result.data_generation == 3
    assert result.reason.startswith("mise à jour de la génération de réserve 1 impossible : dossier")
    assert "chargement complet" in caplog.text
    assert world.database.generations() == [2, 3] and world.database.schemas[3].loaded_from is not None


def test_mysql_gone_during_the_refresh_is_a_failure_and_the_live_pair_stays(world: FakeWorld) -> None:
    _round(world), _round(world)
    world.database.fail_refresh = Unavailable("la mise à jour de la génération de réserve a été annulée : gone")
    world.database.fail_load = Unavailable("MySQL ne répond plus")
    with pytest.raises(Unavailable, match="MySQL ne répond plus"):
        _round(world)
    assert world.database.control == Live(2, None, "standby")


def test_sync_full_and_the_setting_that_turns_incremental_syncs_off(world: FakeWorld) -> None:
    _round(world), _round(world)
    result = _round(world, full=True)
    assert (result.mode, result.reason) == (FULL, "synchronisation complète demandée")
    assert world.database.refreshed == []
    off = FakeWorld(environment={"NEOCUMA_SYNC_FULL_EVERY_DAYS": "0"})
    off.log_in()
    assert [_round(off).mode for _ in range(3)] == [FULL] * 3


def test_a_standby_built_in_full_a_week_ago_is_rebuilt_in_full(world: FakeWorld) -> None:
    _round(world), _round(world)
    kinds = []
    for _ in range(8):
        world.clock.advance(DAY)
        kinds.append(_round(world).mode)
    # Generations 1 and 2 were built in full on day 0; refreshes keep that date, so each
    # is rebuilt in full once it is a week old, and the refreshes resume.
    assert kinds == [INCREMENTAL] * 6 + [FULL, FULL], kinds
    assert "reconstruction complète périodique" in world.history("sync")["reason"]
    world.clock.advance(DAY)
    assert _round(world).mode == INCREMENTAL


def test_a_generation_without_a_record_is_rebuilt_in_full(world: FakeWorld) -> None:
    _round(world), _round(world)
    world.database.schemas[1].record = None  # built by a guardian from before incremental syncs
    result = _round(world)
    assert result.mode == FULL and "n'a pas d'inventaire" in result.reason
