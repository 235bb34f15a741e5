"""The guided return to the central server once the link is back (docs/fallback.md, "The
return"): in one session opened with the password typed again, the dossiers chosen whole
are restored, the outbox's operations of the others are replayed, and the local server goes
back to standby without losing anything; the caller then backs up and synchronises
(``Actions.go_back``). The plan is ``domain.return_plan``'s."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from appliance.domain.dossiers import RemoteDossier
from appliance.domain.generations import FALLBACK, STANDBY
from appliance.domain.outbox import APPLIED, DONE, NOT_TAKEN, PENDING, Outcome
from appliance.domain.return_plan import ReturnPlan, plan_return, sent_revisions
from appliance.errors import Refused, Unavailable
from appliance.guardian.jobs.backup import BackupResult
from appliance.guardian.jobs.modes import ModeResult, Modes
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.jobs.replay import ReplayJob, ReplayResult
from appliance.guardian.jobs.sync import SyncResult
from appliance.guardian.jobs.transfers import RestoreResult, Transfers
from appliance.guardian.ports import CentralServer, CentralSession, Clock, LocalDatabase, Reporter
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
ATTEMPTS = 3  # bons entered on the LAN while the return runs: replay them too, this many times


@dataclass(frozen=True)
class ReturnSent:
    """What the return sent before the local server went back to standby."""

    plan: ReturnPlan
    restored: list[RestoreResult]
    replay: ReplayResult
    mode: ModeResult
    attempts: int = 1  # rounds: bons entered on the LAN meanwhile are replayed in another


@dataclass(frozen=True)
class ReturnJob:
    database: LocalDatabase
    central: CentralServer
    state: GuardianState
    clock: Clock
    transfers: Transfers
    modes: Modes
    replay_job: ReplayJob
    progress: Reporter

    def plan(self, selected: Collection[str] | None = None, whole: Collection[str] = ()) -> ReturnPlan:
        """The plan as it stands, the central side read as the stored login (None when it
        does not answer: the plan then says the return must wait)."""
        remote: dict[str, RemoteDossier] | None
        try:
            with stored_session(self.central, self.state) as session:
                remote = session.dossiers()
        except Unavailable as error:
            log.info("plan du retour sans le serveur central : %s", error)
            remote = None
        return self._plan(remote, selected, whole)

    def _plan(
        self,
        remote: dict[str, RemoteDossier] | None,
        selected: Collection[str] | None,
        whole: Collection[str],
        strict: bool = True,
    ) -> ReturnPlan:
        live = self.database.live()
        return plan_return(
            self.database.dossiers(),
            remote,
            self.state.baselines(),
            self.database.outbox((PENDING, DONE, NOT_TAKEN)),
            live.data_generation,
            selected,
            whole,
            strict,
        )

    def send(
        self,
        password: str,
        selected: Collection[str] | None = None,
        whole: Collection[str] = (),
        as_user: str | None = None,
    ) -> ReturnSent:
        """Restore ``whole``, replay the rest, go back to standby; ``as_user`` (the console's
        user) or the stored login, with ``password`` typed again (the central server checks
        it when the session opens). Refuses outside fallback mode, with a blocked plan, or
        when bons keep being entered on the LAN through ``ATTEMPTS`` rounds."""
        if self.database.live().mode != FALLBACK:
            raise Refused("le serveur local n'est pas en mode secours : il n'y a pas de retour à faire")
        login = as_user if as_user is not None else self.state.credentials().login
        restored: list[RestoreResult] = []
        replays: list[ReplayResult] = []
        with self.central.session(login, password) as session:
            for attempt in range(1, ATTEMPTS + 1):
                first = attempt == 1  # later rounds send what was entered meanwhile
                plan = self._plan(session.dossiers(), selected, whole if first else (), strict=first)
                refusal = plan.refusal()
                if refusal is not None:
                    raise Refused(refusal)
                restored += self._whole(session, plan, password)
                self.progress.update(step="retour : rejeu des opérations du serveur local", dossiers=len(restored))
                replays.append(self.replay_job.run(session, plan.replayed))
                # The dossiers with bons of this outage the central server refused: copied
                # before the sync replaces them (those of an earlier outage were, then).
                generation = self.database.live().data_generation
                refused = {
                    e.operation.dossier for e in self.database.outbox((NOT_TAKEN,)) if e.generation == generation
                }
                sent = sent_revisions(plan, self.database.dossiers(), self.database.outbox((PENDING,)))
                self.progress.update(step="retour : passage en mode veille")
                try:
                    mode = self.modes.set(STANDBY, returned=sent, keep=sorted(set(plan.set_aside) | refused))
                except Refused as error:
                    if attempt == ATTEMPTS:
                        raise
                    log.info("retour : nouvelle saisie sur le réseau local pendant le retour, nouveau tour : %s", error)
                    continue
                return ReturnSent(plan, restored, _merged(replays), mode, attempt)
        raise AssertionError("unreachable")

    def _whole(self, session: CentralSession, plan: ReturnPlan, password: str) -> list[RestoreResult]:
        """The dossiers chosen whole, one import each; their operations are then answered as
        applied under their own numbers (the central server now holds the local rows as
        they are), so no replay sends them a second time."""
        results = []
        for number, code in enumerate(plan.whole, start=1):
            self.progress.update(step=f"retour : {code} renvoyé entier", dossiers=number - 1)
            results += self.transfers.restore_in(session, [code], password)
            for entry in self.database.outbox((PENDING,)):
                operation = entry.operation
                if operation.dossier == code:
                    done = Outcome(
                        operation.id, APPLIED, operation.local_numero, operation.local_id, operation.local_numero
                    )
                    self.database.record_outcome(done, self.clock.now())
        return results


def _merged(replays: list[ReplayResult]) -> ReplayResult:
    """The rounds of a return as one replay: what was sent, applied and refused in all."""
    last = replays[-1]
    return ReplayResult(
        sent=sum(r.sent for r in replays),
        applied=sum(r.applied for r in replays),
        refused=sum(r.refused for r in replays),
        outcomes=[o for r in replays for o in r.outcomes],
        renumbered=[pair for r in replays for pair in r.renumbered],
        still_refused=last.still_refused,
    )


@dataclass(frozen=True)
class ReturnResult:
    """The whole return: what was sent, then the backup and the sync that bring the local
    server, back in standby, up to the central server with the replayed work in it."""

    sent: ReturnSent
    backup: BackupResult | None
    sync: SyncResult | None
    error: str | None  # the backup's or the sync's failure after the switch (the work is safe)
    dossiers: int  # the dossiers sent (replayed or whole)
    applied: int
    refused: int  # operations this return sent that the central server refused
    whole: int

    def after_switch(self) -> list[str]:
        """What followed the switch to standby, in French phrases the CLI and the console
        both show: the backup, the sync, or why they were not done."""
        said = []
        if self.backup is not None:
            said.append(f"sauvegarde {self.backup.name}")
        if self.sync is not None:
            said.append(f"synchronisation faite, génération {self.sync.data_generation} en service")
        if self.error is not None:
            said.append(
                f"mais : {self.error} (le travail local est sur le serveur central ; la prochaine exécution "
                "planifiée remettra le serveur local à jour)"
            )
        return said
