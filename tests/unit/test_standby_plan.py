"""The incremental synchronisation's decisions (domain/standby.py): which dossiers of the
standby generation are replaced, kept or deleted, and when a full load is made instead."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from appliance.domain.backup_format import Manifest, MemberDigest, parse_manifest
from appliance.domain.standby import (
    FULL,
    INCREMENTAL,
    HeldContent,
    StandbyContent,
    StandbyPlan,
    choose_sync_mode,
    describe_sync_run,
    dossier_digest,
    plan_standby,
    table_tokens,
)
from tests.support.backups import Dossier, backup_members

NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
DOSSIERS = [Dossier(100000 + n, f"1200{n:02d}", 1) for n in range(10)]


def _manifest(dossiers: list[Dossier]) -> Manifest:
    return parse_manifest(backup_members(dossiers)["manifest.json"])


def _content(manifest: Manifest, **changes: object) -> StandbyContent:
    content = StandbyContent(
        generation=4,
        backup="2026-12-01T02-00-00Z.zip",
        built_at=NOW - dt.timedelta(days=2),
        schema_version=manifest.schema_version,
        dossiers={d.code: HeldContent(d.id, d.revision, dossier_digest(d)) for d in manifest.dossiers},
        current={d.code: (d.id, d.revision) for d in manifest.dossiers},
    )
    return dataclasses.replace(content, **changes)  # type: ignore[arg-type]


def test_nothing_changed_nothing_is_replaced() -> None:
    manifest = _manifest(DOSSIERS)
    assert plan_standby(_content(manifest), manifest) == StandbyPlan((), tuple(d.code for d in DOSSIERS), ())


def test_the_digest_names_the_content_not_the_revision() -> None:
    first = _manifest(DOSSIERS).dossiers[0]
    assert dossier_digest(first) == dossier_digest(dataclasses.replace(first, revision=99))
    other = dict(first.tables)
    other["tiers"] = MemberDigest("0" * 64, other["tiers"].size, other["tiers"].rows)
    assert dossier_digest(dataclasses.replace(first, tables=other)) != dossier_digest(first)


def test_changed_new_gone_renumbered_and_locally_written_dossiers() -> None:
    before = _manifest(DOSSIERS)
    content = _content(before)
    # 120001 changed on the central server; 120002 left the rights; 120003 now has another
    # ID système; 120004 was written locally (fallback) since the record; 120099 is new.
    after = [
        Dossier(100001, "120001", 2, rows=3) if d.code == "120001" else d
        for d in DOSSIERS
        if d.code not in ("120002", "120003")
    ] + [Dossier(200003, "120003", 1), Dossier(100099, "120099", 1)]
    content.current["120004"] = (100004, 2)
    plan = plan_standby(content, _manifest(after))
    assert plan.replace == ("120001", "120003", "120004", "120099")
    assert plan.delete == (100002, 100003)
    assert set(plan.unchanged) == {d.code for d in DOSSIERS} - {"120001", "120002", "120003", "120004"}


def test_with_the_tables_recorded_only_the_changed_tables_of_a_changed_dossier_are_replaced() -> None:
    before = _manifest(DOSSIERS)
    recorded = {d.code: HeldContent(d.id, d.revision, dossier_digest(d), table_tokens(d)) for d in before.dossiers}
    first = before.dossiers[1]
    tables = dict(first.tables)
    tables["bon_travaux"] = MemberDigest("1" * 64, 10, 4)
    after = dataclasses.replace(
        before,
        dossiers=[
            dataclasses.replace(d, tables=tables, revision=2) if d.code == first.code else d for d in before.dossiers
        ]
        + [_manifest([Dossier(100099, "120099", 1)]).dossiers[0]],
    )
    plan = plan_standby(_content(before, dossiers=recorded), after)
    assert plan.replace == (first.code, "120099") and dict(plan.partial) == {first.code: ("bon_travaux",)}
    assert plan.replaced_in("bon_travaux") == [first.code, "120099"]
    assert plan.replaced_in("tiers") == ["120099"], "a new dossier: every table"
    written = _content(before, dossiers=recorded)
    written.current[first.code] = (first.id, first.revision + 1)  # a local write since the record
    assert dict(plan_standby(written, after).partial) == {}, "a local write: every table"
    assert dict(plan_standby(_content(before), after).partial) == {}, "a record without tables: every table"


def test_a_revision_moved_without_a_content_change_keeps_the_rows() -> None:
    before = _manifest(DOSSIERS)
    moved = dataclasses.replace(
        before,
        dossiers=[
            dataclasses.replace(d, revision=d.revision + 1) if d.code == "120005" else d for d in before.dossiers
        ],
    )
    assert "120005" in plan_standby(_content(before), moved).unchanged, (
        "the dossier row is reloaded with the centre tables"
    )


def decide(**changes: object) -> tuple[str, str]:
    manifest = _manifest(DOSSIERS)
    facts: dict[str, object] = {
        "requested_full": False,
        "standby": 4,
        "content": _content(manifest),
        "manifest": manifest,
        "now": NOW,
        "full_every": dt.timedelta(days=7),
    }
    facts.update(changes)
    mode = choose_sync_mode(**facts)  # type: ignore[arg-type]
    return mode.kind, mode.reason


def test_incremental_names_the_standby_and_its_backup() -> None:
    manifest = _manifest(DOSSIERS)
    mode = choose_sync_mode(
        requested_full=False,
        standby=4,
        content=_content(manifest),
        manifest=manifest,
        now=NOW,
        full_every=dt.timedelta(days=7),
    )
    assert (mode.kind, mode.standby, mode.reason) == (
        INCREMENTAL,
        4,
        "génération de réserve 4 mise à jour depuis 2026-12-01T02-00-00Z.zip",
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"requested_full": True}, "synchronisation complète demandée"),
        (
            {"full_every": dt.timedelta(0)},
            "synchronisations incrémentales désactivées (NEOCUMA_SYNC_FULL_EVERY_DAYS = 0)",
        ),
        ({"standby": None}, "aucune génération de réserve (première synchronisation, ou la précédente a été annulée)"),
        ({"content": None}, "la génération de réserve 4 n'a pas d'inventaire de son contenu"),
        (
            {"content": _content(_manifest(DOSSIERS), schema_version=0)},
            "la génération de réserve 4 est au schéma 0, la sauvegarde au schéma 1",
        ),
        (
            {"content": _content(_manifest(DOSSIERS), built_at=NOW - dt.timedelta(days=8))},
            "reconstruction complète périodique (génération de réserve construite il y a 8 jour(s))",
        ),
        (
            {"content": _content(_manifest(DOSSIERS), built_at=NOW + dt.timedelta(days=30))},
            "la génération de réserve 4 est datée dans le futur : horloge à vérifier",
        ),
        (
            {"content": _content(_manifest(DOSSIERS), dossiers={})},
            "10 dossiers sur 10 ont changé : le chargement complet est plus rapide",
        ),
    ],
)
def test_each_reason_for_a_full_load(changes: dict[str, object], reason: str) -> None:
    assert decide(**changes) == (FULL, reason)


def test_a_sync_run_is_described_for_people() -> None:
    facts = {
        "mode": "incremental",
        "changed": 4,
        "dossiers": 299,
        "system_installed": False,
        "system_generation": 3,
        "seconds": 1.53,
        "reason": "génération de réserve 2 mise à jour",
    }
    assert describe_sync_run(facts) == (
        "incrémentale : 4 dossier(s) rechargé(s) sur 299, fichiers système inchangés, 1,5 s"
        " (génération de réserve 2 mise à jour)"
    )
    assert "fichiers système installés" in describe_sync_run(dict(facts, mode="full", system_installed=True))
    assert "fichiers système" not in describe_sync_run(dict(facts, system_generation=None)), "no system.zip"
    assert describe_sync_run({"backup": "x.zip", "data_generation": 2}) == "", "recorded before this was kept"
