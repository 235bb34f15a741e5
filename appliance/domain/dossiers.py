"""Dossiers as the guardian sees them on both sides, and the rules that compare them with
their baselines (docs/design.md §4): which dossiers hold local work, which changed on the
remote, and which moved while a transfer or a mode change was in progress. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.domain.states import MODIFIE_LOCALEMENT, Baseline, DossierState, dossier_state


@dataclass(frozen=True)
class LocalDossier:
    """A dossier of the local server's live generation."""

    id: int
    code: str
    name: str
    revision: int


@dataclass(frozen=True)
class RemoteDossier:
    """A dossier in the user's rights on the central server."""

    code: str
    name: str
    revision: int
    exporte: bool


@dataclass(frozen=True)
class ImportReply:
    """The central server's answer to a restore: the dossier's new revision there and the
    name of the copy it kept of the replaced rows."""

    revision: int
    pre_restore_copy: str


@dataclass(frozen=True)
class DossierRow:
    """One line of "Etat des sauvegardes": both sides of a dossier and its state."""

    code: str
    name: str
    state: DossierState
    remote_revision: int | None
    local_revision: int | None
    exporte: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "state": self.state.state,
            "remote_revision": self.remote_revision,
            "local_revision": self.local_revision,
            "exporte": self.exporte,
        }


def dossier_rows(
    remote: Mapping[str, RemoteDossier], local: Mapping[str, LocalDossier], baselines: Mapping[str, Baseline]
) -> list[DossierRow]:
    """Every dossier of either side, by code, with its state against its baseline."""
    rows = []
    for code in sorted(set(remote) | set(local)):
        far, near = remote.get(code), local.get(code)
        far_revision = far.revision if far is not None else None
        near_revision = near.revision if near is not None else None
        exporte = far.exporte if far is not None else False
        name = far.name if far is not None else near.name if near is not None else code
        state = dossier_state(far_revision, near_revision, baselines.get(code), exporte)
        rows.append(DossierRow(code, name, state, far_revision, near_revision, exporte))
    return rows


def local_rows(local: Mapping[str, LocalDossier], baselines: Mapping[str, Baseline]) -> list[DossierRow]:
    """The local side alone, when the remote cannot be read (an outage): each dossier says
    whether it changed locally since its baseline; the remote side is unknown."""
    rows = []
    for code in sorted(local):
        dossier, baseline = local[code], baselines.get(code)
        changed = baseline is None or dossier.revision != baseline.local_revision
        state = DossierState(
            f"{MODIFIE_LOCALEMENT if changed else 'inchangé en local'} (distant inconnu)", changed, False
        )
        rows.append(DossierRow(code, dossier.name, state, None, dossier.revision, False))
    return rows


def local_work(local: Mapping[str, LocalDossier], baselines: Mapping[str, Baseline]) -> list[str]:
    """Codes of the dossiers changed locally since their baseline (fallback work), sorted; a
    dossier without a baseline counts as changed. Needs no link to the remote."""
    return sorted(
        code
        for code, dossier in local.items()
        if code not in baselines or dossier.revision != baselines[code].local_revision
    )


def changed_on_remote(remote_revision: int, local_revision: int, baseline: Baseline | None) -> bool:
    """Did the remote copy move since the local one was taken from it? Without a baseline
    (never synchronised here) only equal revisions prove it did not."""
    if baseline is not None:
        return remote_revision != baseline.remote_revision
    return remote_revision != local_revision


def moved(current: Mapping[str, int | None], checked: Mapping[str, int | None]) -> list[str]:
    """Codes whose revision now differs from the one seen when local work was looked for
    (None: absent), sorted: a LAN user wrote meanwhile."""
    return sorted(code for code in checked if current.get(code) != checked[code])


def late_work(
    now: Mapping[str, LocalDossier], checked: Mapping[str, int], baselines: Mapping[str, Baseline]
) -> list[str]:
    """Dossiers holding local work whose revision moved since ``checked`` was read: work that
    appeared while a switch to standby was being decided."""
    return [code for code in local_work(now, baselines) if now[code].revision != checked.get(code)]
