"""Where the Paramétrages live: the state volume (``settings.json``), seeded on first use
from ``config/guardian-settings.toml``; changed by the console and ``settings set``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from appliance.adapters.state_files import JsonFile
from appliance.domain.centres import Centre, Slot, parse_centres
from appliance.domain.settings import Settings, parse_settings
from appliance.errors import ConfigError, Refused
from appliance.guardian.context import Guardian


def centre_slot(guardian: Guardian) -> tuple[Centre, Slot]:
    """The logged-in user's centre (from the server's who-am-I) and its slot (config)."""
    code = guardian.credentials().centre
    path = Path(guardian.config["schedule.centres_file"])
    try:
        centres = parse_centres(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError([f"{path}: {error}"]) from error
    for centre in centres:
        if centre.code == code:
            return centre, centre.slot
    raise Refused(f"le centre {code!r} n'a pas de créneau dans {path}")


def _file(guardian: Guardian) -> JsonFile:
    return JsonFile(guardian.state_dir / "settings.json")


def load_settings(guardian: Guardian) -> tuple[Settings, str]:
    """The settings and where they come from (state volume, seed file or defaults)."""
    stored = _file(guardian).read()
    if stored:
        return parse_settings(stored), f"{guardian.state_dir / 'settings.json'} (volume d'état)"
    seed = Path(guardian.config["schedule.settings_seed"])
    if seed.exists():
        try:
            document = tomllib.loads(seed.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError([f"{seed}: {error}"]) from error
        return parse_settings(document), f"{seed} (valeurs initiales)"
    return Settings(), "valeurs par défaut"


def save_settings(guardian: Guardian, document: dict[str, object]) -> Settings:
    """Validate ``document`` against the centre's slot and keep it; raises ConfigError."""
    _, slot = centre_slot(guardian)
    settings = parse_settings(document, slot)
    _file(guardian).write(settings.as_document())
    guardian.record(
        "settings",
        **{
            "heures": str(settings.hours or "toutes"),
            "automatiques": settings.backups_enabled,
            "apres_sauvegarde": settings.sync_after,
        },
    )
    return settings
