import datetime as dt

import pytest

from appliance.domain.backups import (
    Retention,
    backup_name,
    choose_backup,
    local_copies_to_prune,
    parse_backup_name,
    to_prune,
)
from appliance.errors import Refused

NOW = dt.datetime(2026, 11, 28, 16, 0, 0, tzinfo=dt.UTC)


def test_names_have_no_colon_and_round_trip() -> None:
    name = backup_name(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert name == "2026-01-02T03-04-05Z.zip" and ":" not in name
    assert parse_backup_name(name) == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for bad in ("2026-01-02T03:04:05Z.zip", "2026-13-02T03-04-05Z.zip", "backup.zip", "2026-01-02T03-04-05Z.zip.part"):
        assert parse_backup_name(bad) is None


def test_the_newest_backup_is_chosen_by_the_date_in_its_name() -> None:
    names = ["2026-11-27T02-00-00Z.zip", "2026-11-28T02-00-00Z.zip"]
    assert choose_backup(names, NOW) == "2026-11-28T02-00-00Z.zip"
    assert choose_backup(names, NOW, "2026-11-27T02-00-00Z.zip") == "2026-11-27T02-00-00Z.zip"
    # An old backup copied back (its file just written) and a misnamed copy are not the newest.
    assert choose_backup([*names, "2026-11-01T02-00-00Z.zip", "copie.zip"], NOW) == "2026-11-28T02-00-00Z.zip"


@pytest.mark.parametrize(
    ("names", "requested", "words"),
    [
        ([], None, "aucune sauvegarde"),
        (["copie.zip"], None, "aucune sauvegarde"),
        (["2026-11-27T02-00-00Z.zip", "2027-01-01T00-00-00Z.zip"], None, "dans le futur (l'horloge a-t-elle reculé ?)"),
        (["2026-11-27T02-00-00Z.zip"], "2026-11-26T02-00-00Z.zip", "n'existe pas"),
        (["2026-11-27T02-00-00Z.zip"], "../etc/passwd", "nom de fichier"),
        (["autre.zip"], "autre.zip", "AAAA-MM-JJ"),
    ],
)
def test_refusals_name_the_file(names: list[str], requested: str | None, words: str) -> None:
    with pytest.raises(Refused) as caught:
        choose_backup(names, NOW, requested)
    assert words in str(caught.value)


def _daily(first: int, last: int) -> list[str]:
    return [f"2026-11-{day:02d}T02-00-00Z.zip" for day in range(first, last + 1)]


def test_retention_deletes_by_age_beyond_a_floor_of_the_newest() -> None:
    names = _daily(1, 28)  # NOW is 2026-11-28T12:00Z
    two_weeks = Retention(days=14, minimum=3)
    assert to_prune(names, NOW, two_weeks) == _daily(1, 14), "older than 14 days, the oldest first"
    assert to_prune(_daily(1, 5), NOW, two_weeks) == _daily(1, 2), "a month-long outage: the 3 newest stay"
    assert to_prune(_daily(1, 2), NOW, two_weeks) == []
    assert to_prune(["notes.txt", *_daily(1, 5)], NOW, Retention(1, 1)) == _daily(1, 4)
    for bad in (Retention(14, 0), Retention(0, 3)):
        with pytest.raises(ValueError):
            to_prune(names, NOW, bad)


def test_retention_never_deletes_the_backup_just_made_when_the_clock_went_back() -> None:
    # The clock went back a month: three backups dated in its future, one just made today.
    future = ["2026-12-20T02-00-00Z.zip", "2026-12-21T02-00-00Z.zip", "2026-12-22T02-00-00Z.zip"]
    just_made = "2026-11-28T12-00-00Z.zip"
    old = _daily(1, 3)
    removed = to_prune([*old, just_made, *future], NOW, Retention(days=14, minimum=3), protect=just_made)
    assert removed == old, "the future-dated ones count as new, the one just made stays"


def test_local_copies_go_by_age_but_the_newest_of_each_dossier_stays() -> None:
    names = [
        "2026-10-01T09-00-00Z-D0001-avant-descente.zip",
        "2026-10-02T09-00-00Z-D0001-remontee.zip",
        "2026-11-27T09-00-00Z-D0001-avant-veille.zip",
        "2026-09-01T09-00-00Z-CUMA-DU-LOT-avant-descente.zip",
        "2026-09-02T09-00-00Z-CUMA-DU-LOT-avant-descente.zip",
        "rapport.zip",
        "2026-09-01T09-00-00Z-D0002-autre-raison.zip",
    ]
    assert local_copies_to_prune(names, NOW, 30) == [
        "2026-09-01T09-00-00Z-CUMA-DU-LOT-avant-descente.zip",
        "2026-10-01T09-00-00Z-D0001-avant-descente.zip",
        "2026-10-02T09-00-00Z-D0001-remontee.zip",
    ]
    assert local_copies_to_prune(names, NOW, 365) == []
    with pytest.raises(ValueError):
        local_copies_to_prune(names, NOW, 0)
