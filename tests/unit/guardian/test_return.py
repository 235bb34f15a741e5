"""The guided return over fakes (docs/fallback.md, "The return"): replay, whole, refused and
set-aside dossiers, a bon entered while it runs, a wrong password, and what a failure after
the switch leaves; each time every bon is on the central server once or kept locally."""

from __future__ import annotations

import pytest

from appliance.domain.outbox import DONE, NOT_TAKEN, PENDING
from appliance.domain.states import Baseline
from appliance.errors import Refused, Unavailable
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import PASSWORD


@pytest.fixture()
def world() -> FakeWorld:
    """Synchronised from a backup, then in fallback mode (the link dropped)."""
    world = FakeWorld()
    world.log_in()
    world.parts.actions.run_all()
    world.parts.actions.mode("fallback", force=False)
    return world


def _states(world: FakeWorld, code: str) -> list[str]:
    return [e.state for e in world.database.outbox_entries if e.operation.dossier == code]


def test_the_plan_lists_the_dossiers_with_local_work_and_what_each_side_did(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120001")
    world.database.enter_bon("120003")
    world.central.write("120003")
    plan = world.parts.actions.return_plan()
    world.central.write("120003")
    lines = [(line.code, line.entered, line.pending, line.central_changed, line.central_moves) for line in plan.lines]
    assert lines == [("120001", 2, 2, False, 0), ("120003", 1, 1, True, 1)]
    assert all(line.selected for line in plan.lines)
    again = world.parts.actions.return_plan()
    assert again.lines[1].central_moves == 2
    assert plan.refusal() is None and world.database.control.mode == "fallback"


def test_the_return_replays_goes_to_standby_and_serves_the_central_data(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120002")
    world.central.write("120002")  # entered on the central server meanwhile
    imports = list(world.central.imports)
    result = world.parts.actions.go_back(PASSWORD)
    assert (result.sent.replay.applied, result.refused, result.error) == (2, 0, None)
    assert world.database.control.mode == "standby" and result.sent.mode.saved == []
    assert world.central.imports == imports  # nothing overwritten on the central server
    assert set(_states(world, "120001") + _states(world, "120002")) == {DONE}
    # The backup taken after the switch has the replayed bons; the sync serves it.
    local = {code: d.revision for code, d in world.database.dossiers().items()}
    assert local == {code: d.revision for code, d in world.central.dossiers.items()}
    assert result.backup is not None and result.sync is not None
    assert world.state.baselines()["120002"] == Baseline(local["120002"], local["120002"])
    assert world.history("return")["ok"] is True and world.history("return")["applied"] == 2


def test_a_refused_operation_is_kept_and_its_dossier_copied_but_blocks_nothing(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120003")
    world.central.refusals = {"120003": "l'exercice 2026 est clôturé"}
    result = world.parts.actions.go_back(PASSWORD)
    assert world.database.control.mode == "standby"
    assert result.refused == 1 and [e.reason for e in result.sent.replay.still_refused] == [
        "l'exercice 2026 est clôturé"
    ]
    assert _states(world, "120003") == [NOT_TAKEN] and _states(world, "120001") == [DONE]
    assert [location.endswith("-120003-avant-veille.zip") for location in result.sent.mode.saved] == [True]
    world.parts.actions.mode("fallback", force=False)  # the next outage, nothing entered yet
    again = world.parts.actions.go_back(PASSWORD)
    assert (again.refused, again.sent.mode.saved) == (0, []), "the earlier refusal was copied by the first return"
    assert len(again.sent.replay.still_refused) == 1, "and stays listed"


def test_a_dossier_sent_whole_is_imported_and_its_operations_never_replayed(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120001")
    result = world.parts.actions.go_back(PASSWORD, whole=["120001"])
    assert [r.dossier for r in result.sent.restored] == ["120001"]
    assert world.central.imports[-1] == ("resp.fd12", "120001")
    assert world.central.replayed == {} and _states(world, "120001") == [DONE, DONE]
    numbers = [(e.operation.local_numero, e.central_numero) for e in world.database.outbox_entries]
    assert all(local == central for local, central in numbers)  # the central server holds the local rows
    assert world.database.control.mode == "standby"


def test_whole_is_refused_for_a_dossier_the_central_server_changed_and_nothing_moves(world: FakeWorld) -> None:
    world.database.enter_bon("120002")
    world.central.write("120002")
    imports, sessions = list(world.central.imports), world.central.sessions
    with pytest.raises(Refused, match="120002 : modifié aussi sur le serveur central"):
        world.parts.actions.go_back(PASSWORD, whole=["120002"])
    assert world.database.control.mode == "fallback" and _states(world, "120002") == [PENDING]
    assert world.central.imports == imports and world.central.replayed == {}
    assert world.central.sessions == sessions + 1  # the session that read the central side, nothing else


def test_a_wrong_password_changes_nothing(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    with pytest.raises(Refused, match="mot de passe incorrect"):
        world.parts.actions.go_back("faux")
    assert world.database.control.mode == "fallback" and _states(world, "120001") == [PENDING]
    assert world.history("return")["ok"] is False


def test_a_bon_entered_while_the_return_runs_is_replayed_in_a_second_round(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    late: list[str] = []

    def lan_user(database: object) -> None:
        if not late:
            late.append(world.database.enter_bon("120002").operation.id)

    world.database.before_guard = lan_user
    result = world.parts.actions.go_back(PASSWORD)
    world.database.before_guard = None
    assert result.sent.attempts == 2 and result.sent.replay.applied == 2
    assert set(world.central.replayed) == {late[0], world.database.outbox_entries[0].operation.id}
    assert world.database.control.mode == "standby"


def test_a_chosen_set_with_a_whole_dossier_and_a_late_bon_goes_back_in_two_rounds(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120002")
    late: list[str] = []

    def lan_user(database: object) -> None:
        if not late:
            late.append(world.database.enter_bon("120002").operation.id)

    world.database.before_guard = lan_user
    result = world.parts.actions.go_back(PASSWORD, selected=["120001", "120002"], whole=["120001"])
    world.database.before_guard = None
    assert result.sent.attempts == 2 and [r.dossier for r in result.sent.restored] == ["120001"]
    assert late[0] in world.central.replayed and world.database.control.mode == "standby"


def test_a_dossier_left_out_keeps_its_operations_pending_and_a_local_copy(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.enter_bon("120002")
    result = world.parts.actions.go_back(PASSWORD, selected=["120001"])
    assert world.database.control.mode == "standby"
    assert _states(world, "120001") == [DONE] and _states(world, "120002") == [PENDING]
    assert [location.endswith("-120002-avant-veille.zip") for location in result.sent.mode.saved] == [True]
    later = world.parts.actions.replay()  # sent later, as the plan says
    assert later.applied == 1 and _states(world, "120002") == [DONE]


def test_work_no_operation_explains_must_go_back_whole(world: FakeWorld) -> None:
    world.database.write("120003")  # a revision move without its operation (before the outbox)
    with pytest.raises(Refused, match="120003 : 1 modification\\(s\\) locale\\(s\\) sans opération"):
        world.parts.actions.go_back(PASSWORD)
    assert world.database.control.mode == "fallback"
    result = world.parts.actions.go_back(PASSWORD, whole=["120003"])
    assert [r.dossier for r in result.sent.restored] == ["120003"] and world.database.control.mode == "standby"


def test_a_choice_of_a_dossier_without_local_work_is_refused_by_name(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    with pytest.raises(Refused, match="sans travail local à renvoyer : 120002"):
        world.parts.actions.return_plan(selected=["120001", "120002"])


def test_no_return_outside_fallback_mode_and_none_while_the_link_is_down(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.central.reachable = False
    plan = world.parts.actions.return_plan()
    assert plan.central_reachable is False and "ne répond pas encore" in (plan.refusal() or "")
    with pytest.raises(Unavailable):
        world.parts.actions.go_back(PASSWORD)
    assert world.database.control.mode == "fallback" and _states(world, "120001") == [PENDING]
    world.central.reachable = True
    world.parts.actions.go_back(PASSWORD)
    with pytest.raises(Refused, match="n'est pas en mode secours"):
        world.parts.actions.go_back(PASSWORD)


def test_a_failed_sync_after_the_switch_is_reported_and_the_work_stays_sent(world: FakeWorld) -> None:
    world.database.enter_bon("120001")
    world.database.fail_load = Unavailable("disque plein")
    world.database.fail_refresh = Unavailable("disque plein")
    result = world.parts.actions.go_back(PASSWORD)
    assert result.error is not None and "disque plein" in result.error
    assert world.database.control.mode == "standby" and _states(world, "120001") == [DONE]
    assert world.history("sync")["ok"] is False and world.history("return")["ok"] is True
