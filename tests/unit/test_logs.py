"""The logging set-up: a client resetting its SSH connection is no ERROR (bench/load.py saw
22 such lines for 11 logins), while paramiko's other errors stay errors."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from appliance import logs


@pytest.fixture()
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    logs.setup(logging.INFO, stream=out)
    yield out
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_client_resetting_its_connection_is_logged_as_info_not_error(stream: io.StringIO) -> None:
    transport = logging.getLogger("paramiko.transport")
    transport.error("Socket exception: Connection reset by peer (104)")
    transport.error("Socket exception: Broken pipe (32)")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert " INFO " in lines[0] and "Connection reset by peer" in lines[0]
    assert " ERROR " in lines[1] and "Broken pipe" in lines[1]
    logs.setup(logging.INFO, stream=stream)
    assert sum(isinstance(f, logs.ClientResetIsNoError) for f in transport.filters) == 1, "set once"
