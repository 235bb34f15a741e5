"""What the guardian's unit tests share."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.guardian import FakeWorld


@pytest.fixture()
def keep_logging() -> Iterator[None]:
    """The CLI sets up the root logger as a program does; give it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture()
def cli_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_logging: None) -> FakeWorld:
    """A guardian over fakes for the command line, which reads its configuration from the
    environment as the program does: the state directory under ``tmp_path``, no file."""
    monkeypatch.setenv("NEOCUMA_DB_PASSWORD", "x")
    monkeypatch.setenv("NEOCUMA_LOCAL_CHECK_TOKEN", "c" * 32)
    monkeypatch.setenv("NEOCUMA_GUARDIAN_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NEOCUMA_GUARDIAN_CONFIG", str(tmp_path / "none.toml"))
    return FakeWorld()
