"""Synchronisation of the local server (manual §12.3.3.4, docs/design.md §3 and §5).

Re-verify the chosen backup, build the new data generation and system-files generation
beside the live ones, switch both in one committed UPDATE, tell the local server (SIGHUP),
wait until its /healthz shows the new pair and an application check passes, and roll back
to the previous pair otherwise. The previous generation is kept; older ones are dropped.
Refused in fallback mode: fallback work is never silently overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from appliance.domain.backup_format import VerifiedBackup
from appliance.domain.backups import choose_backup
from appliance.domain.generations import FALLBACK, Live, LoadReport, leftovers, next_generation, to_drop
from appliance.domain.standby import FULL, SyncMode, choose_sync_mode
from appliance.domain.states import Baseline
from appliance.errors import ApplianceError, BadRequest, Refused, Unavailable
from appliance.guardian.jobs.disk import volume_problem
from appliance.guardian.ports import BackupsStore, Clock, LocalDatabase, LocalServer, Reporter
from appliance.guardian.state import SYNC_PENDING, GuardianState

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class SyncResult:
    backup: str
    data_generation: int
    system_generation: int | None
    dossiers: int
    rows: int
    seconds: float
    mode: str = FULL  # standby.INCREMENTAL or FULL
    reason: str = ""  # why, in French
    changed: int = 0  # dossiers whose rows were loaded (all of them in a full load)
    system_installed: bool = False  # False: no system.zip, or the live system files kept (unchanged)


@dataclass(frozen=True)
class SyncJob:
    database: LocalDatabase
    local: LocalServer
    backups: BackupsStore
    state: GuardianState
    clock: Clock
    progress: Reporter
    health_timeout: float
    full_every: dt.timedelta = dt.timedelta(days=7)  # the periodic full rebuild (0: always full)

    def run(self, requested: str | None = None, full: bool = False) -> SyncResult:
        """Make the local server serve the newest backup (or ``requested``): the standby
        generation brought up to date (incremental) unless ``full`` or ``choose_sync_mode``
        decides a full load. Raises Refused (fallback mode, no usable backup), BadRequest
        (the backup does not verify) or Unavailable; on any failure the local server keeps
        serving its previous generation."""
        started = self.clock.monotonic()
        live = self.database.live()
        if live.mode == FALLBACK:
            raise Refused(
                "le serveur local est en mode secours : la synchronisation écraserait le travail fait en local; "
                "repassez d'abord en mode veille"
            )
        self.recover()
        self.progress.update(step="synchronisation : choix et contrôle de la sauvegarde")
        verified, system = self._checked_backup(requested)
        self._clean_leftovers(live)
        generation = next_generation(self.database.generations(), live)
        mode = self._mode(full, live, verified)
        dossiers = len(verified.manifest.dossiers)
        system_generation, rows, mode = self._build(generation, verified, system, live, mode)
        self._switch_and_confirm(verified, generation, system_generation, live)
        installed = system is not None and system_generation == generation
        if system is not None and installed:
            self.state.record_installed_system(generation, system)
        self._prune({generation, live.data_generation}, {system_generation, live.system_generation})
        self.state.save_baselines({d.code: Baseline(d.revision, d.revision) for d in verified.manifest.dossiers})
        self.state.save_document(SYNC_PENDING, {})
        seconds = self.clock.monotonic() - started
        changed = dossiers if mode.plan is None else len(mode.plan.replace)
        log.info(
            "synchronisation depuis %s faite (%s : %s) : génération %d en service, %d dossiers rechargés sur %d,"
            " fichiers système %s, en %.1f s",
            verified.name,
            "incrémentale" if mode.incremental else "complète",
            mode.reason,
            generation,
            changed,
            dossiers,
            "installés" if installed else "inchangés" if system is not None else "absents",
            seconds,
        )
        return SyncResult(
            verified.name,
            generation,
            system_generation,
            dossiers,
            rows,
            seconds,
            mode.kind,
            mode.reason,
            changed,
            installed,
        )

    def _mode(self, full: bool, live: Live, verified: VerifiedBackup) -> SyncMode:
        below = [
            g for g in self.database.generations() if live.data_generation is not None and g < live.data_generation
        ]
        standby = max(below, default=None)
        return choose_sync_mode(
            requested_full=full,
            standby=standby,
            content=None if standby is None else self.database.standby_content(standby),
            manifest=verified.manifest,
            now=self.clock.now(),
            full_every=self.full_every,
        )

    def _checked_backup(self, requested: str | None) -> tuple[VerifiedBackup, str | None]:
        """The backup to load, its structure and manifest checked (every member's content is
        checked by the loader as it streams), and the MANIFEST digest of the verified
        system.zip that goes with it (None: there is none)."""
        names = [stored.name for stored in self.backups.data_backups()]
        name = choose_backup(names, self.clock.now(), requested)
        try:
            verified = self.backups.verify_data(self.backups.data_opener(name), name, full=False)
        except BadRequest as error:
            raise BadRequest(f"la sauvegarde {name} ne se vérifie pas : {error}; synchronisation refusée") from error
        if self.backups.system_zip() is None:
            return verified, None
        try:
            self.backups.verify_system(self.backups.system_opener())
            return verified, self.backups.system_digest(self.backups.system_opener())
        except BadRequest as error:
            raise BadRequest(f"system.zip ne se vérifie pas : {error}; synchronisation refusée") from error

    def _build(
        self, generation: int, verified: VerifiedBackup, system: str | None, live: Live, mode: SyncMode
    ) -> tuple[int | None, int, SyncMode]:
        """Build the data generation (the standby refreshed, else a full load) and install
        the system files beside the live ones, unless an incremental sync finds the live
        ones installed from the same system.zip MANIFEST; on any failure remove what was
        built and raise."""
        system_generation = live.system_generation
        try:
            report, mode = self._data(generation, verified, mode)
            same = live.system_generation is not None and self.state.installed_system() == (
                live.system_generation,
                system,
            )
            if system is not None and not (mode.incremental and same):
                self.local.install_system(generation, self.backups.system_opener())
                system_generation = generation
        except BadRequest as error:
            self._drop_new(generation, system_generation != live.system_generation)
            raise BadRequest(
                f"la sauvegarde {verified.name} ne se vérifie pas : {error}; synchronisation refusée"
            ) from error
        except OSError as error:
            # A volume full, read-only or not writable: said so, the live pair kept.
            self._drop_new(generation, system_generation != live.system_generation)
            problem, advice = volume_problem(error, error.filename or "ses fichiers de travail", "le volume")
            raise Unavailable(
                f"synchronisation impossible : {problem} ; le serveur local garde la génération"
                f" {live.data_generation}" + (f". {advice}" if advice else "")
            ) from error
        except BaseException:
            self._drop_new(generation, system_generation != live.system_generation)
            raise
        log.info(
            "génération %d construite depuis %s : %d lignes (chargement %.1f s, contrôle des comptes %.1f s)",
            generation,
            verified.name,
            report.rows,
            report.load_seconds,
            report.check_seconds,
        )
        return system_generation, report.rows, mode

    def _data(self, generation: int, verified: VerifiedBackup, mode: SyncMode) -> tuple[LoadReport, SyncMode]:
        def progress(done: int, total: int) -> None:
            self.progress.update(bytes_done=done, bytes_total=total)

        if mode.incremental and mode.plan is not None and mode.standby is not None:
            standby = mode.standby
            self.progress.update(
                step=f"synchronisation : mise à jour de la génération de réserve {standby} ({len(mode.plan.replace)} dossiers)",
                dossiers=len(mode.plan.replace),
            )
            try:
                return self.database.refresh_generation(standby, generation, verified, mode.plan, progress), mode
            except (BadRequest, Unavailable) as error:
                reason = f"mise à jour de la génération de réserve {standby} impossible : {error}"
                log.warning("%s ; chargement complet", reason)
                mode = SyncMode(FULL, reason)
                self.database.drop_generation(generation)  # created if only the rename failed
        self.database.create_generation(generation)
        self.progress.update(
            step=f"synchronisation : chargement de la génération {generation}", dossiers=len(verified.manifest.dossiers)
        )
        return self.database.load_generation(generation, verified, progress, self.clock.now()), mode

    def _switch_and_confirm(
        self, verified: VerifiedBackup, generation: int, system: int | None, previous: Live
    ) -> None:
        self.progress.update(step="synchronisation : bascule et contrôle du serveur local")
        # Written before the switch: a guardian killed while it waits for the confirmation
        # leaves this, and the next start confirms the switch or undoes it (``recover``).
        self.state.save_document(
            SYNC_PENDING,
            {
                "generation": generation,
                "system": system,
                "previous": [previous.data_generation, previous.system_generation],
                "backup": verified.name,
                "revisions": {d.code: d.revision for d in verified.manifest.dossiers},
            },
        )
        self.database.switch_live(generation, system)
        log.info("serveur local basculé sur la génération %d (système %s)", generation, system)
        # The server caches system files per generation (docs/design.md, "Swap"): with the
        # same system generation live, there is nothing for SIGHUP to drop.
        system_changed = system != previous.system_generation
        try:
            if system_changed:
                self._signal()
            self._wait_until_serving(len(verified.manifest.dossiers), generation, system)
        except ApplianceError as error:
            log.error(
                "le serveur local n'a pas confirmé la génération %d (%s) : retour à la précédente", generation, error
            )
            self.database.switch_live(previous.data_generation, previous.system_generation)
            if system_changed:
                self._signal()
            self.state.save_document(SYNC_PENDING, {})
            # Not dropped here: a LAN request that read the control row before the switch back
            # may still be reading the new generation. The next synchronisation removes it.
            raise Unavailable(
                f"le serveur local n'a pas confirmé la nouvelle génération ({error}) : retour à la précédente"
            ) from error

    def recover(self) -> str | None:
        """Finish what a guardian killed during a switch's confirmation left: the new
        generation live, unconfirmed, with the previous baselines. Confirmed now, its
        baselines are saved; not confirmed, the previous generation comes back. Returns
        what was done, None when there was nothing to do (docs/design.md, "Swap")."""
        pending = self.state.document(SYNC_PENDING)
        if not pending:
            return None
        generation, system = pending.get("generation"), pending.get("system")
        revisions: dict[str, int] = dict(pending.get("revisions", {}))
        live = self.database.live()
        if not isinstance(generation, int) or (live.data_generation, live.system_generation) != (generation, system):
            self.state.save_document(SYNC_PENDING, {})  # the switch never happened, or was undone
            return None
        try:
            self._signal()
            self._wait_until_serving(len(revisions), generation, system)
        except ApplianceError as error:
            previous_data, previous_system = pending.get("previous", [None, None])
            self.database.switch_live(previous_data, previous_system)
            self._signal()
            self.state.save_document(SYNC_PENDING, {})
            log.error(
                "génération %s basculée puis non confirmée avant l'interruption du guardian (%s) : retour à la %s",
                generation,
                error,
                previous_data,
            )
            return f"génération {generation} annulée, retour à la génération {previous_data}"
        self.state.save_baselines({code: Baseline(revision, revision) for code, revision in revisions.items()})
        self.state.save_document(SYNC_PENDING, {})
        log.warning(
            "génération %s (%s) confirmée après l'interruption du guardian pendant sa synchronisation",
            generation,
            pending.get("backup"),
        )
        return f"génération {generation} confirmée"

    def _signal(self) -> None:
        try:
            self.local.reload()
        except ApplianceError as error:
            # The server reads the control row on every request; SIGHUP only drops caches.
            log.warning("SIGHUP non envoyé au serveur local : %s", error)

    def _wait_until_serving(self, dossiers: int, generation: int, system: int | None) -> None:
        deadline = self.clock.monotonic() + self.health_timeout
        last = "pas encore de réponse"
        while self.clock.monotonic() < deadline:
            try:
                health = self.local.healthz()
                if (health.get("data_generation"), health.get("system_generation")) == (generation, system):
                    credentials = self.state.credentials()
                    seen, count = self.local.dossier_count(credentials.login)
                    if seen == generation and count == dossiers:
                        return
                    last = f"la vérification applicative voit la génération {seen} avec {count} dossiers"
                else:
                    last = f"/healthz indique {health.get('data_generation')}/{health.get('system_generation')}"
            except ApplianceError as error:
                last = str(error)
            self.clock.sleep(POLL_SECONDS)
        raise Unavailable(f"après {self.health_timeout:.0f} s : {last}")

    def _drop_new(self, generation: int, system_installed: bool) -> None:
        try:
            self.database.drop_generation(generation)
        except ApplianceError as error:
            log.error("génération %d non supprimée : %s", generation, error)
        if system_installed:
            self.local.remove_system(generation)

    def _clean_leftovers(self, live: Live) -> None:
        """What a guardian killed mid-sync, or a rolled-back switch, left: staging directories
        and schemas newer than the live generation."""
        for name in self.local.clean_system_staging():
            log.info("reste supprimé : %s", name)
        self.backups.clean_scratch()
        for number in leftovers(self.database.generations(), live.data_generation):
            self.database.drop_generation(number)
            log.info("génération %d d'une synchronisation interrompue supprimée", number)

    def _prune(self, keep_data: set[int | None], keep_system: set[int | None]) -> None:
        for number in to_drop(self.database.generations(), keep_data):
            self.database.drop_generation(number)
        for number in to_drop(self.local.system_generations(), keep_system):
            self.local.remove_system(number)
            log.info("génération de fichiers système g%d supprimée", number)
