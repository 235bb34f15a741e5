"""Incremental data backups over fakes (issue 13): the changes since the newest backup are
asked for and assembled into a complete backup equal to a full export; anything that makes
the previous backup unusable, a server that does not know the request or a delta that does
not verify gives a full backup that says why; ``--full``, the periodic full backup and the
state they keep; what moved reaches the history, the counters, status, the CLI and the
console."""

from __future__ import annotations

import dataclasses
import io
import logging
import zipfile

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.domain.backup_format import MANIFEST_MEMBER, parse_manifest
from appliance.domain.backup_mode import FULL, INCREMENTAL
from appliance.domain.changes import HeldDossier
from appliance.domain.identity import Credentials
from appliance.errors import BadRequest
from appliance.guardian.watch.status import lines
from tests.fakes.guardian import FakeWorld
from tests.fakes.servers import COLLEAGUE, COLLEAGUE_PASSWORD
from tests.support.backups import Dossier

DAY = 86400


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(environment={"NEOCUMA_BACKUPS_KEEP": "30", "NEOCUMA_BACKUPS_KEEP_DAYS": "60"})
    world.log_in()
    return world


def _members(world: FakeWorld, name: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(world.backups.files["data"][name][0])) as archive:
        return {member: archive.read(member) for member in archive.namelist()}


def _next(world: FakeWorld, full: bool = False) -> tuple[str, dict[str, object]]:
    world.clock.advance(3600)
    result = world.parts.actions.data_backup(full=full)
    return result.name, dataclasses.asdict(result)


def test_the_first_backup_is_full_and_the_next_moves_only_the_changed_dossier(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    assert (first.mode, first.reason) == (FULL, "aucune sauvegarde précédente dans data/")
    assert first.transferred == first.bytes and first.changed == 3
    world.central.write("120002")
    name, facts = _next(world)
    assert facts["mode"] == INCREMENTAL and facts["reason"] == f"changements depuis {first.name}"
    assert world.central.held_sent == [
        {"120001": HeldDossier(100001, 5), "120002": HeldDossier(100002, 3), "120003": HeldDossier(100003, 8)}
    ]
    assert world.central.full_exports == 1, "no full export for the second backup"
    assert facts["changed"] == 1 and facts["dossiers"] == 3 and facts["removed"] == 0
    assert 0 < int(facts["transferred"]) < first.bytes
    verify_backup(world.backups.data_opener(name), name=name)
    full_name, _ = _next(world, full=True)
    assembled, full_export = _members(world, name), _members(world, full_name)
    manifests = [parse_manifest(members.pop(MANIFEST_MEMBER)) for members in (assembled, full_export)]
    assert assembled == full_export, "every member equals a full export's"
    assert manifests[1].created_at == "2026-11-28T14:00:00Z", "the full export, an hour later"
    assert manifests[0] == dataclasses.replace(manifests[1], created_at="2026-11-28T13:00:00Z")
    history = world.history("backup")
    assert history["mode"] == FULL and history["reason"] == "sauvegarde complète demandée"


def test_the_bytes_over_the_link_are_counted_not_the_backups_size(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    _, facts = _next(world)
    assert world.state.counters()["backup"] == first.bytes + int(facts["transferred"])
    assert world.history("backup")["transferred"] == facts["transferred"]


def test_a_dossier_added_to_and_one_taken_out_of_the_rights(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    del world.central.dossiers["120001"]
    world.central.dossiers["120009"] = Dossier(100009, "120009", 1)
    name, facts = _next(world)
    assert (facts["mode"], facts["changed"], facts["removed"], facts["dossiers"]) == (INCREMENTAL, 1, 1, 3)
    manifest = world.backups.manifest(name)
    assert manifest is not None and [d.code for d in manifest.dossiers] == ["120002", "120003", "120009"]
    assert not any(member.startswith("dossiers/120001/") for member in _members(world, name))


def test_a_previous_backup_damaged_since_it_was_made_gives_a_full_backup_that_says_so(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    first = world.parts.actions.data_backup().name
    _content, moment = world.backups.files["data"][first]
    # An unchanged dossier's member changes on disk: its compressed bytes no longer match.
    damaged = _members(world, first)
    damaged["dossiers/120003/tiers.tsv"] = damaged["dossiers/120003/tiers.tsv"].replace(b"\t1\t", b"\t7\t")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in damaged.items():
            archive.writestr(member, data)
    world.backups.files["data"][first] = (out.getvalue(), moment)
    with caplog.at_level(logging.WARNING):
        name, facts = _next(world)
    assert facts["mode"] == FULL and "ne peut servir de base" in str(facts["reason"])
    assert "120003/tiers.tsv" in str(facts["reason"])
    assert "sauvegarde incrémentale impossible, sauvegarde complète" in caplog.text
    assert world.central.full_exports == 2 and len(world.central.held_sent) == 1
    verify_backup(world.backups.data_opener(name), name=name)
    assert world.backups.files["data"][first][0] == out.getvalue(), "the damaged backup is left as it is"


def test_an_unreadable_previous_backup_gives_a_full_backup_without_asking_for_changes(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup().name
    content, moment = world.backups.files["data"][first]
    world.backups.files["data"][first] = (content[: len(content) // 2], moment)
    _, facts = _next(world)
    assert facts["mode"] == FULL and str(facts["reason"]).startswith(f"la sauvegarde précédente {first} est illisible")
    assert world.central.held_sent == []


def test_a_server_without_export_changes_gets_full_backups(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    world.central.knows_changes = False
    _, facts = _next(world)
    assert facts["mode"] == FULL and "n'envoie pas les seuls changements" in str(facts["reason"])
    assert world.central.full_exports == 2


def test_a_delta_that_does_not_verify_falls_back_and_a_bad_full_export_is_still_refused(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    first = world.parts.actions.data_backup().name
    world.central.write("120002")

    def change_a_row(members: dict[str, bytes]) -> None:
        members["dossiers/120002/tiers.tsv"] = members["dossiers/120002/tiers.tsv"].replace(b"\t0\t", b"\t9\t")

    world.central.tamper = change_a_row
    world.clock.advance(3600)
    with caplog.at_level(logging.WARNING), pytest.raises(BadRequest, match="sha256 does not match"):
        world.parts.actions.data_backup()
    assert "les changements reçus ne se vérifient pas" in caplog.text
    assert world.backups.data_names() == [first] and world.central.full_exports == 2
    assert world.backups.files["work"] == {}, "the delta was discarded"


def test_changes_made_for_another_login_are_refused_and_nothing_is_listed(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup().name
    world.central.export_login = "resp.fd24"
    world.clock.advance(3600)
    with pytest.raises(BadRequest, match=r"les changements ont été faits pour 'resp.fd24', pas pour 'resp.fd12'"):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == [first] and world.central.full_exports == 1


def test_a_previous_backup_of_another_account_gives_a_full_backup(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    world.state.store_credentials(Credentials(COLLEAGUE, COLLEAGUE_PASSWORD, "FD12", "responsable_departemental"))
    _, facts = _next(world)
    assert facts["mode"] == FULL and f"pas pour {COLLEAGUE!r}" in str(facts["reason"])


def test_a_full_backup_comes_back_every_week_and_after_an_upgrade(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    kinds = []
    for _ in range(8):
        world.clock.advance(DAY)
        kinds.append(world.parts.actions.data_backup().mode)
    assert kinds == [INCREMENTAL] * 6 + [FULL, INCREMENTAL]
    world.state_store.documents.pop("full-backup")  # a guardian from before incremental backups
    _, facts = _next(world)
    assert (facts["mode"], facts["reason"]) == (FULL, "aucune sauvegarde complète enregistrée")


def test_the_periodic_full_backup_says_how_old_the_last_one_was(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    world.clock.advance(8 * DAY)
    result = world.parts.actions.data_backup()
    assert (result.mode, result.reason) == (
        FULL,
        "sauvegarde complète périodique (la dernière date de 8 jours, au-delà de 7 jours)",
    )


def test_incremental_backups_can_be_turned_off() -> None:
    world = FakeWorld(environment={"NEOCUMA_BACKUPS_FULL_EVERY_DAYS": "0"})
    world.log_in()
    world.parts.actions.data_backup()
    world.clock.advance(3600)
    result = world.parts.actions.data_backup()
    assert result.mode == FULL and "désactivées" in result.reason and world.central.held_sent == []


def test_status_says_what_the_last_backup_moved(world: FakeWorld) -> None:
    world.parts.actions.data_backup()
    world.central.write("120001")
    _next(world)
    said = "\n".join(lines(world.parts.status.collect()))
    assert "incrémentale : 1 dossier(s) transféré(s) sur 3" in said and "Mo reçus" in said


def test_an_incremental_backup_takes_the_central_clock_from_the_delta(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """No ``v1 time`` request: the delta's created_at is the central clock. Two days apart,
    the backup is made and retention is suspended, as after a full export."""
    world.parts.actions.data_backup()
    world.central.write("120001")
    world.central.skew = 2 * DAY
    asked = world.central.clock_requests
    with caplog.at_level(logging.WARNING):
        _, facts = _next(world)
    assert facts["mode"] == INCREMENTAL and facts["pruned"] == []
    assert world.central.clock_requests == asked, "no v1 time request"
    assert "décalée de -172800 s" in caplog.text and "rétention suspendue" in caplog.text


def test_a_delta_whose_moment_cannot_be_read_gives_a_full_backup(world: FakeWorld) -> None:
    world.parts.actions.data_backup()

    def undated(members: dict[str, bytes]) -> None:
        members[MANIFEST_MEMBER] = members[MANIFEST_MEMBER].replace(b'"2026-11-28T13:00:00Z"', b'"hier"')

    world.central.tamper = undated
    _, facts = _next(world)
    assert facts["mode"] == FULL
    assert facts["reason"] == "les changements reçus ne se vérifient pas : created_at 'hier' illisible"
