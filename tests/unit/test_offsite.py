"""Offsite copies, the pure part (domain.offsite): repository addresses, retention, the
snapshots restic lists, what is still to push."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from appliance.domain.offsite import (
    DATA,
    SYSTEM,
    OffsiteCopy,
    Retention,
    copy_tags,
    newest,
    parse_snapshots,
    repository_kind,
    to_push,
)
from appliance.errors import BadRequest, Unavailable


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("/mnt/disque/depot", "local"),
        ("sftp:sauvegarde@nas.local:/volume1/neocuma", "sftp"),
        ("s3:https://s3.example.fr/neocuma-fd12", "s3"),
        ("rest:https://backup.example.fr:8000/fd12/", "rest"),
    ],
)
def test_the_four_kinds_of_repository(address: str, kind: str) -> None:
    assert repository_kind(address) == kind


@pytest.mark.parametrize("address", ["depot", "ftp://nas/x", "sftp:", "", "b2:bucket"])
def test_another_address_is_refused_with_what_is_expected(address: str) -> None:
    with pytest.raises(BadRequest, match="attendu un chemin absolu"):
        repository_kind(address)


def test_retention_asks_restic_for_its_counts_per_kind() -> None:
    assert Retention().forget_arguments(DATA) == [
        "--tag",
        "neocuma,type=data",
        "--group-by",
        "host",
        "--keep-daily",
        "30",
        "--keep-weekly",
        "12",
        "--keep-monthly",
        "12",
    ]
    with pytest.raises(BadRequest, match="zéro copie"):
        Retention(0, 0, 0)
    with pytest.raises(BadRequest, match="hebdomadaires à garder : -1"):
        Retention(weekly=-1)


def _snapshot(snapshot: str, time: str, tags: list[str] | None) -> dict[str, object]:
    return {"id": snapshot, "time": time, "tags": tags, "paths": ["/var/lib/guardian/backups/.offsite"]}


def test_the_guardians_copies_are_read_from_restics_list_and_others_left_out() -> None:
    listed = [
        _snapshot(
            "b" * 64,
            "2026-12-02T03:00:00.123456789+01:00",
            ["neocuma", "type=data", "fichier=2026-12-02T02-00-00Z.zip"],
        ),
        _snapshot("a" * 64, "2026-12-01T02:00:00Z", ["neocuma", "type=data", "fichier=2026-12-01T02-00-00Z.zip"]),
        _snapshot("c" * 64, "2026-12-01T05:00:00Z", ["made-by-hand"]),
        _snapshot("d" * 64, "2026-12-01T05:00:00Z", None),
        _snapshot("e" * 64, "2026-12-01T06:00:00Z", ["neocuma", "type=system", "fichier=system.zip"]),
    ]
    copies = parse_snapshots(json.dumps(listed).encode())
    assert [(c.snapshot[0], c.kind, c.name) for c in copies] == [
        ("a", DATA, "2026-12-01T02-00-00Z.zip"),
        ("e", SYSTEM, "system.zip"),
        ("b", DATA, "2026-12-02T02-00-00Z.zip"),
    ]
    assert copies[2].made == dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC), "restic's offset, in UTC"
    assert newest(copies) == copies[2] and newest(copies, SYSTEM) == copies[1] and newest([]) is None
    assert parse_snapshots(b"") == [] and parse_snapshots(b"[]") == []


@pytest.mark.parametrize(("raw", "said"), [(b"{not json", "pas du JSON"), (b"{}", "pas une liste"), (b"[1]", "objet")])
def test_an_output_that_is_not_restics_is_named(raw: bytes, said: str) -> None:
    with pytest.raises(BadRequest, match=said):
        parse_snapshots(raw)


def test_a_copy_is_tagged_with_its_kind_and_its_backups_name() -> None:
    assert copy_tags(DATA, "2026-12-01T02-00-00Z.zip") == ["neocuma", "type=data", "fichier=2026-12-01T02-00-00Z.zip"]
    for kind, name in ((DATA, "../etc/passwd"), (DATA, "2026-12-01.zip"), ("logs", "system.zip")):
        with pytest.raises(BadRequest, match="n'est pas le nom d'une sauvegarde"):
            copy_tags(kind, name)


def test_what_came_after_the_newest_copy_is_pushed_oldest_first() -> None:
    held = [OffsiteCopy("a", DATA, "2026-12-02T02-00-00Z.zip", dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC))]
    local = [
        "2026-12-03T02-00-00Z.zip",
        "2026-12-02T01-00-00Z.zip",  # forgotten by retention (the same day): not pushed again
        "2026-12-02T02-00-00Z.zip",
        "2026-12-04T02-00-00Z.zip",
        "notes.txt",
    ]
    assert to_push(local, held) == ["2026-12-03T02-00-00Z.zip", "2026-12-04T02-00-00Z.zip"]
    assert to_push(local[:2], []) == ["2026-12-02T01-00-00Z.zip", "2026-12-03T02-00-00Z.zip"]
    assert to_push(local, held, SYSTEM) == sorted(local[:4]), "no copy of that kind yet"


def test_a_rest_login_refused_is_said_as_such_never_as_a_missing_repository(tmp_path: Path) -> None:
    """restic answers a 401 with "Is there a repository…?": taken for a missing repository,
    the guardian would try `restic init` with the wrong login (restic 0.14's own words)."""
    from appliance.adapters.restic import RepositoryMissing, ResticRepository

    repository = ResticRepository("rest:http://neocuma:wrong@nas.fd12.lan:8000/neocuma/", "x", tmp_path)
    said = (
        "Fatal: unable to open config file: unexpected HTTP response (401): 401 Unauthorized\n"
        "Is there a repository at the following location?\nrest:http://neocuma:***@nas.fd12.lan:8000/neocuma/\n"
    )
    error = repository._failure("cat", said)
    assert isinstance(error, BadRequest) and not isinstance(error, RepositoryMissing)
    assert "identifiants refusés par le serveur (HTTP 401)" in str(error) and "wrong" not in str(error)


def test_a_live_lock_is_said_as_such_and_tried_again(tmp_path: Path) -> None:
    """A lock unlock left (another restic still running) is not a damaged repository: the
    run is tried again (restic 0.14's own words)."""
    from appliance.adapters.restic import ResticRepository

    repository = ResticRepository("/srv/offsite", "x", tmp_path)
    said = (
        "unable to create lock in backend: repository is already locked exclusively by PID 4242 on nas by root\n"
        "lock was created at 2026-12-06 01:00:00 (2m0s ago)\nstorage ID 1a2b3c4d\n"
        "the `unlock` command can be used to remove stale locks\n"
    )
    error = repository._failure("forget", said)
    assert isinstance(error, Unavailable) and "verrouillé par un autre restic" in str(error)


def test_a_rest_address_shows_without_its_password_in_config_show_and_errors() -> None:
    from appliance.configuration import load_guardian
    from appliance.configuration.declare import show

    address = "rest:https://neocuma:s3cret-pass@nas.fd12.lan:8000/neocuma/"
    base = {"NEOCUMA_DB_PASSWORD": "x", "NEOCUMA_LOCAL_CHECK_TOKEN": "c" * 32, "NEOCUMA_OFFSITE_PASSWORD": "p"}
    config = load_guardian(Path("/nonexistent.toml"), {**base, "NEOCUMA_OFFSITE_REPOSITORY": address})
    assert config.offsite.repository == address, "the value itself is whole: restic needs it"
    listed = "\n".join(show(config, config.loaded))
    assert "rest:https://***@nas.fd12.lan:8000/neocuma/" in listed and "s3cret-pass" not in listed
    assert "s3cret-pass" not in repr(config)
    with pytest.raises(BadRequest) as caught:
        repository_kind("https://neocuma:s3cret-pass@nas.fd12.lan/")
    assert "s3cret-pass" not in str(caught.value)


def test_a_push_is_bounded_by_its_bytes_at_the_minimum_rate_and_the_rest_by_the_setting(tmp_path: Path) -> None:
    """Not 6 hours whatever the work: a push's limit follows what it pushes, the other long
    commands' is NEOCUMA_OFFSITE_COMMAND_MINUTES."""
    from appliance.adapters.offsite_store import ResticOffsite
    from appliance.adapters.restic import PUSH_START_SECONDS
    from appliance.guardian.wiring import _offsite
    from tests.fakes.guardian import config

    store = _offsite(
        config(
            NEOCUMA_OFFSITE_REPOSITORY="/srv/offsite",
            NEOCUMA_OFFSITE_PASSWORD="p",
            NEOCUMA_OFFSITE_MINIMUM_RATE_KB="50",
            NEOCUMA_OFFSITE_COMMAND_MINUTES="20",
        )
    )
    assert isinstance(store, ResticOffsite)
    repository = store.repository
    assert repository.timeout == 20 * 60 and repository.minimum_rate == 50_000
    assert repository.push_timeout(350_000_000) == PUSH_START_SECONDS + 7000
    default_store = _offsite(config(NEOCUMA_OFFSITE_REPOSITORY="/srv/offsite", NEOCUMA_OFFSITE_PASSWORD="p"))
    assert isinstance(default_store, ResticOffsite)
    default = default_store.repository
    assert default.timeout == 3600 and default.push_timeout(350_000_000) == PUSH_START_SECONDS + 3500


def test_a_restic_that_hangs_mid_push_is_stopped_at_the_push_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A REST or S3 server that stops answering leaves restic waiting (no keepalive)."""
    from appliance.adapters import restic
    from appliance.adapters.restic import ResticRepository

    hung = tmp_path / "restic"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "load.sql").write_bytes(b"x" * 1000)
    monkeypatch.setattr(restic, "PUSH_START_SECONDS", 0.5)
    repository = ResticRepository("/srv/offsite", "x", tmp_path / "cache", binary=str(hung), minimum_rate=2000)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="restic backup sur le dépôt hors site n'a pas fini en 1 s"):
        repository.push(tree, ["neocuma"], dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert time.monotonic() - started < 10


def test_an_unlock_that_fails_is_logged_and_the_command_after_it_says_what_is_wrong(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A repository that refuses deletions (append-only) or does not answer: unlock is only
    a help, never the failure itself."""
    from appliance.adapters.restic import ResticRepository

    refusing = tmp_path / "restic"
    refusing.write_text('#!/bin/sh\necho "Fatal: unable to remove lock: blob not removable" >&2\nexit 1\n')
    refusing.chmod(0o755)
    repository = ResticRepository("/srv/offsite", "x", tmp_path / "cache", binary=str(refusing))
    with caplog.at_level("WARNING"):
        repository.unlock()
    assert "verrous périmés du dépôt hors site non retirés" in caplog.text and "not removable" in caplog.text
