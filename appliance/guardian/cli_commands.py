"""The commands of ``neocuma-guardian``: each takes the guardian's parts and the parsed
arguments, prints in French and returns the exit status. Passwords are read from the
terminal, or from standard input when it is not a terminal (one per line), never from
arguments."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.backup_mode import describe_backup_run
from appliance.domain.dossiers import dossier_rows
from appliance.domain.numbers import whole
from appliance.domain.settings import EVERY_HOUR, NIGHTLY, RETENTION_KEYS, retention_document
from appliance.domain.standby import describe_sync_run
from appliance.errors import ApplianceError, BadRequest
from appliance.guardian.jobs.listing import list_backups
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.watch.check import check, parse_thresholds
from appliance.guardian.watch.status import lines as status_lines
from appliance.guardian.wiring import Parts, configured_retention

COMMAND_LINE = "ligne de commande (neocuma-guardian settings set)"  # who changes the Paramétrages there


class UsageError(Exception):
    """A command line the guardian does not understand (exit status 2)."""


class CheckUsageError(UsageError):
    """A command line ``check`` does not understand (UNKNOWN, exit status 3)."""


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
        print(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=str))


def _report(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    """The command's outcome: its JSON document with ``--json``, else its French lines."""
    if getattr(args, "json", False):
        _print(data, True)
    else:
        print("\n".join(lines))


def _said(args: argparse.Namespace) -> Any:
    """Where a command's remarks go: standard error with ``--json`` (standard output is the
    JSON document), standard output otherwise."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def cmd_login(parts: Parts, args: argparse.Namespace) -> int:
    presented = parts.identification.presented_fingerprint()
    pinned = parts.identification.pinned_fingerprint()
    host = parts.ports.central.address
    if pinned is None:
        print(f"Serveur {host} : empreinte de la clé d'hôte {presented}", file=_said(args))
        if args.accept_hostkey:
            parts.identification.accept_host_key(args.accept_hostkey)
        elif sys.stdin.isatty() and _read_line("Confirmez-vous cette empreinte ? [oui/non] ").lower() in (
            "o",
            "oui",
            "y",
            "yes",
        ):
            parts.identification.accept_host_key(presented)
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
    result = parts.identification.login(user, password)
    _report(
        args,
        dataclasses.asdict(result),
        [f"Connecté : {result.login} ({result.profile}), centre {result.centre}, {result.dossiers} dossiers."],
    )
    return 0


def cmd_hostkey(parts: Parts, args: argparse.Namespace) -> int:
    if args.action == "accept":
        fingerprint = parts.identification.accept_host_key(args.fingerprint)
        _report(args, {"pinned": fingerprint}, [f"Clé d'hôte épinglée : {fingerprint}"])
        return 0
    pinned, presented = parts.identification.pinned_fingerprint(), parts.identification.presented_fingerprint()
    _report(
        args,
        {"pinned": pinned, "presented": presented},
        [f"épinglée : {pinned or '(aucune)'}", f"présentée : {presented}"],
    )
    return 0


def cmd_backup(parts: Parts, args: argparse.Namespace) -> int:
    document: dict[str, Any] = {}
    lines = []
    if args.system and args.full:
        raise BadRequest("--full concerne la sauvegarde des données : il ne va pas avec --system")
    if not args.system:
        result = parts.actions.data_backup(full=args.full)
        document["data"] = dataclasses.asdict(result)
        lines.append(
            f"Sauvegarde des données : data/{result.name}, {result.dossiers} dossiers, {result.rows} lignes, {result.bytes / 1e6:.1f} Mo"
        )
        lines.append(f"  {describe_backup_run(dataclasses.asdict(result))}")
    if not args.data:
        system = parts.actions.system_backup()
        document["system"] = dataclasses.asdict(system)
        lines.append(
            f"Sauvegarde système : system.zip, {system.files} fichiers, {system.bytes / 1e6:.1f} Mo,"
            f" dont {system.fetched} reçus ({system.transferred / 1e6:.1f} Mo), les autres inchangés"
        )
    _report(args, document, lines)
    return 0


def cmd_sync(parts: Parts, args: argparse.Namespace) -> int:
    result = parts.actions.sync(args.backup, args.full)
    facts = dataclasses.asdict(result)
    _report(
        args,
        facts,
        [
            f"Synchronisation : {result.backup} → génération {result.data_generation}, {result.dossiers} dossiers, {result.seconds:.1f} s",
            f"  {describe_sync_run(facts)}",
        ],
    )
    return 0


def cmd_run(parts: Parts, args: argparse.Namespace) -> int:
    data, system, synced = parts.actions.run_all()
    _report(
        args,
        {"data": dataclasses.asdict(data), "system": dataclasses.asdict(system), "sync": dataclasses.asdict(synced)},
        [
            f"Sauvegarde des données : data/{data.name} ({data.dossiers} dossiers)",
            f"Sauvegarde système : system.zip ({system.files} fichiers, {system.fetched} reçus)",
            f"Synchronisation : génération {synced.data_generation} en service",
        ],
    )
    return 0


def cmd_backups(parts: Parts, args: argparse.Namespace) -> int:
    entries = list_backups(parts.ports.backups)
    if getattr(args, "json", False):
        _print({"backups": [e.__dict__ for e in entries]}, True)
        return 0
    for entry in entries:
        dossiers = "?" if entry.dossiers is None else str(entry.dossiers)
        print(f"{entry.name}  {entry.size / 1e6:9.1f} Mo  {dossiers:>4} dossiers  {entry.status}")
    system_zip = parts.ports.backups.system_zip()
    if system_zip is not None:
        print(f"system.zip  {system_zip.size / 1e6:9.1f} Mo")
    return 0


def cmd_dossiers(parts: Parts, args: argparse.Namespace) -> int:
    with stored_session(parts.ports.central, parts.state) as session:
        remote = session.dossiers()
    rows = dossier_rows(remote, parts.ports.database.dossiers(), parts.state.baselines())
    if getattr(args, "json", False):
        _print({"dossiers": [row.as_json() for row in rows]}, True)
        return 0
    for row in rows:
        print(
            f"{row.code:10} {row.state.state:24} distant {row.remote_revision!s:>6}  local {row.local_revision!s:>6}  {row.name}"
        )
    return 0


def cmd_pull(parts: Parts, args: argparse.Namespace) -> int:
    result = parts.actions.pull(_codes(args.codes), args.overwrite_local)
    lines = [f"Copie locale gardée : {path}" for path in result.saved]
    _report(
        args, dataclasses.asdict(result), [*lines, f"Descendu(s) vers le serveur local : {', '.join(result.dossiers)}"]
    )
    return 0


def cmd_restore(parts: Parts, args: argparse.Namespace) -> int:
    codes = _codes(args.codes)
    source = f" (telle que la sauvegarde {args.from_backup} la contient)" if args.from_backup else ""
    print(
        f"Les dossiers {', '.join(codes)} vont écraser leur version sur le serveur distant{source}.", file=_said(args)
    )
    password = _read_secret("Ressaisissez votre mot de passe pour confirmer : ")
    results = parts.actions.restore(codes, password, args.overwrite_remote, args.from_backup)
    _report(
        args,
        {"restored": [dataclasses.asdict(result) for result in results]},
        [
            f"Remonté : {r.dossier} (révision distante {r.revision}); copie gardée par le serveur : {r.pre_restore_copy}"
            for r in results
        ],
    )
    return 0


def cmd_mode(parts: Parts, args: argparse.Namespace) -> int:
    result = parts.actions.mode(args.mode, args.force)
    lines = [f"Copie locale gardée : {path}" for path in result.saved]
    _report(args, dataclasses.asdict(result), [*lines, f"Serveur local : mode {result.previous} → {result.mode}"])
    return 0


def cmd_status(parts: Parts, args: argparse.Namespace) -> int:
    facts = parts.status.collect()
    if getattr(args, "json", False):
        _print(facts, True)
    else:
        print("\n".join(status_lines(facts)))
    return 0 if facts["remote"]["ok"] and facts["local"]["ok"] else 1


_ON, _OFF = ("1", "true", "oui", "yes", "on"), ("0", "false", "non", "no", "off")


def _switch(key: str, value: str) -> bool:
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return False
    raise UsageError(f"{key}={value!r} : valeur attendue oui ou non")


OFFSITE_PREFIX = "hors_site."


def _count(key: str, value: str) -> int:
    """A number of offsite copies to keep, as typed; the floor is checked when it is saved."""
    count = whole(value.strip(), 10_000)
    if count is None:
        raise UsageError(f"{key}={value!r} : un nombre de copies de 0 à 10000")
    return count


def _password_typed_again(parts: Parts) -> Callable[[], None]:
    """Asked only when the change keeps fewer offsite copies: the stored login's password,
    typed again and checked as the console checks its users' (the remote server, else the
    verifier of the last login)."""

    def confirm() -> None:
        password = _read_secret("Ressaisissez le mot de passe pour réduire la rétention hors site : ")
        parts.identification.confirm_shorter_retention(parts.state.credentials().login, password)

    return confirm


def _hours(value: str) -> str | list[int]:
    """``nuit``, ``toutes`` or a comma-separated list of UTC hours (0-23); the slot is
    checked later."""
    if value.strip() in (NIGHTLY, EVERY_HOUR):
        return value.strip()
    parts = [part.strip() for part in value.split(",")]
    if not parts or not all(whole(part, 23) is not None for part in parts):
        raise UsageError(
            f"heures={value!r} : « nuit », « toutes » ou des heures UTC de 0 à 23 séparées par des virgules"
        )
    return [int(part) for part in parts]


def cmd_settings(parts: Parts, args: argparse.Namespace) -> int:
    if args.action == "set":
        current, _ = parts.settings.load()
        document = current.as_document()
        for assignment in args.values:
            key, _, value = assignment.partition("=")
            if key == "automatiques":
                document["sauvegardes"]["automatiques"] = _switch(key, value)
            elif key == "heures":
                document["sauvegardes"]["heures"] = _hours(value)
            elif key == "apres_sauvegarde":
                document["synchronisations"]["apres_sauvegarde"] = _switch(key, value)
            elif key.startswith(OFFSITE_PREFIX) and key.removeprefix(OFFSITE_PREFIX) in RETENTION_KEYS:
                # The first count typed starts from the configuration's (as the console's form does).
                kept = document.setdefault("hors_site", retention_document(configured_retention(parts.config)))
                kept[key.removeprefix(OFFSITE_PREFIX)] = _count(key, value)
            else:
                known = ", ".join(
                    ["automatiques", "heures", "apres_sauvegarde", *(OFFSITE_PREFIX + k for k in RETENTION_KEYS)]
                )
                raise UsageError(f"réglage inconnu {key!r} ({known})")
        parts.settings.save(document, by=COMMAND_LINE, confirm=_password_typed_again(parts))
    settings, source = parts.settings.load()
    document = {**settings.as_document(), "source": source}
    lines = [f"sauvegardes automatiques : {'oui' if settings.backups_enabled else 'non'}"]
    try:
        centre, slot = parts.settings.centre_slot()
        effective = settings.effective_hours(slot)
        document.update(heures_utc=effective, centre=centre.code, creneau=slot.describe())
        hours = ", ".join(f"{h:02d}" for h in effective)
        lines.append(f"heures (UTC)             : {hours} — créneau de {centre.code} : {slot.describe()}")
    except ApplianceError as error:
        lines.append(f"heures (UTC)             : {settings.describe_hours()} ({error})")
    lines.append(f"synchroniser après       : {'oui' if settings.sync_after else 'non'}")
    offsite = parts.settings.retention_of(settings)
    lines.append(
        f"copies hors site gardées : {offsite.daily} quotidiennes, {offsite.weekly} hebdomadaires, "
        f"{offsite.monthly} mensuelles ({'paramétrages' if settings.offsite else 'configuration'})"
    )
    lines.append(f"source                   : {source}")
    _report(args, document, lines)
    return 0


def cmd_check(parts: Parts, args: argparse.Namespace) -> int:
    """The Nagios plugin: ``-w``/``-c`` override the thresholds (backup age in hours, clock
    skew in seconds), ``-t`` bounds the run; every error is UNKNOWN (exit 3)."""
    limits = parts.check_limits
    try:
        warn_age, warn_skew = parse_thresholds(args.warning or "")
        crit_age, crit_skew = parse_thresholds(args.critical or "")
    except ValueError as error:
        raise CheckUsageError(f"-w/-c AGE[,SKEW] : {error}") from error
    limits = dataclasses.replace(
        limits,
        backup_warning=warn_age if warn_age is not None else limits.backup_warning,
        skew_warning=warn_skew if warn_skew is not None else limits.skew_warning,
        max_backup_age=dt.timedelta(seconds=crit_age) if crit_age is not None else limits.max_backup_age,
        skew_limit=crit_skew if crit_skew is not None else limits.skew_limit,
    )
    status, text = check(parts.state, parts.ports.clock, limits)
    print(text)
    return status


def cmd_serve(parts: Parts, args: argparse.Namespace) -> int:
    from appliance.guardian.daemon import serve

    return serve(parts)
