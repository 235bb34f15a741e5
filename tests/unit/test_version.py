"""One version, written once (appliance/__init__.py), shown everywhere an operator looks:
the image tags, the command lines, /metrics, the console, the changelog."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from appliance import __version__
from appliance.guardian.watch.metrics import registry, render
from tests.fakes.guardian import FakeWorld

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_a_release_number_with_its_changelog_entry() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {__version__} " in changelog, "CHANGELOG.md has no entry for this version"


def test_compose_and_make_tag_the_images_with_it() -> None:
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    tags = re.findall(r"image: neocuma/[a-z-]+:\$\{NEOCUMA_VERSION:-([^}]+)\}", compose)
    assert tags and set(tags) == {__version__}, tags
    shown = subprocess.run(["make", "-s", "-n", "images"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert f"neocuma/appliance:{__version__}" in shown


def test_the_programs_and_metrics_say_it(capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.guardian.cli import main as guardian
    from appliance.server.cli import main as server

    for main, name in ((guardian, "neocuma-guardian"), (server, "neocuma-server")):
        with pytest.raises(SystemExit) as done:
            main(["--version"])
        assert done.value.code == 0
        assert capsys.readouterr().out.strip() == f"{name} {__version__}"
    world = FakeWorld()
    text = render(registry(world.state, world.backups)).decode()
    assert f'neocuma_guardian_build_info{{version="{__version__}"}} 1.0' in text
