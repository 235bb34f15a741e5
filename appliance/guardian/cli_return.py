"""``neocuma-guardian return``: the guided return to the central server after an outage
(docs/fallback.md, "The return"). ``--plan`` shows what would be sent and changes nothing;
without it, the password typed again, the chosen dossiers go back (replayed, or ``--entier``
whole), the local server returns to standby, then a data backup and a sync. Exits 1 when an
operation it sent was refused or the backup or sync after the switch failed (the work is
sent), and 1 with a message and no document when the return was refused."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from appliance.domain.return_plan import ReturnLine, ReturnPlan
from appliance.guardian.cli_commands import _codes, _read_secret, _said
from appliance.guardian.cli_replay import facts as replay_facts
from appliance.guardian.cli_replay import lines as replay_lines
from appliance.guardian.jobs.central_return import ReturnResult
from appliance.guardian.wiring import Parts

SCHEMA = 1  # the --json document's version: a field renamed or removed moves it


def add_return_parser(sub: Any, add_json: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``return`` sub-command."""
    back = sub.add_parser(
        "return", help="retour au serveur central après le mode secours (rejeu, mode veille, synchronisation)"
    )
    back.add_argument("--plan", action="store_true", help="montrer ce qui serait renvoyé, sans rien changer")
    back.add_argument(
        "--dossier",
        action="append",
        metavar="CODE",
        help="ne renvoyer que ce dossier (répétable; par défaut : tous ceux qui ont du travail local)",
    )
    back.add_argument(
        "--entier",
        action="append",
        metavar="CODE",
        help="renvoyer ce dossier entier (remontée) au lieu de rejouer ses opérations (répétable)",
    )
    add_json(back)


def line_facts(line: ReturnLine) -> dict[str, Any]:
    return {
        "code": line.code,
        "nom": line.name,
        "revision_locale": line.local_revision,
        "bons_locaux": line.entered,
        "en_attente": line.pending,
        "appliquees": line.applied,
        "refusees": len(line.refused),
        "hors_file": line.untracked,
        "revision_centrale": line.central_revision,
        "modifie_sur_central": line.central_changed,
        "modifications_centrales": line.central_moves,
        "exporte": line.exporte,
        "methode": line.method,
        "selectionne": line.selected,
        "bloque": line.blocked,
    }


def plan_facts(plan: ReturnPlan) -> dict[str, Any]:
    return {"central_joignable": plan.central_reachable, "dossiers": [line_facts(line) for line in plan.lines]}


def plan_lines(plan: ReturnPlan) -> list[str]:
    """The plan in French, one line per dossier with local work."""
    if not plan.lines:
        return ["Aucun dossier n'a de travail local à renvoyer au serveur central."]
    said = [] if plan.central_reachable else ["Le serveur central ne répond pas : le retour attendra la liaison."]
    said.append(f"Dossiers avec du travail local : {len(plan.lines)}")
    for line in plan.lines:
        central = {True: "modifié aussi sur le central", False: "inchangé sur le central", None: "central inconnu"}
        seen = central[line.central_changed]
        if line.central_changed and line.central_moves:
            seen = f"{line.central_moves} modification(s) sur le central"
        how = "renvoyé entier" if line.method == "entier" else "rejeu des opérations"
        choice = how if line.selected else "laissé de côté (copie locale gardée, opérations en attente)"
        said.append(
            f"  {line.code} {line.name} : {line.entered} bon(s) saisi(s) en local, {line.pending} à renvoyer, "
            f"{len(line.refused)} refusé(s); {seen} — {choice}"
        )
        if line.blocked:
            said.append(f"    bloqué : {line.blocked}")
    return said


def result_facts(result: ReturnResult, seconds: float) -> dict[str, Any]:
    sent = result.sent
    return {
        "schema": SCHEMA,
        "plan": plan_facts(sent.plan),
        "rejeu": replay_facts(sent.replay),
        "entiers": [
            {"dossier": r.dossier, "revision": r.revision, "copie_serveur": r.pre_restore_copy} for r in sent.restored
        ],
        "copies_locales": sent.mode.saved,
        "mode": sent.mode.mode,
        "sauvegarde": None if result.backup is None else result.backup.name,
        "synchronisation": None if result.sync is None else result.sync.data_generation,
        "erreur": result.error,
        "duree_s": round(seconds, 1),
    }


def result_lines(result: ReturnResult) -> list[str]:
    sent = result.sent
    said = [f"Renvoyé entier : {r.dossier} (copie gardée par le serveur : {r.pre_restore_copy})" for r in sent.restored]
    said += replay_lines(sent.replay)
    said += [f"Copie locale gardée : {location}" for location in sent.mode.saved]
    said.append("Serveur local repassé en mode veille.")
    return said + [phrase[:1].upper() + phrase[1:] + "." for phrase in result.after_switch()]


def cmd_return(parts: Parts, args: argparse.Namespace) -> int:
    selected = _codes(args.dossier) if args.dossier else None
    whole = _codes(args.entier) if args.entier else []
    as_json = getattr(args, "json", False)
    plan = parts.actions.return_plan(selected, whole)
    if args.plan:
        if as_json:
            print(json.dumps({"schema": SCHEMA, "plan": plan_facts(plan)}, ensure_ascii=False, indent=1))
        else:
            print("\n".join(plan_lines(plan)))
        return 0
    print("\n".join(plan_lines(plan)), file=_said(args))
    password = _read_secret("Ressaisissez votre mot de passe pour confirmer : ")
    started = parts.ports.clock.monotonic()
    result = parts.actions.go_back(password, selected, whole)
    seconds = parts.ports.clock.monotonic() - started
    if as_json:
        print(json.dumps(result_facts(result, seconds), ensure_ascii=False, indent=1, sort_keys=True))
    else:
        print("\n".join(result_lines(result)))
    return 1 if result.refused or result.error else 0
