"""The server's one composition root: its parts built from its configuration (``build``),
used by ``serve``, the command line and the integration tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType

from appliance import __version__
from appliance.adapters.backup_writer import ClientStarter
from appliance.adapters.mysql import ConnectionPool, MysqlClient
from appliance.configuration import ServerConfig
from appliance.errors import Unavailable
from appliance.server.centres_file import load_centres, pick_centres
from appliance.server.importer import Importer
from appliance.server.metrics import ServerMetrics
from appliance.server.prerestore import PreRestoreStore
from appliance.server.seed.generator import GeneratorOptions
from appliance.server.ssh import SshContext
from appliance.server.store import Store
from appliance.server.systemfiles import SystemFiles

log = logging.getLogger("neocuma.server")


def build_importer(settings: ServerConfig, store: Store, client: ClientStarter) -> Importer:
    """The central server's importer, its pre-restore copies and work directory."""
    work_dir = settings.paths.state_dir / "incoming"
    work_dir.mkdir(parents=True, exist_ok=True)
    for leftover in work_dir.iterdir():  # uploads of a previous run that died mid-way
        if leftover.is_file():
            leftover.unlink()
    return Importer(
        database=settings.database,
        store=store,
        client=client,
        copies=PreRestoreStore(settings.paths.state_dir / "pre-restore", settings.ssh.pre_restore_days),
        work_dir=work_dir,
        server_name=settings.server.display_name,
        role=settings.server.role,
        now=lambda: dt.datetime.now(dt.UTC),
        # A dossier's TSV compresses about 4 to 6 times; 8 leaves room and still stops a zip
        # that would inflate into the server's disk (4 GiB at most for the 512 MB upload cap).
        max_unpacked=min(settings.ssh.max_import_bytes * 8, 4 << 30),
    )


def _wait_for_database(pool: ConnectionPool, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with pool.acquire():
                return
        except Unavailable as error:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for MySQL: %s", error)
            time.sleep(2)


@dataclass(frozen=True)
class ServerParts:
    """The server's parts, built once from its configuration."""

    config: ServerConfig
    pool: ConnectionPool
    store: Store
    client: MysqlClient
    system_files: SystemFiles
    metrics: ServerMetrics
    importer: Importer | None
    ssh: SshContext


def build(settings: ServerConfig, pool_size: int = 16) -> ServerParts:
    """Every part both listeners use; nothing connects to MySQL until first used. The
    central role gets an importer (restores), the local role none."""
    pool = ConnectionPool(settings.database, size=pool_size)
    store = Store(pool, settings.database.control_schema)
    client = MysqlClient(settings.database)
    system_files = SystemFiles(settings.paths.system_dir)
    metrics = ServerMetrics(store.live, settings.server.role)
    importer = build_importer(settings, store, client) if settings.server.role == "central" else None
    context = SshContext(
        store=store,
        client=client,
        system_files=system_files,
        server_name=settings.server.display_name,
        role=settings.server.role,
        zip_level=settings.ssh.zip_level,
        transfer_timeout=settings.ssh.transfer_timeout,
        now=lambda: dt.datetime.now(dt.UTC),
        metrics=metrics,
        importer=importer,
        max_import_bytes=settings.ssh.max_import_bytes,
        export_max_rate=settings.ssh.export_max_rate,
    )
    return ServerParts(settings, pool, store, client, system_files, metrics, importer, context)


def seed_if_empty(parts: ServerParts) -> None:
    """The demo central server: generated centres into generation 1 on the first start."""
    from appliance.server.seed.loader import seed_generation

    settings = parts.config
    if not settings.seed.on_first_start or parts.store.live().data_generation is not None:
        return
    options = GeneratorOptions(
        centres=pick_centres(load_centres(settings.paths.centres_file), settings.seed.centre_codes),
        dossiers=settings.seed.dossiers,
        years=settings.seed.years,
        seed=settings.seed.seed,
        password=settings.seed.password,
    )
    seed_generation(parts.pool, parts.client, settings.paths.system_dir, options, settings.server.display_name)


def serve(settings: ServerConfig) -> int:
    """Run both listeners until SIGTERM or SIGINT."""
    from appliance.adapters.state_files import load_or_create_secret
    from appliance.server.hostkey import load_or_create_host_key
    from appliance.server.ssh_listener import SshServer
    from appliance.server.web.app import create_app
    from appliance.web.peers import TrustedProxy
    from appliance.web.serving import tls_files, web_server

    tls = tls_files(settings.web.tls_certificate, settings.web.tls_key, "NEOCUMA_TLS_CERTIFICATE_PATH")
    parts = build(settings)
    _wait_for_database(parts.pool, 120)
    settings.paths.system_dir.mkdir(parents=True, exist_ok=True)
    seed_if_empty(parts)
    host_key = load_or_create_host_key(settings.paths.state_dir, settings.paths.public_dir)
    if parts.importer is not None:
        parts.importer.copies.prune(dt.datetime.now(dt.UTC))
    ssh = SshServer(parts.ssh, host_key, settings.ssh.port, settings.ssh.max_sessions)
    threading.Thread(target=ssh.serve_forever, name="ssh-accept", daemon=True).start()
    app = create_app(
        parts.store,
        load_or_create_secret(settings.paths.state_dir / "web-secret"),
        settings.server.role,
        settings.server.display_name,
        parts.system_files,
        parts.metrics,
        secure_cookies=tls is not None,
        check_token=settings.web.check_token,
        trusted_proxy=TrustedProxy(settings.web.gateway_host) if settings.web.gateway_host else None,
    )
    # Inside its container the server listens on every interface; compose publishes the port
    # on the address NEOCUMA_WEB_BIND names.
    web = web_server(app, "0.0.0.0", settings.web.port, 8, "NeoCuma", tls)  # noqa: S104
    system_files = parts.system_files

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        ssh.stop()
        web.close()

    def _hangup(signum: int, frame: FrameType | None) -> None:
        system_files.drop_cache()
        app.extensions["neocuma"].templates.drop_cache()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _hangup)
    log.info(
        "neocuma-server %s (%s role) ready: web (%s) on %d, ssh on %d",
        __version__,
        settings.server.role,
        "https" if tls else "http",
        settings.web.port,
        ssh.port,
    )
    with contextlib.suppress(OSError):  # closed by the signal handler
        web.run()
    parts.pool.close()
    log.info("stopped")
    return 0
