"""Offsite copies (issue 14; docs/offsite.md): after the backups, every verified data
backup of ``data/`` that the repository does not hold yet, and ``system.zip`` when it is
newer than its last copy, are pushed into the restic repository, then ``restic forget
--prune`` applies the retention. A backup that no longer verifies is not pushed (the log
says so); a push that fails is tried again at the next run, since what is pushed is
decided from what the repository holds. Nothing here ever stops a backup or a sync: the
actions run it after them and record its failure for the indicators.

``restore`` brings a copy back into ``data/`` under its name, verified like any backup
before it is listed; it never replaces a file that is there.

``push_local`` pushes the saves of fallback work (``backups/local/…-secours.zip``) the
repository lacks, as snapshots tagged ``type=local`` (docs/fallback.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from appliance.domain.backup_format import Opener
from appliance.domain.moments import parse_moment
from appliance.domain.offsite import (
    DATA,
    LOCAL,
    SYSTEM,
    OffsiteCopy,
    PushSummary,
    Retention,
    local_to_push,
    newest,
    to_push,
)
from appliance.errors import ApplianceError, Refused, Unavailable
from appliance.guardian.jobs.disk import commit_staged, volume_problem
from appliance.guardian.ports import BackupsStore, Clock, OffsiteStore, Reporter

log = logging.getLogger(__name__)
_SYSTEM_NAME = "system.zip"


@dataclass(frozen=True)
class OffsiteResult:
    pushed: list[str]  # the backups pushed, oldest first
    skipped: list[str]  # the backups that did not verify, not pushed
    transferred: int  # new bytes stored (after deduplication, before compression)
    created: bool  # the repository was created by this run
    repository: str
    size: int  # the bytes the repository holds afterwards
    copies: int  # the guardian's copies it holds afterwards
    seconds: float = 0.0


@dataclass(frozen=True)
class LocalPushResult:
    pushed: list[str]  # the saves of fallback work pushed, oldest first
    count: int  # how many (a scalar, for the history)
    transferred: int
    seconds: float = 0.0


@dataclass(frozen=True)
class OffsiteCheck:
    part: str  # the share of the data read, "K/N"
    repository: str
    seconds: float = 0.0


@dataclass(frozen=True)
class OffsiteJob:
    store: OffsiteStore | None  # None: no repository configured
    backups: BackupsStore
    clock: Clock
    progress: Reporter
    retention: Callable[[], Retention] = Retention  # read at each push: Paramétrages may change it
    check_every_hours: int = 24  # 0: no scheduled check
    check_parts: int = 30

    @property
    def configured(self) -> bool:
        return self.store is not None

    def _store(self) -> OffsiteStore:
        if self.store is None:
            raise Refused("aucun dépôt hors site configuré (NEOCUMA_OFFSITE_REPOSITORY, docs/offsite.md)")
        return self.store

    def push(self) -> OffsiteResult:
        """Push what the repository lacks, then forget and prune; raises Unavailable (the
        repository cannot be reached, or is full) or BadRequest (wrong password, damaged)."""
        started = self.clock.monotonic()
        store = self._store()
        created = store.ensure()
        if created:
            log.info("dépôt hors site %s créé", store.location)
        copies = store.copies()
        pushed, skipped, added = [], [], 0
        local = [f.name for f in self.backups.data_backups()]
        for name in to_push(local, copies, DATA):
            made = parse_moment(name)
            if made is None:
                continue  # not named as a backup: never one (docs/design.md §5)
            self.progress.update(step=f"copie hors site de {name}")
            try:
                self.backups.verify_data(self.backups.data_opener(name), name)
            except ApplianceError as error:
                log.warning("copie hors site : %s ne se vérifie plus et n'est pas poussée : %s", name, error)
                skipped.append(name)
                continue
            summary = self._push_one(store, self.backups.data_opener(name), name, DATA, made)
            log.info("copie hors site de %s : %d fichiers, %.1f Mo nouveaux", name, summary.files, summary.added / 1e6)
            pushed.append(name)
            added += summary.added
        added += self._push_system(store, copies, pushed)
        if pushed:
            self.progress.update(step="copie hors site : rétention (restic forget --prune)")
            retention = self.retention()
            store.forget(retention, DATA)
            if _SYSTEM_NAME in pushed:
                store.forget(retention, SYSTEM)
        after = store.copies()
        return OffsiteResult(
            pushed,
            skipped,
            added,
            created,
            store.location,
            store.size(),
            len(after),
            round(self.clock.monotonic() - started, 1),
        )

    def _push_system(self, store: OffsiteStore, copies: list[OffsiteCopy], pushed: list[str]) -> int:
        """``system.zip``'s copy when there is none of it, or only older ones."""
        stored = self.backups.system_zip()
        last = newest(copies, SYSTEM)
        if stored is None:
            return 0
        made = stored.modified.astimezone(dt.UTC).replace(microsecond=0)
        if last is not None and last.made >= made:
            return 0
        self.progress.update(step="copie hors site de system.zip")
        summary = self._push_one(store, self.backups.system_opener(), _SYSTEM_NAME, SYSTEM, made)
        pushed.append(_SYSTEM_NAME)
        return summary.added

    def _push_one(self, store: OffsiteStore, opener: Opener, name: str, kind: str, made: dt.datetime) -> PushSummary:
        """One backup pushed, once the backups volume is known to have the room for its members
        unpacked (about 3.5 times its zip); a volume that fills up meanwhile is said as such."""
        needed = store.room_needed(opener, name)
        free = self.backups.free_bytes()
        if free is not None and free < needed:
            raise Unavailable(
                f"le volume des sauvegardes n'a pas la place de déplier {name} pour sa copie hors site :"
                f" {needed / 1e6:.1f} Mo nécessaires, {free / 1e6:.1f} Mo libres ; rien n'a été poussé,"
                " nouvel essai à la prochaine sauvegarde. Libérez de la place sur le volume des sauvegardes"
            )
        try:
            return store.push_backup(opener, name, kind, made)
        except OSError as error:
            problem, advice = volume_problem(error, f"la copie dépliée de {name}", "le volume des sauvegardes")
            raise Unavailable(
                f"{problem} ; copie hors site non faite, nouvel essai à la prochaine sauvegarde"
                + (f". {advice}" if advice else "")
            ) from error

    def push_local(self) -> LocalPushResult:
        """Push the saves of fallback work the repository lacks (never forgotten by the
        retention); nothing is asked of the repository while there is no save. Raises
        Unavailable or BadRequest as ``push``; what a failure left is pushed next time."""
        started = self.clock.monotonic()
        names = [f.name for f in self.backups.local_copies()]
        if not local_to_push(names, []):
            return LocalPushResult([], 0, 0, round(self.clock.monotonic() - started, 1))
        store = self._store()
        store.ensure()
        pushed, added = [], 0
        for name, made in local_to_push(names, store.copies()):
            self.progress.update(step=f"copie hors site de {name}")
            summary = self._push_one(store, self.backups.local_copy_opener(name), name, LOCAL, made)
            pushed.append(name)
            added += summary.added
        if pushed:
            log.info("copie hors site des sauvegardes du mode secours : %s", ", ".join(pushed))
        return LocalPushResult(pushed, len(pushed), added, round(self.clock.monotonic() - started, 1))

    def copies(self) -> list[OffsiteCopy]:
        return self._store().copies()

    def check(self, part: int) -> OffsiteCheck:
        """``restic check`` of the repository, reading part ``part`` of ``check_parts`` of
        its data; raises BadRequest when it is damaged, Unavailable when unreachable."""
        started = self.clock.monotonic()
        store = self._store()
        share = f"{part}/{self.check_parts}"
        self.progress.update(step=f"contrôle du dépôt hors site (restic check, partie {share} des données)")
        store.check(part, self.check_parts)
        log.info("dépôt hors site %s contrôlé : structure et partie %s des données intactes", store.location, share)
        return OffsiteCheck(share, store.location, round(self.clock.monotonic() - started, 1))

    def restore(self, name: str) -> str:
        """Bring the newest copy of data backup ``name`` back into ``data/``, verified."""
        store = self._store()
        if name in {f.name for f in self.backups.data_backups()}:
            raise Refused(
                f"{name} est déjà dans data/ : rien n'a été restauré (supprimez-le d'abord pour le remplacer)"
            )
        found = [c for c in store.copies() if c.kind == DATA and c.name == name]
        if not found:
            raise Refused(f"le dépôt hors site {store.location} n'a pas de copie de {name}")
        staged = self.backups.new_data(name)
        try:
            self.progress.update(step=f"restauration de {name} depuis le dépôt hors site")
            with staged.writer() as sink:
                store.restore_backup(found[-1], sink)
            self.progress.update(step=f"vérification de {name}")
            self.backups.verify_data(staged.reader, name)
            commit_staged(staged)
        except BaseException:
            staged.discard()
            raise
        try:
            self.backups.index_data(name)
        except (OSError, ApplianceError) as error:  # the next incremental backup copies less fast
            log.warning("index des octets compressés de %s non écrit : %s", name, error)
        log.info(
            "%s restaurée depuis le dépôt hors site %s (instantané %s)", name, store.location, found[-1].snapshot[:8]
        )
        return name
