"""Dossier transfers (manual §12.3.5): "Descendre vers serveur local" (pull) and "Remonter
vers serveur distant" (restore), with the safeguards of docs/design.md §5."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from appliance.domain.dossiers import LocalDossier, changed_on_remote, local_work, moved
from appliance.domain.states import Baseline
from appliance.errors import BadRequest, Refused
from appliance.guardian.jobs.local_copies import BEFORE_PULL, RESTORE, LocalCopies
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import BackupsStore, CentralServer, CentralSession, LocalDatabase, Reporter
from appliance.guardian.state import GuardianState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    dossiers: list[str]
    saved: list[str]
    retries: int = 0  # attempts made again after a refusal a new request cures (jobs/retrying.py)


@dataclass(frozen=True)
class RestoreResult:
    dossier: str
    revision: int
    pre_restore_copy: str


def _unknown(codes: list[str], remote: Mapping[str, object]) -> None:
    unknown = [code for code in codes if code not in remote]
    if unknown:
        raise Refused(f"dossier(s) absent(s) du serveur distant ou hors de vos droits : {', '.join(unknown)}")


@dataclass(frozen=True)
class Transfers:
    database: LocalDatabase
    central: CentralServer
    backups: BackupsStore
    state: GuardianState
    copies: LocalCopies
    progress: Reporter

    def pull(self, codes: list[str], overwrite_local: bool = False) -> PullResult:
        """Download ``codes`` from the remote into the local server, in one transaction (its
        users see all of them change at once, or none). Refuses dossiers with local work
        unless ``overwrite_local``, which first saves their local copy under ``backups/local/``."""
        generation = self.database.live().data_generation
        if generation is None:
            raise Refused("le serveur local n'a encore aucune donnée : lancez d'abord une synchronisation")
        local = self.database.dossiers()
        busy = [code for code in local_work(local, self.state.baselines()) if code in codes]
        if busy and not overwrite_local:
            raise Refused(
                f"dossier(s) modifié(s) localement : {', '.join(busy)}; la descente écraserait ce travail. "
                "Remontez-les d'abord, ou relancez avec --overwrite-local (une copie locale est alors gardée)"
            )
        saved = [self.copies.save(local[code], BEFORE_PULL).location for code in busy]
        scratch = self.backups.new_scratch("pull.zip")
        try:
            self.progress.update(step=f"descente de {', '.join(codes)}")
            with stored_session(self.central, self.state) as session:
                _unknown(codes, session.dossiers())
                with scratch.writer() as sink:
                    session.export(codes, sink)
            verified = self.backups.verify_data(scratch.reader, "pull.zip")
            if sorted(d.code for d in verified.manifest.dossiers) != sorted(set(codes)):
                raise BadRequest("le serveur distant a envoyé d'autres dossiers que ceux demandés")
            checked = {code: (local[code].revision if code in local else None) for code in codes}

            def guard(now: Mapping[str, LocalDossier]) -> None:
                late = moved({code: dossier.revision for code, dossier in now.items()}, checked)
                if late:
                    raise Refused(
                        f"dossier(s) modifié(s) localement pendant la descente : {', '.join(late)}; "
                        "rien n'a été écrit, remontez-les d'abord ou relancez la descente"
                    )

            self.database.replace_dossiers(generation, verified, guard)
        finally:
            scratch.discard()
        baselines = self.state.baselines()
        for entry in verified.manifest.dossiers:
            baselines[entry.code] = Baseline(entry.revision, entry.revision)
        self.state.save_baselines(baselines)
        log.info("descendu(s) du serveur distant : %s", ", ".join(codes))
        return PullResult(sorted(codes), saved)

    def restore(
        self, codes: list[str], password: str, overwrite_remote: bool = False, as_user: str | None = None
    ) -> list[RestoreResult]:
        """Push ``codes`` from the local server to the remote, one import (one transaction on
        the server) each, after the server checked the password typed again. Refuses a
        dossier that also changed on the remote since its baseline unless ``overwrite_remote``.
        With ``as_user`` (the console's user) the session is theirs and ``password`` their
        own; otherwise the stored login's."""
        with self._session(as_user, password) as session:
            return self.restore_in(session, codes, password, overwrite_remote)

    def restore_in(
        self, session: CentralSession, codes: list[str], password: str, overwrite_remote: bool = False
    ) -> list[RestoreResult]:
        """``restore`` in a session already open (the guided return's)."""
        local = self.database.dossiers()
        missing = [code for code in codes if code not in local]
        if missing:
            raise Refused(f"dossier(s) absent(s) du serveur local : {', '.join(missing)}")
        baselines = self.state.baselines()
        results = []
        remote = session.dossiers()
        _unknown(codes, remote)
        changed = [
            code
            for code in codes
            if changed_on_remote(remote[code].revision, local[code].revision, baselines.get(code))
        ]
        if changed and not overwrite_remote:
            raise Refused(
                "dossier(s) modifié(s) aussi sur le serveur distant depuis la dernière synchronisation : "
                f"{', '.join(changed)}; relancez avec --overwrite-remote pour écraser la version distante "
                "(le serveur en garde une copie)"
            )
        for number, code in enumerate(codes, start=1):
            self.progress.update(step=f"remontée de {code}", dossiers=number - 1)
            results.append(self._restore_one(session, local[code], password))
            baselines[code] = Baseline(results[-1].revision, local[code].revision)
            self.state.save_baselines(baselines)
        return results

    def restore_from_backup(
        self, codes: list[str], name: str, password: str, now: dt.datetime, as_user: str | None = None
    ) -> list[RestoreResult]:
        """Put ``codes`` back on the remote as the data backup ``name`` holds them (the
        backup is verified in full first), one import each, after the server checked the
        password typed again; the server keeps a pre-restore copy of what it replaces. The
        baselines stay: the dossier then shows as changed on the remote, and the next
        synchronisation or pull brings that version to the local server."""
        stored = {f.name for f in self.backups.data_backups()}
        if name not in stored:
            raise Refused(f"la sauvegarde {name} n'existe pas dans data/")
        backup = self.backups.verify_data(self.backups.data_opener(name), name)
        held = {d.code for d in backup.manifest.dossiers}
        missing = [code for code in codes if code not in held]
        if missing:
            raise Refused(f"la sauvegarde {name} ne contient pas le(s) dossier(s) {', '.join(missing)}")
        results = []
        with self._session(as_user, password) as session:
            _unknown(codes, session.dossiers())
            for number, code in enumerate(codes, start=1):
                self.progress.update(step=f"remontée de {code} depuis {name}", dossiers=number - 1)
                scratch = self.backups.new_scratch(f"{code}-from-{name}")
                try:
                    with scratch.writer() as sink:
                        self.backups.extract_dossier(backup, code, sink, now)
                    self.backups.verify_data(scratch.reader, scratch.name)
                    reply = session.import_dossier(code, password, scratch.reader)
                finally:
                    scratch.discard()
                log.info(
                    "dossier %s remonté depuis %s : révision distante %s, copie gardée par le serveur %s",
                    code,
                    name,
                    reply.revision,
                    reply.pre_restore_copy,
                )
                results.append(RestoreResult(code, reply.revision, reply.pre_restore_copy))
        return results

    def _session(self, as_user: str | None, password: str) -> CentralSession:
        """A session as ``as_user`` with the password they typed, or as the stored login."""
        if as_user is None:
            return stored_session(self.central, self.state)
        return self.central.session(as_user, password)

    def _restore_one(self, session: CentralSession, dossier: LocalDossier, password: str) -> RestoreResult:
        copy = self.copies.save(dossier, RESTORE)
        self.backups.verify_data(copy.reader, copy.name)
        reply = session.import_dossier(dossier.code, password, copy.reader)
        log.info(
            "dossier %s remonté : révision distante %s, copie gardée par le serveur %s",
            dossier.code,
            reply.revision,
            reply.pre_restore_copy,
        )
        return RestoreResult(dossier.code, reply.revision, reply.pre_restore_copy)
