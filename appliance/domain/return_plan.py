"""The guided return to the central server after an outage (docs/fallback.md, "The
return"): which dossiers go back and how, and which local work is then safely on the central
server so that the local server may leave fallback mode. Pure.

A dossier *with local work* moved on the local server since its last synchronisation, or
still has operations waiting in the outbox. By default each goes back by **replay**: its
outbox operations are applied on the central server one by one, beside whatever was entered
there meanwhile. A dossier the central server did not change since the last synchronisation
may instead go back **whole** (today's ``restore``), the user's choice. Every bon entered in
fallback mode moves the dossier's revision by one and records one operation in the same
transaction, so a revision move that no operation explains (work entered before the outbox
existed) cannot be replayed: such a dossier must go back whole, or be set aside.

A dossier left out of the selection is *set aside*: its operations stay pending in the
outbox (``neocuma-guardian replay`` sends them later) and a copy of it is kept under
``backups/local/`` before the local server goes back to standby.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from appliance.domain.dossiers import LocalDossier, RemoteDossier, changed_on_remote, local_work
from appliance.domain.outbox import DONE, NOT_TAKEN, PENDING, OutboxEntry
from appliance.domain.states import Baseline
from appliance.errors import Refused

REPLAY, WHOLE = "rejeu", "entier"


@dataclass(frozen=True)
class ReturnLine:
    """One dossier with local work, as the return page and ``return --plan`` show it."""

    code: str
    name: str
    local_revision: int
    entered: int  # bons entered locally in this outage (operations of the live generation)
    pending: int  # operations still to send (any generation)
    applied: int  # operations of this outage already applied on the central server
    refused: tuple[OutboxEntry, ...]  # operations the central server refused, with its reason
    central_revision: int | None  # None: the central server unknown (unreachable) or the dossier absent
    central_changed: bool | None  # changed on the central server since the last sync; None: unknown
    central_moves: int | None  # its revision moves there since the last sync (writes, imports); None: unknown
    untracked: int  # revision moves that no operation explains
    exporte: bool  # held as exporté on the central server: it cannot be replaced there
    method: str  # REPLAY or WHOLE
    selected: bool
    blocked: str | None  # why the dossier cannot go back as chosen (None: it can)


@dataclass(frozen=True)
class ReturnPlan:
    lines: tuple[ReturnLine, ...]
    central_reachable: bool

    @property
    def chosen(self) -> list[ReturnLine]:
        return [line for line in self.lines if line.selected]

    @property
    def whole(self) -> list[str]:
        return [line.code for line in self.chosen if line.method == WHOLE]

    @property
    def replayed(self) -> list[str]:
        return [line.code for line in self.chosen if line.method == REPLAY]

    @property
    def set_aside(self) -> list[str]:
        return [line.code for line in self.lines if not line.selected]

    @property
    def blocked(self) -> list[ReturnLine]:
        return [line for line in self.chosen if line.blocked is not None]

    def refusal(self) -> str | None:
        """Why the return cannot run as planned, in French (None: it can)."""
        if not self.central_reachable:
            return "le serveur central ne répond pas encore : le retour attend que la liaison soit rétablie"
        if self.blocked:
            said = "; ".join(f"{line.code} : {line.blocked}" for line in self.blocked)
            return f"retour impossible tel que choisi — {said}"
        return None


def plan_return(
    local: Mapping[str, LocalDossier],
    remote: Mapping[str, RemoteDossier] | None,
    baselines: Mapping[str, Baseline],
    outbox: Sequence[OutboxEntry],
    generation: int | None,
    selected: Collection[str] | None = None,
    whole: Collection[str] = (),
    strict: bool = True,
) -> ReturnPlan:
    """The return's plan: every dossier with local work, selected unless ``selected`` names
    the ones to send (``whole`` are sent whole, and selected); ``remote`` None when the central
    server cannot be read. Raises Refused for a chosen code that has no local work, unless
    not ``strict`` (a later round of a return: what an earlier round sent is done)."""
    pending_by: dict[str, list[OutboxEntry]] = {}
    outage_by: dict[str, list[OutboxEntry]] = {}
    for entry in outbox:
        code = entry.operation.dossier
        if entry.state == PENDING:
            pending_by.setdefault(code, []).append(entry)
        if entry.generation == generation:
            outage_by.setdefault(code, []).append(entry)
    with_work = sorted((set(local_work(local, baselines)) | set(pending_by)) & set(local))
    chosen = set(with_work if selected is None else selected) | set(whole)
    unknown = sorted(chosen - set(with_work))
    if not strict:
        chosen -= set(unknown)
    elif unknown:
        raise Refused(f"dossier(s) sans travail local à renvoyer : {', '.join(unknown)}")
    lines = []
    for code in with_work:
        dossier, baseline = local[code], baselines.get(code)
        ours = outage_by.get(code, [])
        far = None if remote is None else remote.get(code)
        central_changed = central_moves = None
        if far is not None:
            central_changed = changed_on_remote(far.revision, dossier.revision, baseline)
            if baseline is not None:
                central_moves = max(0, far.revision - baseline.remote_revision)
        untracked = _untracked(dossier, baseline, len(ours))
        method = WHOLE if code in whole else REPLAY
        line = ReturnLine(
            code=code,
            name=dossier.name,
            local_revision=dossier.revision,
            entered=len(ours),
            pending=len(pending_by.get(code, [])),
            applied=sum(1 for entry in ours if entry.state == DONE),
            refused=tuple(entry for entry in ours if entry.state == NOT_TAKEN),
            central_revision=None if far is None else far.revision,
            central_changed=central_changed,
            central_moves=central_moves,
            untracked=untracked,
            exporte=far is not None and far.exporte,
            method=method,
            selected=code in chosen,
            blocked=None,
        )
        lines.append(_with_blocker(line, remote is not None, far))
    return ReturnPlan(tuple(lines), remote is not None)


def _untracked(dossier: LocalDossier, baseline: Baseline | None, operations: int) -> int:
    """Revision moves since the baseline that the outage's operations do not explain; a
    dossier never synchronised here has no baseline to count from: untracked unless its
    work is in the outbox."""
    if baseline is None:
        return 0 if operations else 1
    return max(0, dossier.revision - baseline.local_revision - operations)


def _with_blocker(line: ReturnLine, reachable: bool, far: RemoteDossier | None) -> ReturnLine:
    """``line`` with why it cannot go back as chosen, if it cannot."""
    if not line.selected or not reachable:
        return line
    blocked = None
    if far is None:
        blocked = "absent des dossiers de l'utilisateur sur le serveur central"
    elif line.method == WHOLE and line.exporte:
        blocked = (
            "exporté sur le serveur central : il n'y peut pas être remplacé; choisissez le rejeu de ses opérations"
        )
    elif line.method == WHOLE and line.central_changed:
        blocked = (
            "modifié aussi sur le serveur central depuis la dernière synchronisation : le renvoyer entier "
            "effacerait ces changements; choisissez le rejeu de ses opérations"
        )
    elif line.method == REPLAY and line.untracked:
        blocked = (
            f"{line.untracked} modification(s) locale(s) sans opération dans la file (saisies hors du mode "
            "secours ou avant la mise en place de la file) : renvoyez-le entier"
            + (", ce qui écraserait les changements du serveur central" if line.central_changed else "")
            + ", ou laissez-le de côté (une copie locale est gardée)"
        )
    return line if blocked is None else replace(line, blocked=blocked)


def sent_revisions(
    plan: ReturnPlan, local: Mapping[str, LocalDossier], outbox: Sequence[OutboxEntry]
) -> dict[str, int]:
    """After the replay: the local revision of each replayed dossier whose every operation
    was answered (applied, or refused and kept in the outbox with its reason) and whose
    revision moves are all explained — the work the local server may leave fallback mode
    without losing. A dossier written meanwhile is left out (its new operation is pending)."""
    pending = {entry.operation.dossier for entry in outbox if entry.state == PENDING}
    return {
        line.code: local[line.code].revision
        for line in plan.chosen
        if line.method == REPLAY
        and line.code in local
        and line.code not in pending
        and local[line.code].revision == line.local_revision
        and not line.untracked
    }
