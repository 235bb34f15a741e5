"""The one LAN address (issue 24, point 1): a bad setting stops the gateway with its name.
How it follows the local server's mode on the demo compose stack is tested on the stack of
the day the link drops (tests/e2e/test_fallback_day.py, test_0), started once for both."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.support import containers

pytestmark = pytest.mark.e2e
SWITCH_SECONDS = 12  # checks every 2 s, three failures to leave the local server, mode cached 1 s


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"NEOCUMA_CENTRAL_WEB_URL": "ftp://central.example.fr/"}, "must be an http:// or https:// address"),
        ({"NEOCUMA_CENTRAL_WEB_URL": 'https://central"; x'}, "holds a character a gateway address may not have"),
        ({"NEOCUMA_CENTRAL_WEB_URL": "https://central/?a=1"}, "holds a character a gateway address may not have"),
        ({"NEOCUMA_TLS_CERTIFICATE_PATH": "/etc/neocuma/tls/x.crt"}, "needs both NEOCUMA_TLS_CERTIFICATE_PATH"),
        (
            {"NEOCUMA_TLS_CERTIFICATE_PATH": "/nowhere.crt", "NEOCUMA_TLS_KEY_PATH": "/nowhere.key"},
            "cannot read /nowhere.crt as uid 10001",
        ),
    ],
)
def test_a_bad_setting_stops_the_gateway_with_its_name(docker_client: Any, settings: dict[str, str], said: str) -> None:
    image = f"neocuma/gateway:{containers.VERSION}"
    containers.require_image(docker_client, image)
    labels = [f"--label={key}={value}" for key, value in containers.LABELS.items()]
    variables = [f"--env={key}={value}" for key, value in settings.items()]
    run = subprocess.run(
        ["docker", "run", "--rm", *labels, *variables, image], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and said in run.stderr, (run.returncode, run.stdout, run.stderr)
