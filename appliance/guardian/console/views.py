"""The console's tabs: Statut des serveurs, Etat des sauvegardes, Paramétrages, Logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from appliance.adapters import generations
from appliance.adapters.log_files import LEVELS, read_log_lines
from appliance.adapters.state_files import JsonFile
from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.schedule import allowed_hours
from appliance.errors import ApplianceError, Refused
from appliance.guardian import actions
from appliance.guardian.backup import list_backups
from appliance.guardian.dossiers import dossier_rows, local_dossiers, remote_dossiers
from appliance.guardian.settings_store import centre_slot, load_settings, save_settings

blueprint = Blueprint("views", __name__)

ACTIONS = {
    "run": "Sauvegarde et synchronisation",
    "backup": "Sauvegarde des données",
    "system": "Sauvegarde système",
    "sync": "Synchronisation",
    "fallback": "Passage en mode secours",
    "standby": "Retour en mode veille",
}


def _state() -> Any:
    return current_app.extensions["guardian"]


def _status() -> dict[str, Any]:
    return JsonFile(_state().guardian.state_dir / "status.json").read()


@blueprint.get("/statut")
def status() -> Any:
    guardian = _state().guardian
    schedule = JsonFile(guardian.state_dir / "schedule.json").read()
    status = _status()
    try:  # the mode now, not as the last probe saw it: the buttons depend on it
        with guardian.connection() as connection:
            status["mode"] = generations.live_generations(connection)[2]
    except ApplianceError:
        pass
    return render_template(
        "status.html",
        tab="statut",
        status=status,
        schedule=schedule,
        job=guardian.progress.snapshot() if guardian.progress else {},
        actions=ACTIONS,
    )


@blueprint.post("/actions/<name>")
def start_action(name: str) -> Any:
    state = _state()
    guardian = state.guardian
    work = {
        "run": lambda: _summary(actions.run_all(guardian)),
        "backup": lambda: f"sauvegarde {actions.run_data_backup(guardian).name}",
        "system": lambda: f"system.zip : {actions.run_system_backup(guardian).files} fichiers",
        "sync": lambda: f"génération {actions.run_sync(guardian).data_generation} en service",
        "fallback": lambda: f"mode {actions.run_mode(guardian, 'fallback', False).mode}",
        "standby": lambda: f"mode {actions.run_mode(guardian, 'standby', False).mode}",
    }
    if name not in work:
        return render_template("message.html", title="Action inconnue", message=name), 404
    state.runner.start(ACTIONS[name], work[name])
    return redirect(url_for("views.status"))


def _summary(results: Any) -> str:
    data, system, synced = results
    return (
        f"sauvegarde {data.name}, system.zip ({system.files} fichiers), génération {synced.data_generation} en service"
    )


@blueprint.get("/api/job")
def job() -> Any:
    guardian = _state().guardian
    return jsonify(guardian.progress.snapshot() if guardian.progress else {})


@blueprint.get("/api/status")
def api_status() -> Any:
    return jsonify(_status())


@blueprint.get("/sauvegardes")
def backups() -> Any:
    guardian = _state().guardian
    system_zip = guardian.system_zip
    return render_template(
        "backups.html",
        tab="statut",
        backups=list_backups(guardian),
        system_size=system_zip.stat().st_size if system_zip.exists() else None,
        directory=str(guardian.config.backups_dir),
    )


@blueprint.get("/etat")
def dossiers() -> Any:
    guardian = _state().guardian
    error = None
    rows = []
    try:
        with guardian.remote_session() as session:
            remote = remote_dossiers(session)
        rows = dossier_rows(guardian, remote, local_dossiers(guardian))
    except ApplianceError as failure:
        error = str(failure)
    return render_template("dossiers.html", tab="etat", rows=rows, error=error, refreshed=dt.datetime.now(dt.UTC))


def _codes() -> list[str]:
    codes = [code for code in request.form.getlist("dossier") if valid_dossier_code(code)]
    if not codes:
        raise Refused("aucun dossier sélectionné")
    return codes


@blueprint.post("/etat/descendre")
def pull() -> Any:
    guardian, codes = _state().guardian, _codes()
    overwrite = request.form.get("ecraser") == "1"
    _state().runner.start(
        f"Descente vers le serveur local de {', '.join(codes)}",
        lambda: f"descendu(s) : {', '.join(actions.run_pull(guardian, codes, overwrite).dossiers)}",
    )
    return redirect(url_for("views.status"))


@blueprint.post("/etat/remonter")
def restore() -> Any:
    guardian, codes = _state().guardian, _codes()
    password = request.form.get("password") or ""
    if not password:
        raise Refused("ressaisissez votre mot de passe pour confirmer la remontée")

    def work() -> str:
        results = actions.run_restore(guardian, codes, password, request_overwrite)
        return "; ".join(f"{r.dossier} remonté (copie gardée par le serveur : {r.pre_restore_copy})" for r in results)

    request_overwrite = request.form.get("ecraser") == "1"
    _state().runner.start(f"Remontée vers le serveur distant de {', '.join(codes)}", work)
    return redirect(url_for("views.status"))


@blueprint.route("/parametrages", methods=["GET", "POST"])
def settings() -> Any:
    guardian = _state().guardian
    message = error = None
    if request.method == "POST":
        hours = [int(h) for h in request.form.getlist("heure") if h.isdigit()]
        document = {
            "sauvegardes": {
                "automatiques": request.form.get("automatiques") == "1",
                "heures": hours if request.form.get("toutes") != "1" else "toutes",
            },
            "synchronisations": {"apres_sauvegarde": request.form.get("apres_sauvegarde") == "1"},
        }
        try:
            save_settings(guardian, document)
            message = "Paramétrages enregistrés."
        except ApplianceError as failure:
            error = str(failure)
    current, source = load_settings(guardian)
    try:
        centre, slot = centre_slot(guardian)
        allowed, describe, centre_code = allowed_hours(slot), slot.describe(), centre.code
    except ApplianceError as failure:
        allowed, describe, centre_code = [], str(failure), "?"
    schedule = JsonFile(guardian.state_dir / "schedule.json").read()
    return render_template(
        "settings.html",
        tab="parametrages",
        settings=current,
        source=source,
        allowed=allowed,
        slot=describe,
        centre=centre_code,
        message=message,
        error=error,
        schedule=schedule,
    ), (422 if error else 200)


@blueprint.get("/logs")
def log_lines() -> Any:
    guardian = _state().guardian
    level = request.args.get("niveau", "INFO")
    raw_day = request.args.get("date", "")
    try:
        day = dt.date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        day = None
    lines = read_log_lines(guardian.state_dir / "logs", level if level in LEVELS else "INFO", day)
    return render_template("logs.html", tab="logs", lines=lines, level=level, day=raw_day, levels=LEVELS)
