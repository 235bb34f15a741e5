"""Pull, restore and mode changes over fakes: every dossier state they meet, overwrites with
a local copy kept first, baselines after each, and a LAN write racing the change."""

from __future__ import annotations

import io

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.domain.generations import Live
from appliance.domain.states import Baseline
from appliance.errors import BadRequest, Refused, RemoteRefused
from tests.fakes.guardian import DOSSIERS, FakeWorld


@pytest.fixture()
def world() -> FakeWorld:
    """Synchronised: both sides at the same revisions, baselines equal to them."""
    world = FakeWorld()
    world.log_in()
    world.database.set_live(1, DOSSIERS)
    world.state.save_baselines({d.code: Baseline(d.revision, d.revision) for d in DOSSIERS})
    return world


def _revisions(world: FakeWorld) -> dict[str, int]:
    return {code: d.revision for code, d in world.database.dossiers().items()}


def test_a_pull_brings_the_remote_revision_and_moves_the_baseline(world: FakeWorld) -> None:
    world.central.write("120002")
    result = world.parts.actions.pull(["120002"], overwrite_local=False)
    assert result.dossiers == ["120002"] and result.saved == []
    assert _revisions(world)["120002"] == 4 and world.database.replaced == [["120002"]]
    assert world.state.baselines()["120002"] == Baseline(4, 4)
    assert world.backups.files["work"] == {} and world.history("pull")["ok"] is True


def test_a_pull_of_a_dossier_with_local_work_is_refused_unless_overwritten(world: FakeWorld) -> None:
    world.database.write("120001")
    with pytest.raises(Refused, match="modifié\\(s\\) localement : 120001"):
        world.parts.actions.pull(["120001"], overwrite_local=False)
    assert _revisions(world)["120001"] == 6 and world.database.replaced == []
    result = world.parts.actions.pull(["120001"], overwrite_local=True)
    assert len(result.saved) == 1 and "120001-avant-descente.zip" in result.saved[0]
    assert list(world.backups.local_copy_contents()) == ["2026-11-28T12-00-00Z-120001-avant-descente.zip"]
    assert _revisions(world)["120001"] == 5, "the remote copy replaced the local work, which was saved first"


def test_a_pull_refuses_when_a_lan_user_writes_during_the_download(world: FakeWorld) -> None:
    world.database.before_guard = lambda database: database.write("120003")
    with pytest.raises(Refused, match="pendant la descente : 120003; rien n'a été écrit"):
        world.parts.actions.pull(["120003"], overwrite_local=False)
    assert world.database.replaced == [] and world.state.baselines()["120003"] == Baseline(8, 8)


def test_a_pull_of_a_dossier_outside_the_rights_is_refused_by_name(world: FakeWorld) -> None:
    with pytest.raises(Refused, match="hors de vos droits : 999999"):
        world.parts.actions.pull(["120001", "999999"], overwrite_local=False)


def test_a_pull_before_any_synchronisation_is_refused(world: FakeWorld) -> None:
    world.database.control = Live(None, None, "standby")
    with pytest.raises(Refused, match="aucune donnée"):
        world.parts.actions.pull(["120001"], overwrite_local=False)


def test_a_pull_that_receives_other_dossiers_writes_nothing(world: FakeWorld) -> None:
    world.central.tamper = lambda members: None
    original = world.central.session

    def session(login: str, password: str):  # type: ignore[no-untyped-def]
        opened = original(login, password)
        export = opened.export
        opened.export = lambda codes, sink: export(["120003"], sink)  # type: ignore[method-assign]
        return opened

    world.central.session = session  # type: ignore[method-assign]
    with pytest.raises(BadRequest, match="d'autres dossiers que ceux demandés"):
        world.parts.actions.pull(["120001"], overwrite_local=False)
    assert world.database.replaced == []


def test_a_pull_of_a_dossier_absent_locally_adds_it(world: FakeWorld) -> None:
    del world.database.schemas[1].dossiers["120003"]
    world.parts.actions.pull(["120003"], overwrite_local=False)
    assert _revisions(world)["120003"] == 8


def test_a_restore_sends_the_local_copy_and_records_the_new_remote_revision(world: FakeWorld) -> None:
    world.database.write("120001")
    results = world.parts.actions.restore(["120001"], "Demo-FD12-2026", overwrite_remote=False)
    assert [(r.dossier, r.revision) for r in results] == [("120001", 6)]
    assert world.central.imports == [("resp.fd12", "120001")] and world.central.sent[0][:2] == b"PK"
    assert world.state.baselines()["120001"] == Baseline(6, 6), "remote 6 after the import, local 6"
    assert list(world.backups.local_copy_contents()) == ["2026-11-28T12-00-00Z-120001-remontee.zip"]


def test_a_restore_of_a_dossier_changed_on_both_sides_needs_overwrite(world: FakeWorld) -> None:
    world.database.write("120002")
    world.central.write("120002")
    with pytest.raises(Refused, match=r"modifié\(s\) aussi sur le serveur distant .*120002"):
        world.parts.actions.restore(["120002"], "Demo-FD12-2026", overwrite_remote=False)
    assert world.central.imports == []
    world.parts.actions.restore(["120002"], "Demo-FD12-2026", overwrite_remote=True)
    assert world.central.imports == [("resp.fd12", "120002")]


def test_a_restore_with_a_wrong_password_typed_again_changes_nothing(world: FakeWorld) -> None:
    world.database.write("120001")
    with pytest.raises(RemoteRefused, match="mot de passe incorrect"):
        world.parts.actions.restore(["120001"], "wrong", overwrite_remote=False)
    assert world.state.baselines()["120001"] == Baseline(5, 5) and world.central.dossiers["120001"].revision == 5
    assert world.history("restore")["ok"] is False


def test_a_restore_refuses_dossiers_missing_on_either_side(world: FakeWorld) -> None:
    with pytest.raises(Refused, match="absent\\(s\\) du serveur local : 777777"):
        world.parts.actions.restore(["777777"], "Demo-FD12-2026", overwrite_remote=False)
    del world.central.dossiers["120003"]
    with pytest.raises(Refused, match="hors de vos droits : 120003"):
        world.parts.actions.restore(["120003"], "Demo-FD12-2026", overwrite_remote=False)


def test_without_a_baseline_only_equal_revisions_let_a_restore_through(world: FakeWorld) -> None:
    world.state.save_baselines({})
    world.parts.actions.restore(["120001"], "Demo-FD12-2026", overwrite_remote=False)
    world.central.write("120002")
    with pytest.raises(Refused, match="120002"):
        world.parts.actions.restore(["120002"], "Demo-FD12-2026", overwrite_remote=False)


def test_fallback_needs_data_and_standby_refuses_local_work_unless_forced(world: FakeWorld) -> None:
    assert world.parts.actions.mode("fallback", force=False).mode == "fallback"
    assert world.database.control.mode == "fallback" and world.history("mode")["previous"] == "standby"
    world.database.write("120002")
    with pytest.raises(Refused, match="modifié\\(s\\) localement : 120002"):
        world.parts.actions.mode("standby", force=False)
    assert world.database.control.mode == "fallback"
    result = world.parts.actions.mode("standby", force=True)
    assert result.mode == "standby" and result.saved[0].endswith("120002-avant-veille.zip")


def test_standby_is_refused_when_work_appears_while_the_mode_changes(world: FakeWorld) -> None:
    world.parts.actions.mode("fallback", force=False)
    world.database.before_guard = lambda database: database.write("120003")
    with pytest.raises(Refused, match="pendant le changement de mode : 120003; le mode n'a pas changé"):
        world.parts.actions.mode("standby", force=False)
    assert world.database.control.mode == "fallback"


def test_fallback_without_data_and_an_unknown_mode_are_refused(world: FakeWorld) -> None:
    world.database.control = Live(None, None, "standby")
    with pytest.raises(Refused, match="aucune donnée"):
        world.parts.actions.mode("fallback", force=False)
    with pytest.raises(Refused, match="mode inconnu"):
        world.parts.actions.mode("secours", force=False)


def test_a_local_copy_before_the_first_sync_is_refused_and_leaves_no_file(world: FakeWorld) -> None:
    dossier = world.database.dossiers()["120001"]
    world.database.control = Live(None, None, "standby")
    with pytest.raises(Refused, match="aucune donnée"):
        world.parts.actions.transfers.copies.save(dossier, "remontee")
    assert world.backups.local_copy_contents() == {}


def test_one_operation_at_a_time_and_the_refusal_names_the_first(world: FakeWorld) -> None:
    with world.state.lock("sauvegarde des données"), pytest.raises(Refused, match="sauvegarde des données"):
        world.parts.actions.mode("fallback", force=False)
    assert world.database.modes == []


def _arrange(world: FakeWorld, state: str, code: str) -> None:
    """Put dossier ``code`` in ``state`` (the French label of its state)."""
    if state in ("modifié localement", "modifié des deux côtés"):
        world.database.write(code)
    if state in ("modifié à distance", "modifié des deux côtés"):
        world.central.write(code)
    if state == "absent en local":
        del world.database.schemas[1].dossiers[code]
    if state == "absent à distance":
        del world.central.dossiers[code]
    if state == "exporté":
        world.central.exporte.add(code)


def _state_of(world: FakeWorld, code: str) -> str:
    from appliance.domain.dossiers import dossier_rows

    with world.central.session("resp.fd12", "Demo-FD12-2026") as session:
        remote = session.dossiers()
    rows = dossier_rows(remote, world.database.dossiers(), world.state.baselines())
    return next(row.state.state for row in rows if row.code == code)


PULL = {
    "à jour": "pulled",
    "modifié à distance": "pulled",
    "modifié localement": "refused: modifié(s) localement",
    "modifié des deux côtés": "refused: modifié(s) localement",
    "absent en local": "pulled",
    "absent à distance": "refused: hors de vos droits",
    "exporté": "pulled",
}


@pytest.mark.parametrize(("state", "outcome"), sorted(PULL.items()))
def test_a_pull_in_each_state(world: FakeWorld, state: str, outcome: str) -> None:
    _arrange(world, state, "120002")
    assert _state_of(world, "120002") == state
    if outcome == "pulled":
        world.parts.actions.pull(["120002"], overwrite_local=False)
        assert _state_of(world, "120002") in ("à jour", "exporté"), "both sides equal their new baseline"
    else:
        with pytest.raises(Refused, match=outcome.removeprefix("refused: ").replace("(", r"\(").replace(")", r"\)")):
            world.parts.actions.pull(["120002"], overwrite_local=False)
        assert world.database.replaced == []


RESTORE = {
    "à jour": "restored",
    "modifié localement": "restored",
    "modifié à distance": "refused: modifié(s) aussi sur le serveur distant",
    "modifié des deux côtés": "refused: modifié(s) aussi sur le serveur distant",
    "absent en local": "refused: absent(s) du serveur local",
    "absent à distance": "refused: hors de vos droits",
    "exporté": "server: est exporté",
}


@pytest.mark.parametrize(("state", "outcome"), sorted(RESTORE.items()))
def test_a_restore_in_each_state(world: FakeWorld, state: str, outcome: str) -> None:
    _arrange(world, state, "120002")
    assert _state_of(world, "120002") == state
    if outcome == "restored":
        world.parts.actions.restore(["120002"], "Demo-FD12-2026", overwrite_remote=False)
        assert _state_of(world, "120002") == "à jour" and world.central.imports == [("resp.fd12", "120002")]
        return
    kind, _, reason = outcome.partition(": ")
    error = RemoteRefused if kind == "server" else Refused
    with pytest.raises(error, match=reason.replace("(", r"\(").replace(")", r"\)")):
        world.parts.actions.restore(["120002"], "Demo-FD12-2026", overwrite_remote=False)
    assert world.central.imports == []


def test_a_dossier_is_put_back_on_the_remote_from_a_dated_backup(world: FakeWorld) -> None:
    name = world.parts.actions.data_backup().name
    world.central.write("120002")
    world.central.write("120002")  # the central copy moved on twice since that backup
    results = world.parts.actions.restore(["120002"], "Demo-FD12-2026", False, from_backup=name)
    assert [(r.dossier, r.revision) for r in results] == [("120002", 6)]
    sent = world.central.sent[-1]
    manifest = verify_backup(lambda: io.BytesIO(sent), name="sent").manifest
    assert [(d.code, d.revision) for d in manifest.dossiers] == [("120002", 3)], "the backup's version was sent"
    assert world.state.baselines()["120002"] == Baseline(3, 3), "baselines stay"
    assert _state_of(world, "120002") == "modifié à distance", "the next sync brings that version back here"
    assert world.backups.files["work"] == {} and world.history("restore")["ok"] is True


def test_a_restore_from_a_backup_refuses_what_it_cannot_do(world: FakeWorld) -> None:
    name = world.parts.actions.data_backup().name
    with pytest.raises(Refused, match="n'existe pas"):
        world.parts.actions.restore(["120002"], "Demo-FD12-2026", False, from_backup="2020-01-01T00-00-00Z.zip")
    with pytest.raises(Refused, match=r"ne contient pas le\(s\) dossier\(s\) 120009"):
        world.parts.actions.restore(["120009"], "Demo-FD12-2026", False, from_backup=name)
    with pytest.raises(RemoteRefused, match="mot de passe incorrect"):
        world.parts.actions.restore(["120002"], "wrong", False, from_backup=name)
    world.central.exporte.add("120003")
    with pytest.raises(RemoteRefused, match="exporté"):
        world.parts.actions.restore(["120003"], "Demo-FD12-2026", False, from_backup=name)
    assert world.central.imports == []
