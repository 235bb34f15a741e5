"""Data and system backups (manual §12.3.3.1–12.3.3.3, docs/design.md §5).

A full data backup streams ``v1 export`` into a hidden temporary file of ``data/``, is
verified in full against its manifest and synced, then renamed to
``YYYY-MM-DDTHH-MM-SSZ.zip``: a cut, stalled, corrupted or partial transfer is never listed.
An incremental one (``incremental.py``; ``domain/backup_mode.py`` chooses) moves only the
dossiers that changed and assembles the same complete file; when it cannot, the job makes a
full one and says why. Retention (``retention.py``)
then deletes what is older than its days beyond a floor of the newest, never the backup
just made; a warning comes first when the backup may not fit on the volume. A cut
transfer's partial file is kept for the next backup to resume from (``incremental.py``).
``system.zip`` is ``system_backup.py``'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from dataclasses import dataclass

from appliance.domain.backup_format import Manifest, VerifiedBackup
from appliance.domain.backup_mode import FULL, BackupMode, PreviousBackup, choose_backup_mode
from appliance.domain.backups import backup_name
from appliance.domain.retry import is_retryable
from appliance.domain.salvage import Salvage
from appliance.errors import ApplianceError, BadRequest, RemoteRefused
from appliance.guardian.jobs.disk import commit_staged, disk_error
from appliance.guardian.jobs.incremental import FallBack, IncrementalBackup, is_cut
from appliance.guardian.jobs.progress import Counting
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.jobs.retention import RetentionJob
from appliance.guardian.jobs.system_backup import SystemBackup, SystemBackupResult
from appliance.guardian.ports import BackupsStore, CentralServer, Clock, Reporter, StagedFile
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)
_BLOCK = 1 << 20
SYSTEM_MANIFEST = "MANIFEST"
CLOCK_TRUSTED = 3600.0  # seconds from the central server's clock within which retention runs
RESUME_WITHIN = dt.timedelta(hours=24)  # a cut transfer's partial file serves this long


@dataclass(frozen=True)
class BackupResult:
    name: str
    bytes: int  # the backup's size
    dossiers: int
    rows: int
    seconds: float
    pruned: list[str]
    mode: str = FULL  # backup_mode.INCREMENTAL or FULL
    reason: str = ""  # why this mode, in French
    transferred: int = 0  # bytes received over the link
    changed: int = 0  # dossiers whose members crossed the link (all of them in a full backup)
    removed: int = 0  # dossiers of the previous backup no longer in rights
    resumed: int = 0  # dossiers copied from what a cut transfer had received
    retries: int = 0  # attempts made again after a refusal a new request cures (jobs/retrying.py)


@dataclass(frozen=True)
class _Made:
    """A backup listed in ``data/``: its manifest, size, and what crossed the link."""

    manifest: Manifest
    size: int
    transferred: int
    changed: int
    removed: int
    skew: float
    resumed: int = 0


@dataclass(frozen=True)
class BackupJob:
    central: CentralServer
    state: GuardianState
    backups: BackupsStore
    clock: Clock
    progress: Reporter
    retention: RetentionJob
    full_every: dt.timedelta = dt.timedelta(days=7)  # the periodic full backup (0: always full)

    def data(self, full: bool = False) -> BackupResult:
        """A data backup of every dossier in the user's rights: incremental (the changes
        since the newest backup, assembled with it) unless ``full`` or ``backup_mode``
        decides otherwise. Raises Unavailable (link, stall, disk), BadRequest (it does not
        verify) or Refused (login, rights)."""
        started = self.clock.monotonic()
        self._clean_partials()
        if (warning := self.retention.room_warning()) is not None:
            log.warning("%s", warning)
            self.progress.update(step=f"sauvegarde des données : attention, {warning}")
        name = backup_name(self.clock.now())
        credentials = self.state.credentials()
        previous, opened = self._previous()
        mode = choose_backup_mode(
            requested_full=full,
            previous=previous,
            login=credentials.login,
            centre=credentials.centre,
            last_full=self.state.last_full_backup(),
            now=self.clock.now(),
            full_every=self.full_every,
        )
        made, mode = self._make(name, credentials.login, mode, opened if mode.incremental else None)
        self.backups.drop_partials()
        self._index(name)
        pruned = self._retain(name, made.skew)
        manifest = made.manifest
        result = BackupResult(
            name=name,
            bytes=made.size,
            dossiers=len(manifest.dossiers),
            rows=sum(d.rows() for d in manifest.dossiers),
            seconds=self.clock.monotonic() - started,
            pruned=pruned,
            mode=mode.kind,
            reason=mode.reason,
            transferred=made.transferred,
            changed=made.changed,
            removed=made.removed,
            resumed=made.resumed,
        )
        log.info(
            "sauvegarde des données %s (%s : %s) : %d dossiers dont %d transférés, %d lignes, %.1f Mo, "
            "%.1f Mo reçus en %.1f s",
            name,
            "incrémentale" if mode.incremental else "complète",
            mode.reason,
            result.dossiers,
            result.changed,
            result.rows,
            made.size / 1e6,
            made.transferred / 1e6,
            result.seconds,
        )
        return result

    def _make(self, name: str, login: str, mode: BackupMode, base: VerifiedBackup | None) -> tuple[_Made, BackupMode]:
        """The backup listed, and its mode as it turned out: assembled on ``base`` (an
        incremental one) or on a cut transfer's partial file alone (a full one resumed),
        else a full export."""
        salvaged = self._salvaged()
        if base is not None or salvaged:
            outcome = self._incremental(name, base, login, salvaged)
            if not isinstance(outcome, str):
                if base is None:
                    self.state.record_full_backup(name)
                if outcome.resumed:
                    reason = f"{mode.reason}, reprise de {outcome.resumed} dossiers d'un transfert interrompu"
                    mode = BackupMode(mode.kind, reason)
                return outcome, mode
            log.warning("sauvegarde incrémentale impossible, sauvegarde complète : %s", outcome)
            self.progress.update(step=f"sauvegarde des données : complète, {outcome}")
            mode = BackupMode(FULL, outcome)
            self.backups.drop_partials()
        made = self._full(name, login)
        self.state.record_full_backup(name)
        return made, mode

    def _index(self, name: str) -> None:
        """The raw index of the backup just listed; without it the next incremental backup
        inflates what it copies, so a failure here is only a warning."""
        try:
            self.backups.index_data(name)
        except (OSError, ApplianceError, zipfile.BadZipFile) as error:
            log.warning("index des octets compressés de %s non écrit : %s", name, error)

    def _previous(self) -> tuple[PreviousBackup | None, VerifiedBackup | None]:
        """The newest backup of ``data/``, as its manifest says, and opened (its zip
        directory and manifest read once, for the choice and the assembly)."""
        stored = self.backups.data_backups()
        if not stored:
            return None, None
        newest = stored[0].name
        try:
            opened = self.backups.verify_data(self.backups.data_opener(newest), newest, full=False)
        except (ApplianceError, OSError):
            return PreviousBackup(newest, None, None, None, problem="son manifeste ne peut être lu"), None
        manifest = opened.manifest
        found = PreviousBackup(newest, manifest.user.get("login"), manifest.centre.get("code"), len(manifest.dossiers))
        return found, opened

    def _salvaged(self) -> list[Salvage]:
        """What cut transfers of the last RESUME_WITHIN received whole (docs/backup-format.md,
        "Resuming a cut transfer")."""
        found = [s for s in self.backups.salvages(RESUME_WITHIN, self.clock.now()) if s.dossiers]
        if found:
            log.info(
                "reprise d'un transfert interrompu : %d dossiers (%.1f Mo) déjà reçus",
                len({code for s in found for code in s.dossiers}),
                sum(s.bytes_salvaged() for s in found) / 1e6,
            )
        return found

    def _incremental(
        self, name: str, previous: VerifiedBackup | None, login: str, salvaged: list[Salvage]
    ) -> _Made | str:
        """The incremental backup made, or why it could not be (then nothing was listed)."""
        staged = self.backups.new_data(name)
        job = IncrementalBackup(self.central, self.state, self.backups, self.clock, self.progress)
        try:
            increment = job.run(previous, staged, login, salvaged)
        except FallBack as fallback:
            staged.discard()
            return fallback.reason
        except OSError as error:
            staged.discard()
            log.error("sauvegarde des données %s en échec : %s", name, error)
            raise disk_error(error, name) from error
        except BaseException as error:
            staged.discard()
            _log_failure(name, error)
            raise
        assembled = increment.assembled
        return _Made(
            assembled.manifest,
            assembled.size,
            increment.transferred,
            len(assembled.from_delta),
            len(assembled.removed),
            increment.skew,
            increment.resumed,
        )

    def _full(self, name: str, login: str) -> _Made:
        staged = self.backups.new_data(name)
        try:
            size, skew = self._download(staged)
            self.progress.update(step="sauvegarde des données : vérification")
            verified = self.backups.verify_data(staged.reader, name)
            if verified.manifest.user.get("login") != login:
                raise BadRequest(
                    f"la sauvegarde a été faite pour {verified.manifest.user.get('login')!r}, pas pour {login!r}"
                )
            commit_staged(staged)
        except BaseException as error:
            if is_cut(error):
                self.backups.keep_partial(staged)  # a cut link: the next run resumes from it
            staged.discard()
            _log_failure(name, error)
            raise
        manifest = verified.manifest
        return _Made(manifest, size, size, len(manifest.dossiers), 0, skew)

    def _retain(self, name: str, skew: float) -> list[str]:
        if abs(skew) > CLOCK_TRUSTED:
            # Ages measured on a clock gone wrong: ahead, every backup would look old.
            log.warning(
                "horloge du guardian décalée de %+.0f s par rapport au serveur distant : "
                "rétention suspendue, aucune sauvegarde supprimée (synchronisez l'heure UTC)",
                -skew,
            )
            return []
        pruned = self.retention.prune_data(just_made=name)
        self.retention.prune_local_copies()
        return pruned

    def _download(self, staged: StagedFile) -> tuple[int, float]:
        """The backup's size, and how far the central server's clock is ahead of ours."""
        self.progress.update(
            step="sauvegarde des données : téléchargement", bytes_done=0, bytes_total=self.retention.expected_size()
        )
        try:
            with stored_session(self.central, self.state) as session, staged.writer() as sink:
                skew = session.clock() - self.clock.now().timestamp()
                return session.export([], Counting(sink, self.progress)), skew
        except OSError as error:
            raise disk_error(error, staged.name) from error

    def _clean_partials(self) -> None:
        """What a guardian stopped mid-transfer left (never listed, but it takes room): the
        partial backups and the work area (a delta, a pull's download; under the one lock,
        no other job is using it)."""
        self.backups.clean_scratch()
        for name in self.backups.clean_partials():
            log.info("fichier inachevé %s d'une sauvegarde interrompue supprimé", name)

    def system(self) -> SystemBackupResult:
        """``system.zip`` anew (``system_backup.py``)."""
        self._clean_partials()
        return SystemBackup(self.central, self.state, self.backups, self.clock, self.progress).run()


def _log_failure(name: str, error: BaseException) -> None:
    """An attempt's failure: at INFO when the refusal is one a new request cures (the run
    retries it, ``jobs/retrying.py``, and logs the run's failure itself), else at ERROR."""
    if isinstance(error, RemoteRefused) and is_retryable(error.code, error.status, str(error)):
        log.info("sauvegarde des données %s interrompue : %s", name, error)
        return
    log.error("sauvegarde des données %s en échec : %s", name, error)
