"""``neocuma-guardian return`` over fakes: the plan alone changes nothing; the return reads
the password typed again, prints the renumbering and the copies kept, and its JSON has a
schema version; a refusal exits 1."""

from __future__ import annotations

import io
import json

import pytest

from appliance.guardian.cli import main
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import PASSWORD

pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture()
def world(cli_world: FakeWorld) -> FakeWorld:
    world = cli_world
    world.log_in()
    world.parts.actions.run_all()
    world.parts.actions.mode("fallback", force=False)
    world.database.enter_bon("120001")
    world.database.enter_bon("120002")
    world.central.refusals = {"120002": "l'exercice 2026 est clôturé"}
    return world


def test_the_plan_alone_changes_nothing(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["return", "--plan"], build=lambda config: world.parts) == 0
    out = capsys.readouterr().out
    assert "Dossiers avec du travail local : 2" in out
    assert "120001 CUMA 120001 : 1 bon(s) saisi(s) en local, 1 à renvoyer, 0 refusé(s); inchangé sur le central" in out
    assert main(["return", "--plan", "--json"], build=lambda config: world.parts) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == 1 and [d["code"] for d in document["plan"]["dossiers"]] == ["120001", "120002"]
    assert world.database.control.mode == "fallback" and world.central.replayed == {}


def test_the_return_reads_the_password_and_reports_each_step(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["return", "--json"], build=lambda config: world.parts) == 1  # one operation refused
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["schema"] == 1 and document["mode"] == "standby" and document["erreur"] is None
    assert (document["rejeu"]["appliquees"], document["rejeu"]["refusees"]) == (1, 1)
    assert [r["motif"] for r in document["rejeu"]["en_echec"]] == ["l'exercice 2026 est clôturé"]
    assert (
        document["sauvegarde"]
        and document["synchronisation"]
        and document["copies_locales"][0].endswith("-120002-avant-veille.zip")
    )
    assert "Dossiers avec du travail local : 2" in captured.err  # the plan, before the password


def test_a_wrong_password_leaves_fallback_mode_and_the_outbox(
    world: FakeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("faux\n"))
    assert main(["return", "--entier", "120001"], build=lambda config: world.parts) != 0
    assert "mot de passe incorrect" in capsys.readouterr().err
    assert world.database.control.mode == "fallback" and world.central.imports == []
    assert main(["return", "--dossier", "12 0001"], build=lambda config: world.parts) == 2
    assert "code(s) de dossier invalide(s) : 12 0001" in capsys.readouterr().err
