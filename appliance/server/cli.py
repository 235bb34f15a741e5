"""``neocuma-server``: the NeoCuma server's command line.

serve        run the SSH endpoint (2222) and NeoCuma Web (8080)
seed         fill a new data generation with generated centres and make it live (central)
generate     print generated centres as SQL (DDL and INSERTs) on stdout
healthcheck  exit 0 when /healthz answers, 1 otherwise (the image's HEALTHCHECK)
hostkey      print the SSH host key's fingerprint
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from appliance import __version__
from appliance.adapters.mysql import ConnectionPool, MysqlClient
from appliance.domain.centres import Centre, parse_centres
from appliance.domain.ddl import generation_ddl
from appliance.domain.sqltext import insert_statements
from appliance.errors import ApplianceError, ConfigError, Unavailable
from appliance.server.config import ServerSettings, load_server_settings
from appliance.server.seed.generator import GeneratorOptions, generate

log = logging.getLogger("neocuma.server")


def _setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%SZ",
        stream=sys.stderr,
    )
    logging.Formatter.converter = time.gmtime
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    logging.getLogger("mysql.connector").setLevel(logging.WARNING)


def load_centres(path: Path) -> list[Centre]:
    """The centres of ``path`` (config/centres.toml); raises ConfigError."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError([f"cannot read the centres file {path}: {error.strerror}"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path} is not valid TOML: {error}"]) from error
    return parse_centres(data)


def pick_centres(all_centres: list[Centre], codes: Sequence[str]) -> tuple[Centre, ...]:
    """The centres named by ``codes``, in that order; raises ConfigError for unknown codes."""
    by_code = {centre.code: centre for centre in all_centres}
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise ConfigError([f"unknown centre {code!r} (known: {', '.join(by_code)})" for code in unknown])
    return tuple(by_code[code] for code in codes)


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


def serve(settings: ServerSettings) -> int:
    """Run both listeners until SIGTERM or SIGINT."""
    from waitress import create_server

    from appliance.server.export import ClientStarter
    from appliance.server.hostkey import load_or_create_host_key
    from appliance.server.metrics import ServerMetrics
    from appliance.server.seed.loader import seed_generation
    from appliance.server.ssh import SshContext, SshServer
    from appliance.server.store import Store
    from appliance.server.systemfiles import SystemFiles
    from appliance.server.web.app import create_app
    from appliance.server.web.security import load_or_create_secret

    pool = ConnectionPool(settings.database, size=16)
    _wait_for_database(pool, 120)
    store = Store(pool, settings.database.control_schema)
    client = MysqlClient(settings.database)
    system_files = SystemFiles(settings.system_dir)
    settings.system_dir.mkdir(parents=True, exist_ok=True)
    if settings.seed.on_first_start and store.live().data_generation is None:
        options = GeneratorOptions(
            centres=pick_centres(load_centres(settings.centres_file), settings.seed.centres),
            dossiers=settings.seed.dossiers,
            years=settings.seed.years,
            seed=settings.seed.seed,
            password=settings.seed.password,
        )
        seed_generation(pool, client, settings.system_dir, options, settings.name)
    host_key = load_or_create_host_key(settings.state_dir, settings.public_dir)
    starter: ClientStarter = client  # type: ignore[assignment]
    metrics = ServerMetrics(store.live, settings.role)
    context = SshContext(
        store=store,
        client=starter,
        system_files=system_files,
        server_name=settings.name,
        role=settings.role,
        zip_level=settings.zip_level,
        transfer_timeout=settings.transfer_timeout,
        now=lambda: dt.datetime.now(dt.UTC),
        metrics=metrics,
    )
    ssh = SshServer(context, host_key, settings.ssh_port, settings.max_sessions)
    threading.Thread(target=ssh.serve_forever, name="ssh-accept", daemon=True).start()
    app = create_app(
        store,
        load_or_create_secret(settings.state_dir / "web-secret"),
        settings.role,
        settings.name,
        system_files,
        metrics,
    )
    web = create_server(app, host="0.0.0.0", port=settings.http_port, threads=8, ident="NeoCuma")

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
        "neocuma-server %s (%s role) ready: web on %d, ssh on %d",
        __version__,
        settings.role,
        settings.http_port,
        ssh.port,
    )
    with contextlib.suppress(OSError):  # closed by the signal handler
        web.run()
    pool.close()
    log.info("stopped")
    return 0


def _generator_options(args: argparse.Namespace, centres_file: Path, default_password: str = "") -> GeneratorOptions:
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError([f"--password-file: cannot read {args.password_file}: {error.strerror}"]) from error
    else:
        password = default_password or "neocuma-demo"
    try:
        return GeneratorOptions(
            centres=pick_centres(load_centres(centres_file), [c.strip() for c in args.centres.split(",") if c.strip()]),
            dossiers=args.dossiers,
            years=args.years,
            seed=args.seed,
            end_year=args.end_year,
            password=password,
        )
    except ValueError as error:
        raise ConfigError([str(error)]) from error


def generate_sql(options: GeneratorOptions, output: object) -> int:
    """Write the DDL and the INSERTs of ``options``' centres to ``output``; return bytes."""
    write = output.write  # type: ignore[attr-defined]
    size = 0
    for text in ("SET NAMES utf8mb4;\n", generation_ddl().script()):
        write(text)
        size += len(text)
    for batch in generate(options):
        for statement in insert_statements(batch.table.name, batch.table.column_names, batch.rows):
            write(statement)
            size += len(statement)
    return size


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neocuma-server", description="The NeoCuma server (SSH 2222, web 8080).")
    parser.add_argument("--version", action="version", version=f"neocuma-server {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the SSH endpoint and NeoCuma Web")
    for name, text in (
        ("seed", "load generated centres into a new live generation"),
        ("generate", "print generated centres as SQL"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dossiers", type=int, default=20, help="dossiers of the main centre (default 20)")
        sub.add_argument("--years", type=int, default=3, help="exercices per dossier (default 3)")
        sub.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        sub.add_argument("--end-year", type=int, default=2026, help="year of the last exercice (default 2026)")
        sub.add_argument(
            "--centres", default="FD12,FD24,FD47", help="centre codes, main first (default FD12,FD24,FD47)"
        )
        sub.add_argument("--password-file", help="file holding every generated user's password")
        sub.add_argument(
            "--centres-file", default=None, help="centres table (default: NEOCUMA_CENTRES_FILE or config/centres.toml)"
        )
    commands.add_parser("healthcheck", help="exit 0 when /healthz answers")
    commands.add_parser("hostkey", help="print the SSH host key fingerprint")
    return parser


def _default_centres_file(explicit: str | None) -> Path:
    import os

    if explicit:
        return Path(explicit)
    if os.environ.get("NEOCUMA_CENTRES_FILE"):
        return Path(os.environ["NEOCUMA_CENTRES_FILE"])
    for candidate in (
        Path("/etc/neocuma/centres.toml"),
        Path(__file__).resolve().parents[2] / "config" / "centres.toml",
    ):
        if candidate.exists():
            return candidate
    return Path("config/centres.toml")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            _setup_logging("WARNING")
            options = _generator_options(args, _default_centres_file(args.centres_file))
            generate_sql(options, sys.stdout)
            sys.stdout.flush()
            return 0
        if args.command == "healthcheck":
            import os

            from appliance.healthcheck import probe

            ok, detail = probe(f"http://127.0.0.1:{os.environ.get('NEOCUMA_HTTP_PORT', '8080')}/healthz")
            print(detail)
            return 0 if ok else 1
        settings = load_server_settings()
        _setup_logging(settings.log_level if args.command != "hostkey" else "WARNING")
        if args.command == "serve":
            return serve(settings)
        if args.command == "hostkey":
            from appliance.server.hostkey import fingerprint, load_or_create_host_key

            print(fingerprint(load_or_create_host_key(settings.state_dir, settings.public_dir)))
            return 0
        if args.command == "seed":
            if settings.role != "central":
                raise ConfigError(["seed replaces the live data: it is only for the central role"])
            from appliance.server.seed.loader import seed_generation

            options = _generator_options(
                args, _default_centres_file(args.centres_file or str(settings.centres_file)), settings.seed.password
            )
            pool = ConnectionPool(settings.database, size=2)
            result = seed_generation(pool, MysqlClient(settings.database), settings.system_dir, options, settings.name)
            print(
                f"generation {result.generation}: {result.rows} rows, {result.sql_bytes / 1e6:.1f} MB of SQL, {result.seconds:.1f} s"
            )
            return 0
    except ConfigError as error:
        print(f"neocuma-server: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
    except ApplianceError as error:
        print(f"neocuma-server: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
