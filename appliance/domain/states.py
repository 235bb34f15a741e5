"""Dossier states: each side's current revision against the baseline stored at the last
sync, pull or restore that touched the dossier (docs/design.md §4). Never remote against local."""

from __future__ import annotations

from dataclasses import dataclass

A_JOUR = "à jour"
MODIFIE_A_DISTANCE = "modifié à distance"
MODIFIE_LOCALEMENT = "modifié localement"
MODIFIE_DES_DEUX_COTES = "modifié des deux côtés"
ABSENT_EN_LOCAL = "absent en local"
ABSENT_A_DISTANCE = "absent à distance"
EXPORTE = "exporté"

STATES = (
    A_JOUR,
    MODIFIE_A_DISTANCE,
    MODIFIE_LOCALEMENT,
    MODIFIE_DES_DEUX_COTES,
    ABSENT_EN_LOCAL,
    ABSENT_A_DISTANCE,
    EXPORTE,
)


@dataclass(frozen=True)
class Baseline:
    """Revisions of both sides when the guardian last made them equal."""

    remote_revision: int
    local_revision: int


@dataclass(frozen=True)
class DossierState:
    state: str
    local_changed: bool
    remote_changed: bool

    @property
    def has_local_work(self) -> bool:
        """Whether the local copy holds work the remote has not seen (fallback work)."""
        return self.local_changed


def dossier_state(
    remote: int | None, local: int | None, baseline: Baseline | None, exporte: bool = False
) -> DossierState:
    """The state of one dossier from the remote and local revisions (None when the side does
    not have it), its baseline (None if never synchronised) and the remote's exporté flag."""
    if remote is None and local is None:
        raise ValueError("a dossier absent on both sides has no state")
    if local is None:
        return DossierState(ABSENT_EN_LOCAL, False, False)
    if baseline is None:
        # Never synchronised by us: whatever differs cannot be attributed, so say both.
        differs = remote is not None and remote != local
        local_changed = remote is None or differs
        if remote is None:
            return DossierState(ABSENT_A_DISTANCE, local_changed, False)
        return DossierState(MODIFIE_DES_DEUX_COTES if differs else (EXPORTE if exporte else A_JOUR), differs, differs)
    local_changed = local != baseline.local_revision
    if remote is None:
        return DossierState(ABSENT_A_DISTANCE, local_changed, False)
    remote_changed = remote != baseline.remote_revision
    if exporte:
        return DossierState(EXPORTE, local_changed, remote_changed)
    if local_changed and remote_changed:
        return DossierState(MODIFIE_DES_DEUX_COTES, True, True)
    if local_changed:
        return DossierState(MODIFIE_LOCALEMENT, True, False)
    if remote_changed:
        return DossierState(MODIFIE_A_DISTANCE, False, True)
    return DossierState(A_JOUR, False, False)
