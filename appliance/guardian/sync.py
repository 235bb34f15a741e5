"""Synchronisation of the local server (manual §12.3.3.4, DESIGN §3 and §5).

Re-verify the chosen backup in full, build the new data generation and system-files
generation beside the live ones, switch both in one committed UPDATE, tell the local server
(SIGHUP), wait until its /healthz shows the new pair and an application check passes, and
roll back to the previous pair otherwise. The previous generation is kept; older ones are
dropped. Refused in fallback mode: fallback work is never silently overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters import generations
from appliance.adapters.backup_reader import VerifiedBackup, open_backup
from appliance.adapters.generation_loader import load_generation
from appliance.adapters.system_zip import install_system_generation, verify_system_zip
from appliance.domain.backups import Entry, choose_backup
from appliance.domain.states import Baseline
from appliance.errors import ApplianceError, BadRequest, Refused, Unavailable
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncResult:
    backup: str
    data_generation: int
    system_generation: int | None
    dossiers: int
    rows: int
    seconds: float


def _entries(directory: Path) -> list[Entry]:
    if not directory.is_dir():
        return []
    return [
        Entry(path.name, dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC))
        for path in directory.iterdir()
        if path.is_file() and not path.name.startswith(".")
    ]


def synchronise(guardian: Guardian, requested: str | None = None) -> SyncResult:
    """Make the local server serve the newest backup (or ``requested``); raises Refused
    (fallback mode, no usable backup), BadRequest (the backup does not verify) or
    Unavailable; on any failure the local server keeps serving its previous generation."""
    started = time.monotonic()
    with guardian.connection() as connection:
        live_data, live_system, mode = generations.live_generations(connection)
    if mode == "fallback":
        raise Refused(
            "le serveur local est en mode secours : la synchronisation écraserait le travail fait en local; repassez d'abord en mode veille"
        )
    guardian.report(step="synchronisation : choix et contrôle de la sauvegarde")
    name = choose_backup(_entries(guardian.data_dir), guardian.now(), requested)
    try:
        # Structure and manifest now; every member's content as it loads (the loader streams
        # and checks each byte once).
        verified = open_backup(guardian.data_dir / name)
    except BadRequest as error:
        raise BadRequest(f"la sauvegarde {name} ne se vérifie pas : {error}; synchronisation refusée") from error
    has_system = guardian.system_zip.exists()
    if has_system:
        try:
            verify_system_zip(guardian.system_zip)
        except BadRequest as error:
            raise BadRequest(f"system.zip ne se vérifie pas : {error}; synchronisation refusée") from error
    _clean_leftovers(guardian, live_data, live_system)
    with guardian.connection() as connection:
        generation = generations.next_generation(connection)
        schema = generations.create_generation_schema(connection, generation)
    system_generation = live_system
    guardian.report(
        step=f"synchronisation : chargement de la génération {generation}", dossiers=len(verified.manifest.dossiers)
    )
    try:
        with guardian.connection() as connection:
            report = load_generation(verified, guardian.mysql_client(), connection, schema, guardian.work_dir)
        if has_system:
            install_system_generation(guardian.system_zip, guardian.system_dir / f"g{generation}")
            system_generation = generation
    except BadRequest as error:
        _drop_new(guardian, generation, system_generation if system_generation != live_system else None)
        raise BadRequest(f"la sauvegarde {name} ne se vérifie pas : {error}; synchronisation refusée") from error
    except BaseException:
        _drop_new(guardian, generation, system_generation if system_generation != live_system else None)
        raise
    log.info(
        "generation %d built from %s: %d rows (load %.1f s, count check %.1f s)",
        generation,
        name,
        report.rows,
        report.load_seconds,
        report.check_seconds,
    )
    _switch_and_confirm(guardian, verified, generation, system_generation, live_data, live_system)
    _prune(guardian, {generation, live_data}, {system_generation, live_system})
    guardian.save_baselines({d.code: Baseline(d.revision, d.revision) for d in verified.manifest.dossiers})
    result = SyncResult(
        name, generation, system_generation, len(verified.manifest.dossiers), report.rows, time.monotonic() - started
    )
    guardian.record(
        "sync",
        backup=name,
        data_generation=generation,
        system_generation=system_generation,
        seconds=round(result.seconds, 1),
        ok=True,
    )
    log.info("synchronisation from %s done: generation %d live in %.1f s", name, generation, result.seconds)
    return result


def _switch_and_confirm(
    guardian: Guardian,
    verified: VerifiedBackup,
    generation: int,
    system: int | None,
    previous: int | None,
    previous_system: int | None,
) -> None:
    guardian.report(step="synchronisation : bascule et contrôle du serveur local")
    with guardian.connection() as connection:
        generations.switch_live(connection, generation, system)
    log.info("switched the local server to generation %d (system %s)", generation, system)
    try:
        _signal(guardian)
        _wait_until_serving(guardian, verified, generation, system)
    except ApplianceError as error:
        log.error("the local server did not confirm generation %d (%s): rolling back", generation, error)
        with guardian.connection() as connection:
            generations.switch_live(connection, previous, previous_system)
        _signal(guardian)
        # Not dropped here: a LAN request that read the control row before the switch back may
        # still be reading the new generation. The next synchronisation removes it.
        raise Unavailable(
            f"le serveur local n'a pas confirmé la nouvelle génération ({error}) : retour à la précédente"
        ) from error


def _signal(guardian: Guardian) -> None:
    try:
        guardian.local_container().signal_reload()
    except ApplianceError as error:
        # The server reads the control row on every request; SIGHUP only drops caches.
        log.warning("could not send SIGHUP to the local server: %s", error)


def _wait_until_serving(guardian: Guardian, verified: VerifiedBackup, generation: int, system: int | None) -> None:
    deadline = time.monotonic() + int(guardian.config["local.health_timeout"])
    web = guardian.local_web()
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            health = web.healthz()
            if (health.get("data_generation"), health.get("system_generation")) == (generation, system):
                credentials = guardian.credentials()
                seen, count = web.dossier_count(credentials.login, credentials.password)
                if seen == generation and count == len(verified.manifest.dossiers):
                    return
                last = f"application check saw generation {seen} with {count} dossiers"
            else:
                last = f"/healthz shows {health.get('data_generation')}/{health.get('system_generation')}"
        except ApplianceError as error:
            last = str(error)
        time.sleep(0.5)
    raise Unavailable(f"after {guardian.config['local.health_timeout']} s: {last}")


def _drop_new(guardian: Guardian, generation: int, system: int | None) -> None:
    try:
        with guardian.connection() as connection:
            generations.drop_generation_schema(connection, generation)
    except ApplianceError as error:
        log.error("could not drop generation %d: %s", generation, error)
    if system is not None:
        shutil.rmtree(guardian.system_dir / f"g{system}", ignore_errors=True)


def _clean_leftovers(guardian: Guardian, live: int | None, live_system: int | None) -> None:
    """What a guardian killed mid-sync, or a rolled-back switch, left: staging directories
    and unreferenced schemas newer than the live generation."""
    if guardian.system_dir.is_dir():
        for path in guardian.system_dir.glob("g*.tmp"):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed leftover %s", path.name)
    shutil.rmtree(guardian.work_dir, ignore_errors=True)
    with guardian.connection() as connection:
        for number in generations.existing_generations(connection):
            if live is None or number > live:
                generations.drop_generation_schema(connection, number)
                log.info("removed leftover generation %d of an interrupted synchronisation", number)


def _prune(guardian: Guardian, keep_data: set[int | None], keep_system: set[int | None]) -> None:
    with guardian.connection() as connection:
        generations.prune_generations(connection, {n for n in keep_data if n is not None})
    if guardian.system_dir.is_dir():
        for path in guardian.system_dir.iterdir():
            number = path.name[1:]
            if path.is_dir() and path.name.startswith("g") and number.isdigit() and int(number) not in keep_system:
                shutil.rmtree(path, ignore_errors=True)
                log.info("dropped system-files generation %s", path.name)
