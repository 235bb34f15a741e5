"""``neocuma-guardian replay``: the bons entered on the local server in fallback mode, sent
to the central server (docs/design.md §10, docs/protocol.md ``v1 replay``); prints the
renumbering (local number → central number) and every operation the central server
refused, with its reason. Exits 1 when this run had refusals."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from appliance.domain.moments import for_people
from appliance.domain.outbox import OutboxEntry
from appliance.guardian.jobs.replay import ReplayResult
from appliance.guardian.wiring import Parts


def add_replay_parser(sub: Any, add_json: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``replay`` sub-command and its ``--json``."""
    replay = sub.add_parser(
        "replay", help="renvoyer au serveur central les bons saisis sur le serveur local en mode secours"
    )
    add_json(replay)


def _refused(entry: OutboxEntry) -> dict[str, Any]:
    operation = entry.operation
    return {
        "id": operation.id,
        "dossier": operation.dossier,
        "numero_local": operation.local_numero,
        "utilisateur": operation.user,
        "saisi_le": operation.created_at.isoformat(),
        "motif": entry.reason,
    }


def facts(result: ReplayResult) -> dict[str, Any]:
    """The JSON document of a replay."""
    return {
        "envoyees": result.sent,
        "appliquees": result.applied,
        "refusees": result.refused,
        "renumerotation": [{"numero_local": local, "numero_central": central} for local, central in result.renumbered],
        "en_echec": [_refused(entry) for entry in result.still_refused],
    }


def lines(result: ReplayResult) -> list[str]:
    """The French lines of a replay."""
    if not result.sent:
        said = ["Aucune opération en attente : rien à renvoyer au serveur central."]
    else:
        said = [
            f"Opérations renvoyées au serveur central : {result.sent} "
            f"({result.applied} appliquée(s), {result.refused} refusée(s))"
        ]
        said += [f"  bon {local} → {central} sur le serveur central" for local, central in result.renumbered]
    if result.still_refused:
        said.append(f"Refusées par le serveur central (à ressaisir) : {len(result.still_refused)}")
        for entry in result.still_refused:
            operation = entry.operation
            said.append(
                f"  bon {operation.local_numero} du dossier {operation.dossier}, saisi par {operation.user} "
                f"le {for_people(operation.created_at)} : {entry.reason}"
            )
    return said


def cmd_replay(parts: Parts, args: argparse.Namespace) -> int:
    result = parts.actions.replay()
    if getattr(args, "json", False):
        print(json.dumps(facts(result), ensure_ascii=False, indent=1, sort_keys=True))
    else:
        print("\n".join(lines(result)))
    return 1 if result.refused else 0
