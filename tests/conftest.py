"""Shared fixtures. Docker-backed tiers fail (never skip) when no Docker engine answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import containers


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    client = containers.docker_client()
    for image in (containers.MYSQL_IMAGE, containers.APPLIANCE_IMAGE, containers.PROXY_IMAGE, containers.TOOLS_IMAGE):
        containers.require_image(client, image)
    yield client
    containers.sweep(client, containers.SESSION)
