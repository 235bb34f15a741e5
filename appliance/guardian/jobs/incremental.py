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

**Resuming** (docs/backup-format.md, "Resuming a cut transfer"): what a cut transfer
received is kept; the next run sends, beside the previous backup's dossiers, those the cut
transfer brought whole, and copies from it the ones the server leaves out. A full backup
resumes the same way from its own partial file, without the previous backup. A cut
transfer's partial file is kept again, so a run cut twice resumes from both.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.domain.assembly import AssembledSummary, held_dossiers
from appliance.domain.backup_format import VerifiedBackup
from appliance.domain.changes import HeldDossier
from appliance.domain.moments import parse_moment
from appliance.domain.protocol import MAX_DOSSIERS_PER_REQUEST
from appliance.domain.salvage import Salvage
from appliance.errors import BadRequest, RemoteRefused, Unavailable
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
    resumed: int = 0  # dossiers copied from what a cut transfer had received


@dataclass(frozen=True)
class IncrementalBackup:
    central: CentralServer
    state: GuardianState
    backups: BackupsStore
    clock: Clock
    progress: Reporter

    def run(
        self, previous: VerifiedBackup | None, staged: StagedFile, login: str, salvaged: Sequence[Salvage] = ()
    ) -> Increment:
        """Assemble into ``staged`` (committed once it verifies) the backup of the dossiers
        in rights now, from ``previous`` (opened: its structure and manifest) and what
        ``salvaged`` holds, and the changes since; raises FallBack, or as a full backup does
        (Unavailable, BadRequest, Refused, OSError)."""
        previous_name = previous.name if previous is not None else None
        held = held_dossiers(previous.manifest if previous is not None else None, [s.dossiers for s in salvaged])
        if len(held) > MAX_DOSSIERS_PER_REQUEST:
            raise FallBack(f"{len(held)} dossiers tenus, plus que les {MAX_DOSSIERS_PER_REQUEST} d'une demande")
        since = previous_name or "le transfert interrompu"
        scratch = self.backups.new_scratch(f"{staged.name}.changes")
        cut = False
        try:
            asked = self.clock.now().timestamp()
            try:
                transferred = self._download(held, scratch, since)
            except (Unavailable, RemoteRefused) as error:
                cut = is_cut(error)  # what arrived is kept for the next attempt
                raise
            self.progress.update(step=f"{_STEP} : vérification des changements")
            try:
                delta = self.backups.verify_delta(scratch.reader, f"changements pour {staged.name}")
            except BadRequest as error:
                raise FallBack(f"les changements reçus ne se vérifient pas : {error}") from error
            skew = central_skew(delta.manifest.created_at, asked)
            made_for = delta.manifest.user.get("login")
            if made_for != login:
                raise BadRequest(f"les changements ont été faits pour {made_for!r}, pas pour {login!r}")
            self.progress.update(step=f"{_STEP} : assemblage", dossiers=len(delta.manifest.included()))
            try:
                assembled = self.backups.assemble_data(previous, delta, staged, salvaged)
            except BadRequest as error:
                raise FallBack(f"{_base(previous_name, salvaged)} ne peut servir de base : {error}") from error
        finally:
            if cut:
                self.backups.keep_partial(scratch)
            scratch.discard()
        return Increment(assembled, transferred, skew, len(assembled.from_salvage))

    def _download(self, held: dict[str, HeldDossier], scratch: StagedFile, since: str) -> int:
        self.progress.update(step=f"{_STEP} : changements depuis {since}", bytes_done=0)
        with stored_session(self.central, self.state) as session, scratch.writer() as sink:
            try:
                size = session.export_changes(held, Counting(sink, self.progress))
            except RemoteRefused as error:
                if error.code != "bad_request":
                    raise
                raise FallBack(f"le serveur distant n'envoie pas les seuls changements ({error})") from error
        return size


def central_skew(created_at: str, asked: float) -> float:
    """How far the central clock is ahead of ours, from the moment the central server wrote
    in the delta it made (``created_at``, to the second) and ours when we asked for it
    (``asked``): the request and the start of the export lie between, so the figure is
    low by at most a second and the link's latency, far within the hour that retention
    needs (``backup.CLOCK_TRUSTED``). This saves a ``v1 time`` request per backup. A moment
    that cannot be read is a delta that does not verify: FallBack."""
    moment = parse_moment(created_at)
    if moment is None:
        raise FallBack(f"les changements reçus ne se vérifient pas : created_at {created_at[:40]!r} illisible")
    return moment.timestamp() - asked


def is_cut(error: BaseException) -> bool:
    """A transfer that failed on the link (cut, stalled) or that the server gave up
    (``unavailable``: its database failed, or a dossier was written as the export began),
    not on the disk: what it wrote is worth keeping for the next attempt."""
    if isinstance(error, RemoteRefused):
        return error.code == "unavailable"
    cause = error.__cause__
    disk = isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM)
    return isinstance(error, Unavailable) and not disk


def _base(previous_name: str | None, salvaged: Sequence[Salvage]) -> str:
    """What the unchanged dossiers were to be copied from, in French."""
    parts = [f"la sauvegarde précédente {previous_name}"] if previous_name else []
    if salvaged:
        parts.append("le transfert interrompu")
    return " avec ".join(parts)
