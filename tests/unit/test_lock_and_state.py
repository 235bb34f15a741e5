import multiprocessing
import os
from pathlib import Path

import pytest

from appliance.adapters.state_files import JsonFile, atomic_write, exclusive_lock
from appliance.domain.system_manifest import parse_system_manifest
from appliance.errors import BadRequest, Refused


def _hold(path: str, ready: "multiprocessing.synchronize.Event", release: "multiprocessing.synchronize.Event") -> None:
    with exclusive_lock(Path(path), "sauvegarde des données"):
        ready.set()
        release.wait(30)


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(lock), ready, release))
    holder.start()
    assert ready.wait(30)
    try:
        with pytest.raises(Refused, match="sauvegarde des données"), exclusive_lock(lock, "synchronisation"):
            pass
    finally:
        release.set()
        holder.join(30)
    with exclusive_lock(lock, "synchronisation"):
        assert "synchronisation" in lock.read_text()


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(lock), ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()
    holder.join(30)
    with exclusive_lock(lock, "synchronisation"):
        pass


def test_state_files_are_private_and_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "state" / "credentials.json"
    JsonFile(target).write({"login": "resp.fd12"})
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert JsonFile(target).read() == {"login": "resp.fd12"}
    atomic_write(target, b'{"login": "x"}')
    assert not list(target.parent.glob(".*tmp"))
    assert JsonFile(tmp_path / "missing.json").read() == {}


def test_system_manifest_parsing_refuses_unsafe_entries() -> None:
    sha = "a" * 64
    good = f"# neocuma-system-manifest 1\n# generation 3\n{sha} 12 modeles/facture.html\n"
    assert parse_system_manifest(good)[0].path == "modeles/facture.html"
    for bad in (
        "no header\n",
        f"# neocuma-system-manifest 1\n{sha} 12 ../etc/passwd\n",
        f"# neocuma-system-manifest 1\n{sha} 12 /etc/passwd\n",
        f"# neocuma-system-manifest 1\n{sha} twelve a\n",
        f"# neocuma-system-manifest 1\n{sha} 1 a\n{sha} 1 a\n",
    ):
        with pytest.raises(BadRequest):
            parse_system_manifest(bad)
