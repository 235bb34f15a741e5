"""The plan of a complete backup assembled from the previous one and a delta (domain.assembly)."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.domain.assembly import Origin, plan_assembly
from appliance.domain.backup_format import MANIFEST_MEMBER, parse_manifest
from appliance.domain.delta_manifest import parse_delta_manifest
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members, delta_members

BEFORE = [Dossier(1, "120001", 5), Dossier(2, "120002", 8), Dossier(9, "120009", 1)]
AFTER = [Dossier(1, "120001", 5), Dossier(2, "120002", 9, rows=3), Dossier(3, "120003", 0)]


def test_the_plan_takes_unchanged_dossiers_from_the_previous_backup_and_gives_a_full_manifest() -> None:
    previous = parse_manifest(backup_members(BEFORE, created_at="2026-11-27T02:00:00Z")[MANIFEST_MEMBER])
    after = backup_members(AFTER)
    delta = parse_delta_manifest(delta_members(after, {"120002", "120003"}, ["120009"])[MANIFEST_MEMBER])
    plan = plan_assembly(previous, delta)
    assert plan.manifest == parse_manifest(after[MANIFEST_MEMBER])
    assert plan.manifest.to_json() == after[MANIFEST_MEMBER]
    assert [m.name for m in plan.members] == [n for n in after if n != MANIFEST_MEMBER]
    assert plan.dossiers_from(Origin.PREVIOUS) == ["120001"]
    assert plan.dossiers_from(Origin.DELTA) == ["120002", "120003"]
    assert {m.origin for m in plan.members if m.name.startswith("centre/")} == {Origin.DELTA}
    assert [m.origin for m in plan.members[:2]] == [Origin.WRITTEN, Origin.WRITTEN]
    assert plan.scripts == {n: after[n] for n in ("schema.sql", "load.sql")}
    assert {m.dossier_id for m in plan.members if m.name.startswith("dossiers/120003/")} == {3}


@pytest.mark.parametrize(
    ("held", "words"),
    [
        ([Dossier(2, "120002", 8)], "absent de la sauvegarde précédente"),
        ([Dossier(7, "120001", 5)], "l'ID système 7 et la révision 5"),
        ([Dossier(1, "120001", 4)], "l'ID système 1 et la révision 4"),
    ],
)
def test_an_unchanged_dossier_the_previous_backup_does_not_hold_as_listed_is_refused(
    held: list[Dossier], words: str
) -> None:
    previous = parse_manifest(backup_members(held)[MANIFEST_MEMBER])
    delta = delta_members(backup_members(AFTER), {"120002", "120003"}, [])
    with pytest.raises(BadRequest, match=words):
        plan_assembly(previous, parse_delta_manifest(delta[MANIFEST_MEMBER]))


def test_another_schema_version_centre_or_user_is_refused() -> None:
    previous = parse_manifest(backup_members(BEFORE)[MANIFEST_MEMBER])
    delta = parse_delta_manifest(delta_members(backup_members(AFTER), {"120002", "120003"}, [])[MANIFEST_MEMBER])
    for changed, words in (
        (dataclasses.replace(previous, schema_version=previous.schema_version + 1), "version de schéma"),
        (dataclasses.replace(previous, centre={"code": "FD24"}), "du centre 'FD24'"),
        (dataclasses.replace(previous, user={"login": "resp.fd24"}), "prise par 'resp.fd24'"),
        (dataclasses.replace(previous, tables={}), "colonnes"),
    ):
        with pytest.raises(BadRequest, match=words):
            plan_assembly(changed, delta)
