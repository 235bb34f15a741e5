"""Where the Paramétrages live: the state volume (``settings.json``), seeded on first use
from ``config/guardian-settings.toml``; changed by the console and ``settings set``. The
centre's slot comes from the centres file and the centre the server says the login has.
A change that shortens the offsite retention needs the user's password typed again; every
change is recorded with who made it, the values before and after (history and log)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from appliance.domain.centres import Centre, Slot
from appliance.domain.offsite import Retention, shortens
from appliance.domain.settings import Settings, parse_settings, retention_document, settings_changes
from appliance.errors import ConfigError, Refused
from appliance.guardian.state import SETTINGS, GuardianState

log = logging.getLogger(__name__)

Centres = Callable[[], list[Centre]]
"""Reads the centres and their slots; raises ConfigError when the file is bad."""
Seed = Callable[[], tuple[dict[str, Any], str] | None]
"""Reads the first-start settings and names their file; None when there is none."""
Confirm = Callable[[], None]
"""Checks the password the user typed again; raises Refused when it is missing or wrong."""


class SettingsStore:
    def __init__(
        self,
        state: GuardianState,
        centres: Centres,
        seed: Seed,
        centres_label: str = "centres.toml",
        configured_retention: Retention | None = None,
    ) -> None:
        self.state = state
        self.centres = centres
        self.seed = seed
        self.centres_label = centres_label
        # The offsite retention when the Paramétrages choose none (NEOCUMA_OFFSITE_KEEP_*).
        self.configured_retention = configured_retention or Retention()

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

    def save(self, document: dict[str, Any], by: str, confirm: Confirm | None = None) -> Settings:
        """Validate ``document`` against the centre's slot and the retention floor, and keep
        it; ``by`` names who changes it (a console user, or the command line). A change that
        lowers any offsite count needs ``confirm`` (the password typed again). Raises
        ConfigError (a bad value) or Refused (not confirmed); nothing is written then."""
        _, slot = self.centre_slot()
        settings = parse_settings(document, slot, strict=True)
        before = self._before()
        old, new = self.retention_of(before), self.retention_of(settings)
        if shortens(old, new):
            if confirm is None:
                raise Refused(
                    "réduire la rétention hors site demande de ressaisir son mot de passe : faites-le depuis la console"
                )
            confirm()
        before_document, after_document = self._recorded(before, old), self._recorded(settings, new)
        self.state.save_document(SETTINGS, settings.as_document())
        self.state.record(
            "settings",
            heures=settings.describe_hours(),
            automatiques=settings.backups_enabled,
            apres_sauvegarde=settings.sync_after,
            par=by,
            avant=before_document,
            apres=after_document,
        )
        changes = settings_changes(before_document, after_document)
        log.info("Paramétrages enregistrés par %s : %s", by, " ; ".join(changes) or "aucun changement")
        return settings

    def retention_of(self, settings: Settings) -> Retention:
        """The offsite retention ``settings`` give: theirs, else the configuration's."""
        return settings.offsite or self.configured_retention

    def _before(self) -> Settings:
        """The settings a change replaces; the defaults when the stored ones cannot be read."""
        try:
            return self.load()[0]
        except ConfigError as error:
            log.warning("Paramétrages enregistrés illisibles, remplacés : %s", error)
            return Settings()

    @staticmethod
    def _recorded(settings: Settings, retention: Retention) -> dict[str, Any]:
        """The settings as the history keeps them: the offsite counts in force, whoever set them."""
        return settings.as_document() | {"hors_site": retention_document(retention)}
