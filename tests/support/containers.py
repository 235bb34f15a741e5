"""Containers for the tests, from our own images, with testcontainers (docs/architecture.md, Tests).

Every container, network and volume carries the label ``neocuma.test-session=<id>``; the
session's finaliser removes them, and ``make clean-test`` sweeps what a killed run left.
No fixed host port is published: Docker picks free ones. Waits are on ``docker inspect``
health, and a timeout error carries the container's last log lines.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import docker
from docker.errors import DockerException
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from appliance import __version__

# Ryuk's reaper image cannot be pulled without a registry: our finaliser and `make
# clean-test` remove what the tests start instead. Published ports are reached on 127.0.0.1.
testcontainers_config.ryuk_disabled = True
testcontainers_config.tc_host_override = os.environ.get("TC_HOST", "127.0.0.1")

SESSION = uuid.uuid4().hex[:12]
LABEL = "neocuma.test-session"
LABELS = {LABEL: SESSION}
VERSION = os.environ.get("NEOCUMA_VERSION") or __version__
MYSQL_IMAGE = f"neocuma/mysql:{VERSION}"
APPLIANCE_IMAGE = f"neocuma/appliance:{VERSION}"
PROXY_IMAGE = f"neocuma/docker-proxy:{VERSION}"
TOOLS_IMAGE = f"neocuma/test-tools:{VERSION}"


def docker_client() -> docker.DockerClient:
    """The Docker engine; raises RuntimeError (a failure, never a skip) when unreachable."""
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        raise RuntimeError(f"these tests need a Docker engine and none answers: {error}") from error
    return client


def require_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound as error:
        raise RuntimeError(f"image {image} is missing: run `make images` first") from error


def new_network() -> Network:
    return Network(docker_network_kw={"labels": dict(LABELS)}).create()


def container(
    image: str, network: Network | None = None, aliases: tuple[str, ...] = (), **kwargs: Any
) -> DockerContainer:
    labels = dict(LABELS)
    labels.update(kwargs.pop("labels", {}))
    result = DockerContainer(image).with_kwargs(labels=labels, **kwargs)
    if network is not None:
        result = result.with_network(network)
        if aliases:
            result = result.with_network_aliases(*aliases)
    return result


def logs_of(target: DockerContainer, lines: int = 60) -> str:
    wrapped = target.get_wrapped_container()
    try:
        return wrapped.logs(tail=lines).decode("utf-8", "replace")
    except DockerException as error:
        return f"(no logs: {error})"


def health(target: DockerContainer) -> str:
    wrapped = target.get_wrapped_container()
    wrapped.reload()
    state = wrapped.attrs["State"]
    if state.get("Status") != "running":
        return state.get("Status", "unknown")
    return state.get("Health", {}).get("Status", "none")


def wait_healthy(target: DockerContainer, timeout: float = 300) -> None:
    """Wait until Docker reports the container healthy; raises TimeoutError with its logs."""
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        status = health(target)
        if status == "healthy":
            return
        if status in ("exited", "dead"):
            break
        time.sleep(0.5)
    raise TimeoutError(
        f"{target.image} is {status} after {timeout:.0f} s (hint: `docker logs` below)\n{logs_of(target)}"
    )


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``condition()`` until it returns a true value; raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what}: not true after {timeout:.0f} s (last value {last!r})")


def sweep(client: docker.DockerClient, session: str | None = None) -> None:
    """Remove test containers, networks and volumes (of one session, or all of them)."""
    selector = f"{LABEL}={session}" if session else LABEL
    for item in client.containers.list(all=True, filters={"label": selector}):
        item.remove(force=True, v=True)
    for network in client.networks.list(filters={"label": selector}):
        network.remove()
    for volume in client.volumes.list(filters={"label": selector}):
        volume.remove(force=True)


def exec_checked(target: DockerContainer, command: list[str], user: str | None = None) -> str:
    wrapped = target.get_wrapped_container()
    result = wrapped.exec_run(command, user=user or "", demux=True)
    stdout, stderr = result.output
    output = (stdout or b"").decode("utf-8", "replace")
    if result.exit_code != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.exit_code}: {output}{(stderr or b'').decode()}")
    return output
