"""The console's tabs: Statut des serveurs, Etat des sauvegardes, Paramétrages, Logs."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file, session, url_for

from appliance.adapters.log_files import LEVELS, read_log_lines
from appliance.domain.backup_format import valid_dossier_code
from appliance.domain.backup_mode import describe_backup_run
from appliance.domain.dossiers import dossier_rows, local_rows
from appliance.domain.numbers import whole
from appliance.domain.offsite import RETENTION_FLOOR
from appliance.domain.offsite import Retention as OffsiteRetention
from appliance.domain.schedule import allowed_hours, night_hour
from appliance.domain.settings import EVERY_HOUR, NIGHTLY, RETENTION_KEYS, retention_document
from appliance.domain.standby import describe_sync_run
from appliance.errors import ApplianceError, Refused
from appliance.guardian.jobs.backup import BackupResult
from appliance.guardian.jobs.listing import list_backups
from appliance.guardian.jobs.offsite import OffsiteResult
from appliance.guardian.jobs.remote import stored_session
from appliance.guardian.jobs.sync import SyncResult
from appliance.guardian.jobs.system_backup import SystemBackupResult
from appliance.guardian.state import SCHEDULE, STATUS
from appliance.guardian.wiring import Parts, configured_retention

log = logging.getLogger(__name__)
blueprint = Blueprint("views", __name__)

# The log levels as the Logs tab names them.
LEVEL_NAMES = {
    "DEBUG": "détail",
    "INFO": "information",
    "WARNING": "avertissement",
    "ERROR": "erreur",
    "CRITICAL": "critique",
}
ACTIONS = {
    "run": "Sauvegarde et synchronisation",
    "backup": "Sauvegarde des données",
    "full": "Sauvegarde complète des données",
    "system": "Sauvegarde système",
    "sync": "Synchronisation",
    "fullsync": "Synchronisation complète",
    "fallback": "Passage en mode secours",
    "standby": "Retour en mode veille",
    "offsite": "Copie hors site",
}

_MODE_SWITCHES = frozenset({"fallback", "standby"})


def _state() -> Any:
    return current_app.extensions["guardian"]


def _parts() -> Parts:
    parts: Parts = _state().parts
    return parts


def _user() -> str:
    """The console's user (every view but the login page requires one)."""
    login = session.get("login")
    if not isinstance(login, str) or not login:
        raise Refused("aucun utilisateur connecté à la console")
    return login


@blueprint.get("/statut")
def status() -> Any:
    parts = _parts()
    status = parts.state.document(STATUS)
    with contextlib.suppress(ApplianceError):  # the mode now, not as the last probe saw it: the buttons depend on it
        status["mode"] = parts.ports.database.live().mode
    history = parts.state.history()
    last_backup, last_sync = history.get("backup", {}), history.get("sync", {})
    return render_template(
        "status.html",
        tab="statut",
        status=status,
        schedule=parts.state.document(SCHEDULE),
        job=parts.progress.snapshot(),
        actions=ACTIONS,
        last_backup=last_backup,
        last_backup_moved=describe_backup_run(last_backup) if last_backup.get("ok") else "",
        last_sync=last_sync,
        last_sync_moved=describe_sync_run(last_sync) if last_sync.get("ok") else "",
        offsite_configured=parts.ports.offsite is not None,
    )


@blueprint.post("/actions/<name>")
def start_action(name: str) -> Any:
    actions = _parts().actions
    work = {
        "run": lambda: _summary(actions.run_all()),
        "backup": lambda: _backup_summary(actions.data_backup()),
        "full": lambda: _backup_summary(actions.data_backup(full=True)),
        "system": lambda: _system_line(actions.system_backup()),
        "sync": lambda: _sync_summary(actions.sync()),
        "fullsync": lambda: _sync_summary(actions.sync(None, full=True)),
        "fallback": lambda: f"mode {actions.mode('fallback', False).mode}",
        "standby": lambda: f"mode {actions.mode('standby', False).mode}",
        "offsite": lambda: _offsite_summary(actions.offsite_push()),
    }
    if name not in work:
        return render_template("message.html", title="Action inconnue", message=name), 404
    runner = _state().runner
    if name in _MODE_SWITCHES and runner.busy():
        # A job in the background (a scheduled run's offsite push, which may take hours)
        # must not hold up the switch to fallback mode: it is short, so it runs here; the
        # guardian's lock still refuses it, naming the holder, during a backup or a sync.
        running = runner.progress.current.name if runner.progress.current else "une opération"
        log.info("%s demandé par %s pendant : %s", ACTIONS[name], _user(), running)
        message = work[name]()  # a refusal is shown by the console's error page
        log.info("%s fait (demandé par %s) : %s", ACTIONS[name], _user(), message)
        return render_template("message.html", title=ACTIONS[name], message=message)
    runner.start(ACTIONS[name], work[name], user=_user())
    return redirect(url_for("views.status"))


def _backup_summary(result: BackupResult) -> str:
    return f"sauvegarde {result.name}, {describe_backup_run(dataclasses.asdict(result))}"


def _sync_summary(result: SyncResult) -> str:
    return f"génération {result.data_generation} en service, {describe_sync_run(dataclasses.asdict(result))}"


def _summary(results: Any) -> str:
    data, system, synced = results
    return f"sauvegarde {data.name}, system.zip ({system.files} fichiers, {system.fetched} reçus), génération {synced.data_generation} en service"


@blueprint.get("/api/job")
def job() -> Any:
    return jsonify(_parts().progress.snapshot())


@blueprint.get("/api/status")
def api_status() -> Any:
    return jsonify(_parts().state.document(STATUS))


@blueprint.get("/sauvegardes")
def backups() -> Any:
    parts = _parts()
    system_zip = parts.ports.backups.system_zip()
    return render_template(
        "backups.html",
        tab="statut",
        backups=list_backups(parts.ports.backups),
        local_copies=parts.ports.backups.local_copies(),
        system_size=system_zip.size if system_zip is not None else None,
        directory=parts.ports.backups.location,
    )


@blueprint.get("/sauvegardes/<area>/<name>")
def download(area: str, name: str) -> Any:
    """A file of the backups volume, for a logged-in user only, by a name the volume lists
    (never a path a request makes up)."""
    store = _parts().ports.backups
    if area == "data" and name in {f.name for f in store.data_backups()}:
        opener = store.data_opener(name)
    elif area == "local" and name in {f.name for f in store.local_copies()}:
        opener = store.local_copy_opener(name)
    elif area == "systeme" and name == "system.zip" and store.system_zip() is not None:
        opener = store.system_opener()
    else:
        return render_template("message.html", title="Fichier introuvable", message=f"{area}/{name}"), 404
    log.info("téléchargement de %s/%s par %s", area, name, _user())
    return send_file(opener(), mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)


@blueprint.get("/etat")
def dossiers() -> Any:
    parts = _parts()
    error = local_error = None
    rows = []
    try:
        local = parts.ports.database.dossiers()
    except ApplianceError as failure:
        local, local_error = {}, str(failure)
    try:
        with stored_session(parts.ports.central, parts.state) as session:
            remote = session.dossiers()
        rows = dossier_rows(remote, local, parts.state.baselines()) if local_error is None else []
    except ApplianceError as failure:
        error = str(failure)
        rows = local_rows(local, parts.state.baselines())  # during an outage: the local list
    refreshed = parts.ports.clock.now()
    return render_template(
        "dossiers.html", tab="etat", rows=rows, error=error, local_error=local_error, refreshed=refreshed
    )


def _codes() -> list[str]:
    codes = [code for code in request.form.getlist("dossier") if valid_dossier_code(code)]
    if not codes:
        raise Refused("aucun dossier sélectionné")
    return codes


@blueprint.post("/etat/descendre")
def pull() -> Any:
    actions, codes = _parts().actions, _codes()
    overwrite = request.form.get("ecraser") == "1"
    _state().runner.start(
        f"Descente vers le serveur local de {', '.join(codes)}",
        lambda: f"descendu(s) : {', '.join(actions.pull(codes, overwrite).dossiers)}",
        user=_user(),
    )
    return redirect(url_for("views.status"))


@blueprint.post("/etat/remonter")
def restore() -> Any:
    actions, codes = _parts().actions, _codes()
    password = request.form.get("password") or ""
    if not password:
        raise Refused("ressaisissez votre mot de passe pour confirmer la remontée")
    overwrite = request.form.get("ecraser") == "1"
    user = _user()

    def work() -> str:
        # As the console's user, with the password they typed: the central server checks it
        # and names them in its log; the stored login is only for unattended runs.
        results = actions.restore(codes, password, overwrite, as_user=user)
        return "; ".join(f"{r.dossier} remonté (copie gardée par le serveur : {r.pre_restore_copy})" for r in results)

    _state().runner.start(f"Remontée vers le serveur distant de {', '.join(codes)}", work, user=user)
    return redirect(url_for("views.status"))


@blueprint.route("/parametrages", methods=["GET", "POST"])
def settings() -> Any:
    parts = _parts()
    message = error = None
    if request.method == "POST":
        frequency = request.form.get("frequence", NIGHTLY)
        hours = [hour for h in request.form.getlist("heure") if (hour := whole(h, 23)) is not None]
        document = {
            "sauvegardes": {
                "automatiques": request.form.get("automatiques") == "1",
                "heures": frequency if frequency in (NIGHTLY, EVERY_HOUR) else hours,
            },
            "synchronisations": {"apres_sauvegarde": request.form.get("apres_sauvegarde") == "1"},
        }
        retention, chosen = _retention_form(), parts.settings.load()[0].offsite
        configured = retention_document(configured_retention(parts.config))
        if retention and (chosen is not None or retention != configured):
            document["hors_site"] = retention  # kept only once chosen: else the configuration's
        try:
            parts.settings.save(document, by=_user(), confirm=_password_typed_again(parts))
            message = "Paramétrages enregistrés."
        except ApplianceError as failure:
            error = str(failure)
    current, source = parts.settings.load()
    try:
        centre, slot = parts.settings.centre_slot()
        allowed, describe, centre_code = allowed_hours(slot), slot.describe(), centre.code
        night: int | None = night_hour(slot)
    except ApplianceError as failure:
        allowed, describe, centre_code, night = [], str(failure), "?", None
    return render_template(
        "settings.html",
        tab="parametrages",
        settings=current,
        source=source,
        allowed=allowed,
        night=night,
        slot=describe,
        centre=centre_code,
        message=message,
        error=error,
        schedule=parts.state.document(SCHEDULE),
        offsite=_offsite_settings(parts, current.offsite),
    ), (422 if error else 200)


def _password_typed_again(parts: Parts) -> Callable[[], None]:
    """The check of the password typed in the form, as the login checks it (the remote
    server, else this user's last verified login): asked before the retention is shortened."""
    user, password = _user(), request.form.get("password") or ""

    def confirm() -> None:
        if not password:
            raise Refused(
                "ressaisissez votre mot de passe pour réduire la rétention hors site (moins de copies gardées)"
            )
        parts.identification.confirm_shorter_retention(user, password)

    return confirm


def _retention_form() -> dict[str, Any]:
    """The "Hors site" counts as typed (a field left empty or not a number is kept as typed,
    for the settings' validation to name it)."""
    typed = {key: request.form.get(key, "").strip() for key in RETENTION_KEYS}
    if not any(typed.values()):
        return {}
    return {key: int(value) if value.isdigit() else value for key, value in typed.items()}


def _offsite_settings(parts: Parts, chosen: OffsiteRetention | None) -> dict[str, Any]:
    """What the "Hors site" section shows: where, the retention (and whose), the checks."""
    offsite = parts.ports.offsite
    retention = chosen or configured_retention(parts.config)
    history = parts.state.history()
    return {
        "repository": None if offsite is None else offsite.location,
        "retention": retention,
        "floor": RETENTION_FLOOR,
        "retention_source": "configuration (NEOCUMA_OFFSITE_KEEP_*)" if chosen is None else "Paramétrages",
        "check_every_hours": parts.config.offsite.check_every_hours,
        "check_parts": parts.config.offsite.check_parts,
        "push": history.get("offsite"),
        "check": history.get("offsite_check"),
    }


@blueprint.get("/logs")
def log_lines() -> Any:
    parts = _parts()
    level = request.args.get("niveau", "INFO")
    raw_day = request.args.get("date", "")
    try:
        day = dt.date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        day = None
    lines = read_log_lines(parts.config.state.dir / "logs", level if level in LEVELS else "INFO", day)
    return render_template(
        "logs.html", tab="logs", lines=lines, level=level, day=raw_day, levels=LEVELS, levels_fr=LEVEL_NAMES
    )


def _offsite_summary(result: OffsiteResult) -> str:
    pushed = ", ".join(result.pushed) or "rien de nouveau"
    return f"copie hors site vers {result.repository} : {pushed} ; {result.copies} copies, {result.size / 1e6:.1f} Mo"


def _system_line(result: SystemBackupResult) -> str:
    return f"system.zip : {result.files} fichiers, dont {result.fetched} reçus (les autres inchangés)"
