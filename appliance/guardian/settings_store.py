"""Where the Paramétrages live: the state volume (``settings.json``), seeded on first use
from ``config/guardian-settings.toml``; changed by the console and ``settings set``. The
centre's slot comes from the centres file and the centre the server says the login has."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.domain.centres import Centre, Slot
from appliance.domain.settings import Settings, parse_settings
from appliance.errors import ConfigError
from appliance.guardian.state import SETTINGS, GuardianState

Centres = Callable[[], list[Centre]]
"""Reads the centres and their slots; raises ConfigError when the file is bad."""
Seed = Callable[[], tuple[dict[str, Any], str] | None]
"""Reads the first-start settings and names their file; None when there is none."""


class SettingsStore:
    def __init__(self, state: GuardianState, centres: Centres, seed: Seed, centres_label: str = "centres.toml") -> None:
        self.state = state
        self.centres = centres
        self.seed = seed
        self.centres_label = centres_label

    def centre_slot(self) -> tuple[Centre, Slot]:
        """The logged-in user's centre and its slot; raises Refused (not logged in) or
        ConfigError (the centres file is bad, or the centre has no slot in it)."""
        return self.slot_of(self.state.credentials().centre)

    def slot_of(self, code: str) -> tuple[Centre, Slot]:
        """Centre ``code`` and its slot; raises ConfigError when the centres file is bad or
        does not name that centre (nothing could ever be scheduled: docs/configuration.md,
        "The centres table")."""
        for centre in self.centres():
            if centre.code == code:
                return centre, centre.slot
        raise ConfigError(
            [
                f"le centre {code!r} n'a pas de créneau dans {self.centres_label} : ajoutez-le au tableau des "
                "centres (NEOCUMA_CENTRES_PATH, docs/configuration.md) puis redémarrez le guardian ; "
                "sans créneau aucune sauvegarde ne peut être programmée"
            ]
        )

    def load(self) -> tuple[Settings, str]:
        """The settings and where they come from (state volume, seed file or defaults)."""
        stored = self.state.document(SETTINGS)
        if stored:
            return parse_settings(stored), f"{self.state.store.location}/settings.json (volume d'état)"
        seeded = self.seed()
        if seeded is not None:
            document, label = seeded
            return parse_settings(document), f"{label} (valeurs initiales)"
        return Settings(), "valeurs par défaut"

    def save(self, document: dict[str, Any]) -> Settings:
        """Validate ``document`` against the centre's slot and keep it; raises ConfigError."""
        _, slot = self.centre_slot()
        settings = parse_settings(document, slot)
        self.state.save_document(SETTINGS, settings.as_document())
        self.state.record(
            "settings",
            heures=settings.describe_hours(),
            automatiques=settings.backups_enabled,
            apres_sauvegarde=settings.sync_after,
        )
        return settings
