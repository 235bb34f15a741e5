"""``neocuma-server``: the NeoCuma server's command line.

serve        run the SSH endpoint (2222) and NeoCuma Web (8080)
seed         fill a new data generation with generated centres and make it live (central)
generate     print generated centres as SQL (DDL and INSERTs) on stdout
healthcheck  exit 0 when /healthz answers, 1 otherwise (the image's HEALTHCHECK)
hostkey      print the SSH host key's fingerprint
config       validate the configuration, or show every value and where it came from
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from appliance import __version__, logs
from appliance.configuration import ServerConfig, load_server
from appliance.configuration.declare import show
from appliance.domain.ddl import generation_ddl
from appliance.domain.sqltext import insert_statements
from appliance.errors import ApplianceError, ConfigError
from appliance.server.centres_file import load_centres, pick_centres
from appliance.server.seed.generator import GeneratorOptions, generate

log = logging.getLogger("neocuma.server")


def _generator_options(args: argparse.Namespace, centres_file: Path, default_password: str = "") -> GeneratorOptions:
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(
                [f"--password-file : impossible de lire {args.password_file} : {error.strerror or error}"]
            ) from error
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
    copies = commands.add_parser("pre-restore", help="list or apply the copies kept before each import (central)")
    copies_commands = copies.add_subparsers(dest="action", required=True)
    listing = copies_commands.add_parser("list", help="list the copies, newest first")
    listing.add_argument("dossier", nargs="?", help="only this dossier")
    apply = copies_commands.add_parser("apply", help="put a copy back (the current rows get a copy of their own first)")
    apply.add_argument("copy", help="CODE/FILE as `list` prints it")
    commands.add_parser("healthcheck", help="exit 0 when /healthz answers")
    commands.add_parser("hostkey", help="print the SSH host key fingerprint")
    config = commands.add_parser("config", help="check the configuration, or show every value and its source")
    config.add_argument("action", choices=("validate", "show"))
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


def _pre_restore(args: argparse.Namespace, settings: ServerConfig) -> int:
    from appliance.server.wiring import build

    importer = build(settings, pool_size=2).importer
    if importer is None:
        raise ConfigError(["seul le rôle central garde des copies d'avant restauration"])
    if args.action == "list":
        for copy in importer.copies.copies(args.dossier):
            print(f"{copy.dossier}/{copy.path.name}  revision {copy.revision}  {copy.size} bytes")
        return 0
    try:
        path = importer.copies.resolve(args.copy)
    except ValueError as error:
        raise ConfigError([str(error)]) from error
    code = args.copy.split("/", 1)[0]
    result = importer.import_dossier(code, path, "operator")
    print(json.dumps(result.as_json(), ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            logs.setup("WARNING")
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
        settings = load_server()
        logs.setup(settings.server.log_level if args.command not in ("hostkey", "config") else "WARNING")
        for warning in settings.loaded.warnings:
            log.warning("configuration: %s", warning)
        if args.command == "config":
            if args.action == "show":
                print("\n".join(show(settings, settings.loaded)))
            else:
                print("configuration valid")
            return 0
        if args.command == "serve":
            from appliance.server.wiring import serve

            return serve(settings)
        if args.command == "pre-restore":
            return _pre_restore(args, settings)
        if args.command == "hostkey":
            from appliance.adapters.remote_ssh import fingerprint
            from appliance.server.hostkey import load_or_create_host_key

            print(fingerprint(load_or_create_host_key(settings.paths.state_dir, settings.paths.public_dir)))
            return 0
        if args.command == "seed":
            if settings.server.role != "central":
                raise ConfigError(
                    ["seed remplace les données en service : cette commande est réservée au rôle central"]
                )
            from appliance.server.seed.loader import seed_generation
            from appliance.server.wiring import build

            options = _generator_options(
                args,
                _default_centres_file(args.centres_file or str(settings.paths.centres_file)),
                settings.seed.password,
            )
            parts = build(settings, pool_size=2)
            result = seed_generation(
                parts.pool, parts.client, settings.paths.system_dir, options, settings.server.display_name
            )
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
