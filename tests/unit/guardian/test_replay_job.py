"""The guardian's replay of the local outbox over the fakes: answers written back as they
arrive, refused operations kept with their reason and blocking nothing, a cut resumed
without anything applied twice, nothing sent when nothing is pending."""

from __future__ import annotations

import pytest

from appliance.domain.outbox import DONE, NOT_TAKEN, PENDING, Operation, OutboxEntry
from appliance.errors import Refused, Unavailable
from tests.fakes.database import bon_operation
from tests.fakes.guardian import FakeWorld


def _operation(number: int, dossier: str = "120001") -> Operation:
    return bon_operation(number, dossier)


def _world(*operations: Operation) -> FakeWorld:
    world = FakeWorld()
    world.log_in()
    world.database.outbox_entries = [OutboxEntry(o, PENDING) for o in operations]
    return world


def _states(world: FakeWorld) -> list[tuple[str, str | None, str | None]]:
    return [(e.state, e.central_numero, e.reason) for e in world.database.outbox_entries]


def test_pending_operations_are_applied_and_their_central_numbers_recorded() -> None:
    world = _world(_operation(1), _operation(2, "120002"), _operation(3))
    world.central.bons = {"120001": 200, "120002": 50}
    result = world.parts.actions.replay()
    assert (result.sent, result.applied, result.refused) == (3, 3, 0)
    assert _states(world) == [(DONE, "BT03-00201", None), (DONE, "BT03-00051", None), (DONE, "BT03-00202", None)]
    assert result.renumbered == [
        ("BT03-00041", "BT03-00201"),
        ("BT03-00042", "BT03-00051"),
        ("BT03-00043", "BT03-00202"),
    ]
    assert world.history("replay")["ok"] is True and world.history("replay")["applied"] == 3


def test_a_refused_operation_keeps_its_reason_and_blocks_nothing_else() -> None:
    world = _world(_operation(1), _operation(2, "120002"), _operation(3))
    world.central.refusals = {"120002": "l'exercice 2026 est clôturé"}
    result = world.parts.actions.replay()
    assert (result.applied, result.refused) == (2, 1)
    assert [s[0] for s in _states(world)] == [DONE, NOT_TAKEN, DONE]
    assert [(e.operation.id, e.reason) for e in result.still_refused] == [
        (_operation(2).id, "l'exercice 2026 est clôturé")
    ]
    again = world.parts.actions.replay()
    assert again.sent == 0 and len(again.still_refused) == 1  # refused ones are not resent


def test_a_cut_in_the_middle_keeps_the_answers_and_the_next_run_adds_nothing_twice() -> None:
    operations = [_operation(n) for n in range(1, 6)]
    world = _world(*operations)
    world.central.replay_cut_after = 2  # two answers arrive; the third is applied, its answer lost
    with pytest.raises(Unavailable, match="rejeu interrompu"):
        world.parts.actions.replay()
    assert [s[0] for s in _states(world)] == [DONE, DONE, PENDING, PENDING, PENDING]
    assert world.history("replay")["ok"] is False
    resumed = world.parts.actions.replay()
    assert resumed.sent == 3
    assert [o.status for o in resumed.outcomes] == ["deja_appliquee", "appliquee", "appliquee"]
    assert [s[0] for s in _states(world)] == [DONE] * 5
    assert len(world.central.replayed) == 5 and world.central.bons["120001"] == 105  # five bons, none twice


def test_nothing_pending_opens_no_session() -> None:
    world = _world()
    sessions = world.central.sessions
    result = world.parts.actions.replay()
    assert (result.sent, result.outcomes) == (0, [])
    assert world.central.sessions == sessions


def test_replay_needs_the_stored_login() -> None:
    world = FakeWorld()
    world.database.outbox_entries = [OutboxEntry(_operation(1), PENDING)]
    with pytest.raises(Refused):
        world.parts.actions.replay()
    assert _states(world) == [(PENDING, None, None)]
