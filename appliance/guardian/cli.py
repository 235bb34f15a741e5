"""``neocuma-guardian``: NeoCuma Server Guardian's command line (inside its container).

Exit statuses: 0 done, 1 refused or failed (the message says why), 2 bad usage or
configuration, 130 interrupted; ``check`` exits as a Nagios plugin does (0 to 3). The
operator-facing text is French; ``--json`` gives every reporting command's outcome as JSON
on standard output; long commands show their progress on standard error (``cli_progress``). The commands themselves are
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
from appliance.guardian.cli_offsite import add_offsite_parser, cmd_offsite
from appliance.guardian.cli_parser import FrenchParser, french
from appliance.guardian.cli_progress import TerminalProgress
from appliance.guardian.cli_replay import add_replay_parser, cmd_replay
from appliance.guardian.cli_return import add_return_parser, cmd_return
from appliance.guardian.watch.check import PREFIX as PLUGIN_PREFIX
from appliance.guardian.watch.check import UNKNOWN
from appliance.guardian.wiring import Parts

log = logging.getLogger("neocuma.guardian")
# Commands after which the daemon's monitor is asked for a round at once.
CHANGING_COMMANDS = frozenset(
    {"login", "hostkey", "backup", "sync", "run", "pull", "restore", "mode", "settings", "offsite", "replay", "return"}
)
# Commands whose progress shows on standard error while they run.
PROGRESS_COMMANDS = frozenset({"backup", "sync", "run", "pull", "restore", "mode", "offsite", "return"})
Build = Callable[[GuardianConfig], Parts]


def _json(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a nested parser's default must not overwrite what its parent parsed.
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="le résultat en JSON sur la sortie standard"
    )


def _parser(plugin: bool = False) -> argparse.ArgumentParser:
    kind = _PluginParser if plugin else FrenchParser
    parser = kind(
        prog="neocuma-guardian",
        description="NeoCuma Server Guardian : sauvegardes et synchronisation du serveur NeoCuma local.",
        epilog="Codes de sortie : 0 fait, 1 refusé ou échoué (le message dit pourquoi), 2 usage ou "
        "configuration invalide, 130 interrompu ; check : 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )
    parser.add_argument("--version", action="version", version=f"neocuma-guardian {__version__}")
    parser.add_argument("--config", help="fichier de configuration (par défaut /etc/neocuma/guardian.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE", parser_class=kind)
    login = sub.add_parser(
        "login", help="épingler la clé d'hôte du serveur distant et s'identifier (mot de passe demandé)"
    )
    login.add_argument("--user", help="identifiant NeoCuma (demandé s'il manque)")
    login.add_argument(
        "--accept-hostkey", metavar="SHA256:…", help="l'empreinte que vous avez vérifiée, en non interactif"
    )
    _json(login)
    hostkey = sub.add_parser("hostkey", help="voir ou accepter la clé d'hôte du serveur distant")
    _json(hostkey)
    hostkey_sub = hostkey.add_subparsers(dest="action", metavar="ACTION", parser_class=kind)
    _json(hostkey_sub.add_parser("show", help="l'empreinte épinglée et celle présentée"))
    accept = hostkey_sub.add_parser("accept", help="épingler cette empreinte")
    accept.add_argument("fingerprint", metavar="SHA256:…")
    _json(accept)
    status = sub.add_parser(
        "status", help="état du serveur distant, des sauvegardes, du serveur local, de la synchronisation"
    )
    _json(status)
    backup = sub.add_parser("backup", help="sauvegarde des données et sauvegarde système (ou l'une des deux)")
    which = backup.add_mutually_exclusive_group()
    which.add_argument("--data", action="store_true", help="la sauvegarde des données seule")
    which.add_argument("--system", action="store_true", help="la sauvegarde système seule")
    backup.add_argument(
        "--full",
        action="store_true",
        help="sauvegarde des données complète : tous les dossiers transférés, même inchangés",
    )
    _json(backup)
    sync = sub.add_parser("sync", help="synchroniser le serveur local depuis les dernières sauvegardes")
    sync.add_argument("--backup", metavar="NOM", help="un fichier de data/ au lieu du plus récent")
    sync.add_argument(
        "--full",
        action="store_true",
        help="chargement complet d'une nouvelle génération, sans partir de la génération de réserve",
    )
    _json(sync)
    run = sub.add_parser(
        "run",
        help="sauvegarde des données + sauvegarde système + synchronisation (Lancer une Sauvegarde/Synchronisation maintenant)",
    )
    _json(run)
    backups = sub.add_parser("backups", help="lister les sauvegardes")
    _json(backups)
    dossiers = sub.add_parser("dossiers", help="les dossiers distants et locaux avec leur état")
    _json(dossiers)
    pull = sub.add_parser("pull", help="descendre des dossiers distant → local (Descendre vers serveur local)")
    pull.add_argument("codes", nargs="+", metavar="CODE")
    pull.add_argument(
        "--overwrite-local", action="store_true", help="écraser le travail local (une copie locale est gardée avant)"
    )
    _json(pull)
    restore = sub.add_parser("restore", help="remonter des dossiers local → distant (Remonter vers serveur distant)")
    restore.add_argument("codes", nargs="+", metavar="CODE")
    restore.add_argument(
        "--overwrite-remote",
        action="store_true",
        help="même si la copie distante a changé depuis la dernière synchronisation",
    )
    restore.add_argument(
        "--from-backup", metavar="NOM", help="remonter les dossiers tels que la sauvegarde NOM de data/ les contient"
    )
    _json(restore)
    mode = sub.add_parser("mode", help="basculer le serveur local : fallback (secours) ou standby (veille)")
    mode.add_argument("mode", choices=("fallback", "standby"))
    mode.add_argument(
        "--force", action="store_true", help="veille même avec du travail local (copies locales gardées avant)"
    )
    _json(mode)
    settings = sub.add_parser(
        "settings",
        help="Paramétrages : sauvegardes automatiques, leurs heures, synchronisation après elles, copies hors site",
    )
    _json(settings)
    settings_sub = settings.add_subparsers(dest="action", metavar="ACTION", parser_class=kind)
    _json(settings_sub.add_parser("show", help="les paramétrages et leur source"))
    setter = settings_sub.add_parser(
        "set",
        help="par exemple : set heures=nuit (ou toutes, ou 2,14) automatiques=oui apres_sauvegarde=non "
        "hors_site.quotidiennes=30 (hebdomadaires, mensuelles ; moins de copies : mot de passe ressaisi)",
    )
    setter.add_argument("values", nargs="+", metavar="CLÉ=VALEUR")
    _json(setter)
    check = sub.add_parser("check", help="une ligne et un code de sortie pour Nagios, Centreon ou Icinga")
    check.add_argument(
        "-w", "--warning", metavar="ÂGE[,ÉCART]", help="alerte : âge de la sauvegarde (h), écart d'horloge (s)"
    )
    check.add_argument(
        "-c", "--critical", metavar="ÂGE[,ÉCART]", help="critique : âge de la sauvegarde (h), écart d'horloge (s)"
    )
    check.add_argument("-t", "--timeout", type=float, default=10.0, metavar="SECONDES", help="UNKNOWN passé ce délai")
    # The plugin guidelines' -V: the version on one line, exit 0 like --help.
    check.add_argument(
        "-V",
        "--version",
        action="version",
        version=f"neocuma-guardian check {__version__}",
        help="afficher la version et quitter",
    )
    add_offsite_parser(sub, kind, _json)
    add_replay_parser(sub, _json)
    add_return_parser(sub, _json)
    config = sub.add_parser("config", help="valider ou afficher la configuration")
    config.add_argument("action", choices=("validate", "show"))
    sub.add_parser("serve", help="le démon du guardian (le processus principal de son conteneur)")
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
    "offsite": cmd_offsite,
    "replay": cmd_replay,
    "return": cmd_return,
}


def _config_command(config: GuardianConfig, parts: Parts, action: str) -> int:
    if action == "show":
        print("\n".join(show(config, config.loaded)))
        settings, source = parts.settings.load()
        print(f"{'paramétrages':34} {settings.as_document()!r} ({source})")
    else:
        print("configuration valide")
    return 0


class _PluginParser(FrenchParser):
    """For ``check``: a usage error is one UNKNOWN line, exit 3, as the Nagios guidelines want."""

    def error(self, message: str) -> NoReturn:
        print(f"{PLUGIN_PREFIX} UNKNOWN - usage : {french(message)}")
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
        display = None
        if args.command in PROGRESS_COMMANDS:
            display = TerminalProgress(sys.stderr, sys.stderr.isatty())
            parts.progress.listen(display)
        try:
            return COMMANDS[args.command](parts, args)
        finally:
            if display is not None:
                display.close()
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
