import datetime as dt
from decimal import Decimal

import pytest

from appliance.domain.bons import Activity, BonErrors, Exercice, Member, bon_number, validate_bon
from appliance.server.writes import writes_allowed

MEMBERS = [
    Member(1, "001", "Martin Jean", True, False),
    Member(2, "002", "Durand Marie", False, False),
    Member(3, "003", "Petit Paul", False, True),
]
ACTIVITIES = [Activity(7, "A007", "Moissonneuse (ha)", "ha", Decimal("95.50"))]
EXERCICES = [
    Exercice(1, "2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), True),
    Exercice(2, "2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31), False),
]


def _form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {"tiers_id": "1", "activite_id": "7", "date": "2026-03-04", "quantite": "12,5"}
    form.update(overrides)
    return form


def test_a_valid_bon_is_priced_from_the_activity_rate() -> None:
    bon = validate_bon(_form(), MEMBERS, ACTIVITIES, EXERCICES)
    assert bon.exercice.id == 2 and bon.quantity == Decimal("12.50")
    assert bon.amount == Decimal("1193.75")
    assert bon_number(2, 41) == "BT02-00041"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"tiers_id": "99"}, "tiers_id", "inconnu"),
        ({"tiers_id": "abc"}, "tiers_id", "inconnu"),
        ({"tiers_id": "²"}, "tiers_id", "inconnu"),
        ({"activite_id": "٣"}, "activite_id", "inconnue"),
        ({"tiers_id": "2"}, "tiers_id", "plus actif"),
        ({"tiers_id": "3"}, "tiers_id", "disparu"),
        ({"activite_id": "8"}, "activite_id", "inconnue"),
        ({"date": "2025-06-01"}, "date", "clôturé"),
        ({"date": "2030-01-01"}, "date", "aucun exercice"),
        ({"date": "04/03/2026"}, "date", "invalide"),
        ({"quantite": "-1"}, "quantite", "positive"),
        ({"quantite": "0"}, "quantite", "positive"),
        ({"quantite": "1.234"}, "quantite", "deux décimales"),
        ({"quantite": "1e9"}, "quantite", "dépasse"),
        ({"quantite": "NaN"}, "quantite", "invalide"),
        ({"quantite": "beaucoup"}, "quantite", "invalide"),
        # Decimal() reads other digits and underscores; date.fromisoformat() other ISO forms
        # and str() made a number a date: each made a bon (found by the hostile requests).
        ({"quantite": "١٢"}, "quantite", "invalide"),
        ({"quantite": "３,５"}, "quantite", "invalide"),
        ({"quantite": "1_0"}, "quantite", "invalide"),
        ({"date": "20260304"}, "date", "invalide"),
        ({"date": "2026-W10-3"}, "date", "invalide"),
        ({"date": 20260304}, "date", "invalide"),
    ],
)
def test_each_bad_field_is_named(overrides: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(BonErrors) as caught:
        validate_bon(_form(**overrides), MEMBERS, ACTIVITIES, EXERCICES)
    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field]


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(BonErrors) as caught:
        validate_bon({}, MEMBERS, ACTIVITIES, EXERCICES)
    assert set(caught.value.errors) == {"tiers_id", "activite_id", "date", "quantite"}


def test_writes_follow_role_and_mode() -> None:
    assert writes_allowed("central", "standby")
    assert not writes_allowed("local", "standby")
    assert writes_allowed("local", "fallback")
