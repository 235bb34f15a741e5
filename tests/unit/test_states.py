import pytest

from appliance.domain.states import (
    A_JOUR,
    ABSENT_A_DISTANCE,
    ABSENT_EN_LOCAL,
    EXPORTE,
    MODIFIE_A_DISTANCE,
    MODIFIE_DES_DEUX_COTES,
    MODIFIE_LOCALEMENT,
    Baseline,
    dossier_state,
)

BASE = Baseline(remote_revision=10, local_revision=10)


@pytest.mark.parametrize(
    ("remote", "local", "baseline", "exporte", "state", "local_work"),
    [
        (10, 10, BASE, False, A_JOUR, False),
        (11, 10, BASE, False, MODIFIE_A_DISTANCE, False),
        (10, 11, BASE, False, MODIFIE_LOCALEMENT, True),
        (11, 11, BASE, False, MODIFIE_DES_DEUX_COTES, True),
        (10, None, BASE, False, ABSENT_EN_LOCAL, False),
        (None, 10, BASE, False, ABSENT_A_DISTANCE, False),
        (None, 12, BASE, False, ABSENT_A_DISTANCE, True),
        (10, 10, BASE, True, EXPORTE, False),
        (10, 12, BASE, True, EXPORTE, True),
        (10, None, None, False, ABSENT_EN_LOCAL, False),
        (10, 10, None, False, A_JOUR, False),
        (10, 11, None, False, MODIFIE_DES_DEUX_COTES, True),
        (None, 3, None, False, ABSENT_A_DISTANCE, True),
    ],
)
def test_every_state(
    remote: int | None, local: int | None, baseline: Baseline | None, exporte: bool, state: str, local_work: bool
) -> None:
    result = dossier_state(remote, local, baseline, exporte)
    assert result.state == state
    assert result.has_local_work is local_work


def test_states_compare_each_side_with_its_baseline_never_remote_with_local() -> None:
    # Revisions numbered independently on each side: equal numbers mean nothing by themselves.
    baseline = Baseline(remote_revision=40, local_revision=7)
    assert dossier_state(40, 7, baseline).state == A_JOUR
    assert dossier_state(40, 40, baseline).state == MODIFIE_LOCALEMENT


def test_transitions_after_sync_pull_and_restore() -> None:
    after_sync = Baseline(5, 5)
    assert dossier_state(5, 5, after_sync).state == A_JOUR
    worked_locally = dossier_state(5, 6, after_sync)
    assert worked_locally.state == MODIFIE_LOCALEMENT
    after_restore = Baseline(remote_revision=7, local_revision=6)  # the server moved past both
    assert dossier_state(7, 6, after_restore).state == A_JOUR
    after_pull = Baseline(8, 8)
    assert dossier_state(8, 8, after_pull).state == A_JOUR


def test_a_dossier_absent_on_both_sides_has_no_state() -> None:
    with pytest.raises(ValueError):
        dossier_state(None, None, BASE)


def test_the_local_list_alone_says_what_changed_locally_during_an_outage() -> None:
    from appliance.domain.dossiers import LocalDossier, local_rows

    local = {
        "A": LocalDossier(1, "A", "Cuma A", 5),
        "B": LocalDossier(2, "B", "Cuma B", 7),
        "C": LocalDossier(3, "C", "Cuma C", 1),
    }
    rows = local_rows(local, {"A": Baseline(9, 5), "B": Baseline(9, 6)})
    assert [(r.code, r.state.state, r.state.has_local_work, r.remote_revision) for r in rows] == [
        ("A", "inchangé en local (distant inconnu)", False, None),
        ("B", "modifié localement (distant inconnu)", True, None),
        ("C", "modifié localement (distant inconnu)", True, None),
    ]


def test_moments_read_alike_everywhere_with_paris_time_beside_utc() -> None:
    import datetime as dt

    from appliance.domain.moments import for_people

    assert for_people("2026-12-01T02:03:27Z") == "01/12/2026 02:03:27 UTC (03:03 à Paris)"
    assert for_people("2026-07-01T22:30:00.12Z") == "01/07/2026 22:30:00 UTC (00:30 le 02/07 à Paris)", "summer time"
    assert for_people("2026-11-28T02-00-00Z.zip", seconds=False) == "28/11/2026 02:00 UTC (03:00 à Paris)"
    assert for_people(dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)) == "29/03/2026 01:30:00 UTC (03:30 à Paris)"
    assert for_people(None) == "—" and for_people("bientôt") == "bientôt"
