"""One typed configuration per program, every setting declared once (``declare``): the
guardian's (``guardian``), the server's (``server``) and the variables read outside Python
(``others``). Load through ``load_guardian`` and ``load_server``: each knows every name the
other reads, so only a name no part of the appliance reads is reported as unknown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from appliance.configuration.declare import env_names
from appliance.configuration.guardian import GuardianConfig, load_guardian_config
from appliance.configuration.others import OTHER_VARIABLES
from appliance.configuration.server import ServerConfig, load_server_config


def every_name() -> set[str]:
    """Every ``NEOCUMA_*`` name some part of the appliance reads."""
    return env_names(GuardianConfig) | env_names(ServerConfig) | {variable.name for variable in OTHER_VARIABLES}


def load_guardian(path: Path | None = None, environ: Mapping[str, str] | None = None) -> GuardianConfig:
    """The guardian's configuration; raises ConfigError listing every problem."""
    return load_guardian_config(path, environ, every_name())


def load_server(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """The server's configuration; raises ConfigError listing every problem."""
    return load_server_config(environ, every_name())


__all__ = ["GuardianConfig", "ServerConfig", "every_name", "load_guardian", "load_server"]
