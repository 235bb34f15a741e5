"""The state of every part, as facts (the colours and their history come with the console):
the remote server, the backups, the local server, the synchronisation."""

from __future__ import annotations

from typing import Any

from appliance.adapters import generations
from appliance.errors import ApplianceError
from appliance.guardian.backup import list_backups
from appliance.guardian.context import Guardian


def collect(guardian: Guardian) -> dict[str, Any]:
    """Every fact status needs; each part that cannot be read says why instead of failing."""
    history = guardian.history().read()
    facts: dict[str, Any] = {"at": guardian.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "history": history}
    try:
        credentials = guardian.credentials()
        with guardian.remote_session() as session:
            whoami = session.json("v1 whoami")
        facts["remote"] = {
            "ok": True,
            "user": credentials.login,
            "centre": whoami["centre"]["code"],
            "dossiers": len(whoami["dossiers"]),
        }
    except ApplianceError as error:
        facts["remote"] = {"ok": False, "error": str(error)}
    backups = list_backups(guardian)
    facts["backups"] = {
        "count": len(backups),
        "latest": backups[0].name if backups else None,
        "system_zip": guardian.system_zip.exists(),
    }
    try:
        health = guardian.local_web().healthz()
        facts["local"] = {"ok": health.get("status") == "ok", "health": health}
    except ApplianceError as error:
        facts["local"] = {"ok": False, "error": str(error)}
    try:
        with guardian.connection() as connection:
            data, system, mode = generations.live_generations(connection)
        facts["control"] = {"data_generation": data, "system_generation": system, "mode": mode}
    except ApplianceError as error:
        facts["control"] = {"error": str(error)}
    return facts


def lines(facts: dict[str, Any]) -> list[str]:
    """The facts for a person, in French."""
    remote, local, control, history = facts["remote"], facts["local"], facts.get("control", {}), facts["history"]
    out = []
    if remote["ok"]:
        out.append(
            f"Serveur NeoCuma distant : joignable ({remote['user']}, centre {remote['centre']}, {remote['dossiers']} dossiers)"
        )
    else:
        out.append(f"Serveur NeoCuma distant : injoignable ou refusé — {remote['error']}")
    backup = history.get("backup", {})
    latest = facts["backups"]["latest"]
    out.append(
        f"Sauvegardes : dernière {latest or 'aucune'}"
        + (f" (échec le {backup['at']} : {backup.get('error')})" if backup and not backup.get("ok") else "")
    )
    if local["ok"]:
        generation = local["health"].get("data_generation")
        state = "jamais synchronisé" if generation is None else f"génération {generation}"
        out.append(f"Serveur NeoCuma local : en service, {state}, mode {local['health'].get('mode')}")
    else:
        out.append(f"Serveur NeoCuma local : indisponible — {local['error']}")
    synced = history.get("sync")
    if synced is None:
        out.append("Synchronisation : jamais faite")
    elif synced.get("ok"):
        out.append(
            f"Synchronisation : {synced['at']} depuis {synced.get('backup')} (génération {synced.get('data_generation')})"
        )
    else:
        out.append(f"Synchronisation : échec le {synced['at']} — {synced.get('error')}")
    if control.get("mode") == "fallback":
        out.append("Mode secours actif : la synchronisation est suspendue")
    return out
