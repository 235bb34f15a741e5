"""The return's plan (domain.return_plan): which dossiers have local work, what no operation
explains, what blocks a choice, and which revisions the local server may leave behind."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from appliance.domain.dossiers import LocalDossier, RemoteDossier
from appliance.domain.outbox import DONE, NOT_TAKEN, PENDING, Operation, OutboxEntry, bon_payload
from appliance.domain.return_plan import REPLAY, WHOLE, plan_return, sent_revisions
from appliance.domain.states import Baseline
from appliance.errors import Refused

LOCAL = {code: LocalDossier(n, code, f"CUMA {code}", 10) for n, code in enumerate(("120001", "120002", "120003"))}
REMOTE = {code: RemoteDossier(code, f"CUMA {code}", 10, False) for code in LOCAL}
BASELINES = {code: Baseline(10, 10) for code in LOCAL}


def _entry(number: int, dossier: str, state: str = PENDING, generation: int | None = 4) -> OutboxEntry:
    operation = Operation(
        f"00000000-0000-4000-8000-{number:012d}",
        dossier,
        "bon",
        bon_payload(1, 2, dt.date(2026, 3, 4), "1.00"),
        number,
        f"BT03-{number:05d}",
        "compta1.fd12",
        dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
    )
    return OutboxEntry(operation, state, generation=generation)


def _moved(code: str, by: int) -> dict[str, LocalDossier]:
    return {**LOCAL, code: dataclasses.replace(LOCAL[code], revision=10 + by)}


def test_only_dossiers_with_local_work_or_pending_operations_are_listed() -> None:
    local = _moved("120002", 1)
    older = _entry(9, "120003", generation=3)  # pending from an earlier outage
    plan = plan_return(local, REMOTE, BASELINES, [_entry(1, "120002"), older], 4)
    assert [(line.code, line.entered, line.pending, line.untracked) for line in plan.lines] == [
        ("120002", 1, 1, 0),
        ("120003", 0, 1, 0),
    ]
    assert plan.replayed == ["120002", "120003"] and plan.refusal() is None


def test_revision_moves_no_operation_explains_block_a_replay_but_not_a_whole_return() -> None:
    local = _moved("120001", 3)
    entries = [_entry(1, "120001", DONE), _entry(2, "120001", NOT_TAKEN)]
    line = plan_return(local, REMOTE, BASELINES, entries, 4).lines[0]
    assert (line.untracked, line.applied, len(line.refused), line.method) == (1, 1, 1, REPLAY)
    assert line.blocked is not None and "1 modification(s) locale(s) sans opération" in line.blocked
    whole = plan_return(local, REMOTE, BASELINES, entries, 4, whole=["120001"]).lines[0]
    assert (whole.method, whole.blocked) == (WHOLE, None)


def test_whole_is_blocked_when_the_central_side_moved_and_absent_dossiers_are_named() -> None:
    remote = {**REMOTE, "120001": RemoteDossier("120001", "CUMA", 12, False)}
    del remote["120002"]
    local = _moved("120002", 1) | {"120001": _moved("120001", 1)["120001"]}
    entries = [_entry(1, "120001"), _entry(2, "120002")]
    plan = plan_return(local, remote, BASELINES, entries, 4, whole=["120001"])
    said = plan.refusal() or ""
    assert "120001 : modifié aussi sur le serveur central" in said and "120002 : absent des dossiers" in said


def test_a_dossier_left_out_is_set_aside_and_unknown_choices_are_refused() -> None:
    local = _moved("120001", 1) | {"120002": _moved("120002", 1)["120002"]}
    entries = [_entry(1, "120001"), _entry(2, "120002")]
    plan = plan_return(local, REMOTE, BASELINES, entries, 4, selected=["120002"])
    assert plan.set_aside == ["120001"] and plan.replayed == ["120002"]
    with pytest.raises(Refused, match="sans travail local à renvoyer : 120003"):
        plan_return(local, REMOTE, BASELINES, entries, 4, selected=["120003"])
    assert plan_return(local, None, BASELINES, entries, 4).refusal() == (
        "le serveur central ne répond pas encore : le retour attend que la liaison soit rétablie"
    )


def test_without_a_baseline_only_the_outbox_explains_the_work() -> None:
    local = _moved("120003", 1)
    baselines = {k: v for k, v in BASELINES.items() if k != "120003"}
    assert plan_return(local, REMOTE, baselines, [], 4).lines[-1].untracked == 1
    assert plan_return(local, REMOTE, baselines, [_entry(1, "120003")], 4).lines[-1].untracked == 0


def test_sent_revisions_leave_out_what_moved_or_waits_since_the_plan() -> None:
    local = _moved("120001", 1) | {"120002": _moved("120002", 1)["120002"]}
    entries = [_entry(1, "120001"), _entry(2, "120002")]
    plan = plan_return(local, REMOTE, BASELINES, entries, 4)
    after = {**local, "120002": dataclasses.replace(local["120002"], revision=12)}  # written meanwhile
    assert sent_revisions(plan, after, []) == {"120001": 11}
    assert sent_revisions(plan, local, [_entry(3, "120001")]) == {"120002": 11}


def test_whole_is_blocked_for_a_dossier_exporte_on_the_central_server() -> None:
    remote = {**REMOTE, "120001": RemoteDossier("120001", "CUMA", 10, True)}
    plan = plan_return(_moved("120001", 1), remote, BASELINES, [_entry(1, "120001")], 4, whole=["120001"])
    assert "120001 : exporté sur le serveur central" in (plan.refusal() or "")
    assert plan_return(_moved("120001", 1), remote, BASELINES, [_entry(1, "120001")], 4).refusal() is None
