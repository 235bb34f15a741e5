"""The guardian's read-only configuration files: the centres and their slots, the
Paramétrages of the first start, and the public host key the demo central server publishes.
Read on each use, so an edited file counts without a restart; a bad file is a ConfigError
naming it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from appliance.domain.centres import Centre, parse_centres
from appliance.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; raises ConfigError naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([f"fichier {path} : lecture impossible : {error.strerror or error}"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError([f"fichier {path} : ce n'est pas du texte UTF-8"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"fichier {path} : TOML invalide : {error}"]) from error


def read_centres(path: Path) -> list[Centre]:
    """The centres of ``path``; raises ConfigError listing every problem."""
    return parse_centres(read_toml(path))


def read_settings_seed(path: Path) -> tuple[dict[str, Any], str] | None:
    """The first-start Paramétrages and the file's name; None when there is no such file."""
    if not path.exists():
        return None
    return read_toml(path), str(path)


def read_text(path: Path) -> str | None:
    """A small text file, None when absent."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError([f"fichier {path} : lecture impossible : {error.strerror or error}"]) from error
