import datetime as dt

import pytest

from appliance.domain.backups import Entry, backup_name, choose_backup, parse_backup_name, to_prune
from appliance.errors import Refused

NOW = dt.datetime(2026, 11, 28, 16, 0, 0, tzinfo=dt.UTC)


def _entry(name: str, minutes_ago: int) -> Entry:
    return Entry(name, NOW - dt.timedelta(minutes=minutes_ago))


def test_names_have_no_colon_and_round_trip() -> None:
    name = backup_name(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert name == "2026-01-02T03-04-05Z.zip" and ":" not in name
    assert parse_backup_name(name) == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    for bad in ("2026-01-02T03:04:05Z.zip", "2026-13-02T03-04-05Z.zip", "backup.zip", "2026-01-02T03-04-05Z.zip.part"):
        assert parse_backup_name(bad) is None


def test_the_newest_backup_is_chosen() -> None:
    entries = [_entry("2026-11-27T02-00-00Z.zip", 60 * 24), _entry("2026-11-28T02-00-00Z.zip", 60)]
    assert choose_backup(entries, NOW) == "2026-11-28T02-00-00Z.zip"
    assert choose_backup(entries, NOW, "2026-11-27T02-00-00Z.zip") == "2026-11-27T02-00-00Z.zip"


@pytest.mark.parametrize(
    ("entries", "requested", "words"),
    [
        ([], None, "aucune sauvegarde"),
        ([_entry("2026-11-27T02-00-00Z.zip", 600), _entry("copie.zip", 1)], None, "copie.zip"),
        ([_entry("2026-11-27T02-00-00Z.zip", 600), _entry("2027-01-01T00-00-00Z.zip", 1)], None, "dans le futur"),
        ([_entry("2026-11-27T02-00-00Z.zip", 600)], "2026-11-26T02-00-00Z.zip", "n'existe pas"),
        ([_entry("2026-11-27T02-00-00Z.zip", 600)], "../etc/passwd", "nom de fichier"),
        ([_entry("autre.zip", 600)], "autre.zip", "AAAA-MM-JJ"),
    ],
)
def test_refusals_name_the_file(entries: list[Entry], requested: str | None, words: str) -> None:
    with pytest.raises(Refused) as caught:
        choose_backup(entries, NOW, requested)
    assert words in str(caught.value)


def test_retention_keeps_the_newest() -> None:
    names = [f"2026-11-{day:02d}T02-00-00Z.zip" for day in range(1, 11)]
    assert to_prune(names, 3) == names[:7]
    assert to_prune(names[:1], 1) == []
    assert to_prune(["notes.txt", *names[:2]], 1) == names[:1]
    with pytest.raises(ValueError):
        to_prune(names, 0)
