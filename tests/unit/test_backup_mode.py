"""Deciding whether a data backup is incremental or full, and saying what one moved
(domain/backup_mode.py): each reason for a full backup, in the order they are weighed."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.domain.backup_mode import FULL, INCREMENTAL, PreviousBackup, choose_backup_mode, describe_backup_run

NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
GOOD = PreviousBackup("2026-12-01T01-00-00Z.zip", "resp.fd12", "FD12", 300)
WEEK = dt.timedelta(days=7)


def decide(**changes: object) -> tuple[str, str]:
    facts: dict[str, object] = {
        "requested_full": False,
        "previous": GOOD,
        "login": "resp.fd12",
        "centre": "FD12",
        "last_full": NOW - dt.timedelta(days=2),
        "now": NOW,
        "full_every": WEEK,
    }
    facts.update(changes)
    mode = choose_backup_mode(**facts)  # type: ignore[arg-type]
    return mode.kind, mode.reason


def test_with_a_usable_previous_backup_and_a_recent_full_one_it_is_incremental() -> None:
    assert decide() == (INCREMENTAL, "changements depuis 2026-12-01T01-00-00Z.zip")
    assert decide(last_full=NOW - WEEK + dt.timedelta(seconds=1))[0] == INCREMENTAL


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"requested_full": True}, "sauvegarde complète demandée"),
        (
            {"full_every": dt.timedelta(0)},
            "sauvegardes incrémentales désactivées (NEOCUMA_BACKUPS_FULL_EVERY_DAYS = 0)",
        ),
        ({"previous": None}, "aucune sauvegarde précédente dans data/"),
        (
            {"previous": PreviousBackup("x.zip", None, None, None, problem="son manifeste ne peut être lu")},
            "la sauvegarde précédente x.zip est illisible : son manifeste ne peut être lu",
        ),
        (
            {"login": "resp2.fd12"},
            "la sauvegarde précédente 2026-12-01T01-00-00Z.zip a été faite pour 'resp.fd12' du centre 'FD12',"
            " pas pour 'resp2.fd12' du centre 'FD12'",
        ),
        (
            {"centre": "FD24"},
            "la sauvegarde précédente 2026-12-01T01-00-00Z.zip a été faite pour 'resp.fd12' du centre 'FD12', pas pour 'resp.fd12' du centre 'FD24'",
        ),
        (
            {"previous": PreviousBackup("y.zip", "resp.fd12", "FD12", 2001)},
            "la sauvegarde précédente tient 2001 dossiers, plus que les 2000 d'une demande",
        ),
        ({"last_full": None}, "aucune sauvegarde complète enregistrée"),
        ({"last_full": NOW - WEEK}, "sauvegarde complète périodique (la dernière date de 7 jours, au-delà de 7 jours)"),
        (
            {"last_full": NOW - dt.timedelta(hours=30), "full_every": dt.timedelta(days=1)},
            "sauvegarde complète périodique (la dernière date de 1 jour, au-delà de 1 jour)",
        ),
        (
            {"last_full": NOW + dt.timedelta(days=3)},
            "la dernière sauvegarde complète est datée dans le futur : horloge à vérifier",
        ),
    ],
)
def test_each_reason_for_a_full_backup(changes: dict[str, object], reason: str) -> None:
    assert decide(**changes) == (FULL, reason)


def test_a_full_backup_asked_for_wins_over_every_other_reason() -> None:
    assert decide(requested_full=True, previous=None, last_full=None)[1] == "sauvegarde complète demandée"


def test_what_a_backup_moved_in_french() -> None:
    facts = {"mode": INCREMENTAL, "changed": 3, "dossiers": 300, "removed": 1, "transferred": 812_000, "seconds": 1.25}
    assert describe_backup_run({**facts, "reason": "changements depuis a.zip"}) == (
        "incrémentale : 3 dossier(s) transféré(s) sur 300, 1 retiré(s), 0,8 Mo reçus, 1,2 s (changements depuis a.zip)"
    )
    assert describe_backup_run({"mode": FULL, "changed": 300, "dossiers": 300}) == (
        "complète : 300 dossier(s) transféré(s) sur 300"
    )
    assert describe_backup_run({"mode": FULL, "changed": 3, "dossiers": 3, "retries": 1}) == (
        "complète : 3 dossier(s) transféré(s) sur 3, après 1 nouvel(s) essai(s)"
    )
    assert describe_backup_run({"name": "a.zip", "bytes": 10}) == "", "a backup recorded before says nothing"
    assert describe_backup_run({"mode": FULL, "changed": True, "dossiers": "x"}).startswith("complète : ? dossier(s)")
