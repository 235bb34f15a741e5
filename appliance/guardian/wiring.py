"""The guardian's one composition root: the real adapters built from the typed
configuration (``adapters``), and the jobs and watchers built once over any set of ports
(``build``). The CLI, the daemon and the console call ``build``; the unit tests call it
with in-memory fakes (tests/fakes)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters.backups_store import FilesystemBackups
from appliance.adapters.central import SshCentralServer
from appliance.adapters.clock import SystemClock
from appliance.adapters.config_files import read_centres, read_settings_seed, read_text
from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.adapters.local_server import HttpLocalServer, LocalContainer, LocalWeb
from appliance.adapters.mysql import MysqlAccount
from appliance.adapters.notifier import MailAndWebhookNotifier, MailSettings
from appliance.adapters.offsite_store import ResticOffsite
from appliance.adapters.restic import ResticRepository
from appliance.adapters.state_store import FileStateStore
from appliance.configuration import GuardianConfig
from appliance.domain.backups import Retention
from appliance.domain.fallback_saves import save_interval
from appliance.domain.generations import FALLBACK
from appliance.domain.offsite import Retention as OffsiteRetention
from appliance.domain.offsite import repository_kind
from appliance.domain.offsite_sftp import SftpPinning
from appliance.domain.outage import automatic_after
from appliance.errors import ApplianceError
from appliance.guardian.jobs.actions import Actions
from appliance.guardian.jobs.backup import BackupJob
from appliance.guardian.jobs.central_return import ReturnJob
from appliance.guardian.jobs.fallback_saves import FallbackSaves
from appliance.guardian.jobs.identification import DemoLogin, Identification
from appliance.guardian.jobs.local_copies import LocalCopies
from appliance.guardian.jobs.modes import Modes
from appliance.guardian.jobs.offsite import OffsiteJob
from appliance.guardian.jobs.progress import Progress
from appliance.guardian.jobs.replay import ReplayJob
from appliance.guardian.jobs.retention import RetentionJob
from appliance.guardian.jobs.sync import SyncJob
from appliance.guardian.jobs.transfers import Transfers
from appliance.guardian.ports import (
    BackupsStore,
    CentralServer,
    Clock,
    LocalDatabase,
    LocalServer,
    Notifier,
    OffsiteStore,
    StateStore,
)
from appliance.guardian.settings_store import Centres, Seed, SettingsStore
from appliance.guardian.state import GuardianState
from appliance.guardian.watch.check import CheckLimits
from appliance.guardian.watch.monitor import Monitor, Thresholds
from appliance.guardian.watch.outage import OutageWatch
from appliance.guardian.watch.status import StatusReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ports:
    """Everything the guardian talks to."""

    clock: Clock
    state_store: StateStore
    backups: BackupsStore
    database: LocalDatabase
    central: CentralServer
    local: LocalServer
    notifier: Notifier
    centres: Centres
    settings_seed: Seed
    published_key: Callable[[], str | None]
    offsite: OffsiteStore | None = None  # None: no repository configured


def adapters(config: GuardianConfig) -> Ports:
    """The real adapters; nothing connects until first used."""
    state_dir, backups_dir = config.state.dir, config.backups.dir
    local = config.local
    notify = config.notify
    return Ports(
        clock=SystemClock(),
        state_store=FileStateStore(state_dir),
        backups=FilesystemBackups(backups_dir),
        database=MysqlLocalDatabase(
            MysqlAccount(local.db_host, local.db_port, local.db_user, local.db_password), backups_dir / ".work"
        ),
        central=SshCentralServer(
            config.remote.host, config.remote.port, state_dir / "known_hosts", float(config.remote.transfer_timeout)
        ),
        local=HttpLocalServer(
            LocalWeb(
                local.server_url,
                local.check_token,
                Path(local.tls_certificate) if local.tls_certificate else None,
            ),
            LocalContainer(local.docker_url, local.server_service),
            local.system_dir,
        ),
        notifier=MailAndWebhookNotifier(
            MailSettings(
                notify.smtp_host,
                notify.smtp_port,
                notify.smtp_starttls,
                notify.smtp_user,
                notify.smtp_password,
                notify.mail_from,
                notify.mail_to,
            ),
            notify.webhook_url,
        ),
        centres=lambda: read_centres(config.schedule.centres_file),
        settings_seed=lambda: read_settings_seed(config.schedule.settings_seed),
        published_key=lambda: read_text(Path(config.remote.host_key_file)) if config.remote.host_key_file else None,
        offsite=_offsite(config),
    )


def _offsite(config: GuardianConfig) -> OffsiteStore | None:
    """The restic repository of the settings, or None when none is configured."""
    offsite = config.offsite
    if not offsite.repository:
        return None
    environment = {}
    if offsite.s3_access_key_id:
        environment["AWS_ACCESS_KEY_ID"] = offsite.s3_access_key_id
    if offsite.s3_secret_access_key:
        environment["AWS_SECRET_ACCESS_KEY"] = offsite.s3_secret_access_key
    sftp = None
    if repository_kind(offsite.repository) == "sftp":  # its key and pinned host key, both mounted
        sftp = SftpPinning(offsite.sftp_key_file, offsite.sftp_known_hosts_file)
    repository = ResticRepository(
        offsite.repository,
        offsite.password,
        config.state.dir / "restic-cache",
        environment=environment,
        timeout=offsite.command_minutes * 60,
        minimum_rate=offsite.minimum_rate_kb * 1000,
        sftp=sftp,
    )
    return ResticOffsite(repository, config.backups.dir / ".offsite")


@dataclass(frozen=True)
class Parts:
    """The guardian as its faces use it: its jobs and watchers, built once."""

    config: GuardianConfig
    ports: Ports
    state: GuardianState
    progress: Progress
    settings: SettingsStore
    identification: Identification
    actions: Actions
    monitor: Monitor
    status: StatusReport
    check_limits: CheckLimits
    fallback_saves: FallbackSaves


def build(config: GuardianConfig, ports: Ports | None = None) -> Parts:
    """Hand each job and watcher the ports it needs (the real adapters unless ``ports``)."""
    ports = ports or adapters(config)
    clock = ports.clock
    state = GuardianState(ports.state_store, clock)
    progress = Progress()
    settings = SettingsStore(
        state, ports.centres, ports.settings_seed, str(config.schedule.centres_file), configured_retention(config)
    )
    copies = LocalCopies(ports.database, ports.backups, state, clock)
    kept = config.backups
    retention = RetentionJob(ports.backups, clock, Retention(kept.keep_days, kept.keep), kept.local_keep_days)
    demo = config.demo
    identification = Identification(
        ports.central,
        state,
        DemoLogin(demo.autologin, demo.user, demo.password, ports.published_key, config.remote.host_key_file),
        settings.slot_of,
    )
    transfers = Transfers(ports.database, ports.central, ports.backups, state, copies, progress)
    modes = Modes(ports.database, state, copies)
    replay = ReplayJob(ports.database, ports.central, state, clock)
    actions = Actions(
        state=state,
        clock=clock,
        backup=BackupJob(
            ports.central, state, ports.backups, clock, progress, retention, dt.timedelta(days=kept.full_every_days)
        ),
        sync_job=SyncJob(
            ports.database,
            ports.local,
            ports.backups,
            state,
            clock,
            progress,
            float(config.local.health_timeout),
            dt.timedelta(days=config.local.sync_full_every_days),
        ),
        transfers=transfers,
        modes=modes,
        offsite=OffsiteJob(
            ports.offsite,
            ports.backups,
            clock,
            progress,
            lambda: offsite_retention(settings, config),
            config.offsite.check_every_hours,
            config.offsite.check_parts,
        ),
        replay_job=replay,
        return_job=ReturnJob(ports.database, ports.central, state, clock, transfers, modes, replay, progress),
    )
    max_age = dt.timedelta(hours=config.monitor.max_backup_age_hours)
    offsite = None if ports.offsite is None else ports.offsite.location
    fallback = config.fallback
    outage = OutageWatch(
        state=state,
        notifier=ports.notifier,
        switch=lambda: actions.mode(FALLBACK, False),
        window=dt.timedelta(seconds=fallback.detect_seconds),
        automatic_after=automatic_after(fallback.automatic_after_seconds),
        console_url=config.console.public_url(),
    )
    monitor = Monitor(
        central=ports.central,
        local=ports.local,
        database=ports.database,
        backups=ports.backups,
        state=state,
        settings=settings,
        notifier=ports.notifier,
        clock=clock,
        thresholds=Thresholds(float(config.monitor.skew_limit), max_age),
        console_url=config.console.public_url(),
        offsite=offsite,
        outage=outage,
    )
    status = StatusReport(ports.central, ports.local, ports.database, ports.backups, state, clock, offsite)
    limits = CheckLimits(float(config.monitor.interval), max_age, float(config.monitor.skew_limit))
    push = actions.offsite_fallback_saves if ports.offsite is not None else None
    saves = FallbackSaves(ports.database, state, copies, clock, save_interval(fallback.save_minutes), push)
    return Parts(config, ports, state, progress, settings, identification, actions, monitor, status, limits, saves)


def offsite_retention(settings: SettingsStore, config: GuardianConfig) -> OffsiteRetention:
    """The retention of the offsite copies: Paramétrages' when set there, else the
    configuration's (NEOCUMA_OFFSITE_KEEP_*), also when the Paramétrages cannot be read."""
    try:
        chosen = settings.load()[0].offsite
    except ApplianceError as error:
        log.warning("Paramétrages illisibles, rétention hors site de la configuration : %s", error)
        chosen = None
    return chosen or configured_retention(config)


def configured_retention(config: GuardianConfig) -> OffsiteRetention:
    """The configuration's retention of the offsite copies (NEOCUMA_OFFSITE_KEEP_*)."""
    offsite = config.offsite
    return OffsiteRetention(offsite.keep_daily, offsite.keep_weekly, offsite.keep_monthly)
