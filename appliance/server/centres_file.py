"""Reading the centres table (config/centres.toml)."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

from appliance.domain.centres import Centre, parse_centres
from appliance.errors import ConfigError


def load_centres(path: Path) -> list[Centre]:
    """The centres of ``path`` (config/centres.toml); raises ConfigError."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError([f"fichier des centres {path} : lecture impossible : {error.strerror or error}"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"fichier des centres {path} : TOML invalide : {error}"]) from error
    return parse_centres(data)


def pick_centres(all_centres: list[Centre], codes: Sequence[str]) -> tuple[Centre, ...]:
    """The centres named by ``codes``, in that order; raises ConfigError for unknown codes."""
    by_code = {centre.code: centre for centre in all_centres}
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise ConfigError([f"centre inconnu {code!r} (connus : {', '.join(by_code)})" for code in unknown])
    return tuple(by_code[code] for code in codes)
