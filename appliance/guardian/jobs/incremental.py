"""An incremental data backup (docs/backup-format.md, "Incremental backups"): the guardian
sends the dossiers its previous backup holds (``v1 export-changes``), receives the delta
into the work area, verifies it in full, and assembles the complete dated backup from the
previous backup's unchanged members and the delta's. The result is verified in full before
it is listed, like a full export.

Whatever makes the previous backup unusable (unreadable, damaged since it was made, another
schema version), a server that does not know the request, or a delta that does not verify,
raises ``FallBack`` with the reason in French: the job then makes a full backup and says
why. A cut or stalled link is no reason for a full export (it would fail the same way) and
a full disk neither: those raise as in a full backup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.domain.assembly import AssembledSummary
from appliance.domain.changes import HeldDossier
from appliance.errors import BadRequest, RemoteRefused
from appliance.guardian.jobs.progress import Counting
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import BackupsStore, CentralServer, Clock, Reporter, StagedFile
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
_STEP = "sauvegarde des données"


class FallBack(Exception):
    """The incremental backup cannot be made; ``reason`` (French) says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Increment:
    """What an incremental backup made and moved."""

    assembled: AssembledSummary
    transferred: int  # the delta's size: the bytes that crossed the link
    skew: float  # how far the central clock is ahead of ours


@dataclass(frozen=True)
class IncrementalBackup:
    central: CentralServer
    state: GuardianState
    backups: BackupsStore
    clock: Clock
    progress: Reporter

    def run(self, previous_name: str, staged: StagedFile, login: str) -> Increment:
        """Assemble into ``staged`` (committed once it verifies) the backup of the dossiers
        in rights now, from ``previous_name`` and the changes since; raises FallBack, or as a
        full backup does (Unavailable, BadRequest, Refused, OSError)."""
        try:
            previous = self.backups.verify_data(self.backups.data_opener(previous_name), previous_name, full=False)
        except BadRequest as error:
            raise FallBack(f"la sauvegarde précédente {previous_name} est illisible : {error}") from error
        held = {d.code: HeldDossier(d.id, d.revision) for d in previous.manifest.dossiers}
        scratch = self.backups.new_scratch(f"{staged.name}.changes")
        try:
            transferred, skew = self._download(held, scratch, previous_name)
            self.progress.update(step=f"{_STEP} : vérification des changements")
            try:
                delta = self.backups.verify_delta(scratch.reader, f"changements pour {staged.name}")
            except BadRequest as error:
                raise FallBack(f"les changements reçus ne se vérifient pas : {error}") from error
            made_for = delta.manifest.user.get("login")
            if made_for != login:
                raise BadRequest(f"les changements ont été faits pour {made_for!r}, pas pour {login!r}")
            self.progress.update(step=f"{_STEP} : assemblage", dossiers=len(delta.manifest.included()))
            try:
                assembled = self.backups.assemble_data(previous, delta, staged)
            except BadRequest as error:
                raise FallBack(f"la sauvegarde précédente {previous_name} ne peut servir de base : {error}") from error
        finally:
            scratch.discard()
        return Increment(assembled, transferred, skew)

    def _download(self, held: dict[str, HeldDossier], scratch: StagedFile, previous_name: str) -> tuple[int, float]:
        self.progress.update(step=f"{_STEP} : changements depuis {previous_name}", bytes_done=0)
        with stored_session(self.central, self.state) as session, scratch.writer() as sink:
            skew = session.clock() - self.clock.now().timestamp()
            try:
                size = session.export_changes(held, Counting(sink, self.progress))
            except RemoteRefused as error:
                if error.code != "bad_request":
                    raise
                raise FallBack(f"le serveur distant n'envoie pas les seuls changements ({error})") from error
        return size, skew
