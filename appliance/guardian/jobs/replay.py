"""Replaying the local server's outbox on the central server (docs/design.md §10): the
pending operations go with ``v1 replay``; each answer is written back into the outbox as it
arrives, so a cut keeps what was answered and the next run sends the rest (the central
server answers "already applied" for what it applied without our hearing)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from appliance.domain.outbox import NOT_TAKEN, PENDING, OutboxEntry, Outcome, renumbering
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import CentralServer, CentralSession, Clock, LocalDatabase
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayResult:
    sent: int
    applied: int
    refused: int
    outcomes: list[Outcome] = field(default_factory=list)
    renumbered: list[tuple[str, str]] = field(default_factory=list)  # (local number, central number)
    still_refused: list[OutboxEntry] = field(default_factory=list)  # every refused operation, with its reason


@dataclass(frozen=True)
class ReplayJob:
    database: LocalDatabase
    central: CentralServer
    state: GuardianState
    clock: Clock

    def run(self, session: CentralSession | None = None, dossiers: Collection[str] | None = None) -> ReplayResult:
        """Send the outbox's pending operations (of ``dossiers`` only, when given) in
        ``session``, or as the stored login, and record each answer; raises what the session
        raises (Unavailable on a cut: the answers received are kept, the rest stay pending).
        Opens no session when nothing is pending."""
        pending = [
            entry.operation
            for entry in self.database.outbox((PENDING,))
            if dossiers is None or entry.operation.dossier in dossiers
        ]
        outcomes: list[Outcome] = []

        def record(outcome: Outcome) -> None:
            self.database.record_outcome(outcome, self.clock.now())
            outcomes.append(outcome)

        if pending:
            log.info("rejeu de %d opération(s) du serveur local sur le serveur central", len(pending))
            if session is not None:
                session.replay(pending, record)
            else:
                with stored_session(self.central, self.state) as stored:
                    stored.replay(pending, record)
        refused = [o for o in outcomes if not o.done]
        for outcome in refused:
            log.warning("opération %s (%s) refusée : %s", outcome.id, outcome.local_numero, outcome.reason)
        return ReplayResult(
            sent=len(pending),
            applied=len(outcomes) - len(refused),
            refused=len(refused),
            outcomes=outcomes,
            renumbered=renumbering(outcomes),
            still_refused=self.database.outbox((NOT_TAKEN,)),
        )
