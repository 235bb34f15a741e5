"""``neocuma-guardian``: NeoCuma Server Guardian's command line (inside its container).

Exit statuses: 0 done, 1 refused or failed (the message says why), 2 bad usage or
configuration; ``check`` exits as a Nagios plugin does (0 to 3). The commands themselves are
in ``cli_commands``; this module parses, loads the configuration, builds the guardian's
parts once (``wiring``) and turns errors into statuses.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from appliance import __version__, logs
from appliance.configuration import GuardianConfig, load_guardian
from appliance.configuration.declare import show
from appliance.errors import ApplianceError, ConfigError
from appliance.guardian import wiring
from appliance.guardian.cli_commands import (
    UsageError,
    cmd_backup,
    cmd_backups,
    cmd_check,
    cmd_dossiers,
    cmd_hostkey,
    cmd_login,
    cmd_mode,
    cmd_pull,
    cmd_restore,
    cmd_run,
    cmd_serve,
    cmd_settings,
    cmd_status,
    cmd_sync,
)
from appliance.guardian.watch.check import PREFIX as PLUGIN_PREFIX
from appliance.guardian.watch.check import UNKNOWN
from appliance.guardian.wiring import Parts

log = logging.getLogger("neocuma.guardian")
# Commands after which the daemon's monitor is asked for a round at once.
CHANGING_COMMANDS = frozenset({"login", "hostkey", "backup", "sync", "run", "pull", "restore", "mode", "settings"})
Build = Callable[[GuardianConfig], Parts]


def _parser(plugin: bool = False) -> argparse.ArgumentParser:
    kind = _PluginParser if plugin else argparse.ArgumentParser
    parser = kind(prog="neocuma-guardian", description="NeoCuma Server Guardian")
    parser.add_argument("--version", action="version", version=f"neocuma-guardian {__version__}")
    parser.add_argument("--config", help="configuration file (default /etc/neocuma/guardian.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="pin the remote's host key and log in (password asked)")
    login.add_argument("--user", help="NeoCuma login (asked if missing)")
    login.add_argument(
        "--accept-hostkey", metavar="SHA256:…", help="the fingerprint you checked, for non-interactive use"
    )
    hostkey = sub.add_parser("hostkey", help="show or accept the remote's host key")
    hostkey_sub = hostkey.add_subparsers(dest="action")
    hostkey_sub.add_parser("show")
    accept = hostkey_sub.add_parser("accept")
    accept.add_argument("fingerprint", metavar="SHA256:…")
    status = sub.add_parser("status", help="state of the remote, the backups, the local server, the sync")
    status.add_argument("--json", action="store_true")
    backup = sub.add_parser("backup", help="data backup and system backup (or one of them)")
    which = backup.add_mutually_exclusive_group()
    which.add_argument("--data", action="store_true", help="data backup only")
    which.add_argument("--system", action="store_true", help="system backup only")
    sync = sub.add_parser("sync", help="synchronise the local server from the latest backups")
    sync.add_argument("--backup", metavar="NAME", help="a file of data/ instead of the newest")
    sub.add_parser("run", help="data backup + system backup + sync (Lancer une Sauvegarde/Synchronisation maintenant)")
    backups = sub.add_parser("backups", help="list the backups")
    backups.add_argument("--json", action="store_true")
    dossiers = sub.add_parser("dossiers", help="remote and local dossiers with their states")
    dossiers.add_argument("--json", action="store_true")
    pull = sub.add_parser("pull", help="download dossiers remote → local (Descendre vers serveur local)")
    pull.add_argument("codes", nargs="+", metavar="CODE")
    pull.add_argument(
        "--overwrite-local", action="store_true", help="overwrite local work (a local copy is kept first)"
    )
    restore = sub.add_parser("restore", help="push dossiers local → remote (Remonter vers serveur distant)")
    restore.add_argument("codes", nargs="+", metavar="CODE")
    restore.add_argument(
        "--overwrite-remote", action="store_true", help="even if the remote copy changed since the last sync"
    )
    restore.add_argument(
        "--from-backup", metavar="NAME", help="send the dossiers as the data backup NAME of data/ holds them"
    )
    mode = sub.add_parser("mode", help="switch the local server: fallback (secours) or standby (veille)")
    mode.add_argument("mode", choices=("fallback", "standby"))
    mode.add_argument("--force", action="store_true", help="standby even with local work (local copies kept first)")
    settings = sub.add_parser("settings", help="Paramétrages: automatic backups, their hours, sync after them")
    settings_sub = settings.add_subparsers(dest="action")
    settings_sub.add_parser("show")
    setter = settings_sub.add_parser("set", help="e.g. set heures=2,4 automatiques=true apres_sauvegarde=false")
    setter.add_argument("values", nargs="+", metavar="KEY=VALUE")
    check = sub.add_parser("check", help="one line and an exit status for Nagios, Centreon or Icinga")
    check.add_argument("-w", "--warning", metavar="AGE[,SKEW]", help="warning: backup age (hours), clock skew (s)")
    check.add_argument("-c", "--critical", metavar="AGE[,SKEW]", help="critical: backup age (hours), clock skew (s)")
    check.add_argument("-t", "--timeout", type=float, default=10.0, metavar="SECONDS", help="UNKNOWN after this long")
    config = sub.add_parser("config", help="validate or show the configuration")
    config.add_argument("action", choices=("validate", "show"))
    sub.add_parser("serve", help="run the guardian daemon (the container's main process)")
    return parser


COMMANDS = {
    "login": cmd_login,
    "hostkey": cmd_hostkey,
    "status": cmd_status,
    "backup": cmd_backup,
    "sync": cmd_sync,
    "run": cmd_run,
    "backups": cmd_backups,
    "dossiers": cmd_dossiers,
    "pull": cmd_pull,
    "restore": cmd_restore,
    "mode": cmd_mode,
    "serve": cmd_serve,
    "settings": cmd_settings,
    "check": cmd_check,
}


def _config_command(config: GuardianConfig, parts: Parts, action: str) -> int:
    if action == "show":
        print("\n".join(show(config, config.loaded)))
        settings, source = parts.settings.load()
        print(f"{'paramétrages':34} {settings.as_document()!r} ({source})")
    else:
        print("configuration valide")
    return 0


class _PluginParser(argparse.ArgumentParser):
    """For ``check``: a usage error is one UNKNOWN line, exit 3, as the Nagios guidelines want."""

    def error(self, message: str) -> NoReturn:
        print(f"{PLUGIN_PREFIX} UNKNOWN - usage : {message}")
        sys.exit(UNKNOWN)


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (what follows the global options)."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _run_check(argv: Sequence[str] | None, build: Build) -> int:
    """``check`` as a plugin: whatever goes wrong is one UNKNOWN line on stdout, exit 3."""
    try:
        args = _parser(plugin=True).parse_args(argv)
    except SystemExit as done:  # a usage error (UNKNOWN, already printed) or --help
        return int(done.code or 0)

    def _timeout(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.setitimer(signal.ITIMER_REAL, max(0.1, float(args.timeout)))
    try:
        config = load_guardian(Path(args.config) if args.config else None)
        return cmd_check(build(config), args)
    except TimeoutError:
        print(f"{PLUGIN_PREFIX} UNKNOWN - pas de réponse en {args.timeout:g} s")
    except (ConfigError, UsageError) as error:
        print(f"{PLUGIN_PREFIX} UNKNOWN - {' '.join(str(error).split())}")
    except Exception as error:  # noqa: BLE001 - a plugin answers UNKNOWN, never a traceback
        print(f"{PLUGIN_PREFIX} UNKNOWN - erreur interne : {type(error).__name__}: {error}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return UNKNOWN


def main(argv: Sequence[str] | None = None, build: Build = wiring.build) -> int:
    """Run one command; ``build`` makes the guardian's parts from the configuration (the
    tests pass one over fakes)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if _command_of(words) == "check":
        logs.setup(logging.ERROR)
        return _run_check(words, build)
    args = _parser().parse_args(words)
    logs.setup(logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        config = load_guardian(Path(args.config) if args.config else None)
        if args.command not in ("serve", "check", "config"):
            logs.setup(logging.WARNING, json_file=config.state.dir / "logs" / "guardian.log")
            logs.new_run_id()
        if args.command != "serve":
            for warning in config.loaded.warnings:
                log.warning("configuration: %s", warning)
        parts = build(config)
        if args.command == "config":
            return _config_command(config, parts, args.action)
        try:
            return COMMANDS[args.command](parts, args)
        finally:
            if args.command in CHANGING_COMMANDS:
                parts.state.request_refresh()
    except (ConfigError, UsageError) as error:
        print(f"neocuma-guardian: {error}", file=sys.stderr)
        return 2
    except ApplianceError as error:
        print(f"neocuma-guardian: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
