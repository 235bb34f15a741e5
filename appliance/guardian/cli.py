"""``neocuma-guardian``: NeoCuma Server Guardian's command line (inside its container).

Passwords are read from the terminal, or from standard input when it is not a terminal (one
per line), never from arguments. Exit statuses: 0 done, 1 refused or failed (the message
says why), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from appliance import __version__, logs
from appliance.domain.backup_format import valid_dossier_code
from appliance.errors import ApplianceError, ConfigError
from appliance.guardian import actions, identification
from appliance.guardian.config import load_config
from appliance.guardian.context import Guardian
from appliance.guardian.monitor import CHANGING_COMMANDS, request_refresh

log = logging.getLogger("neocuma.guardian")


class UsageError(Exception):
    pass


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise UsageError(f"{prompt.strip()} attendu sur l'entrée standard")
    return line.rstrip("\r\n")


def _read_line(prompt: str) -> str:
    if sys.stdin.isatty():
        return input(prompt).strip()
    return sys.stdin.readline().strip()


def _codes(values: Sequence[str]) -> list[str]:
    bad = [code for code in values if not valid_dossier_code(code)]
    if bad:
        raise UsageError(f"code(s) de dossier invalide(s) : {', '.join(bad)}")
    return list(dict.fromkeys(values))


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))


def cmd_login(guardian: Guardian, args: argparse.Namespace) -> int:
    presented = identification.presented_fingerprint(guardian)
    pinned = identification.pinned_fingerprint(guardian)
    host = f"{guardian.config['remote.host']}:{guardian.config['remote.port']}"
    if pinned is None:
        print(f"Serveur {host} : empreinte de la clé d'hôte {presented}")
        if args.accept_hostkey:
            identification.accept_host_key(guardian, args.accept_hostkey)
        elif sys.stdin.isatty() and _read_line("Confirmez-vous cette empreinte ? [oui/non] ").lower() in (
            "o",
            "oui",
            "y",
            "yes",
        ):
            identification.accept_host_key(guardian, presented)
        else:
            print(
                "Empreinte non confirmée : rien n'a été enregistré. (--accept-hostkey SHA256:… en non interactif)",
                file=sys.stderr,
            )
            return 1
    elif pinned != presented:
        print(
            f"ATTENTION : la clé d'hôte de {host} a CHANGÉ (épinglée {pinned}, présentée {presented}).", file=sys.stderr
        )
        print(
            "Connexion refusée. Si le changement est attendu : neocuma-guardian hostkey accept <empreinte>",
            file=sys.stderr,
        )
        return 1
    user = args.user or _read_line("Utilisateur NeoCuma : ")
    password = _read_secret("Mot de passe : ")
    result = identification.login(guardian, user, password)
    print(f"Connecté : {result.login} ({result.profile}), centre {result.centre}, {result.dossiers} dossiers.")
    return 0


def cmd_hostkey(guardian: Guardian, args: argparse.Namespace) -> int:
    if args.action == "accept":
        fingerprint = identification.accept_host_key(guardian, args.fingerprint)
        print(f"Clé d'hôte épinglée : {fingerprint}")
        return 0
    print(f"épinglée : {identification.pinned_fingerprint(guardian) or '(aucune)'}")
    print(f"présentée : {identification.presented_fingerprint(guardian)}")
    return 0


def cmd_backup(guardian: Guardian, args: argparse.Namespace) -> int:
    if not args.system:
        result = actions.run_data_backup(guardian)
        print(
            f"Sauvegarde des données : data/{result.name}, {result.dossiers} dossiers, {result.rows} lignes, {result.bytes / 1e6:.1f} Mo"
        )
    if not args.data:
        system = actions.run_system_backup(guardian)
        print(f"Sauvegarde système : system.zip, {system.files} fichiers, {system.bytes / 1e6:.1f} Mo")
    return 0


def cmd_sync(guardian: Guardian, args: argparse.Namespace) -> int:
    result = actions.run_sync(guardian, args.backup)
    print(
        f"Synchronisation : {result.backup} → génération {result.data_generation}, {result.dossiers} dossiers, {result.seconds:.1f} s"
    )
    return 0


def cmd_run(guardian: Guardian, args: argparse.Namespace) -> int:
    data, system, synced = actions.run_all(guardian)
    print(f"Sauvegarde des données : data/{data.name} ({data.dossiers} dossiers)")
    print(f"Sauvegarde système : system.zip ({system.files} fichiers)")
    print(f"Synchronisation : génération {synced.data_generation} en service")
    return 0


def cmd_backups(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian.backup import list_backups

    entries = list_backups(guardian)
    if args.json:
        _print({"backups": [e.__dict__ for e in entries]}, True)
        return 0
    for entry in entries:
        dossiers = "?" if entry.dossiers is None else str(entry.dossiers)
        print(f"{entry.name}  {entry.size / 1e6:9.1f} Mo  {dossiers:>4} dossiers  {entry.status}")
    if guardian.system_zip.exists():
        print(f"system.zip  {guardian.system_zip.stat().st_size / 1e6:9.1f} Mo")
    return 0


def cmd_dossiers(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian.dossiers import dossier_rows, local_dossiers, remote_dossiers

    with guardian.remote_session() as session:
        remote = remote_dossiers(session)
    rows = dossier_rows(guardian, remote, local_dossiers(guardian))
    if args.json:
        _print({"dossiers": [row.as_json() for row in rows]}, True)
        return 0
    for row in rows:
        print(
            f"{row.code:10} {row.state.state:24} distant {row.remote_revision!s:>6}  local {row.local_revision!s:>6}  {row.name}"
        )
    return 0


def cmd_pull(guardian: Guardian, args: argparse.Namespace) -> int:
    result = actions.run_pull(guardian, _codes(args.codes), args.overwrite_local)
    for path in result.saved:
        print(f"Copie locale gardée : {path}")
    print(f"Descendu(s) vers le serveur local : {', '.join(result.dossiers)}")
    return 0


def cmd_restore(guardian: Guardian, args: argparse.Namespace) -> int:
    codes = _codes(args.codes)
    print(f"Les dossiers {', '.join(codes)} vont écraser leur version sur le serveur distant.")
    password = _read_secret("Ressaisissez votre mot de passe pour confirmer : ")
    for result in actions.run_restore(guardian, codes, password, args.overwrite_remote):
        print(
            f"Remonté : {result.dossier} (révision distante {result.revision}); copie gardée par le serveur : {result.pre_restore_copy}"
        )
    return 0


def cmd_mode(guardian: Guardian, args: argparse.Namespace) -> int:
    result = actions.run_mode(guardian, args.mode, args.force)
    for path in result.saved:
        print(f"Copie locale gardée : {path}")
    print(f"Serveur local : mode {result.previous} → {result.mode}")
    return 0


def cmd_status(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian import status

    facts = status.collect(guardian)
    if args.json:
        _print(facts, True)
    else:
        print("\n".join(status.lines(facts)))
    return 0 if facts["remote"]["ok"] and facts["local"]["ok"] else 1


_ON, _OFF = ("1", "true", "oui", "yes", "on"), ("0", "false", "non", "no", "off")


def _switch(key: str, value: str) -> bool:
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return False
    raise UsageError(f"{key}={value!r} : valeur attendue oui ou non")


def _hours(value: str) -> str | list[int]:
    """``toutes`` or a comma-separated list of UTC hours (0-23); the slot is checked later."""
    if value.strip() == "toutes":
        return "toutes"
    parts = [part.strip() for part in value.split(",")]
    if not parts or not all(part.isdigit() and 0 <= int(part) <= 23 for part in parts):
        raise UsageError(f"heures={value!r} : « toutes » ou des heures UTC de 0 à 23 séparées par des virgules")
    return [int(part) for part in parts]


def cmd_settings(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian.settings_store import centre_slot, load_settings, save_settings

    if args.action == "set":
        current, _ = load_settings(guardian)
        document = current.as_document()
        for assignment in args.values:
            key, _, value = assignment.partition("=")
            if key == "automatiques":
                document["sauvegardes"]["automatiques"] = _switch(key, value)
            elif key == "heures":
                document["sauvegardes"]["heures"] = _hours(value)
            elif key == "apres_sauvegarde":
                document["synchronisations"]["apres_sauvegarde"] = _switch(key, value)
            else:
                raise UsageError(f"réglage inconnu {key!r} (automatiques, heures, apres_sauvegarde)")
        save_settings(guardian, document)
    settings, source = load_settings(guardian)
    print(f"sauvegardes automatiques : {'oui' if settings.backups_enabled else 'non'}")
    try:
        centre, slot = centre_slot(guardian)
        hours = ", ".join(f"{h:02d}" for h in settings.effective_hours(slot))
        print(f"heures (UTC)             : {hours} — créneau de {centre.code} : {slot.describe()}")
    except ApplianceError as error:
        print(f"heures (UTC)             : {settings.hours or 'toutes'} ({error})")
    print(f"synchroniser après       : {'oui' if settings.sync_after else 'non'}")
    print(f"source                   : {source}")
    return 0


def cmd_check(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian.check import check

    status, line = check(guardian)
    print(line)
    return status


def cmd_serve(guardian: Guardian, args: argparse.Namespace) -> int:
    from appliance.guardian.daemon import serve

    return serve(guardian)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neocuma-guardian", description="NeoCuma Server Guardian")
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
    mode = sub.add_parser("mode", help="switch the local server: fallback (secours) or standby (veille)")
    mode.add_argument("mode", choices=("fallback", "standby"))
    mode.add_argument("--force", action="store_true", help="standby even with local work (local copies kept first)")
    settings = sub.add_parser("settings", help="Paramétrages: automatic backups, their hours, sync after them")
    settings_sub = settings.add_subparsers(dest="action")
    settings_sub.add_parser("show")
    setter = settings_sub.add_parser("set", help="e.g. set heures=2,4 automatiques=true apres_sauvegarde=false")
    setter.add_argument("values", nargs="+", metavar="KEY=VALUE")
    sub.add_parser("check", help="one line and an exit status for Nagios, Centreon or Icinga")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.setup(logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        from pathlib import Path

        config = load_config(Path(args.config) if args.config else None)
        if args.command == "config":
            if args.action == "show":
                print("\n".join(config.show()))
                from appliance.guardian.settings_store import load_settings

                settings, source = load_settings(Guardian(config))
                print(f"{'paramétrages':26} = {settings.as_document()!r} ({source})")
            else:
                print("configuration valide")
            return 0
        if args.command not in ("serve", "check"):
            logs.setup(logging.WARNING, json_file=config.state_dir / "logs" / "guardian.log")
            logs.new_run_id()
        guardian = Guardian(config)
        try:
            return COMMANDS[args.command](guardian, args)
        finally:
            if args.command in CHANGING_COMMANDS:
                request_refresh(guardian)
    except ConfigError as error:
        print(f"neocuma-guardian: {error}", file=sys.stderr)
        return 2
    except UsageError as error:
        print(f"neocuma-guardian: {error}", file=sys.stderr)
        return 2
    except ApplianceError as error:
        print(f"neocuma-guardian: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
