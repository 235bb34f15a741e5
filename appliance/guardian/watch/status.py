"""The state of every part, as facts (the colours and their history come with the console):
the remote server, the backups, the local server, the synchronisation, the offsite copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.domain.backup_mode import describe_backup_run
from appliance.domain.moments import for_people
from appliance.domain.standby import describe_sync_run
from appliance.errors import ApplianceError
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.ports import BackupsStore, CentralServer, Clock, LocalDatabase, LocalServer
from appliance.guardian.state import OFFSITE, GuardianState, stamp


@dataclass(frozen=True)
class StatusReport:
    central: CentralServer
    local: LocalServer
    database: LocalDatabase
    backups: BackupsStore
    state: GuardianState
    clock: Clock
    offsite: str | None = None  # the offsite repository as messages show it; None: none configured

    def collect(self) -> dict[str, Any]:
        """Every fact status needs; each part that cannot be read says why instead of failing."""
        history = self.state.history()
        facts: dict[str, Any] = {"at": stamp(self.clock.now()), "history": history}
        try:
            login = self.state.credentials().login
            with stored_session(self.central, self.state) as session:
                whoami = session.whoami()
            facts["remote"] = {"ok": True, "user": login, "centre": whoami.centre, "dossiers": whoami.dossiers}
        except ApplianceError as error:
            facts["remote"] = {"ok": False, "error": str(error)}
        backups = self.backups.data_backups()
        facts["backups"] = {
            "count": len(backups),
            "latest": backups[0].name if backups else None,
            "system_zip": self.backups.system_zip() is not None,
        }
        try:
            health = self.local.healthz()
            facts["local"] = {"ok": health.get("status") == "ok", "health": health}
        except ApplianceError as error:
            facts["local"] = {"ok": False, "error": str(error)}
        try:
            live = self.database.live()
            facts["control"] = {
                "data_generation": live.data_generation,
                "system_generation": live.system_generation,
                "mode": live.mode,
            }
        except ApplianceError as error:
            facts["control"] = {"error": str(error)}
        facts["offsite"] = self._offsite(history)
        return facts

    def _offsite(self, history: dict[str, Any]) -> dict[str, Any]:
        """The last push and check, and the repository as the last successful push left it."""
        if self.offsite is None:
            return {"configured": False}
        try:
            held = self.state.document(OFFSITE)
        except ApplianceError as error:
            held = {"error": str(error)}
        return {
            "configured": True,
            "repository": self.offsite,
            "push": history.get("offsite"),
            "check": history.get("offsite_check"),
            "repository_state": held,
        }


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
        + (f" (échec le {for_people(backup['at'])} : {backup.get('error')})" if backup and not backup.get("ok") else "")
    )
    if backup.get("ok") and (moved := describe_backup_run(backup)):
        out.append(f"  sauvegarde des données du {for_people(backup['at'])} : {moved}")
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
            f"Synchronisation : le {for_people(synced['at'])} depuis {synced.get('backup')} (génération {synced.get('data_generation')})"
        )
        if moved := describe_sync_run(synced):
            out.append(f"  {moved}")
    else:
        out.append(f"Synchronisation : échec le {for_people(synced['at'])} — {synced.get('error')}")
    out.append(_offsite_line(facts.get("offsite") or {}))
    if control.get("mode") == "fallback":
        out.append("Mode secours actif : la synchronisation est suspendue")
    return out


def _offsite_line(offsite: dict[str, Any]) -> str:
    if not offsite.get("configured"):
        return "Copie hors site : non configurée (NEOCUMA_OFFSITE_REPOSITORY, docs/offsite.md)"
    push, check, held = offsite.get("push"), offsite.get("check"), offsite.get("repository_state") or {}
    where = offsite["repository"]
    if push is None:
        return f"Copie hors site vers {where} : aucune encore"
    if not push.get("ok"):
        last = push.get("last_success")
        since = f", dernière réussie le {for_people(last)}" if last else ", aucune réussie"
        return f"Copie hors site vers {where} : échec le {for_people(push['at'])} — {push.get('error')}{since}"
    line = (
        f"Copie hors site vers {where} : le {for_people(push['at'])}, "
        f"{held.get('copies', '?')} copies, {int(held.get('size') or 0) / 1e6:.1f} Mo"
    )
    if check is not None:
        outcome = f"partie {check.get('part')} intacte" if check.get("ok") else f"ÉCHEC — {check.get('error')}"
        line += f" ; contrôle du {for_people(check['at'])} : {outcome}"
    return line
