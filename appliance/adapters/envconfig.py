"""Reading typed settings from the environment, with ``*_FILE`` secrets, collecting every
problem before failing (so one run of ``config validate`` lists them all)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from appliance.errors import ConfigError


class EnvReader:
    """Reads settings from ``environ``; problems accumulate until ``check()`` raises them."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.problems: list[str] = []
        self.sources: dict[str, str] = {}

    def text(self, name: str, default: str | None = None, required: bool = False) -> str:
        value = self.environ.get(name)
        if value is None or value == "":
            if required and default is None:
                self.problems.append(f"{name} is required")
            self.sources[name] = "default"
            return default or ""
        self.sources[name] = "environment"
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(name, default, required=default is None)
        if value and value not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = self.text(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, not {raw!r}")
            return default
        if not minimum <= value <= maximum:
            self.problems.append(f"{name} must be between {minimum} and {maximum}, not {value}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name, "1" if default else "0").strip().lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name} must be 1/0, true/false, yes/no or on/off, not {raw!r}")
        return default

    def secret(self, name: str, required: bool = True) -> str:
        """A secret from ``NAME_FILE`` (preferred) or ``NAME``; its value is never reported."""
        file_name = f"{name}_FILE"
        path = self.environ.get(file_name)
        direct = self.environ.get(name)
        if path and direct:
            self.problems.append(f"both {name} and {file_name} are set; set only one")
            return ""
        if path:
            self.sources[name] = f"file {path}"
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except OSError as error:
                self.problems.append(f"{file_name}: cannot read {path}: {error.strerror}")
                return ""
            if not value:
                self.problems.append(f"{file_name}: {path} is empty")
            return value
        if direct:
            self.sources[name] = "environment"
            return direct
        if required:
            self.problems.append(f"{file_name} (or {name}) is required")
        return ""

    def check(self) -> None:
        """Raise ConfigError listing every problem met so far."""
        if self.problems:
            raise ConfigError(self.problems)
