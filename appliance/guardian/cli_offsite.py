"""``neocuma-guardian offsite``: the copies in the restic repository (docs/offsite.md).

- ``offsite list``: the copies the repository holds, oldest first;
- ``offsite push``: push now what the repository lacks (as after each backup);
- ``offsite check``: ``restic check`` now, reading the next part of the data (as the
  scheduled check after a push does);
- ``offsite restore NAME``: bring the copy of data backup NAME back into ``data/``,
  verified; then ``sync --backup NAME`` or ``restore --from-backup NAME`` use it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from appliance.domain.moments import for_people
from appliance.guardian.wiring import Parts


def cmd_offsite(parts: Parts, args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    action = args.action or "list"
    if action == "push":
        result = parts.actions.offsite_push()
        facts = dataclasses.asdict(result)
        lines = [
            f"Copie hors site vers {result.repository} : {len(result.pushed)} poussée(s)"
            + (f" ({', '.join(result.pushed)})" if result.pushed else "")
            + f", {result.transferred / 1e6:.1f} Mo nouveaux ; le dépôt tient {result.copies} copies, "
            f"{result.size / 1e6:.1f} Mo",
            *(f"Non poussée (ne se vérifie plus) : {name}" for name in result.skipped),
        ]
    elif action == "check":
        checked = parts.actions.offsite_check()
        facts = dataclasses.asdict(checked)
        lines = [
            f"Dépôt hors site {checked.repository} contrôlé (restic check) : structure et partie "
            f"{checked.part} des données intactes"
        ]
    elif action == "restore":
        name = parts.actions.offsite_restore(args.name)
        facts = {"restored": name}
        lines = [
            f"{name} restaurée dans data/ depuis le dépôt hors site et vérifiée ; "
            f"`sync --backup {name}` ou `restore --from-backup {name}` peuvent s'en servir"
        ]
    else:
        copies = parts.actions.offsite.copies()
        facts = {"copies": [dict(dataclasses.asdict(c), made=c.made.isoformat()) for c in copies]}
        lines = [f"{c.kind:6}  {c.name:26}  {for_people(c.made)}  instantané {c.snapshot[:8]}" for c in copies]
        lines = lines or ["Le dépôt hors site ne tient encore aucune copie"]
    print(json.dumps(facts, ensure_ascii=False, indent=1, sort_keys=True, default=str) if as_json else "\n".join(lines))
    return 0


def add_offsite_parser(
    sub: Any,  # the CLI's sub-parsers (of its own parser class)
    kind: type[argparse.ArgumentParser],
    json_flag: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The ``offsite`` command and its actions, in the CLI's parser."""
    offsite = sub.add_parser(
        "offsite", help="les copies hors site (dépôt restic) : lister, pousser, contrôler, restaurer"
    )
    json_flag(offsite)
    actions = offsite.add_subparsers(dest="action", metavar="ACTION", parser_class=kind)
    json_flag(actions.add_parser("list", help="les copies que tient le dépôt"))
    json_flag(actions.add_parser("push", help="pousser maintenant ce que le dépôt n'a pas encore"))
    json_flag(actions.add_parser("check", help="contrôler le dépôt maintenant (restic check, une partie des données)"))
    restore = actions.add_parser("restore", help="ramener dans data/ la copie d'une sauvegarde, vérifiée")
    restore.add_argument("name", metavar="NOM", help="le nom de la sauvegarde, par exemple 2026-12-01T02-00-00Z.zip")
    json_flag(restore)
