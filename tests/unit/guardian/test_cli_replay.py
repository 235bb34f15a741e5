"""``neocuma-guardian replay`` over fakes: the renumbering and the refused operations with
their reasons, in French or as JSON, and the exit status."""

from __future__ import annotations

import json

import pytest

from appliance.domain.outbox import PENDING, OutboxEntry
from appliance.guardian.cli import main
from tests.fakes.guardian import FakeWorld
from tests.unit.guardian.test_replay_job import _operation

# The CLI sets up the root logger as a program does; conftest gives it back after each test.
pytestmark = pytest.mark.usefixtures("keep_logging")


@pytest.fixture()
def world(cli_world: FakeWorld) -> FakeWorld:
    world = cli_world
    world.log_in()
    world.database.outbox_entries = [OutboxEntry(_operation(1), PENDING), OutboxEntry(_operation(2, "120002"), PENDING)]
    world.central.bons = {"120001": 300}
    world.central.refusals = {"120002": "l'exercice 2026 est clôturé"}
    return world


def test_replay_prints_the_renumbering_and_the_refusals(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay"], build=lambda config: world.parts) == 1
    out = capsys.readouterr().out
    assert "Opérations renvoyées au serveur central : 2 (1 appliquée(s), 1 refusée(s))" in out
    assert "bon BT03-00041 → BT03-00301 sur le serveur central" in out
    assert "bon BT03-00042 du dossier 120002, saisi par compta1.fd12 le 06/12/2026" in out
    assert out.rstrip().endswith(": l'exercice 2026 est clôturé")
    assert main(["replay"], build=lambda config: world.parts) == 0
    again = capsys.readouterr().out
    assert "Aucune opération en attente" in again and "l'exercice 2026 est clôturé" in again


def test_replay_as_json(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--json"], build=lambda config: world.parts) == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["envoyees"], document["appliquees"], document["refusees"]) == (2, 1, 1)
    assert document["renumerotation"] == [{"numero_local": "BT03-00041", "numero_central": "BT03-00301"}]
    assert [(r["dossier"], r["numero_local"], r["motif"]) for r in document["en_echec"]] == [
        ("120002", "BT03-00042", "l'exercice 2026 est clôturé")
    ]
