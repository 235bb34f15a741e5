"""One set of locked versions for the image and the tests: requirements/runtime.lock (the
image) and requirements/test.lock (`make venv`) pin every package with its hashes, the test
lock holds each of the image's pins unchanged, and the venv the tests run in has exactly the
test lock's versions (tests/e2e/test_stack.py checks the image against the runtime lock)."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """``requirements/<name>.lock``: each package's version and hashes."""
    text = (ROOT / "requirements" / f"{name}.lock").read_text(encoding="utf-8")
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z])", text):
        head = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if head:
            hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
            pins[canonical(head.group(1))] = (head.group(2), hashes)
    return pins


def test_every_pin_of_both_locks_has_its_hashes() -> None:
    for name in ("runtime", "test"):
        pins = locked(name)
        assert len(pins) > 25, name
        for package, (_, hashes) in pins.items():
            assert hashes, f"{name}.lock: {package} has no hash"
        text = (ROOT / "requirements" / f"{name}.lock").read_text(encoding="utf-8")
        assert "--find-links" not in text and "--index-url" not in text, "the lock names no local index"


def test_the_test_lock_holds_every_pin_of_the_image_unchanged() -> None:
    runtime, test = locked("runtime"), locked("test")
    for package, pin in runtime.items():
        assert test.get(package) == pin, f"{package}: image {pin[0]}, tests {test.get(package, ('none',))[0]}"


def test_the_locks_cover_what_pyproject_asks_and_the_build_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in project["dependencies"]]
    runtime, test = locked("runtime"), locked("test")
    assert {canonical(w) for w in wanted} | {"setuptools", "wheel"} <= set(runtime)
    tools = [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in project["optional-dependencies"]["test"]]
    assert {canonical(t) for t in tools} <= set(test)


def test_the_image_and_make_venv_install_the_locks_with_their_hashes_and_nothing_else() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install ([^;\n]*)", dockerfile)
    assert installs == [
        "--no-cache-dir --require-hashes -r /tmp/runtime.lock",
        "--no-cache-dir --no-deps --no-build-isolation /src",
    ]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    venv = re.findall(r"\$\(VENV\)/bin/pip install ([^\n]*)", makefile)
    assert venv == ["-q --require-hashes -r requirements/test.lock", "-q --no-deps --no-build-isolation -e ."]


def test_the_venv_the_tests_run_in_has_the_locked_versions() -> None:
    installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    for package, (version, _) in locked("test").items():
        assert installed.get(package) == version, f"{package}: locked {version}, installed {installed.get(package)}"
