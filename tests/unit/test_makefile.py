"""The Makefile explains itself: ``make help`` lists every target a person may run."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {match.group(1) for match in re.finditer(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE)}


def test_make_help_lists_every_target() -> None:
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[1] for line in shown.splitlines() if line.startswith("make ")}
    assert len(_targets()) > 25
    assert listed == _targets(), f"missing from make help: {sorted(_targets() - listed)}"


def _dry_run(directory: Path, target: str, *variables: str) -> str:
    return subprocess.run(
        ["make", "-s", "-n", "-f", str(ROOT / "Makefile"), target, *variables],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout


def test_every_compose_command_reads_the_centres_override_file_when_there_is_one(tmp_path: Path) -> None:
    """docs/ tell a centre to add its own settings in docker-compose.override.yml, which
    plain `docker compose` reads by itself: make must read it too, last."""
    (tmp_path / ".env").write_text("NEOCUMA_DEPLOYMENT=production\n")
    assert "override" not in _dry_run(tmp_path, "down")
    (tmp_path / "docker-compose.override.yml").write_text("services: {}\n")
    for target in ("down", "status", "logs"):
        shown = _dry_run(tmp_path, target)
        assert "-f docker-compose.yml -f docker-compose.override.yml " in shown, shown
    (tmp_path / ".env").unlink()  # the demo: its file, then the centre's
    shown = _dry_run(tmp_path, "down")
    assert "-f docker-compose.yml -f docker-compose.demo.yml -f docker-compose.override.yml" in shown, shown


def test_offsite_password_creates_a_secret_once_readable_by_the_guardian_and_never_replaces_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "secrets"
    created = subprocess.run(
        [str(ROOT / "scripts" / "offsite-password.sh"), str(directory)], capture_output=True, text=True, check=True
    )
    secret = directory / "offsite-password"
    password = secret.read_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}", password), "256 random bits"
    assert password in created.stdout and "HORS LIGNE" in created.stdout
    assert "NEOCUMA_OFFSITE_PASSWORD_FILE=/run/neocuma-secrets/centre/offsite-password" in created.stdout
    mode = secret.stat().st_mode & 0o777
    assert mode == 0o400 and secret.stat().st_uid == 10001 if os.geteuid() == 0 else mode == 0o444
    again = subprocess.run(
        [str(ROOT / "scripts" / "offsite-password.sh"), str(directory)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "jamais remplacé" in again.stderr
    assert secret.read_text().strip() == password and password not in again.stdout + again.stderr
    assert sorted(p.name for p in directory.iterdir()) == ["offsite-password"], "no temporary file left"


def test_a_version_pinned_in_dotenv_is_the_one_make_runs_and_it_is_never_rebuilt_from_this_tree(
    tmp_path: Path,
) -> None:
    """docs/upgrade.md, "Going back": NEOCUMA_VERSION in .env pins the images; make must not
    rebuild that tag from a newer tree (the rollback would then run the new code)."""
    (tmp_path / "appliance").mkdir()
    (tmp_path / "appliance" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    shown = _dry_run(tmp_path, "images")
    assert "-t neocuma/appliance:9.9.9 ." in shown, "without a pin, the tree's version is built"
    (tmp_path / ".env").write_text("NEOCUMA_DEPLOYMENT=production\nNEOCUMA_VERSION=9.9.8\n")
    shown = _dry_run(tmp_path, "images")
    assert "docker build" not in shown and "docker image inspect neocuma/$name:9.9.8" in shown, shown
    version = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "--eval", "shown: ; @echo $(NEOCUMA_VERSION)", "shown"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert version == "9.9.8", "compose runs the pinned images"


def test_make_return_runs_the_guided_return_and_plan_only_shows_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NEOCUMA_DEPLOYMENT=production\n")
    assert _dry_run(tmp_path, "return").rstrip().endswith("guardian neocuma-guardian return")
    planned = _dry_run(tmp_path, "return", "PLAN=1")
    assert planned.rstrip().endswith("guardian neocuma-guardian return --plan")
