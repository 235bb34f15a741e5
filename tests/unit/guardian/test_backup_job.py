"""Data and system backups over fakes: names, verification before listing, retention,
partial files after a cut, a stall or a full disk, the login of the backup, progress."""

from __future__ import annotations

import errno
import io
import logging
import zipfile

import pytest

from appliance.domain.backups import backup_name
from appliance.errors import BadRequest, Refused, Unavailable
from tests.fakes.guardian import FakeWorld
from tests.support.backups import Dossier


@pytest.fixture()
def world() -> FakeWorld:
    world = FakeWorld(environment={"NEOCUMA_BACKUPS_KEEP": "3"})
    world.log_in()
    return world


def test_a_data_backup_is_named_by_its_utc_moment_and_listed_once_verified(world: FakeWorld) -> None:
    result = world.parts.actions.data_backup()
    assert result.name == backup_name(world.clock.now()) == "2026-11-28T12-00-00Z.zip"
    assert world.backups.data_names() == [result.name]
    assert (result.dossiers, result.rows) == (3, 3 * 2 * 20)
    with zipfile.ZipFile(io.BytesIO(world.backups.files["data"][result.name][0])) as archive:
        assert "manifest.json" in archive.namelist()
    assert world.history("backup")["ok"] is True and world.history("backup")["name"] == result.name
    assert world.state.counters()["backup"] == result.bytes


def test_retention_removes_backups_older_than_its_days_beyond_the_floor(world: FakeWorld) -> None:
    names = []
    for _ in range(6):
        names.append(world.parts.actions.data_backup().name)
        world.clock.advance(86400)
    assert world.backups.data_names() == names, "14 days by default: nothing is old yet"
    world.clock.advance(20 * 86400)
    newest = world.parts.actions.data_backup().name
    assert world.backups.data_names() == [*names[-2:], newest], "older than 14 days, beyond the 3 newest"
    assert world.history("backup")["ok"] is True


def test_retention_never_deletes_the_backup_just_made_and_ignores_other_files(world: FakeWorld) -> None:
    world.backups.put("data", "notes.txt", b"an operator's file")
    for _ in range(4):
        result = world.parts.actions.data_backup()
        world.clock.advance(30 * 86400)
    assert result.name in world.backups.data_names()
    assert "notes.txt" in world.backups.data_names(), "a file that is not a backup is never pruned"
    assert len([n for n in world.backups.data_names() if n.endswith("Z.zip")]) == 3


def test_after_a_clock_going_back_the_new_backup_is_kept_and_old_ones_go(world: FakeWorld) -> None:
    for day in (20, 21, 22):  # a clock a month ahead dated these
        world.backups.put("data", f"2026-12-{day}T02-00-00Z.zip", b"future")
    world.backups.put("data", "2026-11-01T02-00-00Z.zip", b"old")
    result = world.parts.actions.data_backup()
    assert result.name in world.backups.data_names(), "the backup just made stays"
    assert "2026-11-01T02-00-00Z.zip" not in world.backups.data_names()
    assert result.pruned == ["2026-11-01T02-00-00Z.zip"]


def test_a_clock_jumped_forward_deletes_no_backup_and_retention_resumes_once_it_is_right(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12's clock jump: a guardian a month ahead of the central server would find every
    backup older than its 14 days and delete all but the floor. Its backup is made, nothing
    is deleted and the log says why; with the clock right again, retention runs."""
    names = []
    for _ in range(5):
        names.append(world.parts.actions.data_backup().name)
        world.clock.advance(86400)
    world.clock.advance(30 * 86400)
    world.central.skew = -(30 * 86400 + 5 * 86400)  # the central server still at the true date
    with caplog.at_level(logging.WARNING):
        ahead = world.parts.actions.data_backup()
    assert ahead.pruned == [] and world.backups.data_names() == [*names, ahead.name]
    assert "rétention suspendue, aucune sauvegarde supprimée" in caplog.text
    world.clock.advance(60)
    world.central.skew = 0.0  # the true date is a month on: the old backups may go now
    assert world.parts.actions.data_backup().pruned == names[:4], "beyond the floor of 3"


def test_local_copies_older_than_their_days_go_after_a_backup_but_the_newest_per_dossier(world: FakeWorld) -> None:
    for name in (
        "2026-09-01T09-00-00Z-D0001-avant-descente.zip",
        "2026-09-02T09-00-00Z-D0001-avant-descente.zip",
        "2026-11-20T09-00-00Z-D0002-remontee.zip",
    ):
        world.backups.put("local", name, b"zip")
    world.parts.actions.data_backup()
    assert sorted(world.backups.local_copy_contents()) == [
        "2026-09-02T09-00-00Z-D0001-avant-descente.zip",
        "2026-11-20T09-00-00Z-D0002-remontee.zip",
    ]


def test_a_backup_that_may_not_fit_is_announced_before_it_starts(
    world: FakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    first = world.parts.actions.data_backup()
    world.backups.free = world.backups.used() + first.bytes // 2
    world.clock.advance(3600)
    with pytest.raises(Unavailable, match="plein"):
        world.parts.actions.data_backup()
    assert "pourrait ne pas tenir" in caplog.text and f"la précédente ({first.name})" in caplog.text
    world.backups.free = None
    caplog.clear()
    world.parts.actions.data_backup()
    assert "pourrait ne pas tenir" not in caplog.text


@pytest.mark.parametrize(
    ("full", "partial"), [(True, "2026-11-28T13-00-00Z.zip"), (False, "2026-11-28T13-00-00Z.zip.changes")]
)
def test_a_cut_link_leaves_nothing_listed_and_earlier_backups_intact(
    world: FakeWorld, full: bool, partial: str
) -> None:
    first = world.parts.actions.data_backup().name
    world.clock.advance(3600)
    world.central.cut_after = 4000
    with pytest.raises(Unavailable, match="perdue après 4000 octets"):
        world.parts.actions.data_backup(full=full)
    assert world.backups.data_names() == [first]
    assert world.backups.discarded == [], "nothing was thrown away"
    assert list(world.backups.files["resume"]) == [f"{partial}.part"], "kept for the next attempt"
    assert world.central.full_exports == 1 + full, "a cut link is no reason for a full export"
    failed = world.history("backup")
    assert failed["ok"] is False and "perdue après" in failed["error"]


def test_a_stalled_transfer_fails_instead_of_hanging(world: FakeWorld) -> None:
    world.central.stall = True
    with pytest.raises(Unavailable, match="rien n'a été reçu"):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == []


def test_a_full_disk_is_named_and_nothing_is_listed(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup().name
    world.clock.advance(3600)
    world.backups.free = world.backups.used() + 1000
    with pytest.raises(
        Unavailable, match=r"le volume des sauvegardes est plein pendant l'écriture de 2026-11-28T13-00-00Z.zip"
    ):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == [first]


def test_a_failed_rename_is_reported_as_a_disk_error(world: FakeWorld) -> None:
    world.backups.fail_commit = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(Unavailable, match="plein"):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EROFS, "le volume des sauvegardes est en lecture seule"),
        (errno.EACCES, "refusée dans le volume des sauvegardes (droits d'accès)"),
    ],
)
def test_a_read_only_or_forbidden_volume_is_named_in_french(world: FakeWorld, code: int, words: str) -> None:
    first = world.parts.actions.data_backup().name
    world.clock.advance(3600)
    world.backups.fail_commit = OSError(code, "Read-only file system")
    with pytest.raises(Unavailable) as raised:
        world.parts.actions.data_backup()
    assert words in str(raised.value) and "les sauvegardes précédentes sont intactes" in str(raised.value)
    assert "Read-only" not in str(raised.value), "the system's English words are not the message"
    assert world.backups.data_names() == [first]
    assert world.parts.state.history()["backup"]["ok"] is False


def test_a_backup_that_does_not_verify_is_never_listed(world: FakeWorld) -> None:
    def change_a_row(members: dict[str, bytes]) -> None:
        members["dossiers/120002/tiers.tsv"] = members["dossiers/120002/tiers.tsv"].replace(b"\t0\t", b"\t9\t")

    world.central.tamper = change_a_row
    with pytest.raises(BadRequest, match=r"120002/tiers.tsv: its sha256 does not match the manifest"):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == []
    assert world.history("backup")["ok"] is False


def test_a_backup_made_for_another_login_is_refused(world: FakeWorld) -> None:
    world.central.export_login = "resp.fd24"
    with pytest.raises(BadRequest, match=r"faite pour 'resp.fd24', pas pour 'resp.fd12'"):
        world.parts.actions.data_backup()
    assert world.backups.data_names() == []


def test_without_a_login_a_backup_is_refused_before_any_transfer(world: FakeWorld) -> None:
    world.state_store.documents.clear()
    with pytest.raises(Refused, match="n'est pas identifié"):
        world.parts.actions.data_backup()
    assert world.central.sessions == 0


def test_progress_reports_the_steps_and_the_bytes(world: FakeWorld) -> None:
    world.central.dossiers = {f"1200{n:02d}": Dossier(100000 + n, f"1200{n:02d}", 1, rows=400) for n in range(30)}
    steps: list[str] = []
    seen: list[int] = []
    totals: list[int | None] = []

    def follow(step: str | None, done: int | None, dossiers: int | None, total: int | None) -> None:
        if step:
            steps.append(step)
            totals.append(total)
        elif done:
            seen.append(done)

    world.parts.progress.listen(follow)
    first = world.parts.actions.backup.data()
    assert steps[:2] == ["sauvegarde des données : téléchargement", "sauvegarde des données : vérification"]
    assert seen and seen == sorted(seen) and seen[-1] <= first.bytes
    assert totals[0] is None, "no estimate before the first backup"
    world.clock.advance(3600)
    steps.clear(), totals.clear()
    world.parts.actions.backup.data(full=True)
    assert totals[0] == first.bytes, "the previous backup's size is the estimate"


def test_the_system_backup_replaces_system_zip_only_once_it_verifies(world: FakeWorld) -> None:
    result = world.parts.actions.system_backup()
    assert result.files == 1 and world.backups.system_zip() is not None
    before = world.backups.files["system"]["system.zip"][0]
    world.central.system_files["modeles/facture.html"] = b"<p>facture v2</p>"  # so that it is fetched
    world.central.lying_system_file = b"not what the MANIFEST says"
    with pytest.raises(BadRequest, match="ne correspond pas au MANIFEST du serveur"):
        world.parts.actions.system_backup()
    assert world.backups.files["system"]["system.zip"][0] == before, "the previous system.zip stays"


def test_every_listed_data_backup_gets_its_raw_index(world: FakeWorld) -> None:
    first = world.parts.actions.data_backup()
    world.clock.advance(3600)
    second = world.parts.actions.data_backup()
    assert world.backups.indexed == [first.name, second.name]


def test_only_the_system_files_that_changed_cross_the_link(world: FakeWorld) -> None:
    """Issue 13, item 3: a file the previous system.zip holds as the MANIFEST gives it is
    copied from it; a changed, new or damaged one is fetched."""
    world.central.system_files.update({"modeles/devis.html": b"<p>devis</p>", "logo.png": b"\x89PNG" * 300})
    first = world.parts.actions.system_backup()
    assert (first.files, first.fetched) == (3, 3) and world.central.system_fetched == sorted(world.central.system_files)
    world.central.system_fetched.clear()
    again = world.parts.actions.system_backup()
    assert (again.files, again.fetched, again.transferred) == (3, 0, 0) and world.central.system_fetched == []
    assert world.backups.verify_system(world.backups.system_opener()) == 3
    world.central.system_files["modeles/devis.html"] = b"<p>devis v2</p>"
    world.central.system_files["nouveau.txt"] = b"nouveau"
    changed = world.parts.actions.system_backup()
    assert (changed.files, changed.fetched) == (4, 2)
    assert sorted(world.central.system_fetched) == ["modeles/devis.html", "nouveau.txt"]
    with zipfile.ZipFile(io.BytesIO(world.backups.files["system"]["system.zip"][0])) as archive:
        assert archive.read("modeles/devis.html") == b"<p>devis v2</p>" and archive.read("logo.png") == b"\x89PNG" * 300
        damaged = bytearray(world.backups.files["system"]["system.zip"][0])
        info = archive.getinfo("logo.png")
    lengths = damaged[info.header_offset + 26 : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(lengths[:2], "little") + int.from_bytes(lengths[2:], "little")
    damaged[start + info.compress_size // 2] ^= 0xFF
    world.backups.put("system", "system.zip", bytes(damaged))
    world.central.system_fetched.clear()
    repaired = world.parts.actions.system_backup()
    assert repaired.fetched >= 1 and "logo.png" in world.central.system_fetched, "a damaged copy is fetched again"
    assert world.backups.verify_system(world.backups.system_opener()) == 4


def test_a_system_file_longer_than_its_manifest_is_read_no_further(world: FakeWorld) -> None:
    """Issue 12, finding 12: a remote serving an endless file costs one byte past the size."""
    world.central.lying_system_file = b"x" * (8 * 1024 * 1024)
    with pytest.raises(BadRequest, match="ne correspond pas au MANIFEST du serveur") as caught:
        world.parts.actions.system_backup()
    expected = len(world.central.system_files["modeles/facture.html"]) + 1
    assert f"{expected} octets reçus" in str(caught.value), caught.value


def test_a_stalled_system_backup_keeps_the_previous_one(world: FakeWorld) -> None:
    world.parts.actions.system_backup()
    world.central.system_files["modeles/facture.html"] = b"<p>facture v2</p>"  # so that it is fetched
    world.central.stall = True
    with pytest.raises(Unavailable, match="rien n'a été reçu du serveur distant depuis 60 s"):
        world.parts.actions.system_backup()
    assert world.backups.system_zip() is not None


def test_a_full_disk_during_the_system_backup_is_named(world: FakeWorld) -> None:
    world.backups.free = 10
    with pytest.raises(Unavailable, match=r"le volume des sauvegardes est plein pendant l'écriture de system.zip"):
        world.parts.actions.system_backup()
    assert world.backups.system_zip() is None


def test_the_listing_says_which_files_a_sync_would_refuse(world: FakeWorld) -> None:
    from appliance.guardian.jobs.listing import list_backups, newest_backup

    good = world.parts.actions.data_backup().name
    world.backups.put("data", "2026-11-28T13-00-00Z.zip", b"not a zip")
    world.backups.put("data", "copie de secours.zip", b"x")
    listed = {entry.name: (entry.status, entry.dossiers) for entry in list_backups(world.backups)}
    assert listed == {
        good: ("vérifiée à l'écriture", 3),
        "2026-11-28T13-00-00Z.zip": ("illisible", None),
        "copie de secours.zip": ("nom invalide", None),
    }
    assert newest_backup(world.backups) == "2026-11-28T13-00-00Z.zip", "by the date in the name"


def test_a_backup_removes_what_an_interrupted_one_left(world: FakeWorld, caplog: pytest.LogCaptureFixture) -> None:
    left = world.backups.new_data("2026-11-28T11-00-00Z.zip")
    with left.writer() as sink:
        sink.write(b"the first half of a backup")
    caplog.set_level("INFO")
    world.parts.actions.data_backup()
    assert not left.in_progress(), "moved out of data/"
    assert world.backups.files["resume"] == {}, "nothing to resume from in it: dropped once a backup was made"
    assert "reprise" not in caplog.text
