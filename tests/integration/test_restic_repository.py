"""The offsite engine (adapters.restic, adapters.offsite_tree) with the real restic program
(Debian's 0.14, installed by scripts/prerequisites.sh) on a repository in a local
directory: push unpacked backups, deduplicate, list, restore into a backup that verifies,
retention, and the failures a centre will meet (wrong password, no repository, a target
that does not answer, a damaged pack)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.adapters.offsite_tree import pack, unpack
from appliance.adapters.restic import ResticRepository
from appliance.domain.offsite import DATA, LOCAL, Retention, copy_tags, local_to_push, to_push
from appliance.errors import BadRequest, Unavailable
from tests.support import containers
from tests.support.backups import Dossier, backup_members, zip_members

pytestmark = pytest.mark.integration
DAY_ONE = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def _dossiers(changed: int | None = None) -> list[Dossier]:
    return [Dossier(100 + n, f"12{n:04d}", 7 if n == changed else 3, rows=400) for n in range(40)]


@pytest.fixture()
def repository(tmp_path: Path) -> ResticRepository:
    if shutil.which("restic") is None:
        pytest.fail("restic is not installed: scripts/prerequisites.sh test installs it")
    repository = ResticRepository(str(tmp_path / "repo"), "a passphrase kept offline too", tmp_path / "cache")
    assert not repository.exists()
    repository.create()
    assert repository.exists()
    return repository


def _backup(path: Path, changed: int | None, created_at: str) -> Path:
    path.write_bytes(zip_members(backup_members(_dossiers(changed), created_at=created_at)))
    return path


def test_unpacked_backups_deduplicate_and_come_back_as_backups_that_verify(
    repository: ResticRepository, tmp_path: Path
) -> None:
    first = _backup(tmp_path / "2026-12-01T02-00-00Z.zip", None, "2026-12-01T02:00:00Z")
    second = _backup(tmp_path / "2026-12-02T02-00-00Z.zip", 5, "2026-12-02T02:00:00Z")
    stage = tmp_path / "stage"
    pushed = []
    for day, backup in enumerate((first, second)):
        verify_backup(backup)
        unpacked = unpack(lambda b=backup: b.open("rb"), backup.name, stage)
        pushed.append(repository.push(stage, copy_tags(DATA, backup.name), DAY_ONE + dt.timedelta(days=day)))
        assert pushed[-1].processed == unpacked and pushed[-1].files > 40 * 20
    assert pushed[1].added < pushed[0].added / 10, f"one dossier of 40 changed: {pushed}"
    copies = repository.copies()
    assert [(c.name, c.kind, c.made) for c in copies] == [
        (first.name, DATA, DAY_ONE),
        (second.name, DATA, DAY_ONE + dt.timedelta(days=1)),
    ]
    assert copies[1].snapshot.startswith(pushed[1].snapshot) and copies[1].paths == (str(stage),)
    assert to_push([first.name, second.name, "2026-12-03T02-00-00Z.zip"], copies) == ["2026-12-03T02-00-00Z.zip"]
    assert 0 < repository.size() < pushed[0].added, "what the repository holds, compressed"
    restored = tmp_path / "restored"
    repository.restore(copies[1].snapshot, restored)
    rebuilt = tmp_path / "rebuilt.zip"
    with rebuilt.open("wb") as sink:
        pack(restored, sink)  # the tree is stored below ".": it comes back as unzip would make it
    assert verify_backup(rebuilt).manifest == verify_backup(second).manifest


def test_retention_forgets_beyond_the_counts_and_prunes(repository: ResticRepository, tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    for day in range(3):
        name = f"2026-12-0{day + 1}T02-00-00Z.zip"
        backup = _backup(tmp_path / name, day, f"2026-12-0{day + 1}T02:00:00Z")
        unpack(lambda b=backup: b.open("rb"), name, stage)
        repository.push(stage, copy_tags(DATA, name), DAY_ONE + dt.timedelta(days=day))
    repository.forget(Retention(daily=2, weekly=0, monthly=0), DATA)
    assert [c.name for c in repository.copies()] == ["2026-12-02T02-00-00Z.zip", "2026-12-03T02-00-00Z.zip"]
    repository.check(1, 1)


def test_a_wrong_password_is_named_and_nothing_is_changed(repository: ResticRepository, tmp_path: Path) -> None:
    other = ResticRepository(repository.repository, "not the one", tmp_path / "cache2")
    assert "not the one" not in repr(other)
    before = sorted(p.name for p in Path(repository.repository).rglob("*"))
    with pytest.raises(BadRequest, match="mot de passe refusé"):
        other.copies()
    assert sorted(p.name for p in Path(repository.repository).rglob("*")) == before


def test_a_target_that_does_not_answer_is_unavailable(tmp_path: Path) -> None:
    repository = ResticRepository("rest:http://127.0.0.1:9/repo", "x", tmp_path / "cache")
    with pytest.raises(Unavailable, match=r"rest:http://127\.0\.0\.1:9/repo injoignable : restic snapshots a échoué"):
        repository.copies()
    with pytest.raises(Unavailable, match="injoignable"):
        repository.exists()  # not taken for a repository that is not there


def test_a_damaged_pack_is_found_by_check(repository: ResticRepository, tmp_path: Path) -> None:
    name = "2026-12-01T02-00-00Z.zip"
    backup = _backup(tmp_path / name, None, "2026-12-01T02:00:00Z")
    unpack(lambda: backup.open("rb"), name, tmp_path / "stage")
    repository.push(tmp_path / "stage", copy_tags(DATA, name), DAY_ONE)
    packs = sorted((Path(repository.repository) / "data").rglob("*"), key=lambda p: p.stat().st_size)
    damaged = packs[-1]
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.chmod(0o644)
    damaged.write_bytes(bytes(raw))
    with pytest.raises(BadRequest, match="restic check a échoué"):
        repository.check(1, 1)
    # Read in parts, the damaged pack is in exactly one: the others' checks pass.
    failed = []
    for part in range(1, 5):
        try:
            repository.check(part, 4)
        except BadRequest:
            failed.append(part)
    assert len(failed) == 1, failed


def test_a_repository_address_of_no_known_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="attendu un chemin absolu"):
        ResticRepository("ftp://nas/repo", "x", tmp_path / "cache")


def test_the_offsite_store_creates_pushes_and_restores_through_its_work_directory(tmp_path: Path) -> None:
    """The port the guardian's job uses (adapters.offsite_store): it creates the repository,
    unpacks into its work directory and leaves nothing there."""
    from appliance.adapters.offsite_store import ResticOffsite

    store = ResticOffsite(ResticRepository(str(tmp_path / "repo"), "phrase", tmp_path / "cache"), tmp_path / "work")
    assert store.ensure() is True and store.ensure() is False
    backup = _backup(tmp_path / "2026-12-01T02-00-00Z.zip", None, "2026-12-01T02:00:00Z")
    store.push_backup(lambda: backup.open("rb"), backup.name, DATA, DAY_ONE)
    assert list((tmp_path / "work").iterdir()) == []
    (copy,) = store.copies()
    rebuilt = tmp_path / "rebuilt.zip"
    with rebuilt.open("wb") as sink:
        store.restore_backup(copy, sink)
    assert list((tmp_path / "work").iterdir()) == []
    assert verify_backup(rebuilt).manifest == verify_backup(backup).manifest
    assert store.location == str(tmp_path / "repo") and store.size() > 0


def _restic_children() -> list[int]:
    """The restic processes this test process started (their parent is us)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            parent = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a process gone meanwhile
        if name == "restic" and parent == os.getpid():
            found.append(int(stat.parent.name))
    return found


def test_a_push_killed_midway_leaves_a_lock_that_forget_and_check_remove(
    repository: ResticRepository, tmp_path: Path
) -> None:
    """A restic the guardian kills (its time limit, a stop) leaves its lock: on this host
    name, its process gone, restic 0.14 holds it stale, and forget and check (which want
    the repository alone) remove it first instead of failing at every run."""
    name = "2026-12-01T02-00-00Z.zip"
    backup = _backup(tmp_path / name, None, "2026-12-01T02:00:00Z")
    unpack(lambda: backup.open("rb"), name, tmp_path / "stage")
    repository.push(tmp_path / "stage", copy_tags(DATA, name), DAY_ONE)
    big = tmp_path / "big"  # long enough to push for the kill to land midway
    big.mkdir()
    for number in range(6):
        (big / f"part-{number}.bin").write_bytes(os.urandom(16 << 20))
    locks = Path(repository.repository) / "locks"
    failure: list[BaseException] = []

    def push() -> None:
        try:
            repository.push(big, copy_tags(DATA, "2026-12-02T02-00-00Z.zip"), DAY_ONE + dt.timedelta(days=1))
        except BaseException as error:  # noqa: BLE001 - looked at below
            failure.append(error)

    pushing = threading.Thread(target=push)
    pushing.start()
    containers.wait_for(
        lambda: any(locks.iterdir()) or not pushing.is_alive(), 60, "restic taking its lock", interval=0.01
    )
    children = _restic_children()
    assert children and any(locks.iterdir()), "restic holds its lock, mid-push"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    pushing.join(60)
    assert failure and isinstance(failure[0], BadRequest), failure
    assert [c.name for c in repository.copies()] == [name], "no snapshot from the killed push"
    assert len(list(locks.iterdir())) == 1, "the killed restic left its lock"
    repository.forget(Retention(daily=1, weekly=0, monthly=0), DATA)
    repository.check(1, 1)
    assert list(locks.iterdir()) == []
    assert [c.name for c in repository.copies()] == [name]


def test_saves_of_fallback_work_are_pushed_tagged_local_and_outlive_the_data_retention(tmp_path: Path) -> None:
    """The saves of fallback mode (backups/local/…-secours.zip) through the store the
    guardian's job uses, on real restic: each pushed once under its own name and kind, never
    forgotten by the data copies' retention, and restored into a backup that verifies."""
    from appliance.adapters.offsite_store import ResticOffsite

    store = ResticOffsite(ResticRepository(str(tmp_path / "repo"), "phrase", tmp_path / "cache"), tmp_path / "work")
    store.ensure()
    saves = []
    for minute, code in ((0, "120001"), (15, "120001"), (15, "120003")):
        name = f"2026-12-06T09-{minute:02d}-00Z-{code}-secours.zip"
        path = tmp_path / name
        path.write_bytes(zip_members(backup_members([Dossier(1, code, 4 + minute)], created_at="2026-12-06T09:00:00Z")))
        saves.append(path)
    due = local_to_push([p.name for p in saves], store.copies())
    assert [name for name, _ in due] == [p.name for p in saves]
    for name, made in due:
        store.push_backup(lambda n=name: (tmp_path / n).open("rb"), name, LOCAL, made)
    data = _backup(tmp_path / "2026-12-06T02-00-00Z.zip", None, "2026-12-06T02:00:00Z")
    store.push_backup(lambda: data.open("rb"), data.name, DATA, DAY_ONE)
    assert local_to_push([p.name for p in saves], store.copies()) == [], "each save pushed once"
    store.forget(Retention(daily=1, weekly=0, monthly=0), DATA)
    copies = store.copies()
    assert sorted((c.kind, c.name) for c in copies) == sorted([(LOCAL, p.name) for p in saves] + [(DATA, data.name)]), (
        "the data retention forgets no save of fallback work"
    )
    last = next(c for c in copies if c.name == saves[-1].name)
    assert last.made == dt.datetime(2026, 12, 6, 9, 15, tzinfo=dt.UTC)
    rebuilt = tmp_path / "rebuilt.zip"
    with rebuilt.open("wb") as sink:
        store.restore_backup(last, sink)
    assert verify_backup(rebuilt).manifest == verify_backup(saves[-1]).manifest
