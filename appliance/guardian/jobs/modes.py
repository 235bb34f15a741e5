"""Switching the local server between standby (a read-only copy of the remote) and fallback
(the LAN works on it while the internet link is down), while it runs (docs/design.md §3, §5)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from appliance.domain.dossiers import LocalDossier, late_work, local_work
from appliance.domain.generations import FALLBACK, MODES, STANDBY
from appliance.errors import Refused
from appliance.guardian.jobs.local_copies import BEFORE_STANDBY, LocalCopies
from appliance.guardian.ports import DossierGuard, LocalDatabase
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModeResult:
    mode: str
    previous: str
    saved: list[str]


@dataclass(frozen=True)
class Modes:
    database: LocalDatabase
    state: GuardianState
    copies: LocalCopies

    def set(
        self,
        mode: str,
        force: bool = False,
        returned: Mapping[str, int] | None = None,
        keep: Collection[str] = (),
    ) -> ModeResult:
        """Switch the local server's mode. Going back to standby refuses while a dossier
        holds local work (the next sync would overwrite it) unless ``force``, which first
        saves those dossiers under ``backups/local/``. The guided return passes
        ``returned``: the local revision of each dossier whose work is now on the central
        server (replayed); those go back to standby without ``force``. The dossiers of
        ``keep`` (set aside, or with refused operations) are saved under ``backups/local/``
        first and do not stop the switch."""
        if mode not in MODES:
            raise Refused(f"mode inconnu {mode!r} : standby ou fallback")
        live = self.database.live()
        if mode == FALLBACK and live.data_generation is None:
            raise Refused("le serveur local n'a encore aucune donnée : synchronisez-le avant de passer en mode secours")
        saved: list[str] = []
        guard: DossierGuard | None = None
        if mode == STANDBY:
            local = self.database.dossiers()
            sent = returned or {}
            unsent = [
                code for code in local_work(local, self.state.baselines()) if sent.get(code) != local[code].revision
            ]
            work = [code for code in unsent if code not in keep]
            if work and not force:
                raise Refused(
                    f"dossier(s) modifié(s) localement : {', '.join(work)}. Renvoyez leur travail au serveur "
                    "central (« Retour au serveur central » dans la console, neocuma-guardian return), ou forcez "
                    "avec --force (une copie locale de chacun est gardée)"
                )
            kept = sorted(set(unsent) | {code for code in keep if code in local})
            saved = [self.copies.save(local[code], BEFORE_STANDBY).location for code in kept]
            guard = self._no_late_work({code: dossier.revision for code, dossier in local.items()})
        self.database.set_mode(mode, guard)
        log.info("mode du serveur local : %s → %s", live.mode, mode)
        self.state.record("mode", mode=mode, previous=live.mode)
        return ModeResult(mode, live.mode, saved)

    def _no_late_work(self, checked: dict[str, int]) -> DossierGuard:
        """Going to standby, local work is looked for again under the lock of the control
        row, so a bon entered since the checks above is never silently left to the next sync."""

        def guard(now: Mapping[str, LocalDossier]) -> None:
            late = late_work(now, checked, self.state.baselines())
            if late:
                raise Refused(
                    f"dossier(s) modifié(s) localement pendant le changement de mode : {', '.join(late)}; "
                    "le mode n'a pas changé, remontez-les ou relancez"
                )

        return guard
